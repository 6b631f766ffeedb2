#!/usr/bin/env python3
"""Traffic peer for nfqwall's integration tests and demo (standard library only).

  peer.py serve [--tcp P,P..] [--udp P,P..] [--bind ADDR] [--peers FILE]
                                             echo servers until killed (FILE: each TCP
                                             client's address and the local port)
  peer.py tcp HOST PORT [--timeout S]        connect, send, expect the echo: exit 0 / 1
  peer.py udp HOST PORT [--timeout S]        one datagram and its echo: exit 0 / 1
  peer.py hold HOST PORT --status FILE [--interval S] [--duration S]
                                             a long TCP connection exchanging a line every
                                             interval; FILE gets "alive N" lines, then "cut"
  peer.py udpflow HOST PORT --count N        N datagrams of one flow, each echoed: prints
                                             the number of echoes received
  peer.py flood HOST PORT --count N          N new TCP connection attempts (SYNs) as fast as
                                             possible, non-blocking; prints how many connected
  peer.py tcp ... --hopopts N --dstopts N    (IPv6) every segment carries a hop-by-hop and/or
                                             destination options header with N bytes of one
                                             skippable option, as the kernel builds them
  peer.py syn6 SRC DST PORT --chain SPEC     one raw IPv6 TCP SYN behind the extension headers of
                                             SPEC (hop:N, dst:N, rt:N, frag, in order, comma
                                             separated; N = option bytes); prints "sport=N" and
                                             what came back; exit 0 when DST answers (SYN-ACK or
                                             RST), 1 when nothing does
Only ever talks to the address it is given (the tests use namespaces they create).
"""
import argparse
import os
import select
import socket
import struct
import sys
import threading
import time


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def serve(args):
    socks = []
    bind = args.bind or "::"
    for spec, kind in ((args.tcp, socket.SOCK_STREAM), (args.udp, socket.SOCK_DGRAM)):
        for port in filter(None, (spec or "").split(",")):
            fam = family_of(bind)
            s = socket.socket(fam, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind((bind, int(port)))
            if kind == socket.SOCK_STREAM:
                s.listen(128)
            socks.append(s)
    print("serving", flush=True)

    def echo_conn(c):
        try:
            c.settimeout(120)
            while True:
                d = c.recv(4096)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        r, _, _ = select.select(socks, [], [], 1.0)
        for s in r:
            if s.type == socket.SOCK_STREAM:
                try:
                    c, a = s.accept()
                except OSError:
                    continue
                if args.peers:
                    with open(args.peers, "a") as f:
                        f.write("%s %d\n" % (a[0].removeprefix("::ffff:"), s.getsockname()[1]))
                threading.Thread(target=echo_conn, args=(c,), daemon=True).start()
            else:
                try:
                    d, a = s.recvfrom(65535)
                    s.sendto(d, a)
                except OSError:
                    pass


IPV6_NEXTHDR = {"hop": 0, "rt": 43, "frag": 44, "dst": 60}


def ext_options(nbytes):
    """Options area of a hop-by-hop or destination options header: one option of type
    0x1e (action bits 00: a node that does not know it skips it) carrying @nbytes bytes,
    then padding to a multiple of 8 with the header's own 2 bytes."""
    body = bytes([0x1E, nbytes]) + bytes(nbytes)
    pad = (-(2 + len(body))) % 8
    if pad == 1:
        body += b"\0"                      # Pad1
    elif pad:
        body += bytes([1, pad - 2]) + bytes(pad - 2)  # PadN
    return body


def ext_header(kind, nbytes, nexthdr):
    if kind == "frag":                     # an atomic fragment: offset 0, no more fragments
        return struct.pack("!BBHI", nexthdr, 0, 0, 0x1234)
    if kind == "rt":                       # type 0 would be dropped; segments left 0: skipped
        data = bytes(4 + max(0, nbytes))
        data += bytes((-(2 + len(data))) % 8)
        return bytes([nexthdr, (2 + len(data)) // 8 - 1, 253, 0]) + data[2:]
    body = ext_options(nbytes)
    return bytes([nexthdr, (2 + len(body)) // 8 - 1]) + body


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn6(args):
    src = socket.inet_pton(socket.AF_INET6, args.src)
    dst = socket.inet_pton(socket.AF_INET6, args.host)
    sport = 40000 + os.getpid() % 20000
    tcp = struct.pack("!HHIIBBHHH", sport, args.port, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = src + dst + struct.pack("!I3xB", len(tcp), 6)
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    kinds = [k for k in (args.chain or "").split(",") if k]
    chain = b""
    nexthdr = 6
    for spec in reversed(kinds):
        kind, _, n = spec.partition(":")
        chain = ext_header(kind, int(n or 0), nexthdr) + chain
        nexthdr = IPV6_NEXTHDR[kind]
    payload = chain + tcp
    ip6 = struct.pack("!IHBB", 6 << 28, len(payload), nexthdr, 64) + src + dst
    rx = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
    tx = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)  # header included
    tx.sendto(ip6 + payload, (args.host, 0))
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        r, _, _ = select.select([rx], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        d, a = rx.recvfrom(65535)
        if a[0] != args.host or len(d) < 14:
            continue
        rsport, rdport = struct.unpack("!HH", d[:4])
        if rsport == args.port and rdport == sport:
            flags = d[13]
            print("sport=%d %s" % (sport, "syn-ack" if flags & 0x12 == 0x12 else
                                   "rst" if flags & 0x04 else "flags %#x" % flags))
            return 0
    print("sport=%d no answer" % sport)
    return 1


def tcp(args):
    try:
        if args.hopopts or args.dstopts:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            for opt, n in ((socket.IPV6_HOPOPTS, args.hopopts), (socket.IPV6_DSTOPTS, args.dstopts)):
                if n:
                    body = ext_options(n)
                    s.setsockopt(socket.IPPROTO_IPV6, opt, bytes([0, (2 + len(body)) // 8 - 1]) + body)
            s.settimeout(args.timeout)
            s.connect((args.host, args.port))
        else:
            src = (args.source, 0) if args.source else None
            s = socket.create_connection((args.host, args.port), timeout=args.timeout,
                                         source_address=src)
        s.sendall(b"hello\n")
        s.settimeout(args.timeout)
        ok = s.recv(64) == b"hello\n"
        s.close()
        return 0 if ok else 1
    except OSError:
        return 1


def udp(args):
    s = socket.socket(family_of(args.host), socket.SOCK_DGRAM)
    s.settimeout(args.timeout)
    try:
        s.sendto(b"hello", (args.host, args.port))
        d, _ = s.recvfrom(64)
        return 0 if d == b"hello" else 1
    except OSError:
        return 1
    finally:
        s.close()


def hold(args):
    out = open(args.status, "w", buffering=1)
    try:
        src = (args.source, 0) if args.source else None
        s = socket.create_connection((args.host, args.port), timeout=2, source_address=src)
    except OSError as e:
        out.write("refused %s\n" % e)
        return 1
    s.settimeout(1.0)
    n = 0
    end = time.time() + args.duration
    while time.time() < end:
        try:
            s.sendall(b"x\n")
            if s.recv(16) != b"x\n":
                raise OSError("short echo")
            n += 1
            out.write("alive %d\n" % n)
        except OSError:
            out.write("cut after %d\n" % n)
            return 0
        time.sleep(args.interval)
    out.write("done %d\n" % n)
    return 0


def udpflow(args):
    s = socket.socket(family_of(args.host), socket.SOCK_DGRAM)
    s.connect((args.host, args.port))
    s.settimeout(1.0)
    got = 0
    for i in range(args.count):
        s.send(b"%d" % i)
        try:
            s.recv(64)
            got += 1
        except OSError:
            pass
    print(got)
    return 0


def flood(args):
    ok = 0
    socks = []
    for _ in range(args.count):
        s = socket.socket(family_of(args.host), socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((args.host, args.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        socks.append(s)
    deadline = time.time() + 3
    pending = list(socks)
    while pending and time.time() < deadline:
        _, w, _ = select.select([], pending, [], 0.2)
        for s in w:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                ok += 1
            pending.remove(s)
    for s in socks:
        s.close()
    print(ok)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--tcp")
    s.add_argument("--udp")
    s.add_argument("--bind")
    s.add_argument("--peers", help="append 'ADDR PORT' of every TCP client to this file")
    for name in ("tcp", "udp", "hold", "udpflow", "flood"):
        c = sub.add_parser(name)
        c.add_argument("host")
        c.add_argument("port", type=int)
        c.add_argument("--timeout", type=float, default=2.0)
        c.add_argument("--status")
        c.add_argument("--interval", type=float, default=0.2)
        c.add_argument("--duration", type=float, default=10)
        c.add_argument("--count", type=int, default=100)
        c.add_argument("--hopopts", type=int, default=0)
        c.add_argument("--dstopts", type=int, default=0)
        c.add_argument("--source", help="tcp, hold: connect from this local address")
    c = sub.add_parser("syn6")
    c.add_argument("src")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("--chain", default="")
    c.add_argument("--timeout", type=float, default=1.5)
    a = p.parse_args()
    return {"serve": serve, "tcp": tcp, "udp": udp, "hold": hold, "udpflow": udpflow,
            "flood": flood, "syn6": syn6}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
