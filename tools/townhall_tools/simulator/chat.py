"""``townhall chat``: talk to a tenant's bot in the terminal through the simulator (a development
and testing tool, not a replacement for Dialogflow), against a running webhook or one started here.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import TextIO

from townhall.yamlio import load_yaml

from ..paths import FUNCTIONS
from .session import Result, Session

PASSWORD_ENV = "TOWNHALL_WEBHOOK_PASSWORD"
BANNER = (
    "Townhall simulator: a development and testing tool standing in for Dialogflow's matching, "
    "not a replacement for it."
)


class ChatError(Exception):
    """Chat cannot start; the message says why and how to fix it."""


def password_for(tenant_file: Path, from_env: str | None = None) -> str:
    """The webhook secret: ``--password-from-env``, ``TOWNHALL_WEBHOOK_PASSWORD``, or a demo
    tenant's published dev password (``townhall-dev-<id>``, used only when its hash matches)."""
    doc = load_yaml(tenant_file)
    stored = (doc.get("webhook") or {}).get("password_sha256", "")
    if from_env:
        if not os.environ.get(from_env):
            raise ChatError(f"--password-from-env {from_env}: that environment variable is not set or empty")
        return os.environ[from_env]
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    dev = f"townhall-dev-{doc.get('id')}"
    if doc.get("demo") and hashlib.sha256(dev.encode()).hexdigest() == stored:
        return dev
    raise ChatError(
        f"no webhook password for {doc.get('id')!r}: pass --password-from-env VAR or set {PASSWORD_ENV} "
        "(only demo tenants have a published dev password)"
    )


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a process started with ``start_new_session`` and everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_webhook(
    tenants_dir: Path, library_dir: Path | None = None, logs: TextIO | None = None, today: date | None = None
) -> Iterator[str]:
    """The sandbox ``make run`` serves, on free loopback ports: the upstream fakes (their calendars
    counting from ``today``), the tenant files pointed at them, and the webhook; yields the
    webhook's URL and stops it all afterwards. The webhook's output and the fakes' access log go
    to ``logs`` (a file with a descriptor, such as ``sys.stderr``), and nowhere by default."""
    from townhall.library import Library

    from ..fakes import FakesServer, sandbox_tenants

    library = Library.load(library_dir) if library_dir else None
    with (
        tempfile.TemporaryDirectory(prefix="townhall-chat-") as work,
        FakesServer(library=library, today=today, quiet=logs is None) as fakes,
    ):
        tenants = sandbox_tenants(Path(tenants_dir), Path(work) / "tenants", fakes.url)
        with serve_webhook(
            tenants, library_dir, env={"TOWNHALL_STATE_DIR": str(Path(work) / "state")}, output=logs
        ) as url:
            yield url


@contextmanager
def serve_webhook(
    tenants_dir: Path,
    library_dir: Path | None = None,
    log: Path | None = None,
    env: dict | None = None,
    seconds: float = 30.0,
    output: TextIO | None = None,
) -> Iterator[str]:
    """The webhook served by functions-framework on a free loopback port (files backend, the dev
    clock on so ``X-Townhall-Now`` is honoured); yields its URL, stops it afterwards. Its output
    goes to the file ``log``, else to the open file ``output``, else nowhere."""
    port = _free_port()
    settings = {
        "TOWNHALL_SETTINGS_BACKEND": "files",
        "TOWNHALL_TENANTS_DIR": str(Path(tenants_dir).resolve()),
        "TOWNHALL_DEV_CLOCK": "1",
        **(env or {}),
    }
    if library_dir:
        settings["TOWNHALL_LIBRARY_DIR"] = str(Path(library_dir).resolve())
    binary = Path(sys.executable).with_name("functions-framework")
    command = [
        str(binary),
        "--target",
        "webhook",
        "--source",
        str(FUNCTIONS / "main.py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    target = output if output is not None else subprocess.DEVNULL
    with open(log, "wb") if log else nullcontext(target) as out:  # the child keeps its own copy
        try:
            proc = subprocess.Popen(
                command,
                cwd=FUNCTIONS.parent,
                env={**os.environ, **settings},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as e:
            raise ChatError(f"could not start {binary} ({e}); run `make run` elsewhere and pass --url") from e
    try:
        deadline = time.monotonic() + seconds
        while True:
            if proc.poll() is not None:
                raise ChatError(f"the local webhook exited with {proc.returncode}" + (f"; see {log}" if log else ""))
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise ChatError(f"the local webhook did not listen within {seconds:g} s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_group(proc)


def show(result: Result, out: TextIO, debug: bool) -> None:
    if result.error:
        print(f"  [simulator] {result.error}", file=out)
    if result.reply:
        for paragraph in result.reply.split("\n\n"):
            print(f"bot> {paragraph}", file=out)
    for title, url in result.links:
        print(f"     [{title}] {url}", file=out)
    if result.quick_replies:
        print("     " + "  ".join(f"({i}) {q}" for i, q in enumerate(result.quick_replies, 1)), file=out)
    if debug:
        params = {k: v for k, v in result.parameters.items() if v not in ("", [])}
        hops = f" via {' -> '.join(result.events)}" if result.events else ""
        print(
            f"     ~ {result.matched or 'fallback'}{hops} ({result.confidence:.2f}) {params or ''} "
            f"contexts {result.contexts or '{}'}",
            file=out,
        )


def run(session: Session, lines: TextIO, out: TextIO, debug: bool = True, prompt: bool = True) -> int:
    """The chat loop: the WELCOME event first, then one query per line until end of input or /quit.
    A number picks that quick reply."""
    print(BANNER, file=out)
    print("Type a message; a number picks a quick reply; /quit (or Ctrl-D) ends.", file=out)
    last = session.event("WELCOME")
    show(last, out, debug)
    while True:
        if prompt:
            print("you> ", end="", file=out, flush=True)
        line = lines.readline()
        if not line:
            print(file=out)
            return 0
        text = line.strip()
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return 0
        if text.isdigit() and 1 <= int(text) <= len(last.quick_replies):
            text = last.quick_replies[int(text) - 1]
            print(f"     ({text})", file=out)
        last = session.say(text)
        show(last, out, debug)
