"""Shared test fixtures: real servers, the Firestore emulator, and strict response checks.

- ``served``: the webhook served by the functions-framework CLI over HTTP on a free loopback port.
- ``app_client``: the webhook through functions-framework's real loading path (``create_app``).
- ``firestore_emulator``: gcloud's Firestore emulator, started once for the session and stopped.
Every 200 answer that passes through ``Caller`` is checked strictly as a Dialogflow v2
``WebhookResponse`` (unknown fields, wrong types, context names, size, rich content).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from support import FUNCTIONS, PROJECTS, REPO, TENANTS, auth_for, check_response

FAKES_TODAY = date(2026, 4, 20)  # the upstream fakes' day in tests (elections on 7 May 2026)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {seconds}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    from townhall_tools.simulator.chat import stop_group

    stop_group(proc)


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes
    json: Any


class Caller:
    """Posts WebhookRequests and checks every 200 strictly. ``send`` is the transport."""

    def __init__(self, send: Callable[..., Answer]):
        self._send = send

    def raw(self, data: bytes, headers: dict | None = None, method: str = "POST") -> Answer:
        return self._send(method, data, headers or {})

    def post(self, body: Any, tenant: str | None = "oxford", headers: dict | None = None) -> Answer:
        h = {"Content-Type": "application/json", **(auth_for(tenant) if tenant else {}), **(headers or {})}
        answer = self._send("POST", json.dumps(body).encode(), h)
        if answer.status == 200:
            session = body.get("session") if isinstance(body, dict) else None
            check_response(answer.body, session if isinstance(session, str) else None)
        else:
            assert answer.status < 500, (answer.status, answer.body[:500])
            assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.headers
            assert set(answer.json) == {"error"}, answer.json
        return answer

    def turn(self, tenant: str, intent: str, **kw) -> dict:
        return self.turn_with_headers(tenant, intent, {}, **kw)

    def turn_with_headers(self, tenant: str, intent: str, headers: dict, **kw) -> dict:
        from townhall import wire

        body = wire.build_request(PROJECTS[tenant], intent, **kw)
        answer = self.post(body, tenant, headers=headers)
        assert answer.status == 200, answer.json
        return answer.json


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@pytest.fixture(scope="session")
def served_fakes():
    """Every upstream fake (townhall_tools.fakes), served in this process on a free loopback port;
    their calendars count from FAKES_TODAY, the day the scripted conversations expect."""
    from townhall_tools.fakes import FakesServer

    with FakesServer(today=FAKES_TODAY) as fakes:
        yield fakes


@pytest.fixture(scope="session")
def sandbox_tenants(served_fakes, tmp_path_factory) -> Path:
    """The example tenant files, their upstream URLs pointing at the served fakes."""
    from townhall_tools.fakes import sandbox_tenants as copy

    return copy(TENANTS, tmp_path_factory.mktemp("tenants"), served_fakes.url)


@pytest.fixture(scope="session")
def served(tmp_path_factory, sandbox_tenants):
    """The webhook, served by the functions-framework CLI, with the example tenants (files) and
    the upstream fakes; the X-Townhall-Now header sets its clock (TOWNHALL_DEV_CLOCK)."""
    log = tmp_path_factory.mktemp("served") / "server.log"
    port = free_port()
    env = {
        **os.environ,
        "TOWNHALL_SETTINGS_BACKEND": "files",
        "TOWNHALL_TENANTS_DIR": str(sandbox_tenants),
        "TOWNHALL_DEV_CLOCK": "1",
        "TOWNHALL_STATE_DIR": str(tmp_path_factory.mktemp("state")),
        "TOWNHALL_SECRETS_BACKEND": "files",
        "TOWNHALL_SECRETS_FILE": str(REPO / "examples" / "demo-secrets.yaml"),
    }
    env.pop("TOWNHALL_LIBRARY_DIR", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("functions-framework")),
                "--target",
                "webhook",
                "--source",
                str(FUNCTIONS / "main.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, proc, 30, log)
        yield Served(f"http://127.0.0.1:{port}/", log)
    finally:
        stop(proc)


@dataclass
class Served:
    url: str
    log: Path

    def caller(self) -> Caller:
        session = requests.Session()

        def send(method, data, headers):
            r = session.request(method, self.url, data=data, headers=headers, timeout=10)
            return Answer(r.status_code, dict(r.headers), r.content, _decode(r.content))

        return Caller(send)

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


@pytest.fixture
def http(served) -> Caller:
    return served.caller()


@pytest.fixture
def make_app(monkeypatch, tmp_path):
    """Build the webhook through create_app with the given environment; returns a Caller."""
    from functions_framework import create_app

    from townhall import webhook

    def build(**env: str) -> Caller:
        for key in (
            "TOWNHALL_SETTINGS_BACKEND",
            "TOWNHALL_TENANTS_DIR",
            "TOWNHALL_LIBRARY_DIR",
            "TOWNHALL_SETTINGS_TTL",
            "TOWNHALL_TURN_BUDGET",
            "TOWNHALL_DEV_CLOCK",
        ):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("TOWNHALL_TENANTS_DIR", str(TENANTS))
        monkeypatch.setenv("TOWNHALL_STATE_DIR", str(tmp_path / "state"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        webhook.reset()
        client = create_app("webhook", str(FUNCTIONS / "main.py")).test_client()

        def send(method, data, headers):
            r = client.open("/", method=method, data=data, headers=headers)
            return Answer(r.status_code, dict(r.headers), r.data, _decode(r.data))

        return Caller(send)

    yield build
    webhook.reset()


@pytest.fixture
def app_client(make_app) -> Caller:
    return make_app()


@pytest.fixture
def captured_logs():
    """Every structured log line the runtime writes during the test, parsed."""
    import io

    from townhall import logs

    stream = io.StringIO()
    logs.set_stream(stream)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.text = stream.getvalue  # type: ignore[attr-defined]
    yield lines
    logs.set_stream(None)


# -- Firestore emulator ------------------------------------------------------------------------

EMULATOR_PROJECT = "townhall-test"


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory):
    """gcloud's Firestore emulator on a free loopback port, for the whole session."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.fail(
            "gcloud is not installed: the Firestore emulator tests need "
            "'gcloud emulators firestore' (Google Cloud SDK with the cloud-firestore-emulator component)"
        )
    port = free_port()
    log = tmp_path_factory.mktemp("firestore") / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [gcloud, "emulators", "firestore", "start", f"--host-port=127.0.0.1:{port}", "--quiet"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    host = f"127.0.0.1:{port}"
    try:
        wait_for_port(port, proc, 90, log)
        deadline = time.monotonic() + 60
        while True:  # the port opens before the emulator answers
            try:
                if requests.get(f"http://{host}/", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Firestore emulator did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield host
    finally:
        stop(proc)


@pytest.fixture
def firestore_env(firestore_emulator, monkeypatch):
    """Point the Google client at the emulator, with an empty database for each test."""
    host = firestore_emulator
    requests.delete(
        f"http://{host}/emulator/v1/projects/{EMULATOR_PROJECT}/databases/(default)/documents", timeout=10
    ).raise_for_status()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", EMULATOR_PROJECT)
    return {"FIRESTORE_EMULATOR_HOST": host, "GOOGLE_CLOUD_PROJECT": EMULATOR_PROJECT}
