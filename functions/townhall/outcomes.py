"""Every way a turn can end, in one place: its HTTP status, the severity of its log line, the
alert that watches it, and what it means.

The webhook writes one ``turn`` log line per request with ``outcome`` set to an ``Outcome``'s
value (``"handler_error"``): Cloud Logging filters, the ``townhall-turns`` metric and the alerts
in ``infra/modules/platform/alerts.tf`` read that string, so a value never changes once shipped.
``docs/operations.md`` ("Turn outcomes") explains each one and what to do; a test checks that the
alerts and the guide name exactly these.

Requests the webhook will not serve are refused by raising a ``Refusal``; ``refusal_response``
turns any of them into the short JSON answer, here and nowhere else. Every other outcome is a 200
with a reply for the resident.
"""

from __future__ import annotations

import enum
import json

from .auth import REALM

JSON_HEADERS = {"Content-Type": "application/json"}


class Outcome(enum.Enum):
    """A turn's outcome: ``value`` is what the log line says; ``status`` the HTTP status answered;
    ``severity`` the log line's severity; ``alert`` the key in alerts.tf's ``turn_alerts`` whose
    alert counts it, or None where no alert watches it (the guide says why)."""

    #       value                     status  severity   alert          meaning
    OK = ("ok", 200, "INFO", None, "a process answered the resident")
    METHOD_NOT_ALLOWED = (
        "method_not_allowed",
        405,
        "WARNING",
        None,
        "not a POST; refused before any credential was read",
    )
    UNSUPPORTED_MEDIA_TYPE = (
        "unsupported_media_type",
        415,
        "WARNING",
        None,
        "the body is not declared as application/json; refused before any credential was read",
    )
    TOO_LARGE = ("too_large", 413, "WARNING", None, "the body is over 256 KiB; refused before any credential was read")
    UNAUTHENTICATED = (
        "unauthenticated",
        401,
        "WARNING",
        "credentials",
        "no Basic credential, an unknown tenant, or the wrong password",
    )
    BAD_REQUEST = (
        "bad_request",
        400,
        "WARNING",
        "mismatch",
        "a tenant's credential came with a body that is not a WebhookRequest the webhook can read",
    )
    FORBIDDEN = ("forbidden", 403, "WARNING", "credentials", "a tenant's credential came from another agent's project")
    SETTINGS_UNAVAILABLE = (
        "settings_unavailable",
        200,
        "WARNING",
        "settings",
        "the settings backend cannot be read and no good copy is held: the generic reply",
    )
    SETTINGS_INVALID = (
        "settings_invalid",
        200,
        "WARNING",
        "settings",
        "the tenant's settings fail validation: the generic reply",
    )
    UNKNOWN_INTENT = (
        "unknown_intent",
        200,
        "WARNING",
        "mismatch",
        "no process in the library declares the intent: the menu",
    )
    PROCESS_DISABLED = (
        "process_disabled",
        200,
        "WARNING",
        None,
        "the intent's process is switched off for this council: the menu",
    )
    TIMEOUT = (
        "timeout",
        200,
        "WARNING",
        "failures",
        "the process did not answer within the turn's budget: an apology with the contact details",
    )
    HANDLER_ERROR = (
        "handler_error",
        200,
        "WARNING",
        "failures",
        "the process raised, returned something that is not a Reply, or could not be prepared "
        "when the settings were loaded: an apology with the contact details",
    )
    RENDER_ERROR = (
        "render_error",
        200,
        "WARNING",
        "failures",
        "the reply could not be rendered (not JSON, or over 64 KiB): an apology with the contact details",
    )
    RUNTIME_ERROR = (
        "runtime_error",
        200,
        "WARNING",
        "failures",
        "an unexpected error in the runtime itself: the generic reply",
    )

    def __new__(cls, value: str, status: int, severity: str, alert: str | None, meaning: str):
        member = object.__new__(cls)
        member._value_ = value
        member.status = status
        member.severity = severity
        member.alert = alert
        member.meaning = meaning
        return member


class Refusal(Exception):
    """A request the webhook will not serve: answered ``outcome.status`` with ``{"error": message}``."""

    outcome: Outcome = Outcome.BAD_REQUEST
    headers: dict = {}

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class MethodNotAllowed(Refusal):
    outcome = Outcome.METHOD_NOT_ALLOWED
    headers = {"Allow": "POST"}


class UnsupportedMediaType(Refusal):
    outcome = Outcome.UNSUPPORTED_MEDIA_TYPE


class TooLarge(Refusal):
    outcome = Outcome.TOO_LARGE


class Unauthenticated(Refusal):
    outcome = Outcome.UNAUTHENTICATED
    headers = {"WWW-Authenticate": REALM}


class BadRequest(Refusal):
    outcome = Outcome.BAD_REQUEST


class Forbidden(Refusal):
    outcome = Outcome.FORBIDDEN


def refusal_response(refusal: Refusal) -> tuple[int, bytes, dict]:
    """The HTTP answer to a refusal: its outcome's status, a short JSON body, its own headers."""
    body = json.dumps({"error": refusal.message}).encode()
    return refusal.outcome.status, body, {**JSON_HEADERS, **refusal.headers}
