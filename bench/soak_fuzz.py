"""Soak (a): hostile and malformed traffic over HTTP against a real server (docs/reliability.md).

At least 20,000 requests (``--count``) from eight clients, each on its own connection, against
the functions-framework server with both demo tenants and the upstream fakes: turns from every
process's conversation scripts (so every intent that calls an upstream service calls the fakes),
those turns mutated, random bytes and broken JSON, odd media types and methods, broken chunked
bodies, a Content-Length that lies, huge bodies, wrong credentials. Prints the answers' status
counts per kind and fails (exit 1) on any answer >= 500, any request not answered, any non-200
that is not a JSON body, any 200 that is not a WebhookResponse, or a second answer on one request.

    flock /tmp/townhall-heavy.lock .venv/bin/python bench/soak_fuzz.py [--count 20000] [--seconds 170]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from soak_support import ROOT, basic, exchange, intents, project, served

MEDIA = ["text/plain", "", "multipart/form-data; boundary=x", "application/json-patch+json", "application/xml"]
ODD_JSON_MEDIA = ["application/json; charset=latin-1", "APPLICATION/JSON", "application/json;charset=utf-8"]
METHODS = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]
LIMIT = 256 * 1024


def script_turns() -> list[tuple[str, str, dict, str]]:
    """(tenant, intent, parameters, language) of every turn in the conversation scripts."""
    turns = []
    for path in sorted((ROOT / "library").glob("*/conversations/*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        tenants = doc.get("tenants") or ["oxford", "cardiff"]
        for turn in doc.get("turns", []):
            if "intent" in turn:
                for tenant in tenants:
                    turns.append((tenant, turn["intent"], turn.get("parameters") or {}, doc.get("language", "en")))
    return turns


def junk_value(rng: random.Random):
    return rng.choice(
        [
            None,
            True,
            -1,
            1e308,
            "",
            "x" * rng.randint(1, 5000),
            "\u0000\ud7ff\U0001f600 ŵ ŷ",
            [],
            {},
            [1, [2, [3]]],
            {"a": {"b": None}},
            "OX1 1AA",
            "CF10 3ND",
            "'; DROP TABLE--",
            "<script>",
        ]
    )


def mutate(body: dict, rng: random.Random) -> dict:
    body = copy.deepcopy(body)
    for _ in range(rng.randint(1, 4)):
        target = rng.choice(["root", "queryResult", "parameters", "contexts", "intent", "session"])
        qr = body.setdefault("queryResult", {}) if isinstance(body.get("queryResult"), dict) else None
        if target == "root":
            key = rng.choice(["session", "queryResult", "responseId", "originalDetectIntentRequest", "extra"])
            if rng.random() < 0.5:
                body.pop(key, None)
            else:
                body[key] = junk_value(rng)
        elif target == "queryResult" and qr is not None:
            key = rng.choice(["queryText", "languageCode", "parameters", "intent", "outputContexts", "allRequired"])
            qr[key] = junk_value(rng)
        elif target == "parameters" and qr is not None:
            params = qr.get("parameters") if isinstance(qr.get("parameters"), dict) else {}
            params[rng.choice(["postcode", "number", "date", "street", "uprn", "x" * 50])] = junk_value(rng)
            qr["parameters"] = params
        elif target == "contexts" and qr is not None:
            qr["outputContexts"] = [
                {
                    "name": str(body.get("session", "")) + "/contexts/" + rng.choice(["a", "x" * 300, ""]),
                    "lifespanCount": junk_value(rng),
                }
            ]
        elif target == "intent" and qr is not None:
            qr["intent"] = {"displayName": rng.choice([junk_value(rng), "nosuch.intent", "a.b.c", rng.choice(ALL)])}
        elif target == "session":
            body["session"] = rng.choice([junk_value(rng), "projects/other/agent/sessions/1", "projects//agent"])
    return body


def head(method="POST", media="application/json", tenant="oxford", framing="", auth=None) -> str:
    lines = [f"{method} / HTTP/1.1", "Host: 127.0.0.1"]
    if media:
        lines.append(f"Content-Type: {media}")
    lines.append(f"Authorization: {auth or basic(tenant)}")
    if framing:
        lines.append(framing)
    return "\r\n".join(lines)


def chunked(data: bytes, rng: random.Random) -> bytes:
    out, i = b"", 0
    while i < len(data):
        n = rng.randint(1, 4096)
        out += f"{len(data[i : i + n]):x}\r\n".encode() + data[i : i + n] + b"\r\n"
        i += n
    return out + b"0\r\n\r\n"


def broken_chunked(data: bytes, rng: random.Random) -> bytes:
    return rng.choice(
        [
            b"zz\r\n" + data + b"\r\n0\r\n\r\n",
            f"{len(data) + 50:x}\r\n".encode() + data,  # shorter than announced, then the end
            b"2\r\n{}XX0\r\n\r\n",
            chunked(data, rng)[: rng.randint(1, max(2, len(data)))],
            b"-5\r\n" + data,
            b"4;" + b"e" * 9000 + b"\r\nabcd\r\n0\r\n\r\n",
            b"ffffffffffffffffffff\r\n" + data,
        ]
    )


def one(seed: int, turns) -> tuple[str, object]:
    rng = random.Random(seed)
    tenant, intent, params, language = rng.choice(turns)
    from townhall import wire

    valid = wire.build_request(project(tenant), intent, parameters=params, language_code=language, text="hello")
    raw = json.dumps(valid).encode()
    roll = rng.random()
    if roll < 0.30:
        kind, h, body, hang = "valid", head(tenant=tenant, framing=f"Content-Length: {len(raw)}"), raw, False
    elif roll < 0.55:
        data = json.dumps(mutate(valid, rng)).encode()
        kind, h, body, hang = "mutated json", head(tenant=tenant, framing=f"Content-Length: {len(data)}"), data, False
    elif roll < 0.63:
        data = rng.choice(
            [
                rng.randbytes(rng.randint(0, 3000)),
                raw[: rng.randint(0, len(raw))],
                b"[" * 20000 + b"]" * 20000,
                b'"just a string"',
                b"null",
                raw.replace(b'"', b"'"),
                raw + b"}}}",
                b"\xff\xfe" + raw,
            ]
        )
        kind, h, body, hang = "junk body", head(tenant=tenant, framing=f"Content-Length: {len(data)}"), data, False
    elif roll < 0.70:
        media = rng.choice(MEDIA + ODD_JSON_MEDIA)
        kind, h, body, hang = (
            "media type",
            head(media=media, tenant=tenant, framing=f"Content-Length: {len(raw)}"),
            raw,
            False,
        )
    elif roll < 0.75:
        kind, h, body, hang = (
            "method",
            head(method=rng.choice(METHODS), tenant=tenant, framing=f"Content-Length: {len(raw)}"),
            raw,
            False,
        )
    elif roll < 0.85:
        h = head(
            method=rng.choice(["POST", "POST", "PUT"]),
            media=rng.choice(["application/json", "application/json", "text/plain"]),
            tenant=tenant,
            framing="Transfer-Encoding: chunked",
        )
        kind, body, hang = "broken chunked", broken_chunked(raw, rng), True
    elif roll < 0.92:
        if rng.random() < 0.5:  # announces more than it sends, then stops sending
            kind, h, body, hang = (
                "lying length",
                head(tenant=tenant, framing=f"Content-Length: {len(raw) + rng.randint(1, 5000)}"),
                raw,
                True,
            )
        else:  # announces less than it sends
            kind, h, body, hang = (
                "lying length",
                head(tenant=tenant, framing=f"Content-Length: {rng.randint(0, len(raw) - 1)}"),
                raw,
                True,
            )
    elif roll < 0.97:
        big = b"{" + b" " * (LIMIT + rng.randint(1, 200_000))
        choice = rng.random()
        if choice < 0.4:  # a huge length announced, part of it sent
            size = rng.randint(LIMIT + 1, 200 * 1024 * 1024)
            kind, h, body, hang = "huge body", head(tenant=tenant, framing=f"Content-Length: {size}"), big, False
        elif choice < 0.8:
            kind, h, body, hang = (
                "huge body",
                head(tenant=tenant, framing="Transfer-Encoding: chunked"),
                chunked(big, rng),
                True,
            )
        else:
            kind, h, body, hang = "huge body", head(tenant=tenant, framing=f"Content-Length: {len(big)}"), big, False
    else:
        auth = rng.choice(
            [
                basic("cardiff" if tenant == "oxford" else "oxford")[:-2] + "xx",
                "Basic !!!",
                "Bearer x",
                "Basic " + "A" * 5000,
            ]
        )
        kind, h, body, hang = (
            "credentials",
            head(tenant=tenant, framing=f"Content-Length: {len(raw)}", auth=auth),
            raw,
            False,
        )
    return kind, exchange(PORT, h, body, hang_up=hang)


def check(answer) -> str | None:
    """What is wrong with an answer, or None."""
    if answer.status == 0:
        return "no answer"
    if answer.status >= 500:
        return f"{answer.status}"
    if answer.extra:
        return "a second answer"
    if answer.headers.get("content-type") != "application/json":
        return f"{answer.status} not JSON ({answer.headers.get('content-type')})"
    try:
        doc = json.loads(answer.body)
    except ValueError:
        return f"{answer.status} body not JSON"
    if answer.status == 200 and not (doc.get("fulfillmentText") or doc.get("fulfillmentMessages")):
        return "200 without a reply"
    if answer.status != 200 and not isinstance(doc.get("error"), str):
        return f"{answer.status} without an error message"
    return None


def main() -> int:
    global PORT, ALL
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=170.0, help="stop sending after this long")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--source", type=Path, help="serve this copy of functions/ instead (before/after)")
    args = parser.parse_args()
    from townhall_tools.fakes import FakesServer

    ALL = intents()
    turns = script_turns()
    covered = {intent for _, intent, _, _ in turns}
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakesServer() as fakes,
        served(Path(tmp), {"oxford": fakes.url, "cardiff": fakes.url}, source=args.source) as server,
    ):
        PORT = server.port
        statuses: dict[str, Counter] = {}
        problems: Counter = Counter()
        examples: dict[str, str] = {}
        started = time.monotonic()
        stop_at = started + args.seconds
        sent = 0
        with ThreadPoolExecutor(args.clients) as pool:
            pending = set()
            for seed in range(args.seed, args.seed + args.count):
                if time.monotonic() > stop_at:
                    break
                pending.add(pool.submit(one, seed, turns))
                sent += 1
                if len(pending) >= args.clients * 4:
                    done = [f for f in pending if f.done()]
                    while not done:
                        time.sleep(0.002)
                        done = [f for f in pending if f.done()]
                    for f in done:
                        pending.discard(f)
                        _tally(f, statuses, problems, examples)
            for f in pending:
                _tally(f, statuses, problems, examples)
        elapsed = time.monotonic() - started
        threads = server.status("Threads")
        log = server.log.read_text(encoding="utf-8", errors="replace")
    total = sum(sum(c.values()) for c in statuses.values())
    print(
        f"fuzz: {total} requests in {elapsed:.0f} s from {args.clients} clients; {len(covered)} of {len(ALL)} intents from the scripts"
    )
    for kind in sorted(statuses):
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(statuses[kind].items()))
        print(f"  {kind:15} {counts}")
    every = Counter()
    for c in statuses.values():
        every.update(c)
    print(f"  {'all':15} " + ", ".join(f"{s}: {n}" for s, n in sorted(every.items())))
    print(f"  server worker threads at the end: {threads}; tracebacks in the server log: {log.count('Traceback')}")
    print(f"  responses >= 500: {sum(n for s, n in every.items() if s >= 500)}")
    errors = Counter()
    for row in log.splitlines():
        if row.startswith("{") and "Traceback" in row:
            message = json.loads(row).get("message", "").strip().splitlines()
            errors[f"{message[0][:70]} ... {message[-1][:90]}"] += 1
    for what, n in errors.most_common(8):
        print(f"  ERROR x{n}: {what}")
    if problems:
        print("PROBLEMS:")
        for what, n in problems.most_common():
            print(f"  {n} x {what}   e.g. {examples[what]}")
    if total < args.count:
        print(f"note: {total} of {args.count} sent within {args.seconds:.0f} s")
    return 0 if not problems else 1


def _tally(future, statuses, problems, examples) -> None:
    kind, answer = future.result()
    statuses.setdefault(kind, Counter())[answer.status] += 1
    wrong = check(answer)
    if wrong:
        problems[f"{kind}: {wrong}"] += 1
        examples.setdefault(f"{kind}: {wrong}", repr(answer.body[:160]))


PORT = 0
ALL: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
