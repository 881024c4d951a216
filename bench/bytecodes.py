"""Python bytecodes per request, served, baseline against webhook.

    .venv/bin/python bench/bytecodes.py [N] [--functions]

Throughput on a shared machine moves by 20% between identical runs; the number of bytecodes the
worker executes per request does not. This serves bench/traced.py (the baseline or the webhook
with a bytecode counter) with the functions-framework CLI exactly as ``make bench`` serves the
real ones, sends the benchmark's request N times (default 200) after a warm-up, and prints the
bytecodes per request of each side by where they ran: our code (functions/, library/), each
installed package (gunicorn, werkzeug, flask...) and the standard library. Work done in C
(orjson, regular expressions, hashing) and in the kernel is not counted, so this is a guide for
where to cut, not a substitute for ``make bench``. ``--functions`` also lists our own code
function by function.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import run  # bench/run.py: the same servers, request and helpers

ROOT = run.ROOT
WARMUP = 20


def group(filename: str) -> str:
    for mine in ("functions", "library"):
        if filename.startswith(str(ROOT / mine) + "/"):
            return "ours: " + filename[len(str(ROOT)) + 1 :]
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if filename.startswith(str(ROOT / "bench")):
        return "bench (both sides)"
    return "stdlib: " + Path(filename).name


def count(side: str, n: int, body: bytes, headers: dict) -> tuple[dict[str, float], dict[str, float]]:
    """Bytecodes per request by group, and our own code's by function."""
    env = {"TOWNHALL_BENCH_SIDE": side, **run.WEBHOOK_ENV}
    log = ROOT / ".bench" / f"bytecodes-{side}.log"
    with run.server(ROOT / "bench" / "traced.py", log, env) as url:
        for _ in range(WARMUP):
            run.expect_ok(url, body, headers)
        run.send(url, b"{}", {**headers, "X-Bench-Count": "start"})
        for _ in range(n):
            run.expect_ok(url, body, headers)
        status, answer = run.send(url, b"{}", {**headers, "X-Bench-Count": "stop"})
    if status != 200:
        raise run.BenchError(f"the {side} counter answered {status}; see {log}")
    totals: dict[str, float] = {}
    functions: dict[str, float] = {}
    for filename, name, line, executed in json.loads(answer):
        key = group(filename)
        totals[key] = totals.get(key, 0) + executed / n
        if key.startswith("ours"):
            functions[f"{key[6:]}:{line} {name}"] = executed / n
    return totals, functions


def main() -> int:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    n = int(numbers[0]) if numbers else 200
    (ROOT / ".bench").mkdir(exist_ok=True)
    body, headers = run.bench_request()
    (b, _), (w, functions) = (count(side, n, body, headers) for side in ("baseline", "webhook"))
    keys = sorted(set(b) | set(w), key=lambda k: -max(w.get(k, 0), b.get(k, 0)))  # the busiest first
    print(f"Bytecodes per request ({n} requests each, after {WARMUP} untimed):")
    print(f"{'where':58} {'baseline':>9} {'webhook':>9} {'more':>7}")
    for k in keys:
        before, after = b.get(k, 0), w.get(k, 0)
        if max(before, after) >= 1:
            print(f"{k:58} {before:9.0f} {after:9.0f} {after - before:+7.0f}")
    tb, tw = sum(b.values()), sum(w.values())
    ours = sum(v for k, v in w.items() if k.startswith("ours"))
    print(f"{'total':58} {tb:9.0f} {tw:9.0f} {tw - tb:+7.0f}")
    print(
        f"webhook / baseline: {tw / tb:.2f}; our own code: {ours:.0f} bytecodes per request "
        f"({ours / tb:.0%} of the baseline's whole request)"
    )
    if "--functions" in sys.argv:
        print("\nOur own code, by function:")
        for name, executed in sorted(functions.items(), key=lambda item: -item[1]):
            if executed >= 1:
                print(f"{executed:7.0f}  {name}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except run.BenchError as e:
        print(f"bytecodes: BROKEN: {e}", file=sys.stderr)
        sys.exit(2)
