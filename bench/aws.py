"""``make bench``, the AWS part: the Lambda entry point and the AWS backends, against a moto server
this script starts and stops on a free loopback port (docs/aws.md, "Figures").

1. Cold start: fresh interpreters timing import to first good reply, in-process: the Lambda
   handler module (``lambda_main``, settings, index and secrets in moto) against a bare handler
   that imports boto3, makes a DynamoDB client, reads one item and answers. Alternating, side by side.
2. Warm turn cost: the same mix of intents as bench/run.py (ten intents, oxford en, cardiff en and
   cy), through ``lambda_main.handler`` (Function URL events) and through the Cloud Functions path
   (functions-framework's app, ``create_app``, the same runtime), in this process, alternating.
3. Backend reads under concurrency: threads sending the mix through the Lambda handler with
   DynamoDB settings and a short cache period; reads per tenant per period, from the runtime's own
   "settings read" lines.
4. Moto stopped mid-run: the same load; moto is stopped, then started again empty and the settings
   pushed back. Each turn's outcome and status, by phase (from the runtime's own turn records):
   the held copies first, then the generic reply (``settings_unavailable``) past stale-if-error,
   401 while the table is back but empty (moto keeps nothing), then ``ok`` again; and a fresh
   instance that never read the index answering 503 (``credentials_unverifiable``) while moto is down.

Exit status 0 means the benchmark ran (figures are reported, not judged); non-zero: it broke.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
sys.path.insert(0, str(FUNCTIONS))
sys.path.insert(0, str(ROOT / "bench"))

from run import PASSWORDS, bench_requests  # noqa: E402  (bench/run.py: the same mix)

COLD_RUNS = 7
WARM_ROUNDS, WARM_TURNS = 5, 600
READ_TTL, READ_SECONDS, READ_THREADS = 1.0, 8.0, 16
TENANTS_TABLE, SIDE_EFFECTS_TABLE = "bench-tenants", "bench-side-effects"


def say(message: str) -> None:
    print(f"bench aws: {message}", flush=True)


def aws_env(url: str) -> dict[str, str]:
    from townhall_tools.aws import moto_env

    return {
        **moto_env(url),
        "TOWNHALL_SETTINGS_BACKEND": "dynamodb",
        "TOWNHALL_SECRETS_BACKEND": "secretsmanager",
        "TOWNHALL_TENANTS_TABLE": TENANTS_TABLE,
        "TOWNHALL_SIDE_EFFECTS_TABLE": SIDE_EFFECTS_TABLE,
    }


def populate(url: str) -> None:
    """The demo tenants' settings, index and demo secrets into the moto server at ``url``."""
    from townhall import aws
    from townhall.aws.dynamodb import DynamoDBBackend
    from townhall.library import default_library
    from townhall.yamlio import load_yaml
    from townhall_tools.aws import create_tables, put_secrets
    from townhall_tools.tenantfiles import check_files

    saved = dict(os.environ)
    os.environ.update(aws_env(url))
    try:
        aws.reset()
        client = aws.client("dynamodb")
        create_tables(client, TENANTS_TABLE, SIDE_EFFECTS_TABLE)
        files = sorted((ROOT / "infra" / "tenants").glob("*.yaml"))
        docs, errors = check_files(files, default_library(), ROOT / "infra" / "tenants")
        if errors:
            raise SystemExit(f"bench aws: tenant files invalid: {errors[:3]}")
        backend = DynamoDBBackend(TENANTS_TABLE, client)
        for tenant, doc in docs.items():
            backend.write(tenant, doc)
        backend.write_index()
        put_secrets(aws.client("secretsmanager"), load_yaml(ROOT / "examples" / "demo-secrets.yaml"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        aws.reset()


def event_for(body: bytes, headers: dict) -> dict:
    from townhall_tools.aws import function_url_event

    return function_url_event(body, headers)


# -- 1. cold start ---------------------------------------------------------------------------------
COLD_LAMBDA = """
import time, json
t = time.perf_counter()
import lambda_main
answer = lambda_main.handler(json.loads(EVENT), None)
elapsed = time.perf_counter() - t
assert answer["statusCode"] == 200 and "fulfillmentText" in answer["body"], answer
print(elapsed)
"""
COLD_IMPORT = """
import time
t = time.perf_counter()
import lambda_main
print(time.perf_counter() - t)
"""
COLD_BOTO3 = """
import time
t = time.perf_counter()
import boto3
print(time.perf_counter() - t)
"""
COLD_BARE = """
import time, json
t = time.perf_counter()
import boto3
def handler(event, context):
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"id": {"S": "oxford"}})["Item"]
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"fulfillmentText": "Hello from " + item["id"]["S"]})}
answer = handler(json.loads(EVENT), None)
elapsed = time.perf_counter() - t
assert answer["statusCode"] == 200, answer
print(elapsed)
"""


def cold(code: str, env: dict, event: dict) -> float:
    prelude = f"EVENT = {json.dumps(json.dumps(event))}\nTABLE = {TENANTS_TABLE!r}\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=FUNCTIONS,
        env={**os.environ, **env, "PYTHONDONTWRITEBYTECODE": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench aws: cold start failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1]) * 1000


def cold_start(url: str, requests) -> dict:
    body, headers = requests[7]  # contact.opening_hours for oxford
    env = aws_env(url)
    event = event_for(body, headers)
    cold(COLD_LAMBDA, env, event), cold(COLD_BARE, env, event)  # one untimed warm-up each (disk cache)
    files = {
        **env,
        "TOWNHALL_SETTINGS_BACKEND": "files",
        "TOWNHALL_SECRETS_BACKEND": "files",
        "TOWNHALL_TENANTS_DIR": str(ROOT / "infra" / "tenants"),
    }
    times = {"lambda": [], "bare": [], "import": [], "files": [], "boto3": []}
    for _ in range(COLD_RUNS):
        times["bare"].append(cold(COLD_BARE, env, event))
        times["lambda"].append(cold(COLD_LAMBDA, env, event))
        times["import"].append(cold(COLD_IMPORT, env, event))
        times["files"].append(cold(COLD_LAMBDA, files, event))
        times["boto3"].append(cold(COLD_BOTO3, env, event))
    return times


# -- 2. warm turns -------------------------------------------------------------------------------------
def warm(requests) -> dict:
    import lambda_main
    from functions_framework import create_app
    from werkzeug.test import EnvironBuilder

    from townhall import logs, webhook
    from townhall.webhook import HttpRequest
    from townhall_tools.aws import Context

    os.environ.update(
        {
            "TOWNHALL_SETTINGS_BACKEND": "files",
            "TOWNHALL_TENANTS_DIR": str(ROOT / "infra" / "tenants"),
            "TOWNHALL_SECRETS_BACKEND": "files",
            "TOWNHALL_SETTINGS_TTL": "3600",
        }
    )
    logs.set_stream(io.StringIO())
    webhook.reset()
    app = create_app("webhook", str(FUNCTIONS / "main.py"))
    # WSGI environs made once; each call gets a fresh body stream, as a server would hand it over.
    environs = []
    for body, headers in requests:
        environ = EnvironBuilder(path="/", method="POST", data=body, headers=headers).get_environ()
        environs.append((environ, body))
    events = [event_for(body, headers) for body, headers in requests]
    context = Context(60_000)
    lowered = [({k.lower(): v for k, v in headers.items()}, body) for body, headers in requests]
    runtime = webhook.runtime()

    def start_response(status, headers, exc_info=None):
        start_response.status = status

    def via_lambda(n: int) -> float:
        started = time.perf_counter_ns()
        for i in range(n):
            answer = lambda_main.handler(events[i % len(events)], context)
            if answer["statusCode"] != 200:
                raise SystemExit(f"bench aws: lambda answered {answer['statusCode']}: {answer['body'][:200]}")
        return (time.perf_counter_ns() - started) / n / 1000

    def via_cloud_functions(n: int) -> float:
        started = time.perf_counter_ns()
        for i in range(n):
            environ, body = environs[i % len(environs)]
            environ = {**environ, "wsgi.input": io.BytesIO(body)}
            b"".join(app(environ, start_response))
            if not start_response.status.startswith("200"):
                raise SystemExit(f"bench aws: cloud function answered {start_response.status}")
        return (time.perf_counter_ns() - started) / n / 1000

    def via_runtime(n: int) -> float:
        """The runtime alone, given its platform-neutral request: what both paths share."""
        started = time.perf_counter_ns()
        for i in range(n):
            headers, body = lowered[i % len(lowered)]
            if runtime.serve(HttpRequest("POST", headers, lambda body=body: body))[0] != 200:
                raise SystemExit("bench aws: the runtime answered other than 200")
        return (time.perf_counter_ns() - started) / n / 1000

    via_lambda(200), via_cloud_functions(200), via_runtime(200)  # warm: settings cached, handlers imported
    figures = {"lambda": [], "cloud_functions": [], "runtime": []}
    for _ in range(WARM_ROUNDS):
        figures["cloud_functions"].append(via_cloud_functions(WARM_TURNS))
        figures["lambda"].append(via_lambda(WARM_TURNS))
        figures["runtime"].append(via_runtime(WARM_TURNS))
        logs.set_stream(io.StringIO())  # drop the lines of the round
    logs.set_stream(None)
    return figures


# -- 3 and 4. reads under concurrency, moto stopped ------------------------------------------------------
class Load:
    """Threads sending the mix through the Lambda handler; each answer's time, status and outcome."""

    def __init__(self, requests, threads: int):
        self.requests, self.threads = requests, threads
        self.results: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def run(self, seconds: float) -> None:
        import lambda_main

        from townhall_tools.aws import Context

        events = [event_for(body, headers) for body, headers in self.requests]
        started = time.monotonic()

        def worker(offset: int) -> None:
            i = offset
            while not self.stop.is_set() and time.monotonic() - started < seconds:
                answer = lambda_main.handler(events[i % len(events)], Context(6000))
                with self._lock:
                    self.results.append((time.monotonic() - started, answer["statusCode"]))
                i += 1

        pool = [threading.Thread(target=worker, args=(n * 7,)) for n in range(self.threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(seconds + 30)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def reads_under_concurrency(url: str, requests) -> dict:
    from townhall import aws, logs, webhook

    os.environ.update({**aws_env(url), "TOWNHALL_SETTINGS_TTL": str(READ_TTL)})
    aws.reset()
    webhook.reset()
    stream = io.StringIO()
    logs.set_stream(stream)
    Load(requests, READ_THREADS).run(READ_SECONDS)
    logs.set_stream(None)
    found = lines(stream)
    reads = Counter(line["tenant"] for line in found if line.get("message") == "settings read")
    turns = [line for line in found if line.get("message") == "turn"]
    outcomes = Counter(line["outcome"] for line in turns)
    index_reads = sum(1 for line in found if line.get("message") == "tenant index read")
    periods = READ_SECONDS / READ_TTL
    return {
        "turns": len(turns),
        "outcomes": dict(outcomes),
        "reads": dict(reads),
        "index_reads": index_reads,
        "periods": periods,
        "reads_per_tenant_per_period": {t: round(n / periods, 2) for t, n in reads.items()},
    }


def moto_stopped(server, requests) -> dict:
    """The load runs 16 s: moto is stopped at 2 s and comes back (empty, then refilled) at 10 s."""
    from townhall import aws, logs, webhook
    from townhall.settings import IndexUnavailable, SettingsCache
    from townhall_tools.aws import invoke

    ttl, stale = 1.0, 3.0
    os.environ.update(
        {
            **aws_env(server.url),
            "TOWNHALL_SETTINGS_TTL": str(ttl),
            "TOWNHALL_SETTINGS_STALE_IF_ERROR": str(stale),
            "TOWNHALL_SETTINGS_RETRY": "0.5",
        }
    )
    aws.reset()
    webhook.reset()
    stream = io.StringIO()
    logs.set_stream(stream)
    load = Load(requests, 8)
    marks: dict[str, float] = {}
    # Each turn's moment, status and outcome, as the runtime logs it (exact under concurrency).
    record: list[tuple[float, int, str]] = []
    original = logs.turn
    started = time.monotonic()

    def turn(severity, tenant, intent, outcome, status, latency_ms, trace):
        record.append((time.monotonic() - started, status, outcome))
        original(severity, tenant, intent, outcome, status, latency_ms, trace)

    logs.turn = turn

    def events() -> None:
        time.sleep(2.0)
        marks["stopped"] = time.monotonic() - started
        server.stop()
        time.sleep(1.0)
        # A new instance meanwhile: it never read the tenant index, so it can verify nobody.
        fresh = SettingsCache(webhook.runtime().settings.backend, webhook.runtime().library)
        try:
            fresh.credential("oxford")
            marks["fresh_instance"] = 200
        except IndexUnavailable as e:
            marks["fresh_instance"] = 503
            marks["fresh_retry_after"] = e.retry_after
        time.sleep(max(0.0, 10.0 - (time.monotonic() - started)))
        server.start()
        marks["back"] = time.monotonic() - started
        populate(server.url)
        marks["refilled"] = time.monotonic() - started

    side = threading.Thread(target=events)
    side.start()
    try:
        load.run(16.0)
        side.join(60)
        body, headers = requests[7]
        status, _, _ = invoke(__import__("lambda_main").handler, body, headers)
    finally:
        logs.turn = original
        logs.set_stream(None)
    stop, back, refilled = marks["stopped"], marks["back"], marks["refilled"]
    phases: dict[str, Counter] = {}
    for moment, code, outcome in record:
        if moment < stop:
            phase = "before the stop"
        elif moment < back:
            phase = "moto stopped"
        elif moment < refilled:
            phase = "moto back empty, being refilled"
        else:
            phase = "refilled"
        phases.setdefault(phase, Counter())[f"{code} {outcome}"] += 1
    down = [(m, o) for m, _, o in record if stop <= m < back]
    last_ok = max((m for m, o in down if o == "ok"), default=stop) - stop
    first_unavailable = min((m for m, o in down if o == "settings_unavailable"), default=back) - stop
    found = lines(stream)
    reads = [line for line in found if line.get("message") == "settings read"]
    failures = sum(1 for line in found if line.get("message") == "settings backend read failed")
    return {
        "marks": {k: round(v, 2) if isinstance(v, float) else v for k, v in marks.items()},
        "phases": {k: dict(v) for k, v in phases.items()},
        "last_ok_after_stop": round(last_ok, 2),
        "first_unavailable_after_stop": round(first_unavailable, 2),
        "bound": ttl + stale,
        "read_failures_logged": failures,
        "good_reads": len(reads),
        "after": status,
    }


def main() -> int:
    from townhall_tools.aws import MotoServer

    requests = bench_requests()
    assert all(headers["Authorization"] for _, headers in requests) and PASSWORDS
    log = ROOT / "build" / "bench-moto.log"
    log.parent.mkdir(exist_ok=True)
    server = MotoServer(log)
    server.start()
    try:
        populate(server.url)
        say(f"moto server on {server.url}; mix: {len(requests)} requests (bench/run.py)")

        times = cold_start(server.url, requests)
        lam, bare = min(times["lambda"]), min(times["bare"])
        say(f"1. cold start, import to first good reply, ms (fastest / median of {COLD_RUNS} fresh interpreters):")
        say(f"   bare boto3 handler (client + one GetItem): {bare:7.1f} / {statistics.median(times['bare']):7.1f}")
        say(
            f"   lambda_main.handler (DynamoDB index + settings): {lam:7.1f} / {statistics.median(times['lambda']):7.1f}"
            f"   ratio {lam / bare:.2f}"
        )
        say(f"   importing boto3 alone: {min(times['boto3']):7.1f}")
        say(f"   of which importing lambda_main (no boto3 yet): {min(times['import']):7.1f}")
        say(
            f"   lambda_main.handler with local files, no boto3 (the runtime's own first turn): {min(times['files']):7.1f}"
        )

        figures = warm(requests)
        lam, cf = statistics.median(figures["lambda"]), statistics.median(figures["cloud_functions"])
        say(f"2. warm turn, in-process, µs per turn (median of {WARM_ROUNDS} rounds of {WARM_TURNS}):")
        core = statistics.median(figures["runtime"])
        say(f"   the runtime alone (Runtime.serve):                {core:7.1f}")
        say(f"   Cloud Functions path (functions-framework WSGI app): {cf:7.1f}")
        say(f"   Lambda path (Function URL event -> handler):     {lam:7.1f}   ratio to Cloud Functions {lam / cf:.2f}")

        reads = reads_under_concurrency(server.url, requests)
        say(
            f"3. {READ_THREADS} threads for {READ_SECONDS:.0f} s, TTL {READ_TTL:.0f} s: {reads['turns']} turns "
            f"{reads['outcomes']}; settings reads {reads['reads']}, index reads {reads['index_reads']}: "
            f"per tenant per TTL {reads['reads_per_tenant_per_period']} (at most 1.0)"
        )

        stopped = moto_stopped(server, requests)
        say(
            f"4. moto stopped at {stopped['marks']['stopped']} s, back (empty) at {stopped['marks']['back']} s, "
            f"refilled at {stopped['marks']['refilled']} s:"
        )
        for phase, counts in stopped["phases"].items():
            say(f"   {phase}: {counts}")
        say(
            f"   while down: last ok {stopped['last_ok_after_stop']} s after the stop, first settings_unavailable "
            f"{stopped['first_unavailable_after_stop']} s after (bound: TTL + stale-if-error = {stopped['bound']} s "
            "after the last good read)"
        )
        say(
            f"   a fresh instance while moto was down: {stopped['marks'].get('fresh_instance')} "
            f"(Retry-After {stopped['marks'].get('fresh_retry_after')} s); "
            f"read failures logged: {stopped['read_failures_logged']}; a turn after: {stopped['after']}"
        )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
