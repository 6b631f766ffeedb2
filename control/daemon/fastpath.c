/*
 * fastpath.c - the connmark fast path, rendered as iptables-restore lines
 * (see fastpath.h; mark.h has the bit layout the workers share).
 *
 * A flow allowed by table G comes back from its verdict with NF_REPEAT and
 * G|V in its packet mark; the head of the chain saves G into the connmark and
 * accepts. From then on the flow's packets match the first rule of the chain
 * and never reach a queue, until a new table is published: G no longer
 * matches, the next packet is queued and judged again by the new table.
 * Failsafe flows carry G = MARK_GEN_FAILSAFE, accepted whatever the table.
 * Every accept of the filter table goes through NFQWALL-ACCEPT, which clears
 * nfqwall's bits from the packet mark first: what leaves nfqwall's chains
 * carries only the bits it came with (another program may compare the whole
 * mark later, as flannel's and wg-quick's rules do). Control thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fastpath.h"

const char *
fastpath_accept_target(const char *chain)
{
	return strncmp(chain, "NFQWALL-RAW", 11) == 0 || strcmp(chain, "NFQWALL-PREROUTING") == 0 ?
	       "ACCEPT" : "NFQWALL-ACCEPT";
}

void
fastpath_accept_chain(const struct fw_config *c, FILE *out)
{
	fprintf(out, "-A NFQWALL-ACCEPT -j MARK --set-xmark 0x0/0x%x\n"
		"-A NFQWALL-ACCEPT -j ACCEPT\n", c->ml.mask);
}

void
fastpath_accept(const struct fw_config *c, const char *chain, FILE *out)
{
	const struct mark_layout *m = &c->ml;
	const char *t = fastpath_accept_target(chain);

	fprintf(out, "-A %s -m connmark --mark 0x%x/0x%x -j %s\n", chain, mark_gen(m, c->gen),
		m->gen_mask, t);
	fprintf(out, "-A %s -m connmark --mark 0x%x/0x%x -j %s\n", chain,
		mark_gen(m, MARK_GEN_FAILSAFE), m->gen_mask, t);
}

/* Packets the untracked stage allowed (U|V) pass the later tables. */
static void
untracked_accept(const struct fw_config *c, const char *chain, FILE *out)
{
	const struct mark_layout *m = &c->ml;

	if (c->untracked)
		fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j %s\n", chain, m->raw | m->verdict,
			m->raw | m->verdict, fastpath_accept_target(chain));
}

void
fastpath_head(const struct fw_config *c, const char *chain, FILE *out)
{
	const struct mark_layout *m = &c->ml;

	fastpath_accept(c, chain, out);
	for (size_t i = 0; i < c->ncarry; i++)	/* recent generations' flows the changes spare */
		fprintf(out, "-A %s -m connmark --mark 0x%x/0x%x -j NFQWALL-CARRY%zu\n", chain,
			mark_gen(m, c->carry[i].gen), m->gen_mask, i);
	untracked_accept(c, chain, out);
	fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j CONNMARK --save-mark --nfmask 0x%x "
		"--ctmask 0x%x\n", chain, m->verdict, m->verdict, m->gen_mask, m->gen_mask);
	fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j NFQWALL-ACCEPT\n", chain, m->verdict,
		m->verdict);
}

void
fastpath_prednat_head(const struct fw_config *c, const char *chain, FILE *out)
{
	const struct mark_layout *m = &c->ml;

	fastpath_accept(c, chain, out);
	untracked_accept(c, chain, out);
	/* a preDNAT Allow coming back: INPUT or FORWARD takes it from here */
	fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j ACCEPT\n", chain, m->prednat, m->prednat);
}

void
fastpath_prednat_final(const struct fw_config *c, const char *chain, FILE *out)
{
	const struct mark_layout *m = &c->ml;

	fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j MARK --set-xmark 0x%x/0x%x\n", chain,
		m->prednat, m->prednat, mark_gen(m, c->gen) | m->verdict, m->gen_mask | m->verdict);
	fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j CONNMARK --save-mark --nfmask 0x%x "
		"--ctmask 0x%x\n", chain, m->prednat, m->prednat, m->gen_mask, m->gen_mask);
	fprintf(out, "-A %s -m mark --mark 0x%x/0x%x -j NFQWALL-ACCEPT\n", chain, m->prednat,
		m->prednat);
}

void
fastpath_carry_chain(const struct fw_config *c, int family, FILE *out)
{
	const struct mark_layout *m = &c->ml;
	char buf[CIDR_STRLEN];

	for (size_t k = 0; k < c->ncarry; k++) {
		const struct fw_carry *g = &c->carry[k];

		/* a flow of a changed address goes back (RETURN) and on to the queue */
		for (size_t i = 0; i < g->n; i++) {
			if (g->v[i].family != family)
				continue;
			cidr_format(&g->v[i], buf);
			fprintf(out, "-A NFQWALL-CARRY%zu -s %s -j RETURN\n"
				"-A NFQWALL-CARRY%zu -d %s -j RETURN\n", k, buf, k, buf);
		}
		fprintf(out, "-A NFQWALL-CARRY%zu -j CONNMARK --set-xmark 0x%x/0x%x\n"
			"-A NFQWALL-CARRY%zu -j NFQWALL-ACCEPT\n", k, mark_gen(m, c->gen), m->gen_mask,
			k);
	}
}

void
fastpath_failsafe_chain(const struct fw_config *c, FILE *out)
{
	const struct mark_layout *m = &c->ml;

	fprintf(out, "-A NFQWALL-FAILSAFE -j CONNMARK --set-xmark 0x%x/0x%x\n"
		"-A NFQWALL-FAILSAFE -j NFQWALL-ACCEPT\n", mark_gen(m, MARK_GEN_FAILSAFE),
		m->gen_mask);
}

void
fastpath_ct_marks(const struct fw_config *c, const char *chain, FILE *out)
{
	const struct mark_layout *m = &c->ml;

	fprintf(out, "-A %s -j MARK --set-xmark 0x0/0x%x\n", chain, m->est | m->reply);
	fprintf(out, "-A %s -m conntrack --ctstate ESTABLISHED -j MARK --or-mark 0x%x\n", chain,
		m->est);
	fprintf(out, "-A %s -m conntrack --ctdir REPLY -j MARK --or-mark 0x%x\n", chain, m->reply);
}

unsigned
fastpath_installed_gen(const char *saved, const struct mark_layout *ml)
{
	static const char rule[] = "-A NFQWALL-INPUT -m connmark --mark ";
	const char *p = saved ? strstr(saved, "-A NFQWALL-INPUT -m connmark --mark 0x") : NULL;

	if (p == NULL)
		return 0;
	return mark_gen_of(ml, (uint32_t)strtoul(p + strlen(rule), NULL, 16));
}
