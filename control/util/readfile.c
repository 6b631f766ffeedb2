/*
 * readfile.c - whole regular files into memory, non-blocking and capped
 * (see readfile.h). Control thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

const char *
readfile_type_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* Read @fd to its end into *@buf (capacity *@cap, grown up to @max + 1). */
static int
readfile_fd(int fd, size_t max, char **buf, size_t *cap, size_t *len)
{
	for (;;) {
		ssize_t n;

		if (*len + 1 >= *cap) {
			size_t ncap = *cap * 2;
			char *nb;

			if (*cap > max + 1)
				return -EFBIG;
			if (ncap > max + 2)
				ncap = max + 2;	/* one byte past the cap tells "too large" */
			nb = realloc(*buf, ncap);
			if (nb == NULL)
				return -ENOMEM;
			*buf = nb;
			*cap = ncap;
		}
		n = read(fd, *buf + *len, *cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len > max)
			return -EFBIG;
	}
}

int
readfile_regular(const char *path, size_t max, char **buf, size_t *len, mode_t *mode)
{
	size_t cap;
	struct stat st;
	int fd, err;

	*buf = NULL;
	*len = 0;
	*mode = 0;
	if (max > SIZE_MAX / 4)
		max = SIZE_MAX / 4;	/* keeps max + 2 and the doubling below in range */
	/* Look before opening: opening a device can have effects of its own. */
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		*mode = st.st_mode;
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* What was opened may not be what was looked at. */
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	*mode = st.st_mode;
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		*len = st.st_size < 0 ? 0 : (size_t)st.st_size;
		err = -EFBIG;
		goto out_close;
	}
	cap = (size_t)st.st_size + 2;	/* room to see the end (or growth) at once */
	*buf = malloc(cap);
	if (*buf == NULL) {
		err = -ENOMEM;
		goto out_close;
	}
	err = readfile_fd(fd, max, buf, &cap, len);
	if (err == 0)
		(*buf)[*len] = '\0';
out_close:
	close(fd);
	if (err < 0) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}
