"""``make bench``, the chat gateway: what the residents' front door adds to a turn, and its cold start.

1. Turn latency, side by side in one run, alternating rounds, one resident typing "what are your
   opening hours" to Oxford (contact.opening_hours, no upstream service):
   - ``webhook``: the WebhookRequest Dialogflow would send, POSTed to the webhook alone;
   - ``stand-in``: a detectIntent call to the local Dialogflow stand-in (the simulator classifies,
     then calls the same webhook): what Dialogflow's own hop costs here;
   - ``gateway``: the chat API turn (origin, token, rate limits, detectIntent through the stand-in,
     rendering, a fresh token): the whole residents' path.
   The gateway's own overhead is ``gateway`` less ``stand-in``; in production Dialogflow's hop
   replaces the stand-in's. Sequential requests (one resident), then 8 at once (throughput).
2. Cold start: fresh interpreters importing the ``chat`` function and building its gateway (with
   the modules its first requests load: PyJWT, google-auth, the Firestore client), against
   bench/baseline.py (functions-framework and the Firestore client); and the time from starting
   functions-framework to its first answer, chat against the baseline.

Loopback only; every server started is stopped (its whole process group). See docs/performance.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BIN, FUNCTIONS, ROOT, BenchError, cold_import, free_port, say, send  # noqa: E402

sys.path.insert(0, str(FUNCTIONS))
ROUNDS, PER_ROUND, CONCURRENT, CONCURRENT_EACH = 5, 60, 8, 40
COLD_RUNS = 5
TEXT = "what are your opening hours"
TENANT, PROJECT, PASSWORD = "oxford", "townhall-demo-oxford", "townhall-dev-oxford"
ENV = {"WORKERS": "1", "THREADS": "8"}
IMPORT_CHAT = (
    "import main; from townhall.gateway.app import gateway; gateway(); "
    "import jwt, google.auth, google.auth.transport.urllib3; from google.cloud import firestore"
)
IMPORT_BASELINE = "import baseline"


@contextmanager
def serve(target: str, source: Path, log: Path, env: dict, probe: str = "/"):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "functions-framework"), "--target", target, "--source", str(source)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **ENV, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        give_up = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise BenchError(f"{target} exited with {proc.returncode}; see {log}")
            try:
                send(url + probe)
                break
            except OSError:
                if time.monotonic() > give_up:
                    raise BenchError(f"{target} did not answer within 60 s; see {log}") from None
                time.sleep(0.02)
        yield url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    import signal

    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def stand_in(webhook: str, log: Path):
    """The upstream fakes with the Dialogflow stand-in (the simulator), calling ``webhook``."""
    port = free_port()
    env = {**os.environ, "TOWNHALL_FAKE_DIALOGFLOW_WEBHOOK": webhook}
    command = [str(BIN / "townhall"), "fakes", "serve", "--port", str(port), "--quiet"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}/dialogflow"
        body = json.dumps({"queryInput": {"text": {"text": TEXT, "languageCode": "en"}}}).encode()
        give_up = time.monotonic() + 180  # the first query fits Oxford's classifier
        while True:
            try:
                status, reply = send(detect_url(url, "warm"), body, {"Content-Type": "application/json"})
                if status == 200 and "Our opening hours are" in reply.decode():
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > give_up:
                raise BenchError(f"the Dialogflow stand-in did not answer; see {log}")
            time.sleep(0.5)
        yield url
    finally:
        stop(proc)


def detect_url(base: str, session: str) -> str:
    return f"{base}/v2/projects/{PROJECT}/agent/sessions/bench{session}:detectIntent"


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> int:
    import base64

    from townhall import wire

    work = ROOT / ".bench" / "chat"
    work.mkdir(parents=True, exist_ok=True)
    tenants = ROOT / "infra" / "tenants"
    common = {"TOWNHALL_SETTINGS_BACKEND": "files", "TOWNHALL_TENANTS_DIR": str(tenants)}
    auth = base64.b64encode(f"{TENANT}:{PASSWORD}".encode()).decode()
    hook_headers = {"Content-Type": "application/json", "Authorization": f"Basic {auth}"}
    hook_body = json.dumps(wire.build_request(PROJECT, "contact.opening_hours", text=TEXT, session_id="bench")).encode()
    detect_body = json.dumps({"queryInput": {"text": {"text": TEXT, "languageCode": "en"}}}).encode()
    say(f"chat: {ROUNDS} rounds of {PER_ROUND} sequential turns per path, then {CONCURRENT} at once; logs in {work}")

    with (
        serve("webhook", FUNCTIONS / "main.py", work / "webhook.log", common) as webhook,
        stand_in(webhook + "/", work / "stand-in.log") as dialogflow,
        serve(
            "chat",
            FUNCTIONS / "main.py",
            work / "chat.log",
            {
                **common,
                "TOWNHALL_DIALOGFLOW_ENDPOINT": dialogflow,
                "TOWNHALL_CHAT_DEV": "1",
                "TOWNHALL_CHAT_SESSION_RATE": "1000000/1",
                "TOWNHALL_CHAT_IP_RATE": "1000000/1",
            },
            "/v1/councils/oxford",
        ) as chat,
    ):
        origin = {"Origin": "http://127.0.0.1:8081", "Content-Type": "application/json"}
        status, reply = send(f"{chat}/v1/councils/{TENANT}/conversations", b"{}", origin)
        if status != 201 or json.loads(reply).get("degraded"):
            raise BenchError(f"the gateway could not start a conversation: {status} {reply[:300]!r}")
        token = [json.loads(reply)["token"]]

        def hook():
            status, reply = send(webhook + "/", hook_body, hook_headers)
            if status != 200:
                raise BenchError(f"webhook answered {status}")

        def direct(session: str = "seq"):
            status, reply = send(detect_url(dialogflow, session), detect_body, {"Content-Type": "application/json"})
            if status != 200:
                raise BenchError(f"stand-in answered {status}")

        def gateway(local: list = token):
            headers = {**origin, "Authorization": f"Bearer {local[0]}"}
            status, reply = send(f"{chat}/v1/conversations/turn", json.dumps({"text": TEXT}).encode(), headers)
            answer = json.loads(reply)
            if status != 200 or answer.get("degraded") or "Our opening hours" not in reply.decode():
                raise BenchError(f"gateway answered {status}: {reply[:300]!r}")
            local[0] = answer["token"]

        paths = {"webhook": hook, "stand-in": direct, "gateway": gateway}
        for call in paths.values():  # warm each path
            for _ in range(10):
                call()
        latencies = {name: [] for name in paths}
        for round_ in range(ROUNDS):
            order = list(paths.items()) if round_ % 2 == 0 else list(paths.items())[::-1]
            for name, call in order:
                latencies[name] += [timed(call) for _ in range(PER_ROUND)]
        for name, values in latencies.items():
            say(
                f"  {name:9} sequential: p50 {statistics.median(values):6.2f} ms, p95 {percentile(values, 0.95):6.2f} ms "
                f"({len(values)} turns)"
            )
        gateway_own = statistics.median(latencies["gateway"]) - statistics.median(latencies["stand-in"])
        say(f"  the gateway's own work per turn (gateway p50 less stand-in p50): {gateway_own:.2f} ms")

        throughput = {}
        for name in paths:
            errors: list[Exception] = []

            def client(number: int, name: str = name, errors: list = errors) -> None:
                try:
                    if name == "gateway":
                        s, r = send(f"{chat}/v1/councils/{TENANT}/conversations", b"{}", origin)
                        mine = [json.loads(r)["token"]]
                        for _ in range(CONCURRENT_EACH):
                            gateway(mine)
                    elif name == "stand-in":
                        for _ in range(CONCURRENT_EACH):
                            direct(f"c{number}")
                    else:
                        for _ in range(CONCURRENT_EACH):
                            hook()
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            threads = [threading.Thread(target=client, args=(i,)) for i in range(CONCURRENT)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
            if errors:
                raise BenchError(f"{name} under load: {errors[0]}")
            throughput[name] = CONCURRENT * CONCURRENT_EACH / (time.perf_counter() - started)
            say(f"  {name:9} {CONCURRENT} at once: {throughput[name]:6.0f} turns/s")

    say(f"chat cold start: {COLD_RUNS} fresh interpreters each, alternating (one untimed warm-up each)")
    chat_env = {**common, "TOWNHALL_CHAT_DEV": "1"}
    cold_import(IMPORT_BASELINE, ROOT / "bench", {})
    cold_import(IMPORT_CHAT, FUNCTIONS, chat_env)
    imports = {"baseline": [], "chat": []}
    first = {"baseline": [], "chat": []}
    for _ in range(COLD_RUNS):
        imports["baseline"].append(cold_import(IMPORT_BASELINE, ROOT / "bench", {}))
        imports["chat"].append(cold_import(IMPORT_CHAT, FUNCTIONS, chat_env))
        for name, source, target, probe in (
            ("baseline", ROOT / "bench" / "baseline.py", "webhook", "/"),
            ("chat", FUNCTIONS / "main.py", "chat", "/v1/councils/oxford"),
        ):
            started = time.perf_counter()
            with serve(target, source, work / f"cold-{name}.log", chat_env, probe):
                first[name].append((time.perf_counter() - started) * 1000)
    for name in ("baseline", "chat"):
        say(
            f"  {name:8} import: best {min(imports[name]):6.0f} ms, median {statistics.median(imports[name]):6.0f} ms; "
            f"start to first answer: best {min(first[name]):6.0f} ms, median {statistics.median(first[name]):6.0f} ms"
        )
    say(
        f"  chat / baseline: import {min(imports['chat']) / min(imports['baseline']):.2f}x, "
        f"first answer {min(first['chat']) / min(first['baseline']):.2f}x"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        say(f"FAILED: {e}")
        sys.exit(1)
