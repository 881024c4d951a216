"""What the soak runs share (``make soak``, docs/reliability.md): a real functions-framework server
with the example tenants and the upstream fakes on loopback, a fault-injecting upstream, raw HTTP
over sockets, and the server worker's memory and threads read from /proc.

Loopback only; every server started here is stopped (its process group) however a run ends.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
TENANTS = ROOT / "infra" / "tenants"
sys.path[:0] = [str(FUNCTIONS), str(ROOT / "tools")]

# A soak stopped from outside (timeout, Ctrl-C) still stops the servers it started.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

PASSWORDS = {"oxford": "townhall-dev-oxford", "cardiff": "townhall-dev-cardiff"}  # demo values
THREADS = "20"  # as production (infra: function.concurrency) and make run


@cache
def project(tenant: str) -> str:
    return yaml.safe_load((TENANTS / f"{tenant}.yaml").read_text(encoding="utf-8"))["dialogflow"]["project"]


def basic(tenant: str) -> str:
    return "Basic " + base64.b64encode(f"{tenant}:{PASSWORDS[tenant]}".encode()).decode()


def intents() -> list[str]:
    """Every intent the library declares (library/*/manifest.yaml)."""
    found = []
    for manifest in sorted((ROOT / "library").glob("*/manifest.yaml")):
        doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        found += [i["name"] for i in doc.get("intents", [])]
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SoakError(Exception):
    """A soak or benchmark could not run, or found what it must not: the run stops and says why."""


def wait_port(port: int, proc: subprocess.Popen, seconds: float, log: Path) -> None:
    """Until ``proc`` listens on the loopback ``port`` (``SoakError`` with its log's tail when it
    exits first, or does not listen within ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SoakError(f"process exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SoakError(f"nothing listening on 127.0.0.1:{port} after {seconds}s:\n{log.read_text()[-2000:]}")


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    log: Path

    def worker(self) -> int:
        """The gunicorn worker's pid (the child of the functions-framework process)."""
        for _ in range(100):
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.1)
        raise RuntimeError("no server worker")

    def status(self, field: str) -> int:
        """A number from the worker's /proc status (VmRSS, VmHWM in kB; Threads)."""
        for line in Path(f"/proc/{self.worker()}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def reset_peak(self) -> None:
        """Start the worker's peak RSS (VmHWM) again from its current RSS."""
        Path(f"/proc/{self.worker()}/clear_refs").write_text("5")


@contextmanager
def served(
    workdir: Path,
    upstream_for: dict[str, str],
    env: dict | None = None,
    source: Path | None = None,
    target: str = "webhook",
):
    """The webhook (or another function of functions/main.py: ``target``) served by the
    functions-framework CLI on a free loopback port: the example tenants (files backend), each
    pointed at the upstream base URL given for it."""
    from townhall_tools.fakes import sandbox_tenants

    tenants = workdir / "tenants"
    for tenant, base in upstream_for.items():
        sandbox_tenants(TENANTS, tenants, base, files=[TENANTS / f"{tenant}.yaml"])
    port = free_port()
    log = workdir / "server.log"
    functions = source or FUNCTIONS
    environ = {
        **os.environ,
        "THREADS": THREADS,
        "MALLOC_ARENA_MAX": "2",  # as production (infra) and make run
        "MALLOC_MMAP_THRESHOLD_": "131072",
        "TOWNHALL_SETTINGS_BACKEND": "files",
        "TOWNHALL_TENANTS_DIR": str(tenants),
        "TOWNHALL_STATE_DIR": str(workdir / "state"),
        "TOWNHALL_SECRETS_BACKEND": "files",
        "TOWNHALL_SECRETS_FILE": str(ROOT / "examples" / "demo-secrets.yaml"),
        "TOWNHALL_DEV_CLOCK": "1",
        **(env or {}),
    }
    if source is not None:  # another copy of the runtime (a before/after comparison)
        environ["PYTHONPATH"] = str(source)
    environ.pop("TOWNHALL_LIBRARY_DIR", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("functions-framework")),
                "--target",
                target,
                "--source",
                str(functions / "main.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_port(port, proc, 60, log)
        yield Server(port, proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def webhook_request(tenant: str, intent: str, parameters=None, language="en", text="hello") -> dict:
    from townhall import wire

    return wire.build_request(project(tenant), intent, parameters=parameters or {}, language_code=language, text=text)


@dataclass
class Answer:
    status: int  # 0: no answer at all
    headers: dict
    body: bytes
    extra: bytes = b""  # bytes after the first answer (a second answer would be a bug)


def parse(data: bytes) -> Answer:
    if not data:
        return Answer(0, {}, b"")
    head, _, after = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return Answer(0, {}, data)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", len(after)))
    return Answer(status, headers, after[:length], after[length:])


def exchange(port: int, head: str, body: bytes = b"", hang_up: bool = True, timeout: float = 30) -> Answer:
    """Send a request head (no blank line) and body bytes as given on a new connection that asks
    to be closed, stop sending (``hang_up``), and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(head.encode("latin-1") + b"\r\nConnection: close\r\n\r\n" + body)
            if hang_up:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before taking it all: the answer is still there
        data = b""
        while True:
            try:
                part = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not part:
                break
            data += part
    return parse(data)


def post_json(port: int, tenant: str, body: dict, timeout: float = 30) -> tuple[Answer, float]:
    """One POST of a WebhookRequest; its answer and the seconds it took."""
    raw = json.dumps(body).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: {basic(tenant)}\r\nContent-Length: {len(raw)}"
    )
    started = time.monotonic()
    answer = exchange(port, head, raw, hang_up=False, timeout=timeout)
    return answer, time.monotonic() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


class SickUpstream:
    """A loopback upstream that never answers properly: every other connection is held open with
    no answer ("hang"), the rest get a 200 head and then a body of one byte every ``drip``
    seconds ("drip"). Each connection is let go after ``hold`` seconds at most."""

    def __init__(self, drip: float = 0.3, hold: float = 60.0):
        self.drip, self.hold = drip, hold
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True, name="sick-upstream")

    def __enter__(self) -> SickUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            drip = self.connections % 2 == 0
            threading.Thread(target=self._serve, args=(conn, drip), daemon=True).start()

    def _serve(self, conn: socket.socket, drip: bool) -> None:
        until = time.monotonic() + self.hold
        with conn:
            try:
                conn.settimeout(self.hold)
                conn.recv(65536)  # the request head (and maybe its body)
                if drip:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                while time.monotonic() < until and not self._stop.is_set():
                    if drip:
                        conn.sendall(b" ")
                    self._stop.wait(self.drip)
            except OSError:
                pass
