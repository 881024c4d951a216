"""Soak: upstreams that act but answer after the turn's deadline, and a resident who retries.

For each side effect (an Open311 report, a GOV.UK Pay payment, a Notify message) the local fake
makes it and answers ``SLOW_SECONDS`` (4.5 s) later, past the turn's 4 s budget. The resident
confirms three times, a couple of seconds apart, each confirmation a new turn with the webhook's
handler deadline, through the same clients and ``Upstream.once`` the processes use. The fakes
then say how many of each they made: one each is the only right answer.

    .venv/bin/python bench/soak_late.py [--backend files|firestore] [--tries 3] [--pause 2.0]

``--backend firestore`` needs ``FIRESTORE_EMULATOR_HOST`` and ``GOOGLE_CLOUD_PROJECT`` (the
Firestore emulator). Exits 1 when anything was made more than once or not at all.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "functions"), str(REPO / "tools")]

from townhall import logs  # noqa: E402
from townhall.contract import Deadline  # noqa: E402
from townhall.library import _package, default_library  # noqa: E402
from townhall.secrets import FilesSecrets  # noqa: E402
from townhall.sideeffects import FilesSideEffects, FirestoreSideEffects  # noqa: E402
from townhall.upstream import Http, Upstream, UpstreamError  # noqa: E402
from townhall.upstreams import notify, open311  # noqa: E402
from townhall_tools.fakes import FakesServer  # noqa: E402

BUDGET = 4.0 - 0.25  # the webhook's turn budget less its margin: the handler's deadline


def side_effects(backend: str, state: Path):
    if backend == "files":
        return FilesSideEffects(state)
    from google.cloud import firestore

    client = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    return FirestoreSideEffects(lambda: client)


def pay_client_module():
    process = default_library().processes["council_tax"]
    return importlib.import_module(f"{_package(process)}.client")


def run(backend: str, tries: int, pause: float) -> int:
    lines = io.StringIO()
    logs.set_stream(lines)  # counted at the end, not printed
    with FakesServer() as fakes, tempfile.TemporaryDirectory() as state:
        secrets = FilesSecrets(REPO / "examples" / "demo-secrets.yaml")
        up = Upstream("oxford", Http(), lambda name: secrets("oxford", name), side_effects(backend, Path(state)))
        marker = uuid.uuid4().hex[:12]
        conversation = f"soak-{marker}"

        # The Open311 report (the fake stores it, then answers 4.5 s later).
        client = open311.Client(
            up, {"base_url": f"{fakes.url}/open311/oxford", "api_key_secret": "open311-api-key", "format": "json"}
        )
        report = open311.Report(
            service_code="GRAFF",
            description=open311.description("Graffiti", f"Tags on the wall demo-slow {marker}"),
            address_string="Outside the library, OX1 1BX",
        )

        def send_report(deadline: Deadline):
            def send():
                sent = client.submit(report, deadline)
                return {"reference": sent.reference, "token": sent.token, "notice": sent.notice}

            return up.once(f"report:{conversation}", send, deadline)

        # The payment (GOV.UK Pay's fake makes it, then answers 4.5 s later); the same
        # Idempotency-Key on every try, and on the check of an unknown attempt.
        pay = pay_client_module()
        payer = pay.PayClient(up.http, f"{fakes.url}/pay", up.secret("pay-api-key"))
        body = pay.payment_body(
            amount=12345,
            reference="99999999",  # the fake's slow reference
            description="Oxford City Council council tax (demo)",
            return_url=f"https://example.org/demo/paid?chat_payment={marker}",
            language="en",
        )
        key = f"soak{marker}"

        def make_payment(deadline: Deadline):
            def create():
                payment = payer.create(body, idempotency_key=key, deadline=deadline)
                return {"payment_id": payment.payment_id, "next_url": payment.next_url}

            return up.once(f"pay:{conversation}", create, deadline, check=create)

        # The confirmation message (Notify's fake sends it, then answers 4.5 s later).
        notify_settings = {
            "base_url": f"{fakes.url}/notify",
            "api_key_secret": "notify-api-key",
            "email_template_id": "aaaaaaaa-1111-4111-8111-000000000001",
        }
        reference = f"OXF-{marker}"

        def send_message(deadline: Deadline):
            result = notify.confirm(
                up,
                notify_settings,
                "slow@example.org",
                {"council": "Oxford City Council", "summary": "graffiti", "reference": reference},
                reference,
                deadline,
            )
            if not result.sent:
                raise UpstreamError(result.problem or "status", "not sent", result.status)
            return {"id": result.notification_id}

        answers = {"report": [], "payment": [], "message": []}
        started = time.monotonic()
        for attempt in range(tries):
            for name, action in (("report", send_report), ("payment", make_payment), ("message", send_message)):
                turn_started = time.monotonic()
                deadline = Deadline.after(BUDGET)
                try:
                    action(deadline)
                    answer = "done"
                except UpstreamError as e:
                    answer = e.kind
                took = time.monotonic() - turn_started
                answers[name].append(answer)
                print(f"try {attempt + 1} {name:8s} -> {answer:8s} in {took:.2f} s (deadline {BUDGET:.2f} s)")
            if attempt + 1 < tries:
                time.sleep(pause)
        time.sleep(5.0)  # let every slow answer finish before counting

        posts = requests.get(f"{fakes.url}/open311/_received", timeout=5).json()["requests"]
        reports = [p for p in posts if marker in p["fields"].get("description", "")]
        pay_requests = requests.get(f"{fakes.url}/pay/_fake/requests", timeout=5).json()
        payments = [
            r
            for r in pay_requests
            if r.get("method") == "POST" and r.get("status") == 201 and r.get("idempotency_key") == key
        ]
        sent = requests.get(f"{fakes.url}/notify/_received", timeout=5).json()["notifications"]
        messages = [n for n in sent if n["reference"] == reference]
        elapsed = time.monotonic() - started
    print(
        f"backend {backend}: {tries} tries each, {elapsed:.1f} s in all; upstream answers after 4.5 s, "
        f"turn deadline {BUDGET:.2f} s"
    )
    print(f"reports made: {len(reports)}  payments made: {len(payments)}  messages sent: {len(messages)}")
    for name, seen in answers.items():
        print(f"  {name}: {' -> '.join(seen)}")
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    unknown = sum(1 for line in logged if line["message"].startswith("upstream unknown"))
    failed = sum(1 for line in logged if line["message"].startswith("upstream failed"))
    print(f"log lines: {failed} 'upstream failed' (WARNING), {unknown} 'upstream unknown' (ERROR)")
    ok = len(reports) == len(payments) == len(messages) == 1
    print("OK: exactly one of each" if ok else "FAIL: a side effect was made more than once, or not at all")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("files", "firestore"), default="files")
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between the resident's tries")
    args = parser.parse_args()
    if args.backend == "firestore" and not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        parser.error("--backend firestore needs FIRESTORE_EMULATOR_HOST (the Firestore emulator)")
    return run(args.backend, max(1, min(args.tries, 10)), max(0.0, min(args.pause, 30.0)))


if __name__ == "__main__":
    sys.exit(main())
