/*
 * judge.c - the per-hook decision of a queued packet (see judge.h).
 *
 * Worker threads, per packet. Which table lookups a hook needs:
 *
 *   raw PREROUTING / OUTPUT (U set)  untracked stage; Allow = NOTRACK + accept
 *   mangle PREROUTING                preDNAT; Allow marks P (final for host ingress)
 *   filter INPUT                     normal ingress (unless P)
 *   filter OUTPUT                    normal egress
 *   filter FORWARD                   forward ingress (unless P), then forward egress
 *
 * A reply-direction packet (R) of an established flow being judged again
 * after a table change is judged as its connection's original direction:
 * its key is turned around (pkt_key_original) and the hooks of the original
 * path are used, so a reply is never taken for a new inbound connection.
 */
#include "judge.h"
#include "pkt.h"

/* The stage a hook judges in (for the counters of a packet no lookup decided). */
static enum stage
judge_hook_stage(unsigned hook, bool raw)
{
	if (raw)
		return STAGE_UNTRACKED;
	switch (hook) {
	case JHOOK_PRE_ROUTING:
		return STAGE_PREDNAT;
	case JHOOK_FORWARD:
		return STAGE_FORWARD;
	default:
		return STAGE_NORMAL;
	}
}

/* One lookup; Log hits accumulate across the lookups of one packet. */
static enum rs_outcome
judge_lookup(const struct ruleset *rs, enum rs_hook hook, enum stage st,
	     const struct pkt_key *k, struct judge_result *r)
{
	struct rs_verdict v;
	uint32_t nlog = r->rv.nlog;

	ruleset_lookup(rs, hook, k, &v);
	/*
	 * Append this lookup's Log hits to those of the earlier lookups (forward
	 * ingress then egress, preDNAT then normal) and take its decision. Never
	 * copy v.log over r->rv.log: only v.log[0..v.nlog) is written, so that
	 * would lose the earlier hits and bring in indexes nobody set.
	 */
	for (uint32_t i = 0; i < v.nlog && nlog < RS_MAX_LOGS; i++)
		r->rv.log[nlog++] = v.log[i];
	r->rv.outcome = v.outcome;
	r->rv.reason = v.reason;
	r->rv.hep = v.hep;
	r->rv.meta = v.meta;
	r->rv.nlog = nlog;
	r->stage = (uint8_t)st;
	return (enum rs_outcome)v.outcome;
}

static void
set_verdict(struct judge_result *r, uint8_t verdict, uint32_t mark)
{
	r->verdict = verdict;
	r->mark = mark;
}

/* Allowed for good: remember the generation in the connmark, via NF_REPEAT. */
static void
accept_flow(const struct ruleset *rs, const struct mark_layout *ml, uint32_t mark,
	    struct judge_result *r)
{
	set_verdict(r, JV_REPEAT, mark_judged(ml, mark, ruleset_gen(rs)));
}

/* The forward path: ingress of the incoming endpoint (unless preDNAT allowed), then egress. */
static enum rs_outcome
judge_forward(const struct ruleset *rs, const struct pkt_key *k, bool prednat_allowed,
	      struct judge_result *r)
{
	if (!prednat_allowed &&
	    judge_lookup(rs, RS_FORWARD_IN, STAGE_FORWARD, k, r) == RS_DROP)
		return RS_DROP;
	return judge_lookup(rs, RS_FORWARD_OUT, STAGE_FORWARD, k, r) == RS_DROP ? RS_DROP :
										  RS_ACCEPT;
}

/* Judge a connection from its original direction (re-judging a reply packet). */
static enum rs_outcome
judge_original(const struct ruleset *rs, unsigned hook, const struct pkt_key *k,
	       struct judge_result *r)
{
	enum rs_outcome o;

	switch (hook) {
	case JHOOK_LOCAL_IN:		/* reply of a connection this host opened */
		return judge_lookup(rs, RS_NORMAL_OUT, STAGE_NORMAL, k, r) == RS_DROP ?
			       RS_DROP : RS_ACCEPT;
	case JHOOK_LOCAL_OUT:		/* reply of a connection to this host */
		o = judge_lookup(rs, RS_PREDNAT_IN, STAGE_PREDNAT, k, r);
		if (o != RS_CONTINUE)
			return o;
		return judge_lookup(rs, RS_NORMAL_IN, STAGE_NORMAL, k, r) == RS_DROP ?
			       RS_DROP : RS_ACCEPT;
	case JHOOK_FORWARD:		/* reply of a forwarded connection */
		o = judge_lookup(rs, RS_PREDNAT_IN, STAGE_PREDNAT, k, r);
		if (o == RS_DROP)
			return RS_DROP;
		return judge_forward(rs, k, o == RS_ACCEPT, r);
	default:
		return RS_ACCEPT;
	}
}

void
judge_packet(const struct ruleset *rs, const struct mark_layout *ml, const struct judge_opts *o,
	     unsigned hook, uint32_t mark, struct pkt_key *k, struct judge_result *r)
{
	bool prednat_allowed = mark & ml->prednat;
	enum rs_outcome out;

	r->rv.outcome = RS_CONTINUE;
	r->rv.reason = REASON_NO_POLICY;
	r->rv.nlog = 0;
	r->rv.meta = RS_NO_META;
	r->rv.hep = -1;
	r->stage = STAGE_NONE;
	r->rejudged = 0;
	r->logged = 0;
	r->would_deny = 0;
	k->ct = mark & ml->est ? CT_ESTABLISHED : CT_NEW;
	k->ct_reply = mark & ml->reply ? 1 : 0;

	if (unlikely(k->flags & PKT_F_UNREADABLE)) {
		/*
		 * No L4 header could be read (cut by the copy range or by the
		 * packet, or a malformed chain): judged without ports, a port
		 * Deny would be skipped and a broader Allow would take it. Drop.
		 */
		r->rv.outcome = RS_DROP;
		r->rv.reason = REASON_UNREADABLE;
		r->stage = (uint8_t)judge_hook_stage(hook, mark & ml->raw);
		set_verdict(r, JV_DROP, mark);
		goto out;
	}

	if (mark & ml->raw) {
		/* the untracked stage: no conntrack yet */
		out = judge_lookup(rs, hook == JHOOK_LOCAL_OUT ? RS_UNTRACKED_OUT : RS_UNTRACKED_IN,
				   STAGE_UNTRACKED, k, r);
		if (out == RS_ACCEPT)
			set_verdict(r, JV_REPEAT, mark | ml->verdict);	/* U|V: NOTRACK, accept */
		else if (out == RS_DROP)
			set_verdict(r, JV_DROP, mark);
		else
			set_verdict(r, JV_REPEAT, mark | ml->prednat);	/* U|P: go on tracked */
		goto out;
	}
	if (k->ct == CT_ESTABLISHED)
		r->rejudged = 1;
	if (k->ct_reply) {
		pkt_key_original(k);
		if (hook == JHOOK_PRE_ROUTING) {
			set_verdict(r, JV_ACCEPT, mark);	/* judged at INPUT or FORWARD */
			return;
		}
		out = judge_original(rs, hook, k, r);
		if (out == RS_DROP)
			set_verdict(r, JV_DROP, mark);
		else
			accept_flow(rs, ml, mark, r);
		goto out;
	}
	switch (hook) {
	case JHOOK_PRE_ROUTING:
		out = judge_lookup(rs, RS_PREDNAT_IN, STAGE_PREDNAT, k, r);
		if (out == RS_DROP)
			set_verdict(r, JV_DROP, mark);
		else if (out == RS_ACCEPT)
			set_verdict(r, JV_REPEAT, mark | ml->prednat);
		else
			set_verdict(r, JV_ACCEPT, mark);
		break;
	case JHOOK_LOCAL_IN:
		out = prednat_allowed ? RS_ACCEPT :
			judge_lookup(rs, RS_NORMAL_IN, STAGE_NORMAL, k, r);
		goto flow;
	case JHOOK_LOCAL_OUT:
		out = judge_lookup(rs, RS_NORMAL_OUT, STAGE_NORMAL, k, r);
		/*
		 * Local-to-local traffic comes back in through lo and shares
		 * one conntrack entry: leave the connmark to INPUT, which must
		 * judge the ingress side too.
		 */
		if (out != RS_DROP && k->oif == JUDGE_LOOPBACK_IFINDEX) {
			set_verdict(r, JV_ACCEPT, mark);
			break;
		}
		goto flow;
	case JHOOK_FORWARD:
		out = judge_forward(rs, k, prednat_allowed, r);
flow:
		if (out == RS_DROP)
			set_verdict(r, JV_DROP, mark);
		else
			accept_flow(rs, ml, mark, r);
		break;
	default:
		set_verdict(r, JV_ACCEPT, mark);
		return;
	}
out:
	r->logged = r->verdict == JV_DROP || r->rv.nlog > 0 ||
		    (o->log_allowed && r->rv.meta != RS_NO_META);
	if (o->audit && r->verdict == JV_DROP) {
		/* audit: accept, but never remember the flow as judged */
		set_verdict(r, JV_ACCEPT, mark);
		r->logged = 1;
		r->would_deny = 1;
	}
}
