"""Soak (b): one council's upstream services sick while the other council is served
(docs/reliability.md, "Bulkheads").

Oxford's upstream addresses point at a fault-injecting loopback server (soak_support.SickUpstream:
every other connection hangs, the rest drip one byte every 0.3 s); Cardiff's at the upstream fakes.
First Cardiff's turns are measured alone (quiet), then again while ``--sick-connections`` clients
(32) send Oxford turns that call upstream services, each at a resident's pace (``--pace``: one
turn a second at most, so 32 turns a second; ``--pace 0`` sends them back to back). Prints Cardiff's p50/p99 quiet
and during (goal: p99 within 2x), Oxford's slowest reply against the turn's budget, the answers
Oxford got, and the server worker's thread count (sampled; bounded).

    flock /tmp/townhall-heavy.lock .venv/bin/python bench/soak_sick.py [--seconds 40]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from soak_fuzz import script_turns
from soak_support import percentile, post_json, served, webhook_request

CARDIFF_PLAIN = ["contact.opening_hours", "welcome.hello", "contact.details"]
UPSTREAM_PROCESSES = ("which_council", "bin_collection", "polling_station", "missed_bin", "report_problem")


def measure(port: int, seconds: float, clients: int, stop: threading.Event | None = None) -> dict[str, list]:
    """Cardiff's plain turns and its upstream turns (against the fakes), timed, for ``seconds``."""
    cardiff_upstream = [
        t for t in script_turns() if t[0] == "cardiff" and t[1].split(".")[0] in UPSTREAM_PROCESSES and t[2]
    ]
    times: dict[str, list] = {"plain": [], "upstream": [], "statuses": []}
    until = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < until:
            if rng.random() < 0.7:
                kind, body = "plain", webhook_request("cardiff", rng.choice(CARDIFF_PLAIN))
            else:
                _, intent, params, language = rng.choice(cardiff_upstream)
                kind, body = "upstream", webhook_request("cardiff", intent, params, language)
            answer, took = post_json(port, "cardiff", body)
            times[kind].append(took)
            times["statuses"].append(answer.status)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="each of the quiet and the sick phase")
    parser.add_argument("--sick-connections", type=int, default=32)
    parser.add_argument("--clients", type=int, default=4, help="Cardiff's clients")
    parser.add_argument(
        "--pace", type=float, default=1.0, help="each Oxford client starts a turn at most this often (seconds)"
    )
    parser.add_argument("--source", type=Path, help="serve this copy of functions/ instead (before/after)")
    args = parser.parse_args()
    from soak_support import SickUpstream

    from townhall_tools.fakes import FakesServer

    oxford_turns = [t for t in script_turns() if t[0] == "oxford" and t[1].split(".")[0] in UPSTREAM_PROCESSES and t[2]]
    budget = 4.0
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakesServer() as fakes,
        SickUpstream(hold=30) as sick,
        served(Path(tmp), {"oxford": sick.url, "cardiff": fakes.url}, source=args.source) as server,
    ):
        for tenant in ("oxford", "cardiff"):  # settings read before anything is timed
            post_json(server.port, tenant, webhook_request(tenant, "welcome.hello"))
        quiet = measure(server.port, args.seconds, args.clients)

        stop = threading.Event()
        oxford_times: list[float] = []
        oxford_answers: Counter = Counter()
        peak_threads = [server.status("Threads")]

        def oxford(seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                began = time.monotonic()
                _, intent, params, language = rng.choice(oxford_turns)
                answer, took = post_json(
                    server.port, "oxford", webhook_request("oxford", intent, params, language), timeout=60
                )
                oxford_times.append(took)
                text = json.loads(answer.body or b"{}").get("fulfillmentText", "") if answer.status == 200 else ""
                oxford_answers[
                    (answer.status, "taking longer" in text or "at the moment" in text or "right now" in text)
                ] += 1
                stop.wait(max(0.0, began + args.pace - time.monotonic()))  # a resident's pace, not a flood

        def sample() -> None:
            while not stop.is_set():
                peak_threads.append(server.status("Threads"))
                stop.wait(0.5)

        workers = [threading.Thread(target=oxford, args=(i,)) for i in range(args.sick_connections)]
        workers.append(threading.Thread(target=sample))
        for w in workers:
            w.start()
        time.sleep(2)  # Oxford's turns fill their share first
        during = measure(server.port, args.seconds, args.clients)
        stop.set()
        for w in workers:
            w.join(90)
        end_threads = server.status("Threads")
        outcomes: Counter = Counter()
        for row in server.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if row.startswith("{") and '"turn"' in row:
                turn = json.loads(row)
                if turn.get("message") == "turn":
                    outcomes[(turn.get("tenant"), turn.get("outcome"))] += 1

    def line(name, values):
        return f"{name}: n={len(values)} p50={percentile(values, 50) * 1000:.0f} ms p99={percentile(values, 99) * 1000:.0f} ms max={max(values) * 1000:.0f} ms"

    print(
        f"sick upstream: Oxford's upstreams hang or drip (1 byte / 0.3 s); {args.sick_connections} Oxford clients; {args.clients} Cardiff clients"
    )
    ratio = {}
    for kind in ("plain", "upstream"):
        print("  Cardiff " + kind + " quiet   " + line("", quiet[kind]))
        print("  Cardiff " + kind + " during  " + line("", during[kind]))
        ratio[kind] = percentile(during[kind], 99) / percentile(quiet[kind], 99)
        print(f"  Cardiff {kind} p99 during / quiet: {ratio[kind]:.2f}x (goal: within 2x)")
    print(f"  Cardiff statuses during: {dict(Counter(during['statuses']))}")
    print(
        f"  Oxford turns: {len(oxford_times)}; slowest reply {max(oxford_times):.2f} s (budget {budget:.1f} s from arrival); "
        f"p99 {percentile(oxford_times, 99):.2f} s"
    )
    print(
        f"  Oxford answers (status, apology/fallback): {dict(oxford_answers)}; upstream connections made: {sick.connections}"
    )
    print(f"  server worker threads: peak {max(peak_threads)}, at the end {end_threads}")
    print("  turn outcomes (server log): " + ", ".join(f"{t} {o}: {n}" for (t, o), n in sorted(outcomes.items())))
    failed = max(oxford_times) > budget + 1 or any(s >= 500 or s == 0 for s in during["statuses"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
