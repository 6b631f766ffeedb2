/*
 * worker.c - the packet loop of one queue (its own thread).
 *
 *   recvmmsg (up to WORKER_BATCH packet messages, blocking for the first)
 *   -> read the current table once, under the RCU read lock
 *   -> per packet: parse the netlink attributes and the IP header into a
 *      pkt_key, judge it, count it, push a verdict-log record when needed
 *   -> leave the read-side section, then send every verdict of the batch in
 *      one sendto: a NFQNL_MSG_VERDICT_BATCH per run of equal verdict and mark
 *
 * Nothing here allocates, locks or blocks per packet; the buffers come from
 * worker_open. A receive timeout wakes an idle worker twice a second so its
 * heartbeat (watched by /livez) shows it alive. Errors are counted, never
 * fatal: a packet that cannot be parsed gets the queue's failure verdict.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "clock.h"
#include "pkt.h"
#include "worker.h"

static uint64_t
real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

/* What worker_open allocated (NULL pointers are fine). */
static void
free_buffers(struct worker *w)
{
	vlog_ring_free(&w->ring);
	fj_ring_free(&w->fj);
	free(w->msgs);
	free(w->iov);
	free(w->rx);
	free(w->tx);
	free(w->pend);
	w->msgs = NULL;
	w->iov = NULL;
	w->rx = NULL;
	w->tx = NULL;
	w->pend = NULL;
}

int
worker_open(struct worker *w, const struct worker_config *c, char *why, size_t whylen)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->cfg = *c;
	w->batch = c->batch ? c->batch : WORKER_BATCH;
	w->msgsize = c->msgsize ? c->msgsize : WORKER_MSGSIZE;
	if (w->batch > WORKER_BATCH)
		w->batch = WORKER_BATCH;
	w->msgs = calloc(w->batch, sizeof(*w->msgs));
	w->iov = calloc(w->batch, sizeof(*w->iov));
	w->rx = malloc((size_t)w->batch * w->msgsize);
	w->tx = malloc((size_t)WORKER_BATCH * 4 * 64);
	w->pend = calloc(WORKER_BATCH * 4, sizeof(*w->pend));
	if (!w->msgs || !w->iov || !w->rx || !w->tx || !w->pend ||
	    vlog_ring_init(&w->ring, c->log_ring_order) < 0 ||
	    (c->fj_ring_order > 0 && fj_ring_init(&w->fj, c->fj_ring_order) < 0)) {
		snprintf(why, whylen, "out of memory");
		err = -ENOMEM;
		goto out_free;
	}
	for (unsigned i = 0; i < w->batch; i++) {
		w->iov[i].iov_base = w->rx + (size_t)i * w->msgsize;
		w->iov[i].iov_len = w->msgsize;
		w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
		w->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	err = queue_open(&w->q, &c->q, why, whylen);
	if (err < 0)
		goto out_free;
	w->stats.queue = c->q.num;
	return 0;
out_free:
	free_buffers(w);
	memset(w, 0, sizeof(*w));
	return err;
}

/* ---- verdicts ------------------------------------------------------------------ */

static void
pend_add(struct worker *w, unsigned *n, uint32_t id, uint32_t verdict, uint32_t mark,
	 bool set_mark)
{
	struct pending_verdict *p = &w->pend[(*n)++];

	p->id = id;
	p->verdict = verdict;
	p->mark = mark;
	p->set_mark = set_mark;
}

/* One datagram: a batch verdict per run of equal (verdict, mark), in id order. */
static void
send_verdicts(struct worker *w, unsigned n)
{
	char *buf = w->tx;
	size_t len = 0;

	for (unsigned i = 0; i < n; ) {
		unsigned j = i;
		struct nlmsghdr *nlh;

		while (j + 1 < n && w->pend[j + 1].verdict == w->pend[i].verdict &&
		       w->pend[j + 1].mark == w->pend[i].mark &&
		       w->pend[j + 1].set_mark == w->pend[i].set_mark)
			j++;
		nlh = nfq_nlmsg_put(buf + len, j > i ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT,
				    w->q.num);
		nfq_nlmsg_verdict_put(nlh, (int)w->pend[j].id, (int)w->pend[i].verdict);
		if (w->pend[i].set_mark)
			nfq_nlmsg_verdict_put_mark(nlh, w->pend[i].mark);
		len += NLMSG_ALIGN(nlh->nlmsg_len);
		i = j + 1;
	}
	if (len == 0)
		return;
	for (int tries = 0; tries < 3; tries++) {
		if (mnl_socket_sendto(w->q.nl, buf, len) >= 0)
			return;
		if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS)
			break;
	}
	STAT_ADD(w->stats.send_errors, 1);
}

/* ---- one packet ------------------------------------------------------------------ */

static void
log_record(struct worker *w, const struct ruleset *rs, const struct pkt_key *k, uint32_t meta,
	   uint8_t action, uint8_t stage, uint8_t reason, uint64_t ts)
{
	struct vlog_rec r;
	const struct rs_meta *m = meta != RS_NO_META ? ruleset_meta(rs, meta) : NULL;

	memset(&r, 0, offsetof(struct vlog_rec, tier));
	r.ts_us = ts;
	r.gen = ruleset_gen(rs);
	r.src = k->src;
	r.dst = k->dst;
	r.iif = k->iif;
	r.oif = k->oif;
	r.sport = k->sport;
	r.dport = k->dport;
	r.len = k->len;
	r.queue = w->q.num;
	r.family = k->family;
	r.proto = k->proto;
	r.icmp_type = k->icmp_type;
	r.icmp_code = k->icmp_code;
	r.flags = k->flags;
	r.action = action;
	r.stage = m ? m->stage : stage;
	r.dir = m ? m->dir : 0;
	r.rule = m ? m->rule : -1;
	if (m == NULL) {
		vlog_rec_names(&r, NULL, NULL);
		r.rule_kind = reason == REASON_UNREADABLE ? VLOG_RULE_UNREADABLE :
								VLOG_RULE_DEFAULT;
	} else {
		vlog_rec_names(&r, ruleset_str(rs, m->tier), ruleset_str(rs, m->policy));
		r.rule_kind = m->kind == RS_META_RULE ? VLOG_RULE_INDEX :
			      m->kind == RS_META_EOT ? VLOG_RULE_EOT :
			      m->kind == RS_META_PROFILE ? VLOG_RULE_PROFILE :
			      m->kind == RS_META_FAILSAFE ? VLOG_RULE_FAILSAFE :
			      m->kind == RS_META_SELF ? VLOG_RULE_SELF : VLOG_RULE_DEFAULT;
	}
	if (!vlog_push(&w->ring, &r))
		STAT_ADD(w->stats.log_dropped, 1);
}

/* Accepted from the filter table with some of nfqwall's bits set (not from raw: U). */
static inline bool
final_hook(const struct worker *w, unsigned hook, uint32_t mark)
{
	return (hook == JHOOK_LOCAL_IN || hook == JHOOK_FORWARD || hook == JHOOK_LOCAL_OUT) &&
	       !(mark & w->cfg.ml.raw) && (mark & w->cfg.ml.mask) != 0;
}

static void
lat_record(struct worker_stats *s, uint64_t ns)
{
	unsigned b = 0;

	while (b < STATS_LAT_BUCKETS - 1 && ns > stats_lat_bounds[b])
		b++;
	STAT_ADD(s->lat_bucket[b], 1);
	STAT_ADD(s->lat_count, 1);
	STAT_ADD(s->lat_sum_ns, ns);
}

/* The kernel copied less than the whole packet (NFQA_CAP_LEN is the full length). */
static bool
copy_was_cut(struct nlattr *const attr[])
{
	return attr[NFQA_CAP_LEN] != NULL &&
	       ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) >
		       mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
}

/*
 * NF_QUEUE to the deep queue. Nobody bound there means a drop, or, when the
 * queues fail open, an accept (the bypass flag), as with the normal queues.
 */
static uint32_t
deep_verdict(const struct worker *w)
{
	return NF_QUEUE | (uint32_t)w->cfg.deep_queue << 16 |
	       (w->cfg.q.fail_open ? NF_VERDICT_FLAG_QUEUE_BYPASS : 0);
}

/*
 * The staged view (ruleset_staged_current) judges the packet too, never
 * changing its verdict: when it decides otherwise, a staged-allow or
 * staged-deny line names the policy and rule of the staged view.
 */
static void
judge_staged(struct worker *w, const struct ruleset *srs, unsigned hook, uint32_t mark,
	     struct pkt_key *k, const struct judge_result *jr)
{
	struct judge_result sr;
	bool drop = jr->verdict == JV_DROP || jr->would_deny, sdrop;

	judge_packet(srs, &w->cfg.ml, &w->cfg.jo, hook, mark, k, &sr);
	if (sr.rv.meta != RS_NO_META)
		ruleset_hit(srs, sr.rv.meta, w->now_s);
	sdrop = sr.verdict == JV_DROP || sr.would_deny;
	if (drop == sdrop)
		return;
	STAT_ADD(w->stats.staged_differs[sdrop], 1);
	log_record(w, srs, k, sr.rv.meta, sdrop ? VLOG_STAGED_DENY : VLOG_STAGED_ALLOW, sr.stage,
		   sr.rv.reason, real_us());
}

static void
handle_packet(struct worker *w, const struct ruleset *rs, const struct nlmsghdr *nlh,
	      unsigned *npend)
{
	const struct ruleset *srs = ruleset_staged_current();
	struct pkt_key k0;
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	const struct nfqnl_msg_packet_hdr *ph;
	struct judge_result jr;
	struct pkt_key k;
	uint32_t id, mark = 0;
	uint64_t t0, t1;
	bool fail_verdict;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL) {
		STAT_ADD(w->stats.malformed, 1);
		return;		/* no id: nothing to answer */
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (attr[NFQA_MARK])
		mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	STAT_ADD(w->stats.packets, 1);

	memset(&k, 0, sizeof(k));
	fail_verdict = attr[NFQA_PAYLOAD] == NULL || rs == NULL ||
		       pkt_parse(mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
				 mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), &k) < 0;
	if (fail_verdict) {
		STAT_ADD(w->stats.malformed, 1);
		pend_add(w, npend, id, w->cfg.q.fail_open ? NF_ACCEPT : NF_DROP, 0, false);
		return;
	}
	if (unlikely(k.flags & PKT_F_TRUNC) && w->cfg.deep_queue >= 0 &&
	    copy_was_cut(attr)) {
		/* the L4 header lies past our copy: the deep queue sees it all */
		STAT_ADD(w->stats.deep_requeued, 1);
		pend_add(w, npend, id, deep_verdict(w), 0, false);
		return;
	}
	if (attr[NFQA_IFINDEX_INDEV])
		k.iif = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
	if (attr[NFQA_IFINDEX_OUTDEV])
		k.oif = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_OUTDEV]));

	if (unlikely(srs != NULL))
		k0 = k;		/* judge_packet rewrites the key (conntrack state, replies) */
	t0 = mono_ns();
	judge_packet(rs, &w->cfg.ml, &w->cfg.jo, ph->hook, mark, &k, &jr);
	t1 = mono_ns();
	lat_record(&w->stats, t1 - t0);

	STAT_ADD(w->stats.by_stage[jr.stage <= STAGE_NONE ? jr.stage : STAGE_NONE]
				  [jr.would_deny ? SV_WOULD_DROP :
				   jr.verdict == JV_DROP ? SV_DROP : SV_ACCEPT], 1);
	if (jr.rejudged)
		STAT_ADD(w->stats.rejudged, 1);
	if (unlikely(jr.rv.reason == REASON_UNREADABLE))
		STAT_ADD(w->stats.unreadable, 1);
	/* unix seconds from the monotonic clock and a base read again each minute */
	if (unlikely(w->base_mono_ns == 0 || t0 - w->base_mono_ns >= 60000000000ull)) {
		w->base_mono_ns = t0;
		w->base_real_us = real_us();
	}
	w->now_s = (w->base_real_us + (t0 - w->base_mono_ns) / 1000u) / 1000000u;
	if (jr.rv.meta != RS_NO_META)
		ruleset_hit(rs, jr.rv.meta, w->now_s);
	for (uint32_t i = 0; i < jr.rv.nlog; i++)
		ruleset_hit(rs, jr.rv.log[i], w->now_s);
	if (jr.logged) {
		uint64_t ts = real_us();

		for (uint32_t i = 0; i < jr.rv.nlog; i++)
			log_record(w, rs, &k, jr.rv.log[i], VLOG_LOG, jr.stage, REASON_RULE, ts);
		if (jr.would_deny)
			log_record(w, rs, &k, jr.rv.meta, VLOG_WOULD_DENY, jr.stage, jr.rv.reason, ts);
		else if (jr.verdict == JV_DROP)
			log_record(w, rs, &k, jr.rv.meta, VLOG_DENY, jr.stage, jr.rv.reason, ts);
		else if (w->cfg.jo.log_allowed && jr.rv.meta != RS_NO_META)
			log_record(w, rs, &k, jr.rv.meta, VLOG_ALLOW, jr.stage, jr.rv.reason, ts);
	}
	if (unlikely(srs != NULL))
		judge_staged(w, srs, ph->hook, mark, &k0, &jr);
	if (w->fj.q.v != NULL)	/* the flow journal: a copy into our own ring, never a wait */
		fj_note(&w->fj, rs, &k, ph->hook, mark & w->cfg.ml.raw, mark & w->cfg.ml.reply, &jr,
			real_us());
	if (jr.verdict == JV_REPEAT)
		pend_add(w, npend, id, NF_REPEAT, jr.mark, true);
	else if (jr.verdict == JV_DROP)
		pend_add(w, npend, id, NF_DROP, 0, false);
	else if (final_hook(w, ph->hook, mark))	/* leaves nfqwall: its bits go (fastpath.c) */
		pend_add(w, npend, id, NF_ACCEPT, mark & ~w->cfg.ml.mask, true);
	else
		pend_add(w, npend, id, NF_ACCEPT, 0, false);
}

/* ---- the loop ------------------------------------------------------------------------ */

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	urcu_memb_register_thread();
	STAT_SET(w->stats.running, 1);
	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		const struct ruleset *rs;
		unsigned npend = 0;
		int n;

		STAT_SET(w->stats.heartbeat_ns, mono_ns());
		for (unsigned i = 0; i < w->batch; i++)
			w->msgs[i].msg_hdr.msg_flags = 0;
		n = recvmmsg(w->q.fd, w->msgs, w->batch, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == ENOBUFS)
				STAT_ADD(w->stats.enobufs, 1);	/* messages were lost; go on */
			else if (errno != EAGAIN && errno != EINTR)
				STAT_ADD(w->stats.recv_errors, 1);
			continue;
		}
		STAT_ADD(w->stats.batches, 1);
		ruleset_read_lock();
		rs = ruleset_current();
		if (rs != NULL)
			STAT_SET(w->stats.gen, ruleset_gen(rs));
		for (int i = 0; i < n; i++) {
			int len = (int)w->msgs[i].msg_len;

			for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)w->iov[i].iov_base;
			     mnl_nlmsg_ok(nlh, len) && npend < WORKER_BATCH * 4;
			     nlh = mnl_nlmsg_next(nlh, &len)) {
				if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
					handle_packet(w, rs, nlh, &npend);
			}
		}
		ruleset_read_unlock();
		send_verdicts(w, npend);
	}
	STAT_SET(w->stats.running, 0);
	urcu_memb_unregister_thread();
	return NULL;
}

int
worker_start(struct worker *w)
{
	int err = pthread_create(&w->thread, NULL, worker_main, w);

	if (err != 0)
		return -err;
	w->started = true;
	return 0;
}

void
worker_request_stop(struct worker *w)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
}

void
worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	worker_request_stop(w);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void
worker_close(struct worker *w)
{
	queue_close(&w->q);
	free_buffers(w);
}
