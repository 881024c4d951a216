"""Soak (c): what oversized bodies cost the server worker in memory (docs/reliability.md).

Twenty clients at once each send a 30 MB body (half with a Content-Length, half chunked), then
one client sends 200 MB; the worker's peak RSS (VmHWM, reset after warming up) and its RSS
afterwards are compared with idle. Goal: peak under 20 MB above idle.

    flock /tmp/townhall-heavy.lock .venv/bin/python bench/soak_memory.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from soak_support import basic, exchange, post_json, served, webhook_request

MB = 1024 * 1024


def big(port: int, size: int, chunked: bool, answers: Counter) -> None:
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: {basic('oxford')}\r\n"
    )
    if chunked:
        piece = b"{" + b" " * (MB - 1)
        body = b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for _ in range(size // MB)) + b"0\r\n\r\n"
        head += "Transfer-Encoding: chunked"
    else:
        body = b"{" + b" " * (size - 1)
        head += f"Content-Length: {size}"
    answer = exchange(port, head, body, hang_up=False, timeout=60)
    answers[answer.status] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--size-mb", type=int, default=30)
    parser.add_argument("--source", type=Path, help="serve this copy of functions/ instead (before/after)")
    args = parser.parse_args()
    from townhall_tools.fakes import FakesServer

    with (
        tempfile.TemporaryDirectory() as tmp,
        FakesServer() as fakes,
        served(Path(tmp), {"oxford": fakes.url, "cardiff": fakes.url}, source=args.source) as server,
    ):
        warm = [  # warm: settings read, every server thread started by turns served at once
            threading.Thread(
                target=lambda: [
                    post_json(server.port, "oxford", webhook_request("oxford", "contact.opening_hours"))
                    for _ in range(5)
                ]
            )
            for _ in range(args.clients)
        ]
        for w in warm:
            w.start()
        for w in warm:
            w.join(60)
        time.sleep(1)
        idle = server.status("VmRSS")
        server.reset_peak()
        answers: Counter = Counter()
        clients = [
            threading.Thread(target=big, args=(server.port, args.size_mb * MB, i % 2 == 1, answers))
            for i in range(args.clients)
        ]
        started = time.monotonic()
        for c in clients:
            c.start()
        for c in clients:
            c.join(120)
        took = time.monotonic() - started
        peak = server.status("VmHWM")
        time.sleep(2)
        after = server.status("VmRSS")
        server.reset_peak()
        one: Counter = Counter()
        big(server.port, 200 * MB, False, one)
        peak_one = server.status("VmHWM")
        answer, _ = post_json(server.port, "oxford", webhook_request("oxford", "contact.opening_hours"))
        threads = server.status("Threads")
    print(f"memory: {args.clients} clients at once, {args.size_mb} MB bodies each (half chunked), in {took:.1f} s")
    print(
        f"  worker RSS idle {idle / 1024:.1f} MB; peak during {peak / 1024:.1f} MB (+{(peak - idle) / 1024:.1f} MB; goal < +20 MB); 2 s after {after / 1024:.1f} MB (+{(after - idle) / 1024:.1f} MB)"
    )
    print(f"  answers: {dict(answers)} (0: the client was still sending when the server closed)")
    print(f"  one 200 MB body: peak {peak_one / 1024:.1f} MB (+{(peak_one - idle) / 1024:.1f} MB), answer {dict(one)}")
    print(f"  a turn afterwards: {answer.status}; worker threads {threads}")
    return 0 if peak - idle < 20 * 1024 and answer.status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
