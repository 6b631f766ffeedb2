#!/usr/bin/env python3
"""tests/integ/soak_traffic.py - the soak's load: the echo server that records what arrives,
the counted flows, the log flood, policy churn through a directory, the daemon's sampler.
The command line is tests/integ/soak.py. Only ever talks to the addresses it is given."""
import collections
import errno
import heapq
import json
import os
import random
import resource
import select
import signal
import socket
import struct
import time
import urllib.error
import urllib.request

from soak_lib import payloads, parse_metrics, ports_of

STOP = False


def on_term(*_):
    global STOP
    STOP = True


# ---- echo server -----------------------------------------------------------------------

def serve(a):
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    ep = select.epoll()
    socks = {}
    for p in ports_of(a.ports):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 8 << 20)
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind((a.bind, p))
        s.setblocking(False)
        ep.register(s.fileno(), select.EPOLLIN)
        socks[s.fileno()] = (s, p)
    out = open(a.receipts, "w", buffering=1 << 16)
    print("serving %d ports" % len(socks), flush=True)
    n = errs = 0
    last_flush = time.monotonic()
    while not STOP:
        try:
            ready = ep.poll(0.2)
        except InterruptedError:
            continue
        for fd, _ in ready:
            s, p = socks[fd]
            for _ in range(256):
                try:
                    d, addr = s.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    break
                n += 1
                out.write("%s %d %d %d\n" % (addr[0], addr[1], p, len(d)))
                try:
                    s.sendto(d + b"!", addr)
                except OSError as e:
                    errs += 1
                    out.write("# sendto %s %d: %s\n" % (addr[0], addr[1], e))
        if time.monotonic() - last_flush > 1:
            out.flush()
            last_flush = time.monotonic()
    out.write("# end received=%d send_errors=%d\n" % (n, errs))
    out.close()
    return 0


# ---- counted traffic -------------------------------------------------------------------

def traffic(a):
    signal.signal(signal.SIGTERM, on_term)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ports = {"always": ports_of(a.always), "never": ports_of(a.never), "flip": ports_of(a.flip)}
    weights = [int(x) for x in a.mix.split(":")]
    pattern = []
    for cls, w in zip(("always", "never", "flip"), weights):
        pattern += [cls] * w
    rng = random.Random(1)
    rng.shuffle(pattern)
    srcs = a.srcs.split(",")
    span = a.sport_hi - a.sport_lo
    nextport = {s: a.sport_lo + (i * 7919) % span for i, s in enumerate(srcs)}
    count = collections.Counter()
    ep = select.epoll()
    pending = {}		# fd -> [seq, wall, cls, src, sport, dport, sock, stage, result1]
    order = collections.deque()	# (deadline, fd, seq, stage), deadlines in order
    later = []			# heap of (time, fd, seq): second datagrams to send
    out = open(a.out, "w", buffering=1 << 16)
    res = collections.Counter()
    total = int(a.rate * a.duration)
    t0 = time.monotonic()
    i = 0

    def finish(fd, r1, r2):
        seq, wall, cls, src, sport, dport, s, _, _ = pending.pop(fd)
        ep.unregister(fd)
        s.close()
        res[(cls, r1 if r2 == "-" else r1 + "+" + r2)] += 1
        out.write("%d %.6f %s %s %d %d %s %s\n" % (seq, wall, cls, src, sport, dport, r1, r2))

    def errname(e):
        return "error:%s" % errno.errorcode.get(e.errno, e.errno)

    while (i < total and not STOP) or pending:
        now = time.monotonic()
        burst = 0
        while i < total and not STOP and t0 + i / a.rate <= now and burst < 500:
            cls = pattern[i % len(pattern)]
            c = count[cls]
            count[cls] += 1
            plist = ports[cls]
            dport = plist[c % len(plist)]
            src = srcs[(c // len(plist)) % len(srcs)]
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for _ in range(span):
                sport = nextport[src]
                nextport[src] = a.sport_lo + (sport + 1 - a.sport_lo) % span
                try:
                    s.bind((src, sport))
                    break
                except OSError as e:
                    if e.errno != errno.EADDRINUSE:
                        raise
            s.setblocking(False)
            wall = time.time()
            try:
                s.connect((a.node, dport))
                s.send(payloads(i)[0])
            except OSError as e:
                s.close()
                res[(cls, "senderror")] += 1
                out.write("%d %.6f %s %s %d %d %s -\n" % (i, wall, cls, src, sport, dport,
                                                          errname(e)))
                i += 1
                continue
            fd = s.fileno()
            pending[fd] = [i, wall, cls, src, sport, dport, s, 1, None]
            order.append((now + a.timeout, fd, i, 1))
            ep.register(fd, select.EPOLLIN | select.EPOLLERR)
            i += 1
            burst += 1
        now = time.monotonic()
        while later and later[0][0] <= now:
            _, fd, seq = heapq.heappop(later)
            st = pending.get(fd)
            if st is None or st[0] != seq:
                continue
            st[7] = 2
            try:
                st[6].send(payloads(seq)[1])
            except OSError as e:
                finish(fd, st[8], errname(e))
                continue
            order.append((now + a.timeout, fd, seq, 2))
        wait = 0.05
        if i < total and not STOP:
            wait = min(wait, t0 + i / a.rate - now)
        if later:
            wait = min(wait, later[0][0] - now)
        try:
            ready = ep.poll(max(0.0, wait))
        except InterruptedError:
            ready = []
        for fd, _ in ready:
            st = pending.get(fd)
            if st is None:
                continue
            stage = st[7]
            want = payloads(st[0])[0 if stage == 1 else 1] + b"!"
            try:
                d = st[6].recv(256)
                result = "echo" if d == want else "corrupt"
            except ConnectionRefusedError:
                result = "refused"
            except BlockingIOError:
                continue
            except OSError as e:
                result = errname(e)
            if stage == 1 and result == "echo" and a.second:
                st[7], st[8] = 0, result	# waiting to send the second datagram
                heapq.heappush(later, (time.monotonic() + rng.uniform(0.1, a.second),
                                       fd, st[0]))
            elif stage == 1:
                finish(fd, result, "-")
            elif stage == 2:
                finish(fd, st[8], result)
        now = time.monotonic()
        while order and order[0][0] <= now:
            _, fd, seq, stage = order.popleft()
            st = pending.get(fd)
            if st is not None and st[0] == seq and st[7] == stage:
                if stage == 1:
                    finish(fd, "timeout", "-")
                else:
                    finish(fd, st[8], "timeout")
    out.close()
    late = time.monotonic() - t0 - a.duration
    summary = {"flows": i, "elapsed": round(time.monotonic() - t0, 2), "tail_s": round(late, 2),
               "results": {"%s/%s" % k: v for k, v in sorted(res.items())}}
    print(json.dumps(summary), flush=True)
    return 0


def flood(a):
    signal.signal(signal.SIGTERM, on_term)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    srcs = [socket.inet_aton(s) for s in a.srcs.split(",")]
    dst = socket.inet_aton(a.node)
    sport = [1024 + (i * 4099) % 64000 for i in range(len(srcs))]
    payload = b"nfqwall-soak-flood"
    ulen = 8 + len(payload)
    sent = errs = 0
    t0 = time.monotonic()
    total = int(a.rate * a.duration)
    j = 0
    while sent + errs < total and not STOP:
        due = min(total, int((time.monotonic() - t0) * a.rate))
        while sent + errs < due:
            j = (j + 1) % len(srcs)
            sp = sport[j]
            sport[j] = 1024 + (sp + 1 - 1024) % 64000
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0, 64, 17, 0, srcs[j], dst)
            pkt = ip + struct.pack("!HHHH", sp, a.port, ulen, 0) + payload
            try:
                raw.sendto(pkt, (a.node, 0))
                sent += 1
            except OSError:
                errs += 1
        time.sleep(0.002)
    el = time.monotonic() - t0
    r = {"sent": sent, "errors": errs, "seconds": round(el, 2), "pps": round(sent / el, 1),
         "srcs": a.srcs.split(","), "port": a.port}
    with open(a.out, "w") as f:
        json.dump(r, f)
    print(json.dumps(r), flush=True)
    return 0


# ---- churn through a directory ---------------------------------------------------------

def churn_dir(a):
    signal.signal(signal.SIGTERM, on_term)
    rng = random.Random(a.seed)
    rec = open(a.record, "w", buffering=1)
    cur = a.initial
    t0 = time.monotonic()
    n = 0
    broken = os.path.join(a.policy_dir, "broken.json")
    target = os.path.join(a.policy_dir, "variant.json")
    while time.monotonic() - t0 < a.duration and not STOP:
        nxt = rng.choice([k for k in range(a.n) if k != cur])
        with open(os.path.join(a.variants, "v3", "v%d" % nxt, "policy.json")) as f:
            data = f.read()
        with open(target + ".tmp", "w") as f:
            f.write(data)
        os.rename(target + ".tmp", target)
        cur = nxt
        n += 1
        rec.write("%.6f variant %d\n" % (time.time(), cur))
        if os.path.exists(broken):
            os.unlink(broken)
            rec.write("%.6f broken-removed\n" % time.time())
        elif a.invalid_every and n % a.invalid_every == 0:
            with open(broken + ".tmp", "w") as f:	# ports without a protocol: invalid
                f.write('{"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",'
                        ' "metadata": {"name": "broken"}, "spec": {"selector": "all()",'
                        ' "ingress": [{"action": "Allow", "destination": {"ports": [1]}}]}}\n')
            os.rename(broken + ".tmp", broken)
            rec.write("%.6f broken-written\n" % time.time())
        time.sleep(max(0.0, t0 + n / a.rate - time.monotonic()))
    if os.path.exists(broken):
        os.unlink(broken)
        rec.write("%.6f broken-removed\n" % time.time())
    rec.write("%.6f end variant %d changes %d\n" % (time.time(), cur, n))
    rec.close()
    print("churn-dir: %d changes in %.1f s, final variant %d" % (n, time.monotonic() - t0, cur))
    return 0


# ---- sampler ---------------------------------------------------------------------------

def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)


def proc_sample(pid):
    s = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "VmSize", "Threads"):
                s[k] = int(v.split()[0])
    s["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    comms = collections.Counter()
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                comms[f.read().strip()] += 1
        except OSError:
            pass
    s["comms"] = dict(comms)
    return s


def sample(a):
    signal.signal(signal.SIGTERM, on_term)
    out = open(a.out, "w", buffering=1)
    i = 0
    while not STOP:
        s = {"t": round(time.time(), 3)}
        try:
            s.update(proc_sample(a.pid))
        except OSError:
            s["alive"] = False
            out.write(json.dumps(s) + "\n")
            break
        st, body = get(a.http + "/livez", timeout=a.timeout)
        s["livez"] = st
        if st != 200:
            s["livez_body"] = body[:200]
        if i % a.metrics_every == 0:
            st, body = get(a.http + "/metrics", timeout=a.timeout)
            if st == 200:
                m = parse_metrics(body)["sums"]
                s["m"] = {k[8:]: m.get(k, 0) for k in (
                    "nfqwall_packets_total", "nfqwall_log_lines_total",
                    "nfqwall_log_dropped_total", "nfqwall_ruleset_generation",
                    "nfqwall_tables_published_total", "nfqwall_policy_reloads_total",
                    "nfqwall_policy_reload_failures_total", "nfqwall_kernel_queue_dropped_total",
                    "nfqwall_kernel_queue_user_dropped_total", "nfqwall_api_errors_total")}
        out.write(json.dumps(s) + "\n")
        i += 1
        for _ in range(int(a.interval * 10)):
            if STOP:
                break
            time.sleep(0.1)
    return 0
