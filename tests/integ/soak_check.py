#!/usr/bin/env python3
"""tests/integ/soak_check.py - the soak's judge: every verdict line against the reference
evaluator, every packet of every counted flow accounted for, the metrics against the log and
what was sent, the daemon's samples (RSS, threads, descriptors, /livez). The command line is
tests/integ/soak.py.

The reference for a line is `nfqwall explain --json` on the variant the line names, for the
packet the line shows, as a new packet on the line's path. A re-judged packet (an echo, or a
flow's second datagram after a change) is logged as its flow's original direction and judged
as that flow's first packet would be (docs/architecture.md, "Generations and re-judging"), so
the same question applies to it. The answer does not depend on the source port (no variant
mentions one): it is cached per (variant, path, protocol, addresses, port, interface), and
a sample of full tuples is asked with the source port to confirm it."""
import calendar
import collections
import concurrent.futures
import json
import os
import random
import re
import time

from soak_lib import Explain, parse_metrics, payloads, write_json


# ---- the checker -----------------------------------------------------------------------

class Report:
    def __init__(self):
        self.violations = []
        self.figures = []

    def fig(self, name, value):
        self.figures.append((name, value))
        print("  %-52s %s" % (name, value))

    def bad(self, what, evidence=()):
        self.violations.append(what)
        print("VIOLATION: " + what)
        for e in list(evidence)[:8]:
            print("    " + e)


def load_lines(path, rep):
    lines = []
    bad = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                lines.append(json.loads(raw.decode("utf-8")))
            except (ValueError, UnicodeDecodeError):
                bad += 1
                if bad <= 3:
                    rep.bad("verdict log line %d is not valid UTF-8 JSON" % n, [repr(raw[:200])])
    return lines


VARIANT_RE = re.compile(r"(?:^|\.)soak-v(\d+)$")


def ts_of(line):
    # "2026-12-06T01:10:27.483727Z" -> seconds since the epoch
    t = line.get("ts") or ""
    try:
        return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + t[19:-1])
    except ValueError:
        return 0.0


def check(a):
    rep = Report()
    m = json.load(open(os.path.join(a.variants, "manifest.json")))
    expect = json.load(open(os.path.join(a.variants, "expect.json")))
    ex = Explain(a.nfqwall, a.variants)
    form = a.form
    classes = {p: "always" for p in m["always"]}
    classes.update({p: "never" for p in m["never"]})
    classes.update({p: "flip" for p in m["flip"]})
    srcs = set(m["srcs"])
    flood = json.load(open(a.flood)) if a.flood and os.path.exists(a.flood) else None
    flood_srcs = set(flood["srcs"]) if flood else set()

    print("== %s" % a.title)
    lines = load_lines(a.log, rep)
    # ---- every verdict line against the reference evaluator ----
    cache = {}
    unexplained = {}   # keys no earlier answer covers: run explain on them
    actions = collections.Counter()
    not_variant = []
    per_tuple = collections.defaultdict(list)
    flood_lines = 0
    variant_use = collections.Counter()
    for ln in lines:
        actions[ln.get("action")] += 1
        direction = ln.get("direction")
        path = "local-in" if direction == "ingress" else "local-out"
        iface = ln.get("iface_in") if path == "local-in" else ln.get("iface_out")
        if path == "local-in" and not iface:
            iface = ln.get("iface_out")
        ours = (ln.get("proto") == "udp" and path == "local-in" and ln.get("src") in srcs and
                ln.get("dport") in classes and ln.get("dst") == m["node"])
        if ours:	# every line of a counted flow takes part in its accounting
            per_tuple[(ln["src"], ln["sport"], ln["dport"])].append(ln)
        elif flood and ln.get("src") in flood_srcs and ln.get("dport") == flood["port"]:
            flood_lines += 1
        mv = VARIANT_RE.search(ln.get("policy") or "")
        if not mv:
            not_variant.append(ln)
            continue
        k = int(mv.group(1))
        ln["_k"] = k
        variant_use[k] += 1
        key = (k, path, ln.get("proto"), ln.get("src"), ln.get("dst"), ln.get("dport"),
               ln.get("icmp_type"), ln.get("icmp_code"), iface)
        ln["_key"] = key
        if ours:
            e = expect.get("%s/%d/%s/%d" % (form, k, ln["src"], ln["dport"]))
            if e is not None and iface == m["iface"]:
                cache[key] = e
        if key not in cache:
            unexplained[key] = ln
    keys = list(unexplained)
    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        for key, r in zip(keys, pool.map(lambda key: ex(
                form, key[0], key[1], key[2], key[3], key[4], None, key[5], key[8],
                key[6], key[7]), keys)):
            cache[key] = r
    # a sample of full tuples (with the source port) confirms the cache's key is exact
    rng = random.Random(7)
    sample_lines = rng.sample(lines, min(a.sample, len(lines))) if lines else []
    sample_lines = [ln for ln in sample_lines if "_key" in ln]
    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        full = list(pool.map(lambda ln: ex(
            form, ln["_k"], ln["_key"][1], ln["proto"], ln["src"], ln["dst"], ln.get("sport"),
            ln.get("dport"), ln["_key"][8], ln.get("icmp_type"), ln.get("icmp_code")),
            sample_lines))
    wrong = []
    checked = 0
    disagree = []
    for ln in lines:
        if "_key" not in ln:
            continue
        e = cache.get(ln["_key"])
        if e is None:
            continue
        checked += 1
        got = (ln.get("action"), ln.get("policy"), ln.get("rule"), ln.get("tier"), ln.get("stage"))
        want = (e["verdict"], e["policy"], e["rule"], e["tier"], e["stage"])
        if got != want:
            wrong.append("%s: log says %s, explain on variant %d says %s" %
                         (json.dumps({x: ln.get(x) for x in ("ts", "src", "sport", "dport",
                                                              "gen", "queue")}),
                          got, ln["_k"], want))
        if not e.get("agrees", True):
            disagree.append("%s" % (ln["_key"],))
    for ln, e in zip(sample_lines, full):
        if e is None:
            continue
        checked += 0
        if (ln.get("action"), ln.get("policy"), ln.get("rule")) != \
                (e["verdict"], e["policy"], e["rule"]):
            wrong.append("full-tuple explain differs for %s: %s" % (
                json.dumps({x: ln.get(x) for x in ("src", "sport", "dport", "gen")}), e))
    rep.fig("verdict lines", "%d (%s)" % (len(lines), ", ".join(
        "%s %d" % kv for kv in sorted(actions.items(), key=lambda kv: str(kv[0])))))
    rep.fig("lines checked against explain (reference)",
            "%d, %d distinct (variant, packet) keys, %d full-tuple samples, %d explain runs" %
            (checked, len(cache), len(sample_lines), ex.runs))
    rep.fig("variants seen deciding", "%d of %d (%s)" % (
        len(variant_use), m["n"], " ".join("v%d:%d" % kv for kv in sorted(variant_use.items()))))
    if ex.errors:
        rep.bad("explain failed %d times" % len(ex.errors), ex.errors)
    if wrong:
        rep.bad("%d verdict lines differ from the reference evaluator" % len(wrong), wrong)
    if disagree:
        rep.bad("explain reports its compiled table disagreeing with the evaluator", disagree)
    if not_variant:
        rep.bad("%d verdict lines were decided by no variant (an empty or partial table?)" %
                len(not_variant), [json.dumps(x) for x in not_variant[:8]])

    # ---- one variant per table: within a queue, a run of one generation names one variant ----
    runs = mixed = 0
    mixed_ev = []
    last = {}
    for ln in lines:
        if "_k" not in ln:
            continue
        q = ln.get("queue")
        cur = last.get(q)
        if cur is None or cur[0] != ln.get("gen"):
            last[q] = [ln.get("gen"), {ln["_k"]}, ln]
            runs += 1
        elif ln["_k"] not in cur[1]:
            cur[1].add(ln["_k"])
            mixed += 1
            mixed_ev.append("queue %s gen %s: variants %s (%s, then %s)" % (
                q, cur[0], sorted(cur[1]), cur[2].get("ts"), ln.get("ts")))
    rep.fig("runs of one generation per queue", runs)
    if mixed:
        rep.bad("%d times one generation named two variants in a row (a table swapped "
                "without a new generation?)" % mixed, mixed_ev)

    # ---- every datagram accounted for ----
    # A flow is up to four packets: request 1, its echo, request 2 (a while later, by then
    # often under another table: re-judged), its echo; the IP length of a verdict line says
    # which one it judged. A packet with an allow line, or no line (the connmark fast path),
    # must arrive; one with a deny line must not. Never-allowed requests must never arrive
    # and always-allowed flows must get every echo.
    received = collections.defaultdict(collections.Counter)
    rx_errors = 0
    with open(a.receipts) as f:
        for line in f:
            if line.startswith("#"):
                rx_errors += "sendto" in line
                continue
            s, sp, dp, ln_ = line.split()
            received[(s, int(sp), int(dp))][int(ln_)] += 1
    sent = []
    with open(a.sent) as f:
        for line in f:
            seq, wall, cls, s, sp, dp, r1, r2 = line.split()
            sent.append((int(seq), float(wall), cls, s, int(sp), int(dp), r1, r2))
    log_dropped = a.log_dropped
    by = collections.Counter()
    lost, passed, unjudged, twice, multi = [], [], [], [], []
    unverifiable = 0
    est = collections.Counter()
    dup_tuples = collections.Counter((s, sp, dp) for _, _, _, s, sp, dp, _, _ in sent)
    for seq, wall, cls, s, sp, dp, r1, r2 in sent:
        t = (s, sp, dp)
        by[(cls, r1 if r2 == "-" else r1 + "+" + r2)] += 1
        rx = received.get(t, {})
        lns = per_tuple.get(t, [])
        p1, p2 = payloads(seq)
        pk = [("request 1", 28 + len(p1)), ("echo 1", 29 + len(p1)),
              ("request 2", 28 + len(p2)), ("echo 2", 29 + len(p2))]
        desc = "flow %d %s %s:%d -> %d: client %s %s, server got %s, lines %s" % (
            seq, cls, s, sp, dp, r1, r2, dict(rx),
            [(x["action"], x["len"], x["gen"], x["policy"], x["rule"]) for x in lns])
        if dup_tuples[t] > 1:
            multi.append(desc)
            continue
        if r1.startswith("error") or r1 == "senderror":
            lost.append("the client could not send: " + desc)
            continue
        verdict = {}
        for name, iplen in pk:
            v = [x["action"] for x in lns if x["len"] == iplen]
            if len(v) > 1:
                twice.append("%s judged %d times: %s" % (name, len(v), desc))
            verdict[name] = v[-1] if v else None
        if len(lns) > sum(1 for x in lns if x["len"] in {n for _, n in pk}):
            twice.append("lines of unexpected length: " + desc)
        if verdict["request 1"] is None:
            unjudged.append(desc)
        if verdict["request 2"] is not None:
            est["request 2 re-judged: " + verdict["request 2"]] += 1
        if verdict["echo 1"] is not None or verdict["echo 2"] is not None:
            est["an echo re-judged"] += 1
        # which packets went through, by the client's and the server's account
        arrived = {"request 1": rx.get(len(p1), 0) > 0, "echo 1": r1 == "echo",
                   "request 2": rx.get(len(p2), 0) > 0, "echo 2": r2 == "echo"}
        sent_pk = {"request 1": True, "echo 1": arrived["request 1"],
                   "request 2": r2 != "-", "echo 2": arrived["request 2"]}
        if cls == "never" and (arrived["request 1"] or r1 in ("echo", "refused")):
            passed.append("never-allowed datagram arrived: " + desc)
        if cls == "always" and (r1 != "echo" or r2 not in ("-", "echo")):
            lost.append("always-allowed flow lost a datagram: " + desc)
        for name, _ in pk:
            if not sent_pk[name]:
                continue
            v = verdict[name]
            if v is None and log_dropped:
                unverifiable += 1
                continue
            if v == "deny" and arrived[name]:
                passed.append("%s has a deny line but arrived: %s" % (name, desc))
            elif v != "deny" and not arrived[name]:
                lost.append("%s (%s) did not arrive: %s" % (
                    name, "allowed" if v else "no line: fast path", desc))
    nsent = len(sent)
    for cls in ("always", "never", "flip"):
        rs = {r: n for (c, r), n in by.items() if c == cls}
        rep.fig("%s: flows" % cls, "%d (%s)" % (
            sum(rs.values()), ", ".join("%s %d" % kv for kv in sorted(rs.items()))))
    rep.fig("flip: verdict lines allow / deny",
            "%d / %d" % (sum(1 for v in per_tuple.values() for x in v if x["action"] == "allow"
                             and classes[x["dport"]] == "flip"),
                         sum(1 for v in per_tuple.values() for x in v if x["action"] == "deny"
                             and classes[x["dport"]] == "flip")))
    rep.fig("established packets re-judged", ", ".join(
        "%s %d" % kv for kv in sorted(est.items())) or "0")
    same = sum(1 for v in per_tuple.values() for x, y in zip(v, v[1:]) if x["gen"] == y["gen"])
    rep.fig("re-judged under the generation that judged the flow", "%d (the kernel's fast-path "
            "rule not yet rewritten)" % same)
    rep.fig("server: datagrams received, echo send errors",
            "%d, %d" % (sum(sum(c.values()) for c in received.values()), rx_errors))
    if multi:
        rep.bad("%d flows reused a (source, port) tuple: the soak's own bookkeeping" %
                len(multi), multi)
    if lost:
        rep.bad("%d allowed packets did not arrive" % len(lost), lost)
    if passed:
        rep.bad("%d denied packets arrived" % len(passed), passed)
    if twice:
        rep.bad("%d packets judged more than once" % len(twice), twice)
    rep.fig("flows whose first packet has no verdict line", "%d (log records dropped: %d, "
            "packets unverifiable for it: %d)" % (len(unjudged), log_dropped, unverifiable))
    if len(unjudged) > log_dropped:
        rep.bad("%d flows have no verdict line for their first packet, more than the %d log "
                "records dropped" % (len(unjudged), log_dropped), unjudged)

    # ---- flood, metrics ----
    if flood:
        rep.fig("flood: datagrams sent, verdict lines", "%d (%.0f/s), %d" % (
            flood["sent"], flood["pps"], flood_lines))
        if flood_lines > flood["sent"] or flood["sent"] - flood_lines > log_dropped:
            rep.bad("flood: %d datagrams sent but %d verdict lines (%d log records dropped)" %
                    (flood["sent"], flood_lines, log_dropped))
    if a.metrics:
        mt = parse_metrics(open(a.metrics).read())
        sm, pk = mt["sums"], mt["packets"]
        judged = sum(v for k, v in pk.items() if not k.startswith("none/"))
        acc = sum(v for k, v in pk.items() if k.endswith("/accept") and not k.startswith("none/"))
        drop = sum(v for k, v in pk.items() if k.endswith("/drop"))
        mlines = sm.get("nfqwall_log_lines_total", 0)
        supp = sm.get("nfqwall_log_suppressed_total", 0)
        qd = sm.get("nfqwall_kernel_queue_dropped_total", 0) + \
            sm.get("nfqwall_kernel_queue_user_dropped_total", 0)
        rep.fig("metrics: packets judged (accept / drop)", "%d (%d / %d)" % (judged, acc, drop))
        rep.fig("metrics: log lines, suppressed, dropped", "%d, %d, %d" % (
            mlines, supp, sm.get("nfqwall_log_dropped_total", 0)))
        rep.fig("metrics: kernel queue drops (full + socket)", "%d" % qd)
        rep.fig("metrics: tables published, reloads, reload failures", "%d, %d, %d" % (
            sm.get("nfqwall_tables_published_total", 0), sm.get("nfqwall_policy_reloads_total", 0),
            sm.get("nfqwall_policy_reload_failures_total", 0)))
        rep.fig("metrics: re-judged flows", "%d" % sm.get("nfqwall_rejudged_total", 0))
        total_sent = nsent + (flood["sent"] if flood else 0)
        rep.fig("sent (counted + flood) vs judged", "%d vs %d" % (total_sent, judged))
        if judged < total_sent:
            rep.bad("nfqwall judged %d packets, fewer than the %d new flows sent" %
                    (judged, total_sent))
        if supp:
            rep.bad("log lines were folded (suppressed %d) although --log-rate 0" % supp)
        # Every decision by a rule is one log line (drops always are). Accepts with no rule
        # (no host endpoint yet: Kubernetes mode before its first sync) are not logged, so
        # those counted before the start snapshot are allowed for; and anything judged
        # between the final scrape and SIGTERM (--line-slack).
        acc0 = 0
        if a.metrics_start:
            pk0 = parse_metrics(open(a.metrics_start).read())["packets"]
            acc0 = sum(v for k, v in pk0.items() if k.endswith("/accept") and
                       not k.startswith("none/"))
        ldrop = sm.get("nfqwall_log_dropped_total", 0)
        if not (drop <= actions.get("deny", 0) + ldrop <= drop + a.line_slack):
            rep.bad("metrics count %d drops but the log has %d deny lines (+%d records dropped)"
                    % (drop, actions.get("deny", 0), ldrop))
        if not (acc - acc0 <= actions.get("allow", 0) + ldrop <= acc + a.line_slack):
            rep.bad("metrics count %d accepts (%d before the load) but the log has %d allow "
                    "lines (+%d records dropped)" % (acc, acc0, actions.get("allow", 0), ldrop))
        for name in ("api_relists_total", "api_watch_restarts_total", "api_errors_total"):
            if "nfqwall_" + name in sm and sm["nfqwall_" + name]:
                rep.fig("metrics: " + name, "%d" % sm["nfqwall_" + name])
        if qd:
            rep.bad("the kernel dropped %d packets at a full queue or socket" % qd)

    # ---- convergence after the churn ----
    if a.churn:
        end_t, final = None, None
        nchanges = 0
        with open(a.churn) as f:
            for line in f:
                w = line.split()
                if w[1] == "variant":
                    nchanges += 1
                    end_t = float(w[0])	# the last change written
                if w[1] == "end":
                    final = int(w[3])
        ours = [ln for v in per_tuple.values() for ln in v]
        ours.sort(key=ts_of)
        after = [ln for ln in ours if ts_of(ln) > end_t]
        conv = None
        for i in range(len(after) - 1, -1, -1):
            if after[i].get("_k") != final:
                conv = ts_of(after[i + 1]) if i + 1 < len(after) else None
                break
        else:
            conv = ts_of(after[0]) if after else None
        rep.fig("policy changes written", nchanges)
        if conv is None:
            rep.bad("after the churn the final variant v%d was never enforced (%d lines after)" %
                    (final, len(after)))
        else:
            rep.fig("final variant enforced after the last change", "%.2f s" % (conv - end_t))
            if conv - end_t > a.converge:
                rep.bad("the final variant took %.1f s to be enforced (bound %.0f s)" %
                        (conv - end_t, a.converge))

    # ---- the daemon's health ----
    if a.samples:
        ss = [json.loads(x) for x in open(a.samples) if x.strip()]
        alive = [s for s in ss if "VmRSS" in s]
        if not alive:
            rep.bad("no sample of the daemon")
        else:
            first, lastS = alive[0], alive[-1]
            warm = next((s for s in alive if s["t"] >= first["t"] + a.warmup), lastS)
            peak = max(s["VmRSS"] for s in alive if s["t"] >= warm["t"])
            rep.fig("RSS start / after warm-up / peak / end (KiB)", "%d / %d / %d / %d" % (
                first["VmRSS"], warm["VmRSS"], peak, lastS["VmRSS"]))
            after = [s for s in alive if s["t"] >= warm["t"]]
            rep.fig("threads start / after warm-up / max after / end", "%d / %d / %d / %d" % (
                first["Threads"], warm["Threads"], max(s["Threads"] for s in after),
                lastS["Threads"]))
            rep.fig("open descriptors start / after warm-up / max / end", "%d / %d / %d / %d" % (
                first["fds"], warm["fds"], max(s["fds"] for s in alive), lastS["fds"]))
            rep.fig("samples (every %.0f s), /livez not 200" % a.interval, "%d, %d" % (
                len(ss), sum(1 for s in ss if s.get("livez") != 200)))
            growth = lastS["VmRSS"] - warm["VmRSS"]
            if a.rss_bound_kb >= 0 and growth > a.rss_bound_kb:
                rep.bad("RSS grew by %d KiB after warm-up (bound %d KiB)" %
                        (growth, a.rss_bound_kb))
            if max(s["Threads"] for s in after) != warm["Threads"] or \
                    lastS["Threads"] != warm["Threads"]:
                rep.bad("threads: %d after warm-up, up to %d later, %d at the end (%s)" % (
                    warm["Threads"], max(s["Threads"] for s in after), lastS["Threads"],
                    lastS.get("comms")))
            # (in Kubernetes mode the watches may be down at either point: the larger one)
            if lastS["fds"] > max(first["fds"], warm["fds"]) + a.fd_slack:
                rep.bad("descriptors: %d at the start, %d after warm-up, %d at the end "
                        "(slack %d)" % (first["fds"], warm["fds"], lastS["fds"], a.fd_slack))
            sick = [s for s in ss if s.get("livez") not in (200, None, 0)]
            if sick:
                rep.bad("/livez answered other than 200 %d times" % len(sick),
                        ["%.1f: %s %s" % (s["t"], s["livez"], s.get("livez_body", ""))
                         for s in sick])
            unanswered = [s for s in ss if s.get("livez") == 0]
            if unanswered:
                rep.fig("/livez unanswered within %d s (warning)" % a.livez_timeout,
                        len(unanswered))
            if any(s.get("alive") is False for s in ss):
                rep.bad("nfqwall exited during the soak")
    if a.summary:
        write_json(a.summary, {"title": a.title, "figures": rep.figures,
                               "violations": rep.violations})
    print("== %s: %s" % (a.title, "%d violation(s)" % len(rep.violations)
                         if rep.violations else "no violation"))
    return 1 if rep.violations else 0
