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

/* The exit status of a subcommand that ran out of memory (EX_SOFTWARE). */
#define CLI_EXIT_NOMEM	70

/* cli_nomem - say "out of memory" on stderr; returns CLI_EXIT_NOMEM. */
int cli_nomem(const char *cmd);

#endif /* NFQWALL_CLI_H */
