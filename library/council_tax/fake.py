"""A local fake of GOV.UK Pay's public API, for development and tests (served under /pay).

It follows the published contract (shared reference "upstream-apis.md" section 4, and GOV.UK
Pay's API reference) for what this process uses, and checks every request as GOV.UK Pay would:

- ``POST /v1/payments``: ``Authorization: Bearer <key>`` (any key starting ``demo-`` or
  ``api_test_``; anything else is 401 with no body), ``Content-Type: application/json``, a JSON
  body with ``amount`` (integer pence, 30 to 10,000,000), ``reference`` (at most 255 characters,
  no URLs), ``description`` (at most 255), ``return_url`` (at most 2,000, https), optional
  ``language`` (en or cy), ``metadata`` (1 to 15 keys of at most 30 characters, values at most
  100), ``email``, ``delayed_capture``, ``moto``. 201 with the payment and
  ``_links.next_url.href``, a demo payment page on this fake. Errors as GOV.UK Pay sends them,
  ``{field?, code, description}``: 400 P0101 (missing field), P0197 (not JSON), P0920 (the
  firewall: no JSON content type, an empty body, an http return_url, or < > " \\ | in a value);
  422 P0102 (invalid value); 429 P0900; 500 P0198; 503 P0999.
- ``Idempotency-Key`` (1 to 255 letters, digits, hyphens; otherwise 422 P0102): the same key and
  body within 24 hours answer 200 with the original payment; another body, 409 P0191.
- ``GET /v1/payments/{id}``: the payment's current state (404 P0200 if unknown). A payment left
  unpaid for 90 minutes is failed with P0020 (expired), as GOV.UK Pay does.
- ``POST /v1/payments/{id}/cancel``: 204; 409 P0502 once finished; 404 P0500 if unknown.

The demo payment page (``GET /secure/{token}``) says "demo payment page"; its buttons pay
(status ``success``) or cancel (``failed``, P0030) and send the resident to ``return_url``.

Magic inputs, for testing failure paths end to end:

| input | answer |
| --- | --- |
| amount 99999 (£999.99) | 500 P0198 |
| amount 99998 (£999.98) | 503 P0999 |
| amount 99997 (£999.97) | 429 P0900 |
| amount 99996 (£999.96) | 201 without ``next_url`` (a malformed answer) |
| amount 99995 (£999.95) | 422 P0102 (a refused value: a permanent refusal) |
| reference of six or more 9s ("99999999") | answers after ``SLOW_SECONDS``, past any turn's budget |

Not part of GOV.UK Pay, for tests: ``GET /_fake/requests`` lists every request received (method,
path, Idempotency-Key, body, status), ``POST /_fake/payments/{id}/expire`` ages a payment past
its 90 minutes and ``POST /_fake/payments/{id}/forget`` drops it (its status is then 404, as for a
payment GOV.UK Pay does not know).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from html import escape
from typing import Any

PREFIX = "pay"
SLOW_SECONDS = 5.0
EXPIRES_AFTER = 90 * 60
IDEMPOTENCY_FOR = 24 * 60 * 60
KEY = re.compile(r"^(demo-|api_test_)[A-Za-z0-9_-]{1,200}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9-]{1,255}$")
FIREWALL = re.compile(r'[<>"\\|]')
URL_IN_TEXT = re.compile(r"https?://|www\.", re.IGNORECASE)
URL = re.compile(r"^https?://[^\s/?#]+(?:[/?#]\S*)?$")
REQUIRED = ("amount", "reference", "description", "return_url")
FINISHED = ("success", "failed", "cancelled", "error")
MESSAGES = {
    "P0010": "Payment method rejected",
    "P0020": "Payment expired",
    "P0030": "Payment was cancelled by the user",
    "P0040": "Payment was cancelled by the service",
    "P0050": "Payment provider returned an error",
}
MAGIC = {
    99999: (500, "P0198", "Downstream system error"),
    99998: (503, "P0999", "GOV.UK Pay is unavailable"),
    99997: (429, "P0900", "Too many requests"),
    99995: (422, "P0102", "Invalid attribute value: amount"),
}
MALFORMED_AMOUNT = 99996
SLOW_REFERENCE = re.compile(r"^9{6,}$")


class Invalid(Exception):
    def __init__(self, status: int, code: str, description: str, field: str | None = None):
        super().__init__(description)
        self.status, self.code, self.description, self.field = status, code, description, field


def _invalid(field: str, why: str) -> Invalid:
    return Invalid(422, "P0102", f"Invalid attribute value: {field}. {why}", field)


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _text(body: dict, field: str, limit: int, urls: bool = True) -> None:
    value = body[field]
    if not isinstance(value, str):
        raise _invalid(field, "Must be a string")
    if not value.strip():
        raise _invalid(field, "Must not be empty")
    if len(value) > limit:
        raise _invalid(field, f"Must be less than or equal to {limit} characters length")
    if not urls and URL_IN_TEXT.search(value):
        raise _invalid(field, "Must not contain URLs")


def check_create(body: Any) -> None:
    """Raise ``Invalid`` for anything GOV.UK Pay refuses in a 'create a payment' body."""
    if not isinstance(body, dict):
        raise Invalid(400, "P0197", "Unable to parse JSON")
    for value in _strings(body):
        if FIREWALL.search(value):
            raise Invalid(
                400,
                "P0920",
                "Request blocked by security rules. Please consult API documentation for more information.",
            )
    for field in REQUIRED:
        if field not in body or body[field] is None:
            raise Invalid(400, "P0101", f"Missing mandatory attribute: {field}", field)
    amount = body["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise _invalid("amount", "Must be a whole number of pence")
    if amount < 30:
        raise _invalid("amount", "Must be greater than or equal to 30")
    if amount > 10_000_000:
        raise _invalid("amount", "Must be less than or equal to 10000000")
    _text(body, "reference", 255, urls=False)
    _text(body, "description", 255, urls=False)
    _text(body, "return_url", 2000)
    if not URL.match(body["return_url"]):
        raise _invalid("return_url", "Must be a valid URL format")
    if not body["return_url"].startswith("https://"):
        raise Invalid(
            400, "P0920", "Request blocked by security rules. Please consult API documentation for more information."
        )
    if "language" in body and body["language"] not in ("en", "cy"):
        raise _invalid("language", "Must be en or cy")
    if "email" in body:
        if not isinstance(body["email"], str) or len(body["email"]) > 254:
            raise _invalid("email", "Must be less than or equal to 254 characters length")
    for flag in ("delayed_capture", "moto"):
        if flag in body and not isinstance(body[flag], bool):
            raise _invalid(flag, "Must be true or false")
    if "metadata" in body:
        metadata = body["metadata"]
        if not isinstance(metadata, dict) or not 1 <= len(metadata) <= 15:
            raise _invalid("metadata", "Must be an object of 1 to 15 keys")
        for key, value in metadata.items():
            if not 1 <= len(key) <= 30:
                raise _invalid("metadata", "Keys must be between 1 and 30 characters long")
            if isinstance(value, (dict, list)) or value is None or (isinstance(value, str) and len(value) > 100):
                raise _invalid("metadata", "Values must be no greater than 100 characters long")


def app():
    """A fresh fake (its own payments and record of requests) as a WSGI app."""
    from flask import Flask, Response, redirect, request, url_for

    fake = Flask(__name__)
    lock = threading.Lock()
    payments: dict[str, dict] = {}
    tokens: dict[str, str] = {}
    keys: dict[str, tuple[str, str, float]] = {}  # Idempotency-Key -> (body, payment_id, when)
    received: list[dict] = []

    def record(status: int, body: Any) -> None:
        with lock:
            received.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "body": body,
                    "idempotency_key": request.headers.get("Idempotency-Key"),
                }
            )

    def error(e: Invalid, body: Any = None) -> Response:
        record(e.status, body)
        data = {"code": e.code, "description": e.description}
        if e.field:
            data = {"field": e.field, **data}
        return Response(json.dumps(data), e.status, content_type="application/json")

    def refused(body: Any = None) -> Response | None:
        """401 with no body, as GOV.UK Pay answers a missing or unknown API key; None if the key is good."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and KEY.match(header[7:]):
            return None
        record(401, body)
        return Response(b"", 401)

    def state_of(payment: dict) -> dict:
        if payment["status"] not in FINISHED and time.time() - payment["created"] > EXPIRES_AFTER:
            payment.update(status="failed", code="P0020")
        state = {"status": payment["status"], "finished": payment["status"] in FINISHED}
        if payment.get("code"):
            state.update(code=payment["code"], message=MESSAGES[payment["code"]])
        return state

    def view(payment: dict) -> dict:
        pid = payment["payment_id"]
        state = state_of(payment)
        self_url = url_for("get_payment", payment_id=pid, _external=True)
        links: dict[str, Any] = {"self": {"href": self_url, "method": "GET"}}
        if not state["finished"] and not payment.get("malformed"):
            secure = url_for("secure", token=payment["token"], _external=True)
            links["next_url"] = {"href": secure, "method": "GET"}
            links["next_url_post"] = {
                "type": "application/x-www-form-urlencoded",
                "params": {"chargeTokenId": payment["token"]},
                "href": url_for("secure_post", _external=True),
                "method": "POST",
            }
        links["events"] = {"href": f"{self_url}/events", "method": "GET"}
        links["refunds"] = {"href": f"{self_url}/refunds", "method": "GET"}
        if not state["finished"]:
            links["cancel"] = {"href": f"{self_url}/cancel", "method": "POST"}
        body = payment["body"]
        data = {
            "amount": body["amount"],
            "description": body["description"],
            "reference": body["reference"],
            "language": body.get("language", "en"),
            "state": state,
            "payment_id": pid,
            "payment_provider": "sandbox",
            "created_date": payment["created_date"],
            "refund_summary": {
                "status": "available" if state["status"] == "success" else "pending",
                "amount_available": body["amount"],
                "amount_submitted": 0,
            },
            "settlement_summary": {},
            "delayed_capture": body.get("delayed_capture", False),
            "moto": body.get("moto", False),
            "return_url": body["return_url"],
            "authorisation_mode": "web",
            "_links": links,
        }
        for optional in ("metadata", "email"):
            if optional in body:
                data[optional] = body[optional]
        if state["status"] == "success":
            data["card_details"] = {
                "last_digits_card_number": "4242",
                "first_digits_card_number": "424242",
                "cardholder_name": "Demo Payer",
                "expiry_date": "12/30",
                "card_brand": "Visa",
                "card_type": "debit",
                "billing_address": None,
            }
        return data

    def answer(status: int, data: dict, **headers: str) -> Response:
        record(status, None)
        return Response(json.dumps(data), status, content_type="application/json", headers=headers)

    def fixed_up(raw: bytes) -> Any:
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return raw.decode("utf-8", "replace")

    @fake.post("/v1/payments")
    def create_payment():
        raw = request.get_data()
        logged = fixed_up(raw)
        media = (request.content_type or "").split(";", 1)[0].strip().lower()
        accept = request.headers.get("Accept")
        firewall = Invalid(
            400, "P0920", "Request blocked by security rules. Please consult API documentation for more information."
        )
        if (
            media != "application/json"
            or not raw.strip()
            or (
                accept
                and not any(
                    a.strip().split(";")[0] in ("application/json", "*/*", "application/*") for a in accept.split(",")
                )
            )
        ):
            return error(firewall, logged)
        if (unauthorised := refused(logged)) is not None:
            return unauthorised
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return error(Invalid(400, "P0197", "Unable to parse JSON"), logged)
        key = request.headers.get("Idempotency-Key")
        try:
            if key is not None and not IDEMPOTENCY_KEY.match(key):
                raise _invalid("Idempotency-Key", "Must be 1 to 255 letters, digits and hyphens")
            check_create(body)
        except Invalid as e:
            return error(e, body)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        with lock:
            held = keys.get(key) if key else None
            if held and time.time() - held[2] > IDEMPOTENCY_FOR:
                held = None
        if held:
            if held[0] != canonical:
                return error(
                    Invalid(409, "P0191", "The Idempotency-Key has already been used to create a payment"), body
                )
            with lock:
                data = view(payments[held[1]])
            record(200, body)
            return Response(json.dumps(data), 200, content_type="application/json")
        if body["amount"] in MAGIC:
            status, code, description = MAGIC[body["amount"]]
            return error(Invalid(status, code, description), body)
        if SLOW_REFERENCE.match(body["reference"]):
            time.sleep(SLOW_SECONDS)
        pid = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(26))
        token = str(uuid.uuid4())
        now = datetime.now(UTC)
        payment = {
            "payment_id": pid,
            "token": token,
            "body": body,
            "status": "created",
            "created": time.time(),
            "created_date": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "malformed": body["amount"] == MALFORMED_AMOUNT,
        }
        with lock:
            payments[pid] = payment
            tokens[token] = pid
            if key:
                keys[key] = (canonical, pid, time.time())
            data = view(payment)
        record(201, body)
        return Response(
            json.dumps(data), 201, content_type="application/json", headers={"Location": data["_links"]["self"]["href"]}
        )

    @fake.get("/v1/payments/<payment_id>")
    def get_payment(payment_id: str):
        if (unauthorised := refused()) is not None:
            return unauthorised
        with lock:
            payment = payments.get(payment_id)
            data = view(payment) if payment else None
        if data is None:
            return error(Invalid(404, "P0200", "Not found"))
        return answer(200, data)

    @fake.post("/v1/payments/<payment_id>/cancel")
    def cancel_payment(payment_id: str):
        if (unauthorised := refused()) is not None:
            return unauthorised
        with lock:
            payment = payments.get(payment_id)
            if payment is None:
                found = None
            elif state_of(payment)["finished"]:
                found = False
            else:
                payment.update(status="cancelled", code="P0040")
                found = True
        if found is None:
            return error(Invalid(404, "P0500", "Not found"))
        if not found:
            return error(Invalid(409, "P0502", "Cancellation of payment failed"))
        record(204, None)
        return Response(b"", 204)

    @fake.get("/secure/<token>")
    def secure(token: str):
        with lock:
            payment = payments.get(tokens.get(token, ""))
            if payment is not None and payment["status"] == "created":
                payment["status"] = "started"
            state = state_of(payment) if payment else None
        if payment is None or state["finished"]:
            return Response(
                "<!doctype html><title>Payment not found</title><p>This payment link has expired "
                "or has already been used.</p>",
                404,
                content_type="text/html; charset=utf-8",
            )
        body = payment["body"]
        amount = f"£{body['amount'] // 100:,}.{body['amount'] % 100:02d}"
        page = f"""<!doctype html>
<html lang="{escape(body.get("language", "en"))}"><head><meta charset="utf-8"><title>Demo payment page</title></head>
<body><h1>GOV.UK Pay: demo payment page</h1>
<p>This is a demo payment page. No money is taken.</p>
<p>{escape(body["description"])}: <strong>{amount}</strong> (reference {escape(body["reference"])})</p>
<form method="post" action="{escape(url_for("secure_post"))}">
<input type="hidden" name="chargeTokenId" value="{escape(token)}">
<button name="decision" value="pay">Pay {amount} (demo)</button>
<button name="decision" value="cancel">Cancel payment</button>
</form></body></html>"""
        return Response(page, 200, content_type="text/html; charset=utf-8")

    @fake.post("/secure")
    def secure_post():
        token = request.form.get("chargeTokenId", "")
        decision = request.form.get("decision")
        with lock:
            payment = payments.get(tokens.get(token, ""))
            if payment is not None and not state_of(payment)["finished"] and decision in ("pay", "cancel"):
                if decision == "pay":
                    payment.update(status="success")
                else:
                    payment.update(status="failed", code="P0030")
                target = payment["body"]["return_url"]
            else:
                target = None
        if target is None:
            return Response("Payment not found", 404, content_type="text/plain")
        return redirect(target, 303)

    @fake.get("/_fake/requests")
    def fake_requests():
        with lock:
            return Response(json.dumps(received), 200, content_type="application/json")

    @fake.post("/_fake/payments/<payment_id>/expire")
    def fake_expire(payment_id: str):
        with lock:
            payment = payments.get(payment_id)
            if payment is not None:
                payment["created"] -= EXPIRES_AFTER + 1
        return Response("", 204 if payment is not None else 404)

    @fake.post("/_fake/payments/<payment_id>/forget")
    def fake_forget(payment_id: str):
        with lock:
            payment = payments.pop(payment_id, None)
            for key in [k for k, held in keys.items() if held[1] == payment_id]:
                del keys[key]
        return Response("", 204 if payment is not None else 404)

    return fake
