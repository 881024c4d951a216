"""Where a warm webhook turn spends its time: ``.venv/bin/python bench/hotspots.py [turns]``.

Sends the benchmark's mix of requests (``bench/run.py``: ten intents, oxford and cardiff) through
``create_app(...).test_client()`` in one thread, first to bench/baseline.py and then to the webhook,
prints the time per request of each, and then profiles the webhook's turns with cProfile in both
threads a turn uses (the request thread and the handler pool's thread), sorted by own time and by
cumulative time. Waiting shows up as ``acquire`` (the request thread waiting for the handler) and
``SimpleQueue.get`` (the pool thread waiting for work): read past those. Log lines go to /dev/null
here; ``make bench`` keeps them, as production does.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))
os.environ.setdefault("TOWNHALL_TENANTS_DIR", str(ROOT / "infra/tenants"))

import run  # noqa: E402  (bench/run.py: the benchmark's own request)
from functions_framework import create_app  # noqa: E402

from townhall.webhook import runtime  # noqa: E402

REQUESTS = run.bench_requests()  # the benchmark's mix


def turns(client, n: int) -> None:
    for i in range(n):
        body, headers = REQUESTS[i % len(REQUESTS)]
        response = client.post("/", data=body, headers=headers)
        assert response.status_code == 200, response.data


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    clients = {
        name: create_app("webhook", str(source)).test_client()
        for name, source in (("baseline", ROOT / "bench/baseline.py"), ("webhook", ROOT / "functions/main.py"))
    }
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        per_request = {}
        for name, client in clients.items():
            turns(client, 100)  # warm: settings cached, handler imported, pool threads started
            started = time.perf_counter()
            turns(client, n)
            per_request[name] = (time.perf_counter() - started) / n * 1000
        # A one-thread loop reuses a single handler-pool thread: profile it there and here.
        pool = runtime().pool
        pooled = cProfile.Profile()
        pool.submit(pooled.enable).result()
        here = cProfile.Profile()
        here.enable()
        turns(clients["webhook"], n)
        here.disable()
        pool.submit(pooled.disable).result()
    for name, ms in per_request.items():
        print(f"{name}: {ms:.3f} ms per request through the test client ({n} requests, one thread)")
    print(f"webhook - baseline: {per_request['webhook'] - per_request['baseline']:.3f} ms per turn\n")
    stats = pstats.Stats(here, pooled)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(r"townhall|library|logs|concurrent", 30)


if __name__ == "__main__":
    main()
