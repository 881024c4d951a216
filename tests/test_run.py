"""`make run` on other ports: the demo tenants' upstream addresses follow the fakes' address, so an
upstream journey works end to end (the webhook, the sandboxed tenant files and the fakes, as served
by the Makefile; `make serve` is `make run` without the install check)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from support import PROJECTS, REPO, auth_for

from townhall import wire

TOWNHALL = str(Path(sys.executable).with_name("townhall"))
CHAT_PORTS: dict[int, int] = {}  # webhook port -> the chat gateway's port of the same `make serve`


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def make_run(tmp_path):
    """`make serve` on three free loopback ports; yields (webhook port, fakes port, sandbox folder)
    and keeps the chat gateway's port in ``make_run.chat_port`` (see ``chat_port``)."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    port, fakes_port, chat_port = free_port(), free_port(), free_port()
    CHAT_PORTS[port] = chat_port
    sandbox = tmp_path / "sandbox"
    log = tmp_path / "make.log"
    env = {**os.environ, "TOWNHALL_STATE_DIR": str(tmp_path / "state")}
    env.pop("TOWNHALL_TENANTS_DIR", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "serve",
                "HOST=127.0.0.1",
                f"PORT={port}",
                f"FAKES_PORT={fakes_port}",
                f"CHAT_PORT={chat_port}",
                f"SANDBOX={sandbox}",
                f"BIN={Path(sys.executable).parent}",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not (listening(port) and listening(fakes_port) and listening(chat_port)):
            assert proc.poll() is None, f"make serve exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"make serve did not listen within 60 s:\n{log.read_text()}"
            time.sleep(0.1)
        yield port, fakes_port, sandbox
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
    assert not listening(port) and not listening(fakes_port), "make serve left a server running"
    assert not listening(chat_port), "make serve left the chat gateway running"


def test_make_run_on_other_ports_answers_an_upstream_journey(make_run):
    port, fakes_port, sandbox = make_run
    oxford = yaml.safe_load((sandbox / "oxford.yaml").read_text())
    assert f"http://127.0.0.1:{fakes_port}/" in yaml.safe_dump(oxford) and ":8090/" not in yaml.safe_dump(oxford)

    done = subprocess.run(
        [TOWNHALL, "chat", "oxford", "--url", f"http://127.0.0.1:{port}/", "--quiet"],
        cwd=REPO,
        input="when is my bin collected\nOX1 2JD\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "For 1 Demo Lane, Oxford:" in done.stdout, done.stdout  # the fakes' address lookup answered
    assert "goes out on" in done.stdout  # and their collection calendar
    assert "can't look up" not in done.stdout


def test_idle_connections_do_not_hold_up_a_served_request(make_run):
    """Eight connections that send half a request head and wait take no thread a real request
    needs: `make serve` runs as many server threads as the instance serves requests at once."""
    port, _, _ = make_run
    idle = []
    try:
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")  # and nothing more
            idle.append(s)
        body = wire.build_request(PROJECTS["oxford"], "contact.opening_hours")
        answer = requests.post(f"http://127.0.0.1:{port}/", json=body, headers=auth_for("oxford"), timeout=30)
        assert answer.status_code == 200
        assert "Our opening hours are" in answer.json()["fulfillmentText"]
    finally:
        for s in idle:
            s.close()


def test_make_run_serves_the_chat_gateway_through_the_simulator_and_the_webhook(make_run):
    """The chat gateway of `make serve` answers a resident: its detectIntent goes to the local
    stand-in (the simulator), which calls the webhook served beside it; and it serves the demo page."""
    port, _, _ = make_run
    chat = f"http://127.0.0.1:{CHAT_PORTS[port]}"
    page = requests.get(f"{chat}/demo/oxford", timeout=10)
    assert page.status_code == 200 and 'data-council="oxford"' in page.text
    origin = {"Origin": chat}  # the demo page's own origin, allowed in development
    assert requests.get(f"{chat}/v1/councils/oxford", headers=origin, timeout=10).json()["council"] == "oxford"
    # The stand-in fits the demo agents' classifiers in the background when it starts: until then a
    # conversation starts degraded (the apology and contact details), so try for a while.
    started = None
    for _ in range(24):
        answer = requests.post(f"{chat}/v1/councils/oxford/conversations", json={}, headers=origin, timeout=30)
        assert answer.status_code == 201, answer.text
        if not answer.json().get("degraded"):
            started = answer.json()
            break
        time.sleep(5)
    assert started is not None, "the chat gateway never got the agent's welcome through the stand-in"
    headers = {**origin, "Authorization": f"Bearer {started['token']}"}
    turn = requests.post(
        f"{chat}/v1/conversations/turn", json={"text": "what are your opening hours"}, headers=headers, timeout=30
    )
    assert turn.status_code == 200 and "degraded" not in turn.json(), turn.text
    assert "Our opening hours are" in " ".join(m.get("text", "") for m in turn.json()["messages"])
