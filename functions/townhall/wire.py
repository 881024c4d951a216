"""Dialogflow ES v2 wire format: the only module that knows it.

``parse_request`` reads a WebhookRequest's JSON bytes leniently (unknown fields are ignored, as
V2beta1 agents send extras) but checks every field the runtime uses, raising ``BadRequest`` naming
the field.
``render`` turns a ``Reply`` into a WebhookResponse dict that Google's own ``WebhookResponse``
type parses strictly. ``build_request`` makes a real WebhookRequest, for tooling and tests.
See shared reference ``dialogflow.md`` and docs/architecture.md. The one other module that knows
Dialogflow's format is ``townhall/gateway/detect.py``: the detectIntent call of the residents' chat
gateway, which reads back what ``render`` writes.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec
import orjson

from .contract import CONTEXT_NAME, Context, Reply

MAX_RESPONSE_BYTES = 64 * 1024

_SEGMENT = r"[^/\s]{1,128}"
SESSION = re.compile(
    rf"^projects/(?P<project>{_SEGMENT})"
    rf"(?:/locations/(?P<location>{_SEGMENT}))?"
    rf"/agent(?:/environments/(?P<environment>{_SEGMENT})/users/(?P<user>{_SEGMENT}))?"
    rf"/sessions/(?P<session>{_SEGMENT})$"
)
SESSION_FORMS = (
    "projects/<project>/agent/sessions/<session>, "
    "projects/<project>/agent/environments/<env>/users/<user>/sessions/<session>, "
    "or either with locations/<location>/ after the project"
)


class BadRequest(Exception):
    """The request is not a usable WebhookRequest; ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Request(NamedTuple):
    """The parts of a WebhookRequest the runtime uses."""

    session: str
    project: str
    intent: str
    parameters: Mapping[str, Any]
    contexts: Mapping[str, Context]
    language_code: str
    query_text: str
    all_required_params_present: bool

    @property
    def conversation(self) -> str:
        return hashlib.blake2b(self.session.encode(), digest_size=16).hexdigest()


# The parts of a WebhookRequest the runtime reads, as msgspec decodes them straight from the JSON
# bytes (a C decoder that checks each type and skips every other field without building it).
class _Intent(msgspec.Struct):
    displayName: str


class _Context(msgspec.Struct):
    name: str
    lifespanCount: int | float = 0
    parameters: dict | None = None


class _QueryResult(msgspec.Struct):
    intent: _Intent
    languageCode: str
    queryText: str | None = None
    parameters: dict | None = None
    allRequiredParamsPresent: bool = True
    outputContexts: list[_Context] | None = None


class _WebhookRequest(msgspec.Struct):
    session: str
    queryResult: _QueryResult


_DECODER = msgspec.json.Decoder(_WebhookRequest)
_PROBLEM = re.compile(r"(?P<what>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?", re.S)
_EXPECTED = re.compile(r"Expected `(?P<type>[^`]*)`, got `[^`]*`")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]*)`")
_REASONS = {
    "str": "must be a string",
    "object": "must be a JSON object",
    "array": "must be a list",
    "bool": "must be true or false",
    "int | float": "must be a number",
}


def _bad_request(problem: msgspec.ValidationError) -> BadRequest:
    """msgspec's "Expected `str`, got `int` - at `$.queryResult.intent.displayName`", in our words."""
    found = _PROBLEM.fullmatch(str(problem))
    what, path = found["what"], found["path"] or ""
    missing = _MISSING.fullmatch(what)
    if missing:
        return BadRequest(f"{path}.{missing['field']}" if path else missing["field"], "is missing")
    expected = _EXPECTED.fullmatch(what)
    if expected:
        wanted = expected["type"].removesuffix(" | null")
        return BadRequest(path or "body", _REASONS.get(wanted, f"must be {wanted}"))
    return BadRequest(path or "body", what[:1].lower() + what[1:])


def _present(params: Mapping[str, Any]) -> dict:
    """Dialogflow sends ``""`` (and sometimes null) for parameters not yet collected."""
    return {k: v for k, v in params.items() if v != "" and v is not None}


def parse_request(raw: bytes) -> Request:
    """Decode and check the JSON body; ``BadRequest`` names the field that is wrong."""
    try:
        body = _DECODER.decode(raw)
    except msgspec.ValidationError as e:
        raise _bad_request(e) from None
    except (msgspec.DecodeError, ValueError, RecursionError):  # not JSON, not UTF-8, too deep
        raise BadRequest("body", "not valid JSON") from None
    session = body.session
    match = SESSION.match(session)
    if not match:
        raise BadRequest("session", f"must be one of {SESSION_FORMS}")
    result = body.queryResult
    parameters = result.parameters
    contexts: dict[str, Context] = {}
    if result.outputContexts:
        prefix = session + "/contexts/"
        for ctx in result.outputContexts:
            if ctx.name.startswith(prefix):  # contexts of another session are not ours to read
                short = ctx.name[len(prefix) :]
                if not CONTEXT_NAME.match(short):  # no process names a context so: not ours either
                    continue
                contexts[short] = Context(short, int(ctx.lifespanCount), _present(ctx.parameters or {}))
    return Request(
        session,
        match.group("project"),
        result.intent.displayName,
        _present(parameters) if parameters else {},
        contexts,
        result.languageCode,
        result.queryText or "",
        result.allRequiredParamsPresent,
    )


def _rich_content(reply: Reply) -> list:
    """Buttons for the links and chips for the quick replies (the reply has at least one)."""
    items: list[dict] = []
    for link in reply.links:
        items.append({"type": "button", "icon": {"type": "chevron_right"}, "text": link.title, "link": link.url})
    if reply.quick_replies:
        items.append({"type": "chips", "options": [{"text": q} for q in reply.quick_replies]})
    return [items]


def render(reply: Reply, session: str, language_code: str) -> dict:
    """A WebhookResponse for ``reply``, its contexts named under the request's exact session."""
    response: dict[str, Any] = {}
    if reply.event is not None:
        response["followupEventInput"] = {
            "name": reply.event.name,
            "parameters": dict(reply.event.parameters),
            "languageCode": language_code,
        }
    text = reply.text
    if text:
        response["fulfillmentText"] = "\n\n".join(text)
        messages: list[dict] = [{"text": {"text": [t]}} for t in text]
        if reply.quick_replies:
            messages.append({"quickReplies": {"title": text[-1], "quickReplies": list(reply.quick_replies)}})
        if reply.links or reply.quick_replies:
            messages.append({"payload": {"richContent": _rich_content(reply)}})
        response["fulfillmentMessages"] = messages
    if reply.contexts:
        response["outputContexts"] = [
            {
                "name": f"{session}/contexts/{c.name}",
                "lifespanCount": c.lifespan,
                "parameters": dict(c.parameters),
            }
            for c in reply.contexts
        ]
    return response


def _check_finite(value: Any) -> None:
    """orjson writes NaN and infinities as null; a reply holding one is a handler's bug."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a reply holds a number that is not finite (NaN or infinity)")
    if isinstance(value, dict):
        for item in value.values():
            _check_finite(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_finite(item)


def encode(response: dict) -> bytes:
    """Serialise a response; raise ``ValueError`` when it is not JSON or is over 64 KiB."""
    try:
        data = orjson.dumps(response)  # compact UTF-8, as Dialogflow reads it; a C encoder: fast
    except orjson.JSONEncodeError as e:
        raise ValueError(f"reply is not JSON: {e}") from None
    if b"null" in data:  # only then can a NaN or infinity have been written
        _check_finite(response)
    if len(data) > MAX_RESPONSE_BYTES:
        raise ValueError(f"response is {len(data)} bytes, over Dialogflow's {MAX_RESPONSE_BYTES}")
    return data


def build_request(
    project: str,
    intent: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    text: str = "",
    language_code: str = "en",
    session_id: str | None = None,
    contexts: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict:
    """A WebhookRequest as Dialogflow ES sends it, for a given project and intent display name."""
    session = f"projects/{project}/agent/sessions/{session_id or uuid.uuid4()}"
    return {
        "responseId": str(uuid.uuid4()),
        "session": session,
        "queryResult": {
            "queryText": text or intent,
            "parameters": dict(parameters or {}),
            "allRequiredParamsPresent": True,
            "fulfillmentMessages": [{"text": {"text": [""]}}],
            "outputContexts": [
                {"name": f"{session}/contexts/{name}", "lifespanCount": 1, "parameters": dict(params)}
                for name, params in (contexts or {}).items()
            ],
            "intent": {
                "name": f"projects/{project}/agent/intents/{uuid.uuid5(uuid.NAMESPACE_URL, 'townhall:intent:' + intent)}",
                "displayName": intent,
            },
            "intentDetectionConfidence": 1,
            "languageCode": language_code,
        },
        "originalDetectIntentRequest": {"source": "townhall", "payload": {}},
    }
