/*
 * rules.h - `nfqwall rules`: which rules of the running daemon's table
 * matched when, read from its /rules endpoint (docs/operations.md, "Rule
 * usage").
 */
#ifndef NFQWALL_RULES_H
#define NFQWALL_RULES_H

int rules_main(int argc, char **argv);

#endif /* NFQWALL_RULES_H */
