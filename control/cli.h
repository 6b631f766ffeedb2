/*
 * cli.h - subcommands of the nfqwall binary and helpers they share.
 */
#ifndef NFQWALL_CLI_H
#define NFQWALL_CLI_H

#include "labels.h"

/* explain_main - `nfqwall explain`; returns the exit status. */
int explain_main(int argc, char **argv);

/* cli_parse_proto - tcp, udp, icmp, icmpv6, sctp, ... (any case) or 0..255; -1 if neither. */
int cli_parse_proto(const char *s);

struct polset_limits;

/* cli_limit_option - apply option @opt (a POLSET_LIMIT_OPTIONS value, see
 * model.h) with argument @arg to @l: 0, or 2 (a usage error, said on stderr
 * for @cmd). */
int cli_limit_option(const char *cmd, int opt, const char *arg, struct polset_limits *l);

struct polset;

/* cli_load - polset_load_path(@ps, @path), or standard input when @path is
 * "-" (read whole, at most the set's max_file_bytes, named "<stdin>"). */
int cli_load(struct polset *ps, const char *path);

/* The exit status of a subcommand that ran out of memory (EX_SOFTWARE). */
#define CLI_EXIT_NOMEM	70

/* cli_nomem - say "out of memory" on stderr; returns CLI_EXIT_NOMEM. */
int cli_nomem(const char *cmd);

#endif /* NFQWALL_CLI_H */
