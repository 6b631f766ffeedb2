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

/*
 * The options that set the policy loader's limits (struct polset_limits),
 * shared by check and explain; the daemon takes the same names. Put
 * CLI_LIMIT_OPTIONS in a getopt_long option table, and hand every option
 * whose value is at least CLI_OPT_LIMIT to cli_limit_option().
 */
#define CLI_OPT_LIMIT	0x100
#define CLI_LIMIT_OPTIONS \
	{ "max-file-bytes", required_argument, NULL, CLI_OPT_LIMIT + 0 }, \
	{ "max-object-bytes", required_argument, NULL, CLI_OPT_LIMIT + 1 }, \
	{ "max-nodes", required_argument, NULL, CLI_OPT_LIMIT + 2 }, \
	{ "max-objects", required_argument, NULL, CLI_OPT_LIMIT + 3 }, \
	{ "max-depth", required_argument, NULL, CLI_OPT_LIMIT + 4 }

#define CLI_LIMIT_USAGE \
	"Limits on what loading the policy may cost (docs/operations.md, \"Limits\");\n" \
	"sizes take a K, M or G suffix:\n" \
	"  --max-file-bytes N    a policy file (default 32M)\n" \
	"  --max-object-bytes N  one object, as written (default 3M)\n" \
	"  --max-nodes N         YAML nodes per file, an alias counting as what it\n" \
	"                        names (default 1000000)\n" \
	"  --max-objects N       objects per file, List items included (default 100000)\n" \
	"  --max-depth N         nesting of mappings and sequences (default 64)\n"

struct polset_limits;

/* cli_limit_option - apply option @opt (a CLI_LIMIT_OPTIONS value) with
 * argument @arg to @l: 0, or 2 (a usage error, said on stderr for @cmd). */
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
