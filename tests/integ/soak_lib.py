#!/usr/bin/env python3
"""tests/integ/soak_lib.py - what the soak's parts share: the policy variants and their
reference verdicts (`nfqwall explain --json`), the datagrams of a counted flow, the metrics
parser. The command line is tests/integ/soak.py."""
import collections
import concurrent.futures
import ipaddress
import json
import os
import random
import re
import subprocess
import sys

def ports_of(spec):
    out = []
    for part in filter(None, (spec or "").split(",")):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


# ---- variants --------------------------------------------------------------------------

def port_spec(rng, ports):
    """The same set of ports, written one way or another."""
    lo, hi = min(ports), max(ports)
    if hi - lo + 1 == len(ports) and rng.random() < 0.5:
        return ["%d:%d" % (lo, hi)]
    return list(ports)


def subnets(srcs):
    """Networks covering parts of the source addresses (/29 down to /32)."""
    nets = set()
    for s in srcs:
        for plen in (29, 30, 31, 32):
            nets.add(str(ipaddress.ip_network("%s/%d" % (s, plen), strict=False)))
    return sorted(nets)


def udp(action, ports=None, src=None, notsrc=None):
    r = {"action": action, "protocol": "UDP"}
    if src or notsrc:
        r["source"] = {"nets": [src]} if src else {"notNets": [notsrc]}
    if ports:
        r["destination"] = {"ports": ports}
    return r


def variant_rules(k, seed, m):
    """Ingress rules of variant k: every decision about the soak's traffic is an explicit rule."""
    rng = random.Random(seed * 7919 + k)
    nets = subnets(m["srcs"])
    ing = [{"action": "Allow", "source": {"nets": ["127.0.0.0/8"]}},
           {"action": "Allow", "protocol": "ICMPv6"}]
    never_early = rng.random() < 0.6
    if never_early:
        ing.append(udp("Deny", port_spec(rng, m["never"])))
    ing.append(udp("Allow", port_spec(rng, m["always"]),
                   src="192.0.2.0/24" if rng.random() < 0.3 else None))
    ing.append(udp("Allow", [m["flood_port"]]))
    flips = list(m["flip"])
    rng.shuffle(flips)
    later = []
    for p in flips:
        form = rng.choice(("allow", "deny", "allow-net", "deny-net", "allow-notnet", "range"))
        if form == "allow":
            ing.append(udp("Allow", [p]))
        elif form == "deny":
            ing.append(udp("Deny", [p]))
        elif form == "allow-net":
            ing.append(udp("Allow", [p], src=rng.choice(nets)))
        elif form == "deny-net":
            ing.append(udp("Deny", [p], src=rng.choice(nets)))
            later.append(udp("Allow", [p]))
        elif form == "allow-notnet":
            ing.append(udp("Allow", [p], notsrc=rng.choice(nets)))
        else:	# a port range around it that also covers other flip ports
            ing.append(udp(rng.choice(("Allow", "Deny")), ["%d:%d" % (p, min(p + 2, max(flips)))]))
    ing.extend(later)
    if not never_early:
        ing.append(udp("Deny", port_spec(rng, m["never"])))
    ing.append({"action": "Deny"})
    return ing


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.rename(path + ".tmp", path)


def hep_obj(form, node_ip):
    return {"apiVersion": "projectcalico.org/v3" if form == "v3" else "crd.projectcalico.org/v1",
            "kind": "HostEndpoint",
            "metadata": {"name": "node-1", "labels": {"role": "node"}},
            "spec": {"node": "node-1", "interfaceName": "*", "expectedIPs": [node_ip]}}


def gnp_obj(form, k, rules):
    spec = {"selector": "role == 'node'", "order": 10, "types": ["Ingress", "Egress"],
            "ingress": rules, "egress": [{"action": "Allow"}]}
    if form == "v3":
        return {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
                "metadata": {"name": "soak-v%d" % k}, "spec": spec}
    spec = dict(spec, tier="default")
    return {"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "default.soak-v%d" % k}, "spec": spec}


class Explain:
    """`nfqwall explain --json`, the reference evaluator, run on one variant's directory."""

    def __init__(self, nfqwall, vdir, node="node-1"):
        self.bin, self.vdir, self.node = nfqwall, vdir, node
        self.runs = 0
        self.errors = []

    def __call__(self, form, k, path, proto, src, dst, sport=None, dport=None, iface=None,
                 icmp_type=None, icmp_code=None):
        cmd = [self.bin, "explain", "--json", "--node", self.node, "--path", path,
               "--proto", proto, "--src", src, "--dst", dst]
        if sport is not None:
            cmd += ["--sport", str(sport)]
        if dport is not None:
            cmd += ["--dport", str(dport)]
        if icmp_type is not None:
            cmd += ["--icmp-type", str(icmp_type)]
        if icmp_code is not None:
            cmd += ["--icmp-code", str(icmp_code)]
        if iface:
            cmd += ["--in" if path == "local-in" else "--out", iface]
        cmd.append(os.path.join(self.vdir, form, "v%d" % k))
        self.runs += 1
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if p.returncode != 0:
            self.errors.append("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                    p.stderr.strip()[:300]))
            return None
        try:
            r = json.loads(p.stdout)
        except ValueError:
            self.errors.append("%s: not JSON: %r" % (" ".join(cmd), p.stdout[:300]))
            return None
        comp = r.get("compiled") or {}
        return {"verdict": r.get("verdict"), "stage": r.get("stage"), "tier": r.get("tier"),
                "policy": r.get("policy"), "rule": r.get("rule"),
                "agrees": comp.get("agrees", True)}


def variants(a):
    m = {"srcs": a.srcs.split(","), "node": a.node, "iface": a.iface,
         "always": ports_of(a.always), "never": ports_of(a.never), "flip": ports_of(a.flip),
         "flood_port": a.flood_port, "n": a.n, "seed": a.seed}
    for attempt in range(20):
        seed = a.seed + 1000 * attempt
        rules = [variant_rules(k, seed, m) for k in range(a.n)]
        for k in range(a.n):
            for form in ("v3", "v1"):
                d = os.path.join(a.out, form, "v%d" % k)
                write_json(os.path.join(d, "hep.json"), hep_obj(form, a.node))
                write_json(os.path.join(d, "policy.json"), gnp_obj(form, k, rules[k]))
        ex = Explain(a.explain, a.out)
        forms = a.forms.split(",")
        keys = [(form, k, s, p) for form in forms for k in range(a.n) for s in m["srcs"]
                for p in m["always"] + m["never"] + m["flip"]]
        with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
            res = list(pool.map(lambda key: ex(key[0], key[1], "local-in", "udp", key[2],
                                               a.node, 40000, key[3], a.iface), keys))
        if ex.errors:
            print("explain failed:\n  " + "\n  ".join(ex.errors[:5]), file=sys.stderr)
            return 1
        exp = {"%s/%d/%s/%d" % key: r for key, r in zip(keys, res)}
        bad = []
        for k in range(a.n):
            for s in m["srcs"]:
                for form in forms:
                    for p in m["always"]:
                        if exp["%s/%d/%s/%d" % (form, k, s, p)]["verdict"] != "allow":
                            bad.append("v%d %s: always port %d from %s not allowed" % (k, form, p, s))
                    for p in m["never"]:
                        if exp["%s/%d/%s/%d" % (form, k, s, p)]["verdict"] != "deny":
                            bad.append("v%d %s: never port %d from %s not denied" % (k, form, p, s))
                    for p in m["flip"] if len(forms) > 1 else ():
                        e3, e1 = exp["v3/%d/%s/%d" % (k, s, p)], exp["v1/%d/%s/%d" % (k, s, p)]
                        if (e3["verdict"], e3["policy"], e3["rule"]) != \
                                (e1["verdict"], e1["policy"], e1["rule"]):
                            bad.append("v%d: the v1 and v3 forms disagree on %s:%d" % (k, s, p))
        if bad:
            print("the variants are not what the soak needs (a bug in the generator):\n  " +
                  "\n  ".join(bad[:10]), file=sys.stderr)
            return 1
        # each flip port allowed somewhere and denied somewhere; all variants pairwise different
        sig = []
        flips_ok = True
        f0 = forms[0]
        for k in range(a.n):
            sig.append(tuple(exp["%s/%d/%s/%d" % (f0, k, s, p)]["verdict"]
                             for s in m["srcs"] for p in m["flip"]))
        for j, p in enumerate(m["flip"]):
            seen = {exp["%s/%d/%s/%d" % (f0, k, s, p)]["verdict"] for k in range(a.n)
                    for s in m["srcs"]}
            flips_ok &= seen == {"allow", "deny"}
        if flips_ok and len(set(sig)) == a.n:
            m["seed_used"] = seed
            m["explain_runs"] = ex.runs
            write_json(os.path.join(a.out, "manifest.json"), m)
            write_json(os.path.join(a.out, "expect.json"), exp)
            allow = sum(1 for key, r in exp.items() if key.startswith(f0 + "/") and
                        int(key.split("/")[3]) in m["flip"] and r["verdict"] == "allow")
            total = a.n * len(m["srcs"]) * len(m["flip"])
            print("variants: %d (seed %d), %d rules each on average; flip verdicts: %d of %d "
                  "(variant, source, port) allowed; %d explain runs" %
                  (a.n, seed, sum(len(r) for r in rules) // a.n, allow, total, ex.runs))
            return 0
    print("could not generate distinct variants", file=sys.stderr)
    return 1


def payloads(seq):
    """The two datagrams of flow seq; the server echoes each with one more byte, so the IP
    length in a verdict line tells which of the four packets it judged."""
    return b"soak %d" % seq, b"soak %d again" % seq


def parse_metrics(text):
    """{name: sum over its series}, and packets_total by (stage, verdict)."""
    sums = collections.defaultdict(float)
    pk = collections.defaultdict(float)
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        try:
            name_lab, val = line.rsplit(" ", 1)
            v = float(val)
        except ValueError:
            continue
        name = name_lab.split("{", 1)[0]
        sums[name] += v
        if name == "nfqwall_packets_total":
            lab = dict(re.findall(r'(\w+)="([^"]*)"', name_lab))
            pk["%s/%s" % (lab.get("stage"), lab.get("verdict"))] += v
    return {"sums": dict(sums), "packets": dict(pk)}
