"""Local fake of GOV.UK Notify's v2 API (emails and text messages), mounted at ``/notify``.

- ``POST /notify/v2/notifications/email`` and ``/notify/v2/notifications/sms``: 201 with the
  documented body (``id``, ``reference``, ``content``, ``uri``, ``template``).
- ``GET /notify/v2/notifications/{id}``: the notification with its ``status``.
- Auth: ``Authorization: Bearer <JWT>``, HS256, ``iss`` a demo service id, signed with that
  service's secret, ``iat`` within 30 seconds. The demo services are the keys in
  ``examples/demo-secrets.yaml`` (``notify-api-key``).
- Errors as Notify answers them, ``{"status_code": N, "errors": [{"error", "message"}]}``: 401/403
  ``AuthError`` (no token, not bearer, unknown service, wrong signature, clock skew), 400
  ``ValidationError`` (missing or malformed fields, an invalid email address or mobile number)
  and ``BadRequestError`` (unknown template, wrong template type, missing personalisation), 404
  ``NoResultFound``.
- Notify's simulators: ``temp-fail@simulator.notify`` / ``07700900003`` end ``temporary-failure``,
  ``perm-fail@simulator.notify`` / ``07700900002`` end ``permanent-failure``; others
  ``delivered``.
- Magic inputs of this fake, for failure paths: ``fail-500@example.org`` / ``07700900500`` -> 500
  ``Exception``; ``rate-limited@example.org`` / ``07700900429`` -> 429 ``RateLimitError``;
  ``slow@example.org`` / ``07700900504`` -> the answer comes after ``SLOW_SECONDS``.
- ``GET /v2/notifications?reference=&template_type=&status=`` lists the service's notifications
  (newest first), as Notify's API does: how a confirmation whose answer never came is found.
- ``GET /notify/_received`` lists what was sent (for tests).

Every demo template takes the personalisation ``council``, ``summary`` and ``reference``.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field

PREFIX = "notify"
SLOW_SECONDS = 4.5
CLOCK_SKEW = 30

_CONFIRMATION_EMAIL = (
    "Your report to ((council))",
    "Thank you. We've received your report about ((summary)).\n\nYour reference is ((reference)).",
)
_CONFIRMATION_SMS = "((council)): we've received your report about ((summary)). Your reference is ((reference))."

# Demo services: service id -> secret, name and templates (the ids the example tenants' settings use).
SERVICES = {
    "11111111-1111-4111-8111-111111111111": {
        "secret": "22222222-2222-4222-8222-222222222222",
        "name": "Oxford City Council (demo)",
        "templates": {
            "aaaaaaaa-1111-4111-8111-000000000001": ("email", *_CONFIRMATION_EMAIL),
            "aaaaaaaa-1111-4111-8111-000000000002": ("sms", None, _CONFIRMATION_SMS),
        },
    },
    "33333333-3333-4333-8333-333333333333": {
        "secret": "44444444-4444-4444-8444-444444444444",
        "name": "Cardiff Council (demo)",
        "templates": {
            "aaaaaaaa-3333-4333-8333-000000000001": ("email", *_CONFIRMATION_EMAIL),
            "aaaaaaaa-3333-4333-8333-000000000002": ("sms", None, _CONFIRMATION_SMS),
        },
    },
}

SIMULATED = {
    "temp-fail@simulator.notify": "temporary-failure",
    "07700900003": "temporary-failure",
    "perm-fail@simulator.notify": "permanent-failure",
    "07700900002": "permanent-failure",
}
MAGIC = {
    "fail-500@example.org": 500,
    "07700900500": 500,
    "rate-limited@example.org": 429,
    "07700900429": 429,
    "slow@example.org": "slow",
    "07700900504": "slow",
}
_EMAIL = re.compile(r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\-]+@([a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _mobile(number: str) -> tuple[str | None, str | None]:
    """(normalised UK mobile, None) or (None, Notify's message)."""
    digits = re.sub(r"[\s()\-]", "", number)
    if not re.fullmatch(r"\+?\d+", digits):
        return None, "Must not contain letters or symbols"
    digits = digits.lstrip("+")
    if digits.startswith("44"):
        digits = "0" + digits[2:]
    if not digits.startswith("07"):
        return None, "Not a UK mobile number"
    if len(digits) > 11:
        return None, "Too many digits"
    if len(digits) < 11:
        return None, "Not enough digits"
    return digits, None


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: dict = field(default_factory=dict)  # id -> notification


def app():
    import jwt
    from flask import Flask, jsonify, request

    state = State()
    web = Flask(__name__)

    def errors(status: int, kind: str, *messages: str):
        return jsonify({"status_code": status, "errors": [{"error": kind, "message": m} for m in messages]}), status

    def authorised():
        """(service id, None) or (None, an error response)."""
        header = request.headers.get("Authorization", "")
        if not header:
            return None, errors(401, "AuthError", "Unauthorized: authentication token must be provided")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value:
            return None, errors(401, "AuthError", "Unauthorized: authentication bearer scheme must be used")
        try:
            claims = jwt.decode(value, options={"verify_signature": False})
            algorithm = jwt.get_unverified_header(value).get("alg")
        except jwt.PyJWTError:
            return None, errors(403, "AuthError", "Invalid token: signature, api token is not valid")
        iss = claims.get("iss")
        if not iss:
            return None, errors(403, "AuthError", "Invalid token: iss field not provided")
        if not isinstance(iss, str) or not _UUID.match(iss):
            return None, errors(403, "AuthError", "Invalid token: service id is not the right data type")
        service = SERVICES.get(iss)
        if service is None:
            return None, errors(403, "AuthError", "Invalid token: service not found")
        try:
            if algorithm != "HS256":
                raise jwt.InvalidAlgorithmError(algorithm)
            jwt.decode(value, service["secret"], algorithms=["HS256"], options={"verify_iat": False})
        except jwt.PyJWTError:
            return None, errors(403, "AuthError", "Invalid token: API key not found")
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or abs(time.time() - iat) > CLOCK_SKEW:
            return None, errors(403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds")
        return iss, None

    def send(kind: str):
        service_id, problem = authorised()
        if problem:
            return problem
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return errors(400, "BadRequestError", "Invalid JSON supplied in POST data")
        recipient_field = "email_address" if kind == "email" else "phone_number"
        missing = [f"{f} is a required property" for f in (recipient_field, "template_id") if f not in body]
        if missing:
            return errors(400, "ValidationError", *missing)
        template_id, recipient = body["template_id"], body[recipient_field]
        if not isinstance(template_id, str) or not _UUID.match(template_id):
            return errors(400, "ValidationError", "template_id is not a valid UUID")
        if not isinstance(recipient, str):
            return errors(400, "ValidationError", f"{recipient_field} {recipient!r} is not of type string")
        if kind == "email":
            to = recipient.strip()
            if not _EMAIL.match(to):
                return errors(400, "ValidationError", "email_address Not a valid email address")
        else:
            to, message = _mobile(recipient)
            if message:
                return errors(400, "ValidationError", f"phone_number {message}")
        personalisation = body.get("personalisation") or {}
        if not isinstance(personalisation, dict):
            return errors(400, "ValidationError", "personalisation is not of type object")
        reference = body.get("reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 1000):
            return errors(400, "ValidationError", "reference is not of type string, or is too long")
        template = SERVICES[service_id]["templates"].get(template_id)
        if template is None:
            return errors(400, "BadRequestError", "Template not found")
        template_type, subject, text = template
        if template_type != kind:
            return errors(400, "BadRequestError", f"{template_type} template is not suitable for {kind} notification")
        needed = sorted(set(re.findall(r"\(\(([^)]+)\)\)", (subject or "") + text)))
        absent = [name for name in needed if name not in personalisation]
        if absent:
            return errors(400, "BadRequestError", f"Missing personalisation: {', '.join(absent)}")
        magic = MAGIC.get(to.lower())
        if magic == 500:
            return errors(500, "Exception", "Internal server error")
        if magic == 429:
            return errors(
                429, "RateLimitError", "Exceeded rate limit for key type TEAM of 3000 requests per 60 seconds"
            )
        if magic == "slow":
            time.sleep(SLOW_SECONDS)

        def fill(s):
            return re.sub(r"\(\(([^)]+)\)\)", lambda m: str(personalisation[m.group(1)]), s) if s else s

        notification_id = str(uuid.uuid4())
        base = request.host_url.rstrip("/") + request.script_root
        content = (
            {
                "subject": fill(subject),
                "body": fill(text),
                "from_email": "demo.notify@example.org",
                "one_click_unsubscribe_url": None,
            }
            if kind == "email"
            else {"body": fill(text), "from_number": "DEMO"}
        )
        answer = {
            "id": notification_id,
            "reference": reference,
            "content": content,
            "uri": f"{base}/v2/notifications/{notification_id}",
            "template": {
                "id": template_id,
                "version": 1,
                "uri": f"{base}/services/{service_id}/templates/{template_id}",
            },
            "scheduled_for": None,
        }
        with state.lock:
            state.sent[notification_id] = {
                "id": notification_id,
                "type": kind,
                "service_id": service_id,
                "template_id": template_id,
                "to": to,
                "personalisation": personalisation,
                "reference": reference,
                "content": content,
                "status": SIMULATED.get(to.lower(), "delivered"),
            }
        return jsonify(answer), 201

    @web.post("/v2/notifications/email")
    def email():
        return send("email")

    @web.post("/v2/notifications/sms")
    def sms():
        return send("sms")

    @web.get("/v2/notifications/<notification_id>")
    def notification(notification_id):
        service_id, problem = authorised()
        if problem:
            return problem
        with state.lock:
            held = state.sent.get(notification_id)
        if held is None or held["service_id"] != service_id:
            return errors(404, "NoResultFound", "No result found")
        recipient = {"email_address": held["to"]} if held["type"] == "email" else {"phone_number": held["to"]}
        return jsonify(
            {
                "id": held["id"],
                "reference": held["reference"],
                "type": held["type"],
                "status": held["status"],
                "template": {"id": held["template_id"], "version": 1},
                "body": held["content"]["body"],
                "subject": held["content"].get("subject"),
                **recipient,
            }
        )

    @web.get("/v2/notifications")
    def notifications():
        """Notify's list: the service's notifications, newest first, filtered by ``reference``,
        ``template_type`` and ``status`` as the API documents (no paging: the demo holds few)."""
        service_id, problem = authorised()
        if problem:
            return problem
        wanted = {k: request.args.get(k) for k in ("reference", "template_type", "status") if request.args.get(k)}
        with state.lock:
            held = [n for n in state.sent.values() if n["service_id"] == service_id]
        found = [
            n
            for n in reversed(held)
            if wanted.get("reference", n["reference"]) == n["reference"]
            and wanted.get("template_type", n["type"]) == n["type"]
            and wanted.get("status", n["status"]) == n["status"]
        ]
        return jsonify(
            {
                "notifications": [
                    {
                        "id": n["id"],
                        "reference": n["reference"],
                        "type": n["type"],
                        "status": n["status"],
                        "template": {"id": n["template_id"], "version": 1},
                    }
                    for n in found
                ],
                "links": {"current": request.url},
            }
        )

    @web.get("/_received")
    def received():
        with state.lock:
            return {"notifications": list(state.sent.values())}

    return web
