"""``make bench``: the webhook measured side by side with a bare functions-framework function.

1. Throughput and latency: wrk POSTs a mix of WebhookRequests (ten intents of five processes,
   for both demo tenants, ``oxford`` in English and ``cardiff`` in English and Welsh: thirty
   bodies, each wrk thread going round them in turn) to bench/baseline.py and to
   functions/main.py, each served by the functions-framework CLI with the same server settings,
   alternating baseline and webhook. Each run also reads the CPU time its server's processes
   used (/proc), per request: a figure that other work on the machine moves less than requests/s.
2. Cold import: fresh interpreters importing bench/baseline.py (functions-framework and the
   Firestore client), against fresh interpreters building our runtime with the Firestore backend.
3. Settings reads: the webhook's own log lines ("settings read" and "turn") during the load runs,
   with a cache period shorter than the run, so that concurrent turns must share each refresh.

Only the standard library is used here; wrk is installed with apt-get when it is missing.
Every server started is stopped (its whole process group) however the run ends. Exit status 0
means the benchmark ran (a missed target is reported, not fatal); non-zero means it broke.
See docs/performance.md for how to read the figures.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
BIN = Path(sys.executable).parent  # the virtualenv make built: functions-framework lives beside python
sys.path.insert(0, str(FUNCTIONS))

PASSWORDS = {"oxford": "townhall-dev-oxford", "cardiff": "townhall-dev-cardiff"}
PROJECTS = {"oxford": "townhall-demo-oxford", "cardiff": "townhall-demo-cardiff"}
LANGUAGES = {"oxford": ("en",), "cardiff": ("en", "cy")}  # the languages each demo council offers
# The mix: every intent of the demo tenants that needs no upstream service (those would measure
# the fakes), with the parameters Dialogflow would send. The FAQ topic is each council's own.
MIX = [
    ("welcome.hello", {}),
    ("welcome.start_again", {}),
    ("welcome.cancel", {}),
    ("fallback.unknown", {}),
    ("faq.list", {}),
    ("faq.ask", {"topic": None}),
    ("contact.details", {}),
    ("contact.opening_hours", {}),
    ("contact.open_now", {}),
    ("contact.human", {}),
]
FAQ_TOPIC = {"oxford": "bulky-waste", "cardiff": "recycling-bags"}
SERVER_ENV = {"WORKERS": "1", "THREADS": "8"}  # the same for both servers
WRK_THREADS, WRK_CONNECTIONS, DURATION, WARMUP = 2, 16, 6, 3  # seconds
ROUNDS = 5  # baseline, webhook, baseline, webhook, ...: the machine drifts, so alternate often
SETTINGS_TTL = 5.0  # seconds: shorter than a run, so the cache is refreshed under load
IMPORT_RUNS = 9  # the fastest of each side is compared: a slow start is the machine, not the code

WEBHOOK_ENV = {
    "TOWNHALL_SETTINGS_BACKEND": "files",
    "TOWNHALL_TENANTS_DIR": str(ROOT / "infra/tenants"),
    "TOWNHALL_SETTINGS_TTL": str(SETTINGS_TTL),
}

TARGET_THROUGHPUT = 0.8  # webhook requests/s at least 0.8 x the baseline's
TARGET_IMPORT = 1.3  # webhook cold import at most 1.3 x the baseline's
TARGET_READS = 1.0  # at most one settings read per tenant per cache period


class BenchError(Exception):
    """The benchmark itself could not run or its figures cannot be trusted."""


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


# -- tools and servers -----------------------------------------------------------------------------
def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is not on PATH: installing it with apt-get (Debian package 'wrk')")
    try:
        subprocess.run(
            "apt-get update -qq && apt-get install -y -qq wrk",
            shell=True,
            check=True,
            timeout=600,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (subprocess.SubprocessError, OSError) as e:
        raise BenchError(f"could not install wrk ({e}); install it yourself (apt-get install wrk)") from e
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get finished but wrk is still not on PATH")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy


def send(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    """One request (a POST with a body, else a GET); any HTTP status is an answer."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with LOOPBACK.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def expect_ok(url: str, body: bytes, headers: dict) -> bytes:
    status, reply = send(url, body, headers)
    if status != 200:
        raise BenchError(f"{url} answered {status}: {reply[:300]!r}")
    return reply


def bench_requests() -> list[tuple[bytes, dict]]:
    """The benchmark's WebhookRequests: (body, headers with the tenant's Basic credential)."""
    from townhall import wire  # from functions/, as the function itself sees it

    requests = []
    for tenant, languages in LANGUAGES.items():
        auth = base64.b64encode(f"{tenant}:{PASSWORDS[tenant]}".encode()).decode()
        headers = {"Content-Type": "application/json", "Authorization": f"Basic {auth}"}
        for language in languages:
            for intent, parameters in MIX:
                parameters = {k: v or FAQ_TOPIC[tenant] for k, v in parameters.items()}
                request = wire.build_request(
                    PROJECTS[tenant],
                    intent,
                    parameters=parameters,
                    language_code=language,
                    session_id=f"bench-{tenant}-{language}",
                )
                requests.append((json.dumps(request, separators=(",", ":")).encode(), headers))
    return requests


def bench_request() -> tuple[bytes, dict]:
    """One request of the mix (``contact.opening_hours`` for oxford), for the profiling tools."""
    return bench_requests()[7]


GROUPS: dict[str, int] = {}  # a served URL -> its server's process group (the session it leads)


def group_cpu_seconds(url: str) -> float:
    """CPU time (user + system) used so far by every process of the server serving ``url``."""
    group, total = GROUPS[url], 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
            if int(fields[2]) == group:  # pgrp
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(source: Path, log: Path, env: dict):
    """Serve ``webhook`` from ``source`` on a free port; yield its URL once it answers HTTP.

    The probe is a GET (the webhook answers 405 before reading any settings), so the first POSTs,
    from wrk's concurrent connections, find the settings cache empty: the stampede case.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [
        str(BIN / "functions-framework"),
        "--target",
        "webhook",
        "--source",
        str(source),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **SERVER_ENV, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        give_up = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise BenchError(f"{source.name} server exited with {proc.returncode}; see {log}")
            try:
                send(url)
                break
            except (TimeoutError, urllib.error.URLError, ConnectionError):
                if time.monotonic() > give_up:
                    raise BenchError(f"{source.name} server did not answer within 30 s; see {log}") from None
                time.sleep(0.1)
        GROUPS[url] = proc.pid
        yield url
    finally:
        GROUPS.pop(url, None)
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


# -- wrk -------------------------------------------------------------------------------------------
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}  # to milliseconds


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * UNITS[unit]


def wrk(binary: str, url: str, script: Path, seconds: int) -> dict:
    command = [
        binary,
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec" not in out:
        raise BenchError(f"wrk failed ({done.returncode}):\n{out}{done.stderr}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx:
        raise BenchError(f"{non_2xx.group(1)} responses were not 200 from {url}:\n{out}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors and any(int(n) for n in errors.groups()):
        raise BenchError(f"socket errors against {url}:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
    }


def lua_script(path: Path, requests: list[tuple[bytes, dict]]) -> Path:
    """A wrk script sending ``requests`` in turn on each connection's thread, formatted once."""
    lines = ["local bodies = {}"]
    for body, headers in requests:
        text = body.decode()
        if "]==]" in text:
            raise BenchError("a request body cannot go in a Lua long string")
        fields = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
        lines.append(f"bodies[#bodies + 1] = {{{{{fields}}}, [==[{text}]==]}}")
    lines += [
        "local formatted, next_one, threads = {}, 0, 0",
        "function setup(thread)  -- each thread starts at its own place in the mix",
        '  thread:set("start", threads * 7)',
        "  threads = threads + 1",
        "end",
        "function init(args)",
        '  for i, r in ipairs(bodies) do formatted[i] = wrk.format("POST", "/", r[1], r[2]) end',
        "  next_one = (start or 0) % #formatted",
        "end",
        "function request()",
        "  next_one = next_one % #formatted + 1",
        "  return formatted[next_one]",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_log(log: Path) -> list[dict]:
    entries = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except ValueError:
                pass
    return entries


# -- cold import -----------------------------------------------------------------------------------
IMPORT_BASELINE = "import baseline"  # bench/baseline.py: functions-framework and the Firestore client
IMPORT_WEBHOOK = "import main; from townhall.webhook import runtime; runtime(); from google.cloud import firestore"


def cold_import(code: str, cwd: Path, env: dict) -> float:
    timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    done = subprocess.run(
        [sys.executable, "-c", timed], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise BenchError(f"cold import failed: {code}\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1]) * 1000


# -- the run ---------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    wrk_binary = ensure_wrk()
    work = ROOT / ".bench"  # the servers' logs and the wrk script, kept for a look afterwards
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    requests = bench_requests()
    script = lua_script(work / "requests.lua", requests)
    sides = {"baseline": (ROOT / "bench/baseline.py", {}), "webhook": (FUNCTIONS / "main.py", WEBHOOK_ENV)}
    say(f"mix: {len(requests)} requests, {len(MIX)} intents x oxford (en), cardiff (en, cy)")
    say(
        f"servers: functions-framework {SERVER_ENV}; wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} "
        f"-d{DURATION}s --latency after a {WARMUP}s warm-up; {ROUNDS} rounds; logs in {work}"
    )

    runs = {"baseline": [], "webhook": []}
    reads: dict[str, int] = {}
    turns, periods, bad_turns = 0, 0, 0
    for round_ in range(1, ROUNDS + 1):
        order = list(sides.items()) if round_ % 2 else list(sides.items())[::-1]  # neither always goes first
        for side, (source, env) in order:
            log = work / f"{side}-{round_}.log"
            with server(source, log, env) as url:
                started = time.monotonic()
                try:  # the warm-up is also the cold-cache burst: every connection at once
                    wrk(wrk_binary, url, script, WARMUP)
                except BenchError as e:
                    for body, headers in requests:
                        status, reply = send(url, body, headers)
                        if status != 200:
                            raise BenchError(f"{e}\na bench request by itself: {status} {reply[:300]!r}") from None
                    raise
                cpu = group_cpu_seconds(url)
                result = wrk(wrk_binary, url, script, DURATION)
                result["cpu_us"] = (group_cpu_seconds(url) - cpu) / result["requests"] * 1e6
                loaded_for = time.monotonic() - started
            runs[side].append(result)
            say(
                f"round {round_} {side:8}: {result['rps']:8.0f} requests/s, p50 {result['p50']:.2f} ms, "
                f"p99 {result['p99']:.2f} ms, server CPU {result['cpu_us']:.0f} us per request "
                f"({result['requests']} requests)"
            )
            if side == "webhook":
                entries = read_log(log)
                for e in entries:
                    if e.get("message") == "settings read":
                        reads[e.get("tenant")] = reads.get(e.get("tenant"), 0) + 1
                served = [
                    e for e in entries if e.get("message") == "turn" and e.get("outcome") != "method_not_allowed"
                ]  # the start-up probe
                turns += len(served)
                bad_turns += sum(1 for e in served if e.get("status") != 200 or e.get("outcome") != "ok")
                periods += math.floor(loaded_for / SETTINGS_TTL) + 1  # the first read, then one per period
    if bad_turns:
        raise BenchError(f"{bad_turns} webhook turns were not a 200 'ok'; see the logs in {work}")
    if not turns:
        raise BenchError(f"no 'turn' lines in the webhook's log; see {work}")

    say(f"cold import: {IMPORT_RUNS} fresh interpreters each, alternating (one untimed warm-up each)")
    import_env = {"TOWNHALL_SETTINGS_BACKEND": "firestore"}
    cold_import(IMPORT_BASELINE, ROOT / "bench", {})
    cold_import(IMPORT_WEBHOOK, FUNCTIONS, import_env)
    imports = {"baseline": [], "webhook": []}
    for _ in range(IMPORT_RUNS):
        imports["baseline"].append(cold_import(IMPORT_BASELINE, ROOT / "bench", {}))
        imports["webhook"].append(cold_import(IMPORT_WEBHOOK, FUNCTIONS, import_env))

    # -- report ------------------------------------------------------------------------------------
    median = {
        side: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99", "cpu_us")}
        for side, rs in runs.items()
    }
    b, w = median["baseline"], median["webhook"]
    # Each round's webhook against the baseline run next to it, so a slow spell of the machine
    # weighs on both sides of a ratio; the median of those ratios is the figure.
    ratios = [wr["rps"] / br["rps"] for br, wr in zip(runs["baseline"], runs["webhook"])]
    throughput = statistics.median(ratios)
    imp_b, imp_w = min(imports["baseline"]), min(imports["webhook"])
    import_ratio = imp_w / imp_b
    total_reads = sum(reads.values())
    per_period = max(reads.values(), default=0) / periods
    runs_text = {side: " / ".join(f"{r['rps']:.0f}" for r in rs) for side, rs in runs.items()}

    rows = [
        (
            "Requests/s (median; ratio: of paired rounds)",
            f"{b['rps']:.0f}",
            f"{w['rps']:.0f}",
            f"{throughput:.2f}",
            f">= {TARGET_THROUGHPUT}",
            verdict(throughput >= TARGET_THROUGHPUT),
        ),
        (
            "Requests/s, each round",
            runs_text["baseline"],
            runs_text["webhook"],
            " / ".join(f"{r:.2f}" for r in ratios),
            "",
            "",
        ),
        (
            "Server CPU per request (us, median)",
            f"{b['cpu_us']:.0f}",
            f"{w['cpu_us']:.0f}",
            f"{w['cpu_us'] / b['cpu_us']:.2f}",
            "",
            "",
        ),
        ("Latency p50 (ms)", f"{b['p50']:.2f}", f"{w['p50']:.2f}", f"{w['p50'] / b['p50']:.2f}", "", ""),
        ("Latency p99 (ms)", f"{b['p99']:.2f}", f"{w['p99']:.2f}", f"{w['p99'] / b['p99']:.2f}", "", ""),
        (
            f"Cold import (ms, fastest of {IMPORT_RUNS})",
            f"{imp_b:.0f}",
            f"{imp_w:.0f}",
            f"{import_ratio:.2f}",
            f"<= {TARGET_IMPORT}",
            verdict(import_ratio <= TARGET_IMPORT),
        ),
        ("Settings reads per 1,000 requests", "", f"{1000 * total_reads / turns:.3f}", "", "", ""),
        (
            "Settings reads per tenant per TTL period",
            "",
            f"{per_period:.2f}",
            "",
            f"<= {TARGET_READS}",
            verdict(per_period <= TARGET_READS),
        ),
    ]
    header = ("Measure", "Baseline", "Webhook", "Ratio", "Target", "Result")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    print()
    for r in [header, tuple("-" * n for n in widths)] + rows:
        print("  ".join(str(c).ljust(n) for c, n in zip(r, widths)).rstrip())
    print()
    print(
        f"Settings: {total_reads} reads ({reads}) over {turns} turns and {periods} cache periods of "
        f"{SETTINGS_TTL:g} s across {ROUNDS} webhook servers (allowed: one read per tenant per period)."
    )
    print(
        f"Cold import samples (ms): baseline {[round(x) for x in imports['baseline']]}, "
        f"webhook {[round(x) for x in imports['webhook']]}"
    )
    print()
    print("## Results (markdown)")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()
    missed = [r[0] for r in rows if r[5] == "FAIL"]
    print(f"bench: {len(missed)} target(s) missed: {', '.join(missed)}" if missed else "bench: every target met")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, so every server is stopped
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: BROKEN: {e}", file=sys.stderr)
        sys.exit(2)
