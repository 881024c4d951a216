"""``make soak`` (settings): webhook credentials before, during and after a Firestore outage.

Everything runs on loopback and ends on its own (every phase is bounded in requests and seconds):

1. Statuses. gcloud's Firestore emulator is started and the demo tenants pushed into it with
   ``townhall settings push`` (tenant documents and the tenant index). The webhook is served by the
   functions-framework CLI (Firestore backend, a 2 s cache period so the outage outlasts it).
   Known (right password), wrong (a known name, wrong password) and unknown (a name no tenant has)
   credentials are posted: at start-up with Firestore down (no index ever loaded), before the
   outage, during it (the emulator is stopped: nothing listens on its port) and after it (a new
   emulator on the same port, the settings pushed again).
2. Reads by unknown names: 1,000 never-seen names posted before, during and after the outage; the
   webhook's own log lines count its backend reads ("settings read", "settings backend read
   failed" name a tenant; "tenant index read"/"tenant index read failed" are the index's own,
   bounded by time, not by names).
3. Timing: a webhook runtime in this process (Firestore backend, the same emulator), its
   ``handle`` timed for an unknown name against a known name with a wrong password, interleaved;
   the medians must be within 10%. Then the files backend: the first probe after each cache
   period ends (the index refresh), for a known name against an unknown one.

Run it under the shared lock: ``flock /tmp/townhall-heavy.lock .venv/bin/python bench/soak_settings.py``.
Exit status 0: every expectation held; 1: one did not (each is printed); 2: the soak broke.
The figures are described in docs/reliability.md ("Settings outage").
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(FUNCTIONS))
sys.path.insert(0, str(ROOT / "tools"))

from soak_support import SoakError, free_port, wait_port  # noqa: E402  (bench/, beside this file)

from townhall.webhook import HttpRequest  # noqa: E402

PROJECT = "townhall-soak"
# Demo credentials of the demo tenants (infra/tenants/*.yaml hold their hashes): not secrets.
PASSWORDS = {"oxford": "townhall-dev-oxford", "cardiff": "townhall-dev-cardiff"}
PROJECTS = {"oxford": "townhall-demo-oxford", "cardiff": "townhall-demo-cardiff"}
TTL, RETRY = 2.0, 0.5  # the webhook's cache period and retry interval during the soak
UNKNOWN_NAMES = 1000
HTTP_PAIRS = 1000  # over HTTP: unknown and wrong, interleaved
TIMED_PAIRS = 3000  # in-process timing: unknown and wrong, interleaved
FILES_ROUNDS = 150  # files backend: probes right after a cache period ends, per kind
LIMIT = 170.0  # seconds: the whole soak gives up after this


def say(text: str) -> None:
    print(text, flush=True)


def stop(proc: subprocess.Popen | None) -> None:
    from townhall_tools.simulator.chat import stop_group

    if proc is not None:
        stop_group(proc)


def start_emulator(port: int, work: Path, n: int) -> subprocess.Popen:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise SoakError("gcloud is not installed: the soak needs 'gcloud emulators firestore'")
    log = work / f"emulator-{n}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [gcloud, "emulators", "firestore", "start", f"--host-port=127.0.0.1:{port}", "--quiet"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_port(port, proc, 90, log)
        deadline = time.monotonic() + 60
        while True:  # the port opens before the emulator answers
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    if r.status == 200:
                        return proc
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise SoakError(f"the Firestore emulator did not answer:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
    except BaseException:
        stop(proc)
        raise


def push(env: dict) -> None:
    for _ in range(3):  # a just-started emulator may be slow to answer its first requests
        done = subprocess.run(
            [str(BIN / "townhall"), "settings", "push"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        if done.returncode == 0:
            break
        time.sleep(1)
    else:
        raise SoakError(f"settings push failed:\n{done.stdout}{done.stderr}")
    say("  " + (done.stderr.strip().splitlines() or [""])[-1])


def serve(env: dict, work: Path, name: str) -> tuple[subprocess.Popen, str, Path]:
    port, log = free_port(), work / f"webhook-{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "functions-framework"), "--target", "webhook", "--source", str(FUNCTIONS / "main.py")]
            + ["--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_port(port, proc, 30, log)
    except BaseException:
        stop(proc)
        raise
    return proc, f"http://127.0.0.1:{port}/", log


def body(project: str) -> bytes:
    from townhall import wire

    return json.dumps(wire.build_request(project, "contact.details")).encode()


BODY = None


def post(url: str, user: str, password: str) -> tuple[int, dict]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(
        url,
        data=BODY,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def statuses(url: str) -> dict:
    found = {
        "known": post(url, "oxford", PASSWORDS["oxford"]),
        "wrong": post(url, "oxford", "not-the-password"),
        "unknown": post(url, "nosuch-council", "not-the-password"),
    }
    out = {kind: status for kind, (status, _) in found.items()}
    retry = {kind: h.get("Retry-After") for kind, (status, h) in found.items() if status == 503}
    if retry:
        out["retry_after"] = sorted(set(retry.values()))
    return out


def log_lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]


def reads(log: Path) -> dict:
    lines = log_lines(log)
    tenant = [x for x in lines if x.get("message") in ("settings read", "settings backend read failed")]
    index = [x for x in lines if x.get("message") in ("tenant index read", "tenant index read failed")]
    return {
        "tenant": len(tenant),
        "tenant_unknown": sum(1 for x in tenant if x.get("tenant") not in PASSWORDS),
        "index": len(index),
    }


def probe_unknown(url: str, log: Path, label: str) -> dict:
    before, started = reads(log), time.monotonic()
    answered = {}
    for i in range(UNKNOWN_NAMES):
        status, _ = post(url, f"{label}-council-{i:04d}", "guess")
        answered[status] = answered.get(status, 0) + 1
    elapsed = time.monotonic() - started
    after = reads(log)
    return {
        "statuses": answered,
        "seconds": round(elapsed, 1),
        "tenant_reads_by_unknown_names": after["tenant_unknown"] - before["tenant_unknown"],
        "index_reads": after["index"] - before["index"],
        "index_reads_allowed": int(elapsed / RETRY) + 1,
    }


def http_timing(url: str, pairs: int) -> dict:
    """Client-side latency over loopback HTTP, unknown name against a known name with a wrong
    password, interleaved (a new connection each, as a prober's would be)."""
    times = {"wrong": [], "unknown": []}
    for i in range(pairs):
        for kind in ("wrong", "unknown") if i % 2 else ("unknown", "wrong"):
            user = "oxford" if kind == "wrong" else f"timed-{i:05d}"
            started = time.perf_counter_ns()
            status, _ = post(url, user, f"guess-{i:05d}")
            times[kind].append((time.perf_counter_ns() - started) / 1e6)
            if status != 401:
                raise SoakError(f"{kind} answered {status} over HTTP")
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    return {
        "median_ms": {k: round(v, 3) for k, v in medians.items()},
        "ratio": round(medians["unknown"] / medians["wrong"], 3),
        "pairs": pairs,
    }


# -- timing in this process -----------------------------------------------------------------------


def environ(user: str, password: str, project: str) -> tuple[dict, bytes]:
    """One turn's headers (by lower-case name, as ``webhook.HttpRequest`` reads them) and body."""
    raw = body(project)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {
        "content-type": "application/json",
        "content-length": str(len(raw)),
        "authorization": f"Basic {token}",
    }, raw


def timed(runtime, env: dict, raw: bytes) -> tuple[int, float]:
    started = time.perf_counter_ns()
    status = runtime.serve(HttpRequest("POST", env, lambda: raw))[0]
    return status, (time.perf_counter_ns() - started) / 1000


def in_process_timing(backend, pairs: int) -> dict:
    from townhall import logs
    from townhall.library import default_library
    from townhall.settings import SettingsCache
    from townhall.webhook import Runtime

    logs.set_stream(io.StringIO())  # the turn lines are not what is measured here
    try:
        library = default_library()
        runtime = Runtime(library, SettingsCache(backend, library, ttl=3600))
        # Every probe a new header, as an attacker's would be (a known name with guessed passwords,
        # or guessed names): neither side gains from the parsed-header cache.
        wrong = [environ("oxford", f"guess-{i:05d}", PROJECTS["oxford"]) for i in range(pairs + 200)]
        unknown = [environ(f"probe-{i:05d}", f"guess-{i:05d}", PROJECTS["oxford"]) for i in range(pairs + 200)]
        for i in range(pairs, pairs + 200):  # warm up: the index is read, the code paths are hot
            timed(runtime, *wrong[i]), timed(runtime, *unknown[i])
        times = {"wrong": [], "unknown": []}
        for i in range(pairs):
            order = [("wrong", wrong[i]), ("unknown", unknown[i])]
            for kind, (env, raw) in order if i % 2 else order[::-1]:
                status, us = timed(runtime, env, raw)
                if status != 401:
                    raise SoakError(f"{kind} credential answered {status}, not 401")
                times[kind].append(us)
        reads = runtime.settings.reads
    finally:
        logs.set_stream(None)
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    return {
        "median_us": {k: round(v, 1) for k, v in medians.items()},
        "p90_us": {k: round(statistics.quantiles(v, n=10)[-1], 1) for k, v in times.items()},
        "ratio": round(medians["unknown"] / medians["wrong"], 3),
        "backend_reads": reads,
        "pairs": pairs,
    }


def files_first_probe(rounds: int) -> dict:
    """Files backend, a 50 ms cache period: the first probe after each period ends pays the index
    refresh, whichever name it carries."""
    from townhall import logs
    from townhall.library import default_library
    from townhall.settings import FilesBackend, SettingsCache
    from townhall.webhook import Runtime

    logs.set_stream(io.StringIO())
    try:
        library = default_library()
        settings = SettingsCache(FilesBackend(ROOT / "infra" / "tenants"), library, ttl=0.05)
        runtime = Runtime(library, settings)
        timed(runtime, *environ("oxford", "warm-up", PROJECTS["oxford"]))
        times = {"wrong": [], "unknown": []}
        for i in range(rounds):
            for kind in ("wrong", "unknown") if i % 2 else ("unknown", "wrong"):
                time.sleep(0.06)  # past the cache period: this probe refreshes the index
                user = "oxford" if kind == "wrong" else f"probe-{i:05d}"
                status, us = timed(runtime, *environ(user, f"guess-{i:05d}", PROJECTS["oxford"]))
                if status != 401:
                    raise SoakError(f"files backend: {kind} answered {status}")
                times[kind].append(us)
    finally:
        logs.set_stream(None)
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    return {
        "median_us": {k: round(v, 1) for k, v in medians.items()},
        "ratio": round(medians["unknown"] / medians["wrong"], 3),
        "index_reads": settings.index_reads,
        "tenant_reads": settings.reads - settings.index_reads,
        "rounds": rounds,
    }


# -- the soak ---------------------------------------------------------------------------------------


def soak(work: Path) -> tuple[dict, list[str]]:
    global BODY
    BODY = body(PROJECTS["oxford"])
    started = time.monotonic()
    failures: list[str] = []

    def expect(ok: bool, what: str) -> None:
        say(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            failures.append(what)

    def check_time() -> None:
        if time.monotonic() - started > LIMIT:
            raise SoakError(f"the soak took over {LIMIT:.0f} s")

    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    google = {**base, "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{port}", "GOOGLE_CLOUD_PROJECT": PROJECT}
    webhook_env = {
        **google,
        "TOWNHALL_SETTINGS_BACKEND": "firestore",
        "TOWNHALL_SETTINGS_TTL": str(TTL),
        "TOWNHALL_SETTINGS_RETRY": str(RETRY),
        "TOWNHALL_STATE_DIR": str(work / "state"),
        "TOWNHALL_SECRETS_BACKEND": "files",
        "TOWNHALL_SECRETS_FILE": str(ROOT / "examples" / "demo-secrets.yaml"),
    }
    figures: dict = {}
    emulator = cold = server = None
    try:
        say(f"start-up with Firestore down (nothing on 127.0.0.1:{port} yet)")
        cold, cold_url, _ = serve(webhook_env, work, "cold")
        figures["startup_outage"] = found = statuses(cold_url)
        expect(
            [found[k] for k in ("known", "wrong", "unknown")] == [503, 503, 503] and bool(found.get("retry_after")),
            f"no index ever loaded: known/wrong/unknown {found}",
        )

        say("Firestore emulator up, settings pushed")
        emulator = start_emulator(port, work, 1)
        push(google)
        time.sleep(RETRY + 0.2)
        figures["startup_recovered"] = found = statuses(cold_url)
        expect(found == {"known": 200, "wrong": 401, "unknown": 401}, f"after the first index read: {found}")
        stop(cold)
        cold = None

        server, url, log = serve(webhook_env, work, "main")
        figures["before"] = found = statuses(url)
        expect(found == {"known": 200, "wrong": 401, "unknown": 401}, f"before the outage: {found}")
        figures["unknown_before"] = probe = probe_unknown(url, log, "before")
        expect(probe["tenant_reads_by_unknown_names"] == 0, f"1,000 unknown names, before: {probe}")
        figures["timing_http"] = timing = http_timing(url, HTTP_PAIRS)
        expect(abs(timing["ratio"] - 1) <= 0.10, f"over HTTP, unknown/wrong median ratio {timing}")
        check_time()

        say("outage: the emulator is stopped")
        stop(emulator)
        emulator = None
        during = []
        for _ in range(4):  # past the cache period, then on
            time.sleep(TTL * 0.75)
            during.append(statuses(url))
        figures["during"] = during
        expect(
            all(f == {"known": 200, "wrong": 401, "unknown": 401} for f in during),
            f"during the outage (every {TTL * 0.75:.1f} s): {during}",
        )
        figures["unknown_during"] = probe = probe_unknown(url, log, "during")
        expect(
            probe["tenant_reads_by_unknown_names"] == 0 and probe["index_reads"] <= probe["index_reads_allowed"],
            f"1,000 unknown names, during: {probe}",
        )
        check_time()

        say("after: a new emulator on the same port, settings pushed again")
        emulator = start_emulator(port, work, 2)
        push(google)
        time.sleep(TTL + RETRY + 0.2)
        figures["after"] = found = statuses(url)
        expect(found == {"known": 200, "wrong": 401, "unknown": 401}, f"after the outage: {found}")
        figures["unknown_after"] = probe = probe_unknown(url, log, "after")
        expect(probe["tenant_reads_by_unknown_names"] == 0, f"1,000 unknown names, after: {probe}")
        figures["webhook_reads"] = reads(log)
        stop(server)
        server = None
        check_time()

        say(f"timing in this process, Firestore backend: {TIMED_PAIRS} unknown and wrong, interleaved")
        os.environ.update({"FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{port}", "GOOGLE_CLOUD_PROJECT": PROJECT})
        from townhall.settings import FirestoreBackend

        figures["timing_firestore"] = timing = in_process_timing(FirestoreBackend(), TIMED_PAIRS)
        expect(abs(timing["ratio"] - 1) <= 0.10, f"unknown/wrong median ratio {timing}")
        expect(timing["backend_reads"] == 1, f"one backend read (the index) for {TIMED_PAIRS * 2} probes")
        say(f"timing, files backend: first probe after each cache period ends, {FILES_ROUNDS} of each")
        figures["timing_files_after_ttl"] = timing = files_first_probe(FILES_ROUNDS)
        expect(abs(timing["ratio"] - 1) <= 0.10, f"files, first probe after the period: {timing}")
        expect(timing["tenant_reads"] == 0, "files: no tenant read for any probe")
    finally:
        for proc in (server, cold, emulator):
            stop(proc)
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures, failures


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="townhall-soak-settings-"))
    try:
        figures, failures = soak(work)
    except SoakError as e:
        print(f"soak broke: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(json.dumps(figures, indent=1, sort_keys=True))
    say(f"{len(failures)} expectation(s) failed" if failures else "every expectation held")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
