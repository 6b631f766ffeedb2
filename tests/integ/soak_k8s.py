#!/usr/bin/env python3
"""tests/integ/soak_k8s.py - the soak's policy churn through tests/k8s/apiserver.py (create
the next variant, delete the others) while its fault injection cycles. The command line is
tests/integ/soak.py."""
import http.client
import json
import os
import random
import signal
import ssl
import sys
import threading
import time
import urllib.request

import soak_traffic


# ---- churn through the Kubernetes API --------------------------------------------------

GNP = "/apis/crd.projectcalico.org/v1/globalnetworkpolicies"
HEP = "/apis/crd.projectcalico.org/v1/hostendpoints"


class Api:
    def __init__(self, d):
        self.d = d
        self.port = int(open(os.path.join(d, "port")).read())
        self.aport = int(open(os.path.join(d, "admin-port")).read())
        self.ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
        self.conn = None
        self.token = None

    def read_token(self):
        with open(os.path.join(self.d, "serviceaccount", "token")) as f:
            self.token = f.read().strip()

    def req(self, method, path, body=None, timeout=5):
        if self.token is None:
            self.read_token()
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                            context=self.ctx, timeout=timeout)
                hdr = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    hdr["Content-Type"] = "application/json"
                self.conn.request(method, path, body=data, headers=hdr)
                r = self.conn.getresponse()
                txt = r.read()
                if r.status == 401 and attempt == 0:
                    self.read_token()
                    continue
                return r.status, txt
            except (OSError, http.client.HTTPException) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 1:
                    return 0, str(e).encode()
        return 0, b""

    def admin(self, method, path, body=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.aport, path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")


def k8s_setup(a):
    api = Api(a.api_dir)
    with open(os.path.join(a.variants, "v1", "v0", "hep.json")) as f:
        hep = json.load(f)
    st, txt = api.req("POST", HEP, hep)
    if st not in (201, 409):
        print("creating the HostEndpoint: %d %s" % (st, txt[:300]), file=sys.stderr)
        return 1
    fill = [{"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
             "metadata": {"name": "default.filler-%04d" % i},
             "spec": {"tier": "default", "order": 1000 + i, "selector": "role == 'nothing'",
                      "types": ["Ingress"],
                      "ingress": [{"action": "Allow", "protocol": "TCP",
                                   "destination": {"ports": [10000 + i]}}]}}
            for i in range(a.fillers)]
    if fill:
        r = api.admin("POST", "/objects", {"items": fill})
        if r.get("errors"):
            print("fillers: %s" % r["errors"], file=sys.stderr)
            return 1
    with open(os.path.join(a.variants, "v1", "v%d" % a.initial, "policy.json")) as f:
        pol = json.load(f)
    st, txt = api.req("POST", GNP, pol)
    if st not in (201, 409):
        print("creating the first variant: %d %s" % (st, txt[:300]), file=sys.stderr)
        return 1
    print("k8s-setup: HostEndpoint, %d filler policies (selecting nothing), variant %d" %
          (a.fillers, a.initial))
    return 0


CLEAR = {"fail_with": 0, "fail_count": 0, "fail_verbs": [], "fail_paths": [], "latency_ms": 0,
         "split_chunks": False, "drop_mid_event": 0, "drop_next_watch": 0}
# (name, faults at the start, seconds it lasts, faults repeated every 0.1 s from 0.2 s on
# while it lasts, or None). The first one needs paged lists (apiserver.py
# --no-cache-ignores-limit: the 600 fillers make two pages) and reflectors not backing off
# (it comes first): the watch history restarts (410, every kind lists again), every page
# comes 400 ms late and the history is compacted all the time, so a list's continue token
# expires between its pages (410): the daemon must start that list again, and never publish
# a part of one (issue 8, defect 3).
FAULTS = [
    ("continue-410", {"latency_ms": 400, "restart_history": True}, 6, {"compact": True}),
    ("outage-500", {"fail_with": 500, "fail_count": -1, "fail_verbs": ["list", "watch", "get"],
                    "drop_watches": True}, 6, None),
    ("down", {"down_seconds": 4}, 4, None),
    ("history-restart-410", {"restart_history": True}, 1, None),
    ("drop-watches", {"drop_watches": True}, 1, None),
    ("429-retry-after", {"fail_with": 429, "fail_count": 12, "retry_after": 1,
                         "fail_verbs": ["list", "watch"], "drop_watches": True}, 4, None),
    ("stall", {"stall_seconds": 4, "stall_verbs": ["list", "watch"]}, 4, None),
    # (no pause between the chunks: the server takes every pending event as one batch, and
    # 3-byte chunks 1 ms apart would deliver a backlog of a few hundred events at 2 KB/s)
    ("split-chunks", {"split_chunks": True, "chunk_size": 3, "split_delay_ms": 0,
                      "drop_watches": True}, 5, None),
    ("drop-mid-event", {"drop_mid_event": 3}, 4, None),
    ("503-lists", {"fail_with": 503, "fail_count": -1, "fail_verbs": ["list"], "retry_after": 1,
                   "end_watches": True}, 5, None),
]


def repeat_fault(api, body, until, rec):
    """POST body to /faults every 0.1 s until the monotonic time until."""
    time.sleep(0.2)
    n = 0
    while time.monotonic() < until and not soak_traffic.STOP:
        try:
            api.admin("POST", "/faults", body)
            n += 1
        except OSError:
            pass
        time.sleep(0.1)
    rec.write("%.6f fault-repeated %d %s\n" % (time.time(), n, json.dumps(body)))


def k8s_churn(a):
    signal.signal(signal.SIGTERM, soak_traffic.on_term)
    api = Api(a.api_dir)
    rng = random.Random(a.seed)
    rec = open(a.record, "w", buffering=1)
    pols = {}
    for k in range(a.n):
        with open(os.path.join(a.variants, "v1", "v%d" % k, "policy.json")) as f:
            pols[k] = json.load(f)
    present = {a.initial}	# what the driver believes the API holds
    cur = a.initial
    t0 = time.monotonic()
    n = fails = 0
    fault_i = 0
    next_fault = t0 + a.fault_every / 2
    fault_end = None
    while time.monotonic() - t0 < a.duration and not soak_traffic.STOP:
        now = time.monotonic()
        if a.fault_every and fault_end is None and now >= next_fault:
            name, f, secs, mid = FAULTS[fault_i % len(FAULTS)]
            fault_i += 1
            try:
                api.admin("POST", "/faults", f)
                rec.write("%.6f fault %s %s\n" % (time.time(), name, json.dumps(f)))
            except OSError as e:
                rec.write("%.6f fault-error %s %s\n" % (time.time(), name, e))
            fault_end = now + secs
            if mid:
                threading.Thread(target=repeat_fault, args=(api, mid, fault_end, rec),
                                 daemon=True).start()
        if fault_end is not None and now >= fault_end:
            try:
                api.admin("POST", "/faults", CLEAR)
                rec.write("%.6f fault-cleared\n" % time.time())
            except OSError as e:
                rec.write("%.6f fault-error clear %s\n" % (time.time(), e))
            fault_end = None
            next_fault = now + a.fault_every
        # one change: create the next variant, then delete every other one
        nxt = rng.choice([k for k in range(a.n) if k != cur])
        st, txt = api.req("POST", GNP, pols[nxt], timeout=3)
        if st in (201, 409):
            present.add(nxt)
            cur = nxt
            n += 1
            rec.write("%.6f variant %d (create %d)\n" % (time.time(), nxt, st))
            for k in sorted(present - {nxt}):
                st, txt = api.req("DELETE", GNP + "/default.soak-v%d" % k, timeout=3)
                if st in (200, 202, 404):
                    present.discard(k)
                else:
                    fails += 1
                    rec.write("%.6f delete-failed %d %d\n" % (time.time(), k, st))
        else:
            fails += 1
            rec.write("%.6f create-failed %d %d %s\n" % (time.time(), nxt, st,
                                                        txt[:120].decode(errors="replace")))
        time.sleep(max(0.0, t0 + (n + fails) / a.rate - time.monotonic()))
    # the end: faults off, then one last change that must reach the daemon
    try:
        api.admin("DELETE", "/faults")
    except OSError:
        pass
    rec.write("%.6f fault-cleared\n" % time.time())
    for attempt in range(60):
        nxt = rng.choice([k for k in range(a.n) if k != cur])
        st, _ = api.req("POST", GNP, pols[nxt], timeout=5)
        if st in (201, 409):
            present.add(nxt)
            cur = nxt
            rec.write("%.6f variant %d (final, create %d)\n" % (time.time(), nxt, st))
            ok = True
            for k in sorted(present - {nxt}):
                sd, _ = api.req("DELETE", GNP + "/default.soak-v%d" % k, timeout=5)
                if sd in (200, 202, 404):
                    present.discard(k)
                else:
                    ok = False
            if ok:
                break
        time.sleep(0.5)
    rec.write("%.6f end variant %d changes %d failed-writes %d\n" % (time.time(), cur, n, fails))
    rec.close()
    print("k8s-churn: %d changes, %d failed writes, %d faults in %.1f s, final variant %d" %
          (n, fails, fault_i, time.monotonic() - t0, cur))
    return 0
