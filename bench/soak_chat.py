"""Soak (f): hostile traffic against the chat gateway over HTTP (docs/reliability.md).

At least 20,000 requests (``--count``) from eight clients, each on its own connection, against the
``chat`` function served by the functions-framework CLI with both demo tenants: every route and
method, allowed, foreign and missing origins, tokens that are real, tampered, foreign or junk,
bodies that are valid, broken JSON, wrong types, over-long texts, odd media types, broken chunked
bodies and Content-Lengths that lie. Dialogflow is a closed loopback port, so every turn that
reaches it is answered degraded (the apology with the council's contact details). Rate limits
are raised so the edge, not the limiter, answers. Prints the status counts and fails (exit 1) on
any answer >= 500, any request not answered, any answer that is not JSON (the widget files and
demo pages apart), or a second answer on one request.

    flock /tmp/townhall-heavy.lock .venv/bin/python bench/soak_chat.py [--count 20000] [--seconds 120] [--source DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from soak_support import exchange, free_port, served

ORIGIN = "http://127.0.0.1:8081"  # the demo tenants' local origin (infra/tenants/*.yaml chat.origins)
PATHS = [
    "/v1/councils/oxford",
    "/v1/councils/cardiff/conversations",
    "/v1/councils/oxford/conversations",
    "/v1/conversations/turn",
    "/v1/conversations/restart",
    "/v1/councils/nobody/conversations",
    "/v1/councils/" + "a" * 300,
    "/v1/councils/%00/conversations",
    "/v1/../../etc/passwd",
    "/widget/townhall-chat.js",
    "/widget/../main.py",
    "/demo/oxford",
]
METHODS = ["POST", "POST", "POST", "GET", "OPTIONS", "PUT", "DELETE", "HEAD"]
ORIGINS = [ORIGIN, ORIGIN, ORIGIN, None, "https://attacker.example", "null", ""]
MEDIA = ["application/json", "application/json", "text/plain", "application/json; charset=utf-8", ""]
BODIES = [
    b'{"language": "en"}',
    b'{"language": "cy"}',
    b'{"language": "fr"}',
    b'{"text": "when is my bin day"}',
    b'{"text": "' + b"x" * 300 + b'"}',
    b'{"quick_reply": "Yes, send it"}',
    b'{"event": "WELCOME"}',
    b'{"event": "DROP_TABLES"}',
    b'{"text": "hi", "quick_reply": "yes"}',
    b'{"text": 5}',
    b'{"text": "\\ud800"}',
    b"[]",
    b"null",
    b"{",
    b"\xff\xfe\x00",
    b"",
]
PAGES = ("/widget/", "/demo/")


def real_tokens(port: int) -> list[str]:
    tokens = []
    for council in ("oxford", "cardiff"):
        body = b'{"language": "en"}'
        head = (
            f"POST /v1/councils/{council}/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {ORIGIN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}"
        )
        answer = exchange(port, head, body)
        assert answer.status == 201, (answer.status, answer.body)
        tokens.append(json.loads(answer.body)["token"])
    return tokens


def request(rng: random.Random, tokens: list[str]) -> tuple[str, str, bytes]:
    method, path = rng.choice(METHODS), rng.choice(PATHS)
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1"
    origin = rng.choice(ORIGINS)
    if origin is not None:
        head += f"\r\nOrigin: {origin}"
    media = rng.choice(MEDIA)
    if media:
        head += f"\r\nContent-Type: {media}"
    if rng.random() < 0.6:
        token = rng.choice(tokens)
        kind = rng.random()
        if kind < 0.2:
            token = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")  # tampered signature
        elif kind < 0.3:
            token = rng.choice(["x", "a.b.c", "eyJhbGciOiJub25lIn0.eyJhdWQiOiJveGZvcmQifQ.", "Bearer " * 50])
        head += f"\r\nAuthorization: Bearer {token}"
    body = rng.choice(BODIES)
    shape = rng.random()
    if shape < 0.6:
        head += f"\r\nContent-Length: {len(body)}"
    elif shape < 0.75:  # chunked, sometimes broken
        head += "\r\nTransfer-Encoding: chunked"
        body = rng.choice(
            [b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body), b"zz\r\nabc\r\n", b"5\r\nab", b"ffffff\r\n" + body]
        )
    elif shape < 0.9:  # a Content-Length that lies (more promised than sent)
        head += f"\r\nContent-Length: {len(body) + rng.randint(1, 4000)}"
    else:  # a body far over the limit
        body = b'{"text": "' + b"y" * rng.choice([5000, 70000, 300000]) + b'"}'
        head += f"\r\nContent-Length: {len(body)}"
    return head, path, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--source", type=Path, help="serve this copy of functions/ instead (before/after)")
    args = parser.parse_args()
    env = {
        "TOWNHALL_CHAT_DEV": "1",
        "TOWNHALL_DIALOGFLOW_ENDPOINT": f"http://127.0.0.1:{free_port()}",  # nothing listens: degraded turns
        "TOWNHALL_CHAT_SESSION_RATE": "1000000/60",
        "TOWNHALL_CHAT_IP_RATE": "1000000/60",
        "TOWNHALL_CHAT_BUDGET": "2",
    }
    nowhere = f"http://127.0.0.1:{free_port()}"  # the tenants' upstream services: not asked here
    tenants = {"oxford": nowhere, "cardiff": nowhere}
    with tempfile.TemporaryDirectory() as tmp, served(Path(tmp), tenants, env, args.source, target="chat") as server:
        tokens = real_tokens(server.port)
        statuses: Counter = Counter()
        failures: list[str] = []
        stop_at = time.monotonic() + args.seconds

        def client(index: int) -> int:
            rng = random.Random(args.seed * 100 + index)
            sent = 0
            while sent < args.count // 8 and time.monotonic() < stop_at:
                head, path, body = request(rng, tokens)
                answer = exchange(server.port, head, body, timeout=15)
                sent += 1
                statuses[answer.status] += 1
                what = f"{head.splitlines()[0]} -> {answer.status} {answer.body[:120]!r}"
                page = path.startswith(PAGES) and answer.status in (200, 304)
                if answer.status == 0 or answer.status >= 500:
                    failures.append("no answer or 5xx: " + what)
                elif answer.extra.strip():
                    failures.append("a second answer: " + what)
                elif not page and answer.status != 204 and not head.startswith("HEAD"):
                    if not answer.headers.get("content-type", "").startswith("application/json"):
                        failures.append("not JSON: " + what)
                    else:
                        json.loads(answer.body)
            return sent

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            sent = sum(pool.map(client, range(8)))
        took = time.monotonic() - started
    print(f"chat gateway: {sent} hostile requests in {took:.1f} s from 8 clients")
    print("statuses: " + ", ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items())))
    print(f"failures: {len(failures)}")
    for line in failures[:20]:
        print("  " + line)
    return 1 if failures or sent < min(args.count, 1) else 0


if __name__ == "__main__":
    sys.exit(main())
