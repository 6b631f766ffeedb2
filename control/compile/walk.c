/*
 * walk.c - one packet's whole path through the compiled table (see walk.h).
 */
#include <string.h>

#include "walk.h"

static const char *
nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* Judge at one hook; returns the outcome and records a decision when it decides. */
static enum rs_outcome
walk_hook(const struct ruleset *rs, enum rs_hook hook, enum stage st, enum dir dir,
	  const struct pkt_key *k, struct walk_result *out)
{
	struct rs_verdict v;

	ruleset_lookup(rs, hook, k, &v);
	for (uint32_t i = 0; i < v.nlog && out->nlogs < EVAL_MAX_LOGS; i++) {
		const struct rs_meta *m = ruleset_meta(rs, v.log[i]);

		out->logs[out->nlogs++] = (struct log_hit){
			st, dir, nonempty(ruleset_str(rs, m->tier)),
			nonempty(ruleset_str(rs, m->policy)), m->rule,
		};
	}
	if (v.outcome == RS_CONTINUE)
		return RS_CONTINUE;

	struct decision *d = &out->final;

	memset(d, 0, sizeof(*d));
	d->allow = v.outcome == RS_ACCEPT;
	d->stage = st;
	d->dir = dir;
	d->reason = v.reason;
	d->hep = v.hep >= 0 ? ruleset_hep_name(rs, v.hep) : NULL;
	d->rule = -1;
	if (v.meta != RS_NO_META) {
		const struct rs_meta *m = ruleset_meta(rs, v.meta);

		d->tier = nonempty(ruleset_str(rs, m->tier));
		d->policy = nonempty(ruleset_str(rs, m->policy));
		d->rule = m->kind == RS_META_RULE || m->kind == RS_META_PROFILE ? m->rule : -1;
	}
	return v.outcome;
}

/*
 * Is an interface of the path claimed by a host endpoint? Felix's conntrack
 * rules live in the endpoint chains only (docs/semantics.md §1, §3).
 */
static bool
path_policed(const struct ruleset *rs, const struct eval_input *in)
{
	struct rs_verdict v;

	if (in->path != PATH_LOCAL_OUT) {
		ruleset_lookup(rs, RS_NORMAL_IN, &in->k, &v);
		if (v.hep >= 0)
			return true;
	}
	if (in->path != PATH_LOCAL_IN) {
		ruleset_lookup(rs, RS_NORMAL_OUT, &in->k, &v);
		if (v.hep >= 0)
			return true;
	}
	return false;
}

void
walk_ruleset(const struct ruleset *rs, const struct eval_input *in, struct walk_result *out)
{
	struct pkt_key k = in->k;
	bool ingress_path = in->path != PATH_LOCAL_OUT;
	bool prednat_allowed = false;
	enum rs_outcome o;

	memset(out, 0, sizeof(*out));
	out->final.stage = STAGE_NONE;
	out->final.rule = -1;

	o = ingress_path ? walk_hook(rs, RS_UNTRACKED_IN, STAGE_UNTRACKED, DIR_INGRESS, &k, out)
			 : walk_hook(rs, RS_UNTRACKED_OUT, STAGE_UNTRACKED, DIR_EGRESS, &k, out);
	if (o != RS_CONTINUE)
		return;
	if (k.ct == CT_ESTABLISHED || k.ct == CT_RELATED ||
	    (k.ct == CT_INVALID && ruleset_invalid_drop(rs) && path_policed(rs, in))) {
		out->final = (struct decision){
			.allow = k.ct != CT_INVALID, .stage = STAGE_CONNTRACK,
			.reason = k.ct == CT_INVALID ? REASON_INVALID : REASON_CONNTRACK,
			.rule = -1,
		};
		return;
	}
	if (ingress_path) {
		o = walk_hook(rs, RS_PREDNAT_IN, STAGE_PREDNAT, DIR_INGRESS, &k, out);
		if (o == RS_DROP)
			return;
		prednat_allowed = o == RS_ACCEPT;
	}
	if (in->dnat) {
		k.dst = in->dnat_addr;
		if (in->dnat_port_set)
			k.dport = in->dnat_port;
	}
	if (in->path == PATH_LOCAL_IN) {
		if (!prednat_allowed)
			walk_hook(rs, RS_NORMAL_IN, STAGE_NORMAL, DIR_INGRESS, &k, out);
		return;
	}
	if (in->path == PATH_LOCAL_OUT) {
		walk_hook(rs, RS_NORMAL_OUT, STAGE_NORMAL, DIR_EGRESS, &k, out);
		return;
	}
	if (!prednat_allowed &&
	    walk_hook(rs, RS_FORWARD_IN, STAGE_FORWARD, DIR_INGRESS, &k, out) == RS_DROP)
		return;
	o = walk_hook(rs, RS_FORWARD_OUT, STAGE_FORWARD, DIR_EGRESS, &k, out);
	if (o == RS_CONTINUE && out->final.stage == STAGE_NONE)
		out->final = (struct decision){
			.allow = true, .stage = STAGE_FORWARD, .dir = DIR_EGRESS,
			.reason = REASON_NO_POLICY, .rule = -1,
		};
}
