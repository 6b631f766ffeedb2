/*
 * readfile.h - reading a whole policy file into memory, safely: only
 * regular files, never blocking, never more than a size cap.
 *
 * Symbolic links are followed (a Kubernetes ConfigMap volume is made of
 * them: name -> ..data/name, ..data -> ..2024_...), but the file they lead
 * to must be a regular file: a FIFO, a device, a socket or a directory is
 * refused before it is read. The file is opened with O_NONBLOCK, so one
 * swapped in for a FIFO between the check and the open cannot block the
 * caller either. Control thread only.
 */
#ifndef NFQWALL_READFILE_H
#define NFQWALL_READFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "compiler.h"

/*
 * readfile_regular - the content of @path into a malloc'd buffer *@buf
 * (NUL-terminated, for the caller's convenience) of *@len bytes.
 * Returns 0, or:
 *   -EINVAL  not a regular file; *@mode holds its type (readfile_type_name)
 *   -EFBIG   larger than @max bytes (or grew past it while being read);
 *            *@len holds the size seen
 *   -ENOMEM
 *   -errno   from stat, open or read
 * On error *@buf is NULL.
 */
int __must_check readfile_regular(const char *path, size_t max, char **buf, size_t *len,
				  mode_t *mode);

/* readfile_type_name - "a FIFO", "a directory", ... for a non-regular st_mode. */
const char *readfile_type_name(mode_t mode);

#endif /* NFQWALL_READFILE_H */
