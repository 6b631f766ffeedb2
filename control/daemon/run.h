/*
 * run.h - the daemon subcommands.
 */
#ifndef NFQWALL_RUN_H
#define NFQWALL_RUN_H

/* run_main - `nfqwall run`; returns the exit status. */
int run_main(int argc, char **argv);

/* uninstall_main - `nfqwall uninstall`; returns the exit status. */
int uninstall_main(int argc, char **argv);

#endif /* NFQWALL_RUN_H */
