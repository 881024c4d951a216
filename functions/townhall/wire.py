"""Dialogflow ES v2 wire format: the only module that knows it.

``parse_request`` reads a WebhookRequest leniently (unknown fields are ignored, as V2beta1 agents
send extras) but checks every field the runtime uses, raising ``BadRequest`` naming the field.
``render`` turns a ``Reply`` into a WebhookResponse dict that Google's own ``WebhookResponse``
type parses strictly. ``build_request`` makes a real WebhookRequest, for tooling and tests.
See shared reference ``dialogflow.md`` and docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from typing import Any, Mapping, NamedTuple

import orjson

from .contract import Context, Reply

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


OBJECT, STRING = "must be a JSON object", "must be a string"


def _present(params: Mapping[str, Any]) -> dict:
    """Dialogflow sends ``""`` (and sometimes null) for parameters not yet collected."""
    return {k: v for k, v in params.items() if v != "" and v is not None}


def parse_request(body: Any) -> Request:
    # Every check is written out in line: this runs on every turn.
    if type(body) is not dict:
        raise BadRequest("body", OBJECT)
    session = body.get("session")
    if type(session) is not str:
        raise BadRequest("session", STRING)
    match = SESSION.match(session)
    if not match:
        raise BadRequest("session", f"must be one of {SESSION_FORMS}")
    result = body.get("queryResult")
    if type(result) is not dict:
        raise BadRequest("queryResult", OBJECT)
    intent = result.get("intent")
    if type(intent) is not dict:
        raise BadRequest("queryResult.intent", OBJECT)
    display_name = intent.get("displayName")
    if type(display_name) is not str:
        raise BadRequest("queryResult.intent.displayName", STRING)
    parameters = result.get("parameters")
    if parameters is None:
        parameters = {}
    elif type(parameters) is not dict:
        raise BadRequest("queryResult.parameters", OBJECT)
    language = result.get("languageCode")
    if type(language) is not str:
        raise BadRequest("queryResult.languageCode", STRING)
    query_text = result.get("queryText")
    if query_text is None:
        query_text = ""
    elif type(query_text) is not str:
        raise BadRequest("queryResult.queryText", STRING)
    required_present = result.get("allRequiredParamsPresent", True)
    if type(required_present) is not bool:
        raise BadRequest("queryResult.allRequiredParamsPresent", "must be true or false")

    contexts: dict[str, Context] = {}
    contexts_in = result.get("outputContexts")
    if contexts_in:
        if type(contexts_in) is not list:
            raise BadRequest("queryResult.outputContexts", "must be a list")
        prefix = session + "/contexts/"
        for i, ctx in enumerate(contexts_in):
            where = f"queryResult.outputContexts[{i}]"
            if type(ctx) is not dict:
                raise BadRequest(where, OBJECT)
            name = ctx.get("name")
            if type(name) is not str:
                raise BadRequest(where + ".name", STRING)
            lifespan = ctx.get("lifespanCount", 0)
            if type(lifespan) is not int and type(lifespan) is not float:
                raise BadRequest(where + ".lifespanCount", "must be a number")
            params = ctx.get("parameters")
            if params is None:
                params = {}
            elif type(params) is not dict:
                raise BadRequest(where + ".parameters", OBJECT)
            if name.startswith(prefix):  # contexts of another session are not ours to read
                short = name[len(prefix):]
                contexts[short] = Context(short, int(lifespan), _present(params))
    elif contexts_in is not None and type(contexts_in) is not list:
        raise BadRequest("queryResult.outputContexts", "must be a list")

    return Request(session, match.group("project"), display_name,
                   _present(parameters) if parameters else parameters, contexts, language,
                   query_text, required_present)


def _rich_content(reply: Reply) -> list:
    items: list[dict] = []
    for link in reply.links:
        items.append(
            {"type": "button", "icon": {"type": "chevron_right"}, "text": link.title, "link": link.url}
        )
    if reply.quick_replies:
        items.append({"type": "chips", "options": [{"text": q} for q in reply.quick_replies]})
    return [items] if items else []


def render(reply: Reply, session: str, language_code: str) -> dict:
    """A WebhookResponse for ``reply``, its contexts named under the request's exact session."""
    response: dict[str, Any] = {}
    if reply.event is not None:
        response["followupEventInput"] = {
            "name": reply.event.name,
            "parameters": dict(reply.event.parameters),
            "languageCode": language_code,
        }
    text = list(reply.text)
    if text:
        response["fulfillmentText"] = "\n\n".join(text)
        messages: list[dict] = [{"text": {"text": [t]}} for t in text]
        if reply.quick_replies:
            messages.append({"quickReplies": {"title": text[-1], "quickReplies": list(reply.quick_replies)}})
        rich = _rich_content(reply)
        if rich:
            messages.append({"payload": {"richContent": rich}})
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
