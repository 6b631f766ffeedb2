#!/usr/bin/env python3
"""The soak's command line (standard library only; tests/integ/soak.sh is the short soak,
bench/soak.sh the full one). The parts: soak_lib.py (variants, the reference), soak_traffic.py
(load, churn through a directory, sampler), soak_k8s.py (churn through the API with faults),
soak_check.py (the judge).

  soak.py variants --out DIR --n N --seed S --srcs IP,.. --explain BIN [--forms v3,v1] ...
        N policy variants soak-v0..soak-vN-1 (v3 form in DIR/v3/vK/, the stored v1 form in
        DIR/v1/vK/, each with the HostEndpoint), checked with `nfqwall explain` (every variant
        allows the "always" ports and denies the "never" ports for every source; each "flip"
        port is allowed by some variants and denied by others; the variants all differ);
        DIR/expect.json caches the reference verdict of every (variant, source, port)
  soak.py serve --ports P,.. --receipts FILE
        UDP echo servers (each echo is the datagram plus one byte); FILE gets
        "src sport dport length" for every datagram received
  soak.py traffic --node IP --srcs IP,.. --rate R --duration S --out FILE ...
        R new UDP flows a second, each from a fresh (source, port); a flow sends a datagram,
        waits for its echo (up to --timeout), then within --second seconds sends a second
        one on the same flow (by then often under another table) and waits for its echo;
        FILE gets one line per flow: seq wall_time class src sport dport result1 result2
        (echo, timeout, refused, corrupt, error:..., "-" when not sent)
  soak.py flood --srcs IP,.. --node IP --port P --rate R --duration S --out FILE
        R new UDP flows a second through a raw socket (no echo): log lines for nfqwall
  soak.py churn-dir --variants DIR --policy-dir D --n N --rate R --duration S --record FILE
        a new variant R times a second, written atomically (rename) into D; every
        --invalid-every changes an invalid file appears (and goes with the next change)
  soak.py k8s-setup / k8s-churn --api-dir D --variants DIR ...
        the same through tests/k8s/apiserver.py (create the new variant, delete the old) while
        its fault injection cycles through outages, 410s, stalls, split events, resets
  soak.py sample --pid P --out FILE [--interval S]
        VmRSS, Threads, open descriptors, /livez and a few metrics every S seconds
  soak.py check ...
        every verdict line against the reference evaluator, every packet accounted for, the
        metrics against the log and what was sent, the samples; exit 1 on a violation
Only ever talks to the addresses it is given (namespaces the callers create).
"""
import argparse
import os
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import soak_check  # noqa: E402
import soak_k8s  # noqa: E402
import soak_lib  # noqa: E402
import soak_traffic  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("variants")
    c.add_argument("--out", required=True)
    c.add_argument("--n", type=int, default=6)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--srcs", required=True)
    c.add_argument("--node", default="192.0.2.1")
    c.add_argument("--iface", default="veth-n")
    c.add_argument("--always", default="7000-7003")
    c.add_argument("--never", default="7100-7103")
    c.add_argument("--flip", default="7200-7209")
    c.add_argument("--flood-port", type=int, default=7050)
    c.add_argument("--explain", required=True)
    c.add_argument("--forms", default="v3", help="v3, v1 or v3,v1: the forms to check")
    c = sub.add_parser("serve")
    c.add_argument("--ports", required=True)
    c.add_argument("--bind", default="0.0.0.0")
    c.add_argument("--receipts", required=True)
    c = sub.add_parser("traffic")
    c.add_argument("--node", default="192.0.2.1")
    c.add_argument("--srcs", required=True)
    c.add_argument("--always", default="7000-7003")
    c.add_argument("--never", default="7100-7103")
    c.add_argument("--flip", default="7200-7209")
    c.add_argument("--mix", default="4:2:4", help="always:never:flip")
    c.add_argument("--rate", type=float, default=100)
    c.add_argument("--duration", type=float, default=10)
    c.add_argument("--timeout", type=float, default=8)
    c.add_argument("--second", type=float, default=1.0,
                   help="after its echo, a flow sends a second datagram within this many "
                   "seconds (0: never), an established flow that a change re-judges")
    c.add_argument("--sport-lo", type=int, default=20000)
    c.add_argument("--sport-hi", type=int, default=60000)
    c.add_argument("--out", required=True)
    c = sub.add_parser("flood")
    c.add_argument("--node", default="192.0.2.1")
    c.add_argument("--srcs", required=True)
    c.add_argument("--port", type=int, default=7050)
    c.add_argument("--rate", type=float, default=1000)
    c.add_argument("--duration", type=float, default=10)
    c.add_argument("--out", required=True)
    c = sub.add_parser("churn-dir")
    c.add_argument("--variants", required=True)
    c.add_argument("--policy-dir", required=True)
    c.add_argument("--n", type=int, required=True)
    c.add_argument("--initial", type=int, default=0)
    c.add_argument("--rate", type=float, default=4)
    c.add_argument("--duration", type=float, default=10)
    c.add_argument("--invalid-every", type=int, default=0)
    c.add_argument("--seed", type=int, default=2)
    c.add_argument("--record", required=True)
    for name in ("k8s-setup", "k8s-churn"):
        c = sub.add_parser(name)
        c.add_argument("--api-dir", required=True)
        c.add_argument("--variants", required=True)
        c.add_argument("--n", type=int, default=6)
        c.add_argument("--initial", type=int, default=0)
        c.add_argument("--fillers", type=int, default=600)
        c.add_argument("--rate", type=float, default=4)
        c.add_argument("--duration", type=float, default=10)
        c.add_argument("--fault-every", type=float, default=8)
        c.add_argument("--seed", type=int, default=3)
        c.add_argument("--record")
    c = sub.add_parser("sample")
    c.add_argument("--pid", type=int, required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--interval", type=float, default=2)
    c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--metrics-every", type=int, default=5)
    c.add_argument("--http", default="http://127.0.0.1:9417")
    c = sub.add_parser("check")
    c.add_argument("--title", default="soak")
    c.add_argument("--variants", required=True)
    c.add_argument("--form", default="v3")
    c.add_argument("--nfqwall", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--sent", required=True)
    c.add_argument("--receipts", required=True)
    c.add_argument("--flood")
    c.add_argument("--metrics")
    c.add_argument("--metrics-start")
    c.add_argument("--log-dropped", type=int, default=0)
    c.add_argument("--line-slack", type=int, default=20)
    c.add_argument("--churn")
    c.add_argument("--converge", type=float, default=5)
    c.add_argument("--samples")
    c.add_argument("--interval", type=float, default=2)
    c.add_argument("--livez-timeout", type=float, default=10)
    c.add_argument("--warmup", type=float, default=10)
    c.add_argument("--rss-bound-kb", type=int, default=4096)
    c.add_argument("--fd-slack", type=int, default=0)
    c.add_argument("--sample", type=int, default=100)
    c.add_argument("--summary")
    a = p.parse_args()
    fn = {"variants": soak_lib.variants, "serve": soak_traffic.serve,
          "traffic": soak_traffic.traffic, "flood": soak_traffic.flood,
          "churn-dir": soak_traffic.churn_dir, "k8s-setup": soak_k8s.k8s_setup,
          "k8s-churn": soak_k8s.k8s_churn, "sample": soak_traffic.sample,
          "check": soak_check.check}[a.cmd]
    return fn(a)


if __name__ == "__main__":
    sys.exit(main())
