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


class _Described(enum.Enum):
    """An outcome enumeration's members: (value, status, severity, alert, meaning)."""

    def __new__(cls, value: str, status: int, severity: str, alert: str | None, meaning: str):
        member = object.__new__(cls)
        member._value_ = value
        member.status = status
        member.severity = severity
        member.alert = alert
        member.meaning = meaning
        return member


class Outcome(_Described):
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
    CREDENTIALS_UNVERIFIABLE = (
        "credentials_unverifiable",
        503,
        "ERROR",
        None,
        "no tenant index has been loaded (settings backend unreachable since start-up): no credential "
        "can be checked, so none is served; the answer says when to retry",
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
    UPSTREAM_FAILED = (
        "upstream_failed",
        200,
        "WARNING",
        "upstreams",
        "the process answered, but an upstream service it called timed out, could not be reached, "
        "answered 5xx or 429, was resting behind its circuit breaker, or gave a body that is not its "
        "contract's: the resident got the process's polite fallback",
    )
    UPSTREAM_REFUSED = (
        "upstream_refused",
        200,
        "WARNING",
        "configuration",
        "the process answered, but an upstream service refused a request permanently (401, 403, "
        "400, 404, 409, 422: a bad key, an unknown service code, a refused value) or the settings "
        "could not make it: the resident got the process's polite fallback",
    )
    SECRET_MISSING = (
        "secret_missing",
        200,
        "ERROR",
        "configuration",
        "the process needed a tenant secret (an upstream API key) that is not set: the resident got "
        "the process's polite fallback",
    )
    SIDE_EFFECT_UNKNOWN = (
        "side_effect_unknown",
        200,
        "WARNING",
        "unknown_side_effects",
        "a report, payment or message was sent but its answer never came (or an earlier one like it "
        "never did): it may have been made, so it is not sent again and the resident was told so",
    )

    UNREADABLE_BODY = (
        "unreadable_body",
        400,
        "WARNING",
        None,
        "the body could not be read (broken chunked encoding, fewer bytes than its Content-Length, "
        "the client went away); refused before any credential was read",
    )
    BUSY = (
        "busy",
        200,
        "WARNING",
        None,
        "the council's or the process's share of the handler pool (or the whole pool) was taken by "
        "turns still waiting on upstream services: answered at once with the 'taking longer' "
        "apology and the contact details",
    )
    LATE = (
        "late",
        200,
        "WARNING",
        None,
        "the turn reached its process with too little of its budget left to call upstream services: "
        "answered at once with the 'taking longer' apology and the contact details",
    )


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


class Unverifiable(Refusal):
    """No credential can be checked yet: 503 with ``Retry-After`` (whole seconds)."""

    outcome = Outcome.CREDENTIALS_UNVERIFIABLE

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class BadRequest(Refusal):
    outcome = Outcome.BAD_REQUEST


class UnreadableBody(Refusal):
    outcome = Outcome.UNREADABLE_BODY


class Forbidden(Refusal):
    outcome = Outcome.FORBIDDEN


def refusal_response(refusal: Refusal) -> tuple[int, bytes, dict]:
    """The HTTP answer to a refusal: its outcome's status, a short JSON body, its own headers."""
    body = json.dumps({"error": refusal.message}).encode()
    return refusal.outcome.status, body, {**JSON_HEADERS, **refusal.headers}


class ChatOutcome(_Described):
    """How a request to the residents' chat gateway (``townhall/gateway``) ended: its ``chat`` log
    line's ``outcome``, with the same fields as ``Outcome``. ``docs/operations.md`` ("Chat gateway
    outcomes") explains each; the alert ``chat_dialogflow`` is appended to alerts.tf."""

    #       value                     status  severity   alert              meaning
    OK = ("ok", 200, "INFO", None, "the council's agent answered the resident (201 for a new conversation)")
    PREFLIGHT = ("preflight", 204, "INFO", None, "a browser's CORS preflight from an allowed origin")
    ASSET = ("asset", 200, "INFO", None, "a widget file (or, locally only, a demo page) was served")
    DIALOGFLOW_FAILED = (
        "dialogflow_failed",
        200,
        "WARNING",
        "chat_dialogflow",
        "detectIntent timed out, could not be reached, answered 5xx or 429, gave a body that is not a "
        "DetectIntentResponse, or was resting behind its circuit breaker: the resident got the apology, "
        "the council's contact details and the handoff actions (degraded)",
    )
    DIALOGFLOW_REFUSED = (
        "dialogflow_refused",
        200,
        "ERROR",
        "chat_dialogflow",
        "detectIntent refused the call (401, 403, 404, 400: the chat service account lacks "
        "roles/dialogflow.client on the council's agent project, no agent or environment, no "
        "credentials): the resident got the apology, contact details and handoff actions (degraded)",
    )
    BAD_REQUEST = ("bad_request", 400, "WARNING", None, "a body or path the API does not accept")
    TOO_LONG = ("too_long", 400, "INFO", None, "a message over the 256-character limit, refused before it was sent")
    TOKEN_INVALID = (
        "token_invalid",
        401,
        "WARNING",
        None,
        "no conversation token, or one changed, made for another council or signed with another key",
    )
    TOKEN_EXPIRED = ("token_expired", 401, "INFO", None, "the conversation's token expired: the widget starts anew")
    ORIGIN_NOT_ALLOWED = (
        "origin_not_allowed",
        403,
        "WARNING",
        None,
        "the request came from a web page whose origin is not in the council's chat.origins",
    )
    UNKNOWN_COUNCIL = (
        "unknown_council",
        404,
        "WARNING",
        None,
        "no council by that id, or the council has no chat settings (404 for unknown paths too)",
    )
    METHOD_NOT_ALLOWED = ("method_not_allowed", 405, "WARNING", None, "a method the path does not take")
    RATE_LIMITED = (
        "rate_limited",
        429,
        "WARNING",
        None,
        "a conversation or a client address went over its rate (TOWNHALL_CHAT_SESSION_RATE, TOWNHALL_CHAT_IP_RATE)",
    )
    UNAVAILABLE = (
        "unavailable",
        503,
        "ERROR",
        None,
        "the council's settings cannot be read, or no signing key is readable: nothing can be served safely",
    )
