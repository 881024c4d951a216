"""The residents' chat widget (functions/townhall/gateway/static/) in a real browser, against the
real stack: what `make run` starts (the webhook, the upstream fakes, the local Dialogflow stand-in
and the chat gateway, each on a free loopback port, through `make serve`), then
tests/browser/widget.test.mjs (Debian's Chromium driven by playwright-core, axe-core injected) on
the gateway's demo page /demo/cardiff. `make test` installs Chromium and the npm packages first
(docs/webchat.md, "Tests"); screenshots and figures go to build/browser/ (git-ignored).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from support import REPO

from conftest import free_port, stop, wait_for_port

STATIC = REPO / "functions" / "townhall" / "gateway" / "static"
ASSETS = ("townhall-chat.js", "townhall-chat.css")
BUDGET = 30 * 1024  # bytes, gzipped, script and stylesheet together
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "build" / "browser"
TENANT = "cardiff"


def test_widget_is_at_most_30_kb_gzipped():
    sizes = {name: len(gzip.compress((STATIC / name).read_bytes(), compresslevel=6)) for name in ASSETS}
    total = sum(sizes.values())
    print(f"widget size gzipped: {sizes} = {total} bytes ({total / 1024:.1f} KiB of {BUDGET // 1024} KiB)")
    assert total <= BUDGET, f"the widget is {total} bytes gzipped; the budget is {BUDGET}"


def test_widget_needs_no_inline_script_style_or_eval():
    """What a strict Content Security Policy forbids never appears in the widget's code (the browser
    test also loads it under such a policy and fails on any violation)."""
    js = (STATIC / "townhall-chat.js").read_text(encoding="utf-8")
    css = (STATIC / "townhall-chat.css").read_text(encoding="utf-8")
    for forbidden in ("eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert forbidden not in js, f"townhall-chat.js uses {forbidden}"
    assert not re.search(r"setAttribute\(\s*['\"]style['\"]", js), "style attributes break under CSP style-src"
    assert not re.search(r"\.style\.(?!setProperty)\w+\s*=", js), "set styles with style.setProperty only"
    assert not re.search(r"https?://", re.sub(r"/\*.*?\*/", "", js, flags=re.S)), "no hard-coded origins"
    assert "@import" not in css and "url(" not in css, "the stylesheet loads nothing else"


def _missing() -> list[str]:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"Chromium ({CHROMIUM}): apt-get install chromium")
    if shutil.which("node") is None:
        missing.append("Node.js: apt-get install nodejs npm")
    for package in ("playwright-core", "axe-core"):
        if not (REPO / "node_modules" / package / "package.json").exists():
            missing.append(f"{package}: npm ci (in {REPO})")
    return missing


def _warm(base: str, deadline: float, log: Path) -> None:
    """Wait until the gateway answers a whole conversation start in each language. The Dialogflow
    stand-in fits each language's classifier on first use (seconds on a busy machine), longer than
    the gateway waits; the browser tests start once it answers at full speed, not degraded."""
    origin = base.rstrip("/")
    for language in ("en", "cy"):
        while True:
            try:
                r = requests.post(
                    f"{base}v1/councils/{TENANT}/conversations",
                    json={"language": language},
                    headers={"Origin": origin},
                    timeout=30,
                )
                if r.status_code == 201 and not r.json().get("degraded"):
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (
                f"the gateway did not start a conversation in {language}:\n{log.read_text()}"
            )
            time.sleep(0.5)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """`make serve` on free loopback ports, as `make run` serves it; yields the gateway's base URL."""
    if not shutil.which("make"):
        pytest.fail("make is not installed")
    tmp = tmp_path_factory.mktemp("browser-stack")
    ports = {name: free_port() for name in ("PORT", "FAKES_PORT", "CHAT_PORT")}
    log = tmp / "make.log"
    env = {**os.environ, "TOWNHALL_STATE_DIR": str(tmp / "state")}
    env.pop("TOWNHALL_TENANTS_DIR", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "serve",
                "HOST=127.0.0.1",
                *(f"{name}={port}" for name, port in ports.items()),
                f"SANDBOX={tmp / 'sandbox'}",
                f"BIN={Path(sys.executable).parent}",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{ports['CHAT_PORT']}/"
    try:
        deadline = time.monotonic() + 60
        for port in ports.values():
            wait_for_port(port, proc, max(0.1, deadline - time.monotonic()), log)
        _warm(base, deadline + 60, log)
        yield base
    finally:
        stop(proc)


@pytest.mark.timeout(300)  # the stack's start (classifiers fitted) and about 30 s in the browser
def test_widget_in_chromium(stack):
    missing = _missing()
    if missing:
        pytest.fail("the browser tests need: " + "; ".join(missing) + " (make test installs them)")
    env = {
        **os.environ,
        "TOWNHALL_GATEWAY": stack,
        "TOWNHALL_TENANT": TENANT,
        "TOWNHALL_ARTIFACTS": str(ARTIFACTS),
        "CHROMIUM": CHROMIUM,
    }
    run = subprocess.run(
        ["node", "--test", "--test-concurrency=1", "tests/browser/"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = run.stdout + run.stderr
    print(output[-6000:])
    assert run.returncode == 0, f"the browser tests failed (exit {run.returncode}):\n{output[-12000:]}"
    assert re.search(r"^# pass [1-9]\d*$", output, re.M) and re.search(r"^# fail 0$", output, re.M), output[-3000:]
    figures = json.loads((ARTIFACTS / "figures.json").read_text(encoding="utf-8"))
    assert figures["axe"] and all(state["violations"] == 0 for state in figures["axe"].values()), figures["axe"]
    assert {s["png_width"] for s in figures["screenshots"].values()} == {320, 1280}, figures["screenshots"]
    print(f"time from navigation start to an interactive widget: {figures['time_to_interactive_ms']} ms")
