#!/usr/bin/env python3
"""bench/churn_flows.py - many established TCP flows for bench/churn.sh.

    churn_flows.py serve PORT
        an asyncio echo server (runs until killed)
    churn_flows.py flows HOST PORT --flows N --seconds S [--interval I]
        opens N connections, then each sends one byte every I seconds (spread
        evenly) and reads its echo, for S seconds; prints one JSON line:
        {"flows": N, "open": N, "sent": N, "echoed": N, "failed": N}

Python 3 standard library only. Only ever connects to the address it is given.
"""
import argparse
import asyncio
import json
import random
import resource
import sys


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(64)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def serve(port):
    srv = await asyncio.start_server(echo, "0.0.0.0", port, backlog=4096)
    async with srv:
        await srv.serve_forever()


async def flows(args):
    stats = {"flows": args.flows, "open": 0, "sent": 0, "echoed": 0, "failed": 0}
    conns = []
    for i in range(args.flows):
        try:
            r, w = await asyncio.open_connection(args.host, args.port)
            conns.append((r, w))
            stats["open"] += 1
        except OSError:
            stats["failed"] += 1
        if i % 500 == 499:
            await asyncio.sleep(0.05)   # let the handshakes drain
    loop = asyncio.get_running_loop()
    end = loop.time() + args.seconds

    async def one(r, w):
        await asyncio.sleep(random.random() * args.interval)
        while loop.time() < end:
            try:
                w.write(b"x")
                stats["sent"] += 1
                data = await asyncio.wait_for(r.read(1), timeout=5)
                if data != b"x":
                    stats["failed"] += 1
                    return
                stats["echoed"] += 1
            except (OSError, asyncio.TimeoutError):
                stats["failed"] += 1
                return
            await asyncio.sleep(args.interval)

    await asyncio.gather(*(one(r, w) for r, w in conns))
    for _, w in conns:
        w.close()
    print(json.dumps(stats), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    f = sub.add_parser("flows")
    f.add_argument("host")
    f.add_argument("port", type=int)
    f.add_argument("--flows", type=int, default=10000)
    f.add_argument("--seconds", type=float, default=30)
    f.add_argument("--interval", type=float, default=1.0)
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.cmd == "serve":
        asyncio.run(serve(a.port))
    else:
        asyncio.run(flows(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
