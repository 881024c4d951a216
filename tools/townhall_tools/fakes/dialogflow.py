"""A local stand-in for Dialogflow ES's detectIntent REST API, mounted at ``/dialogflow``: the chat
gateway's upstream under ``make run`` and in tests (development and testing tool, not Dialogflow).

    POST /dialogflow/v2/projects/{project}[/locations/{loc}]/agent/sessions/{session}:detectIntent
    POST /dialogflow/v2/projects/{project}[/locations/{loc}]/agent/environments/{env}/users/{user}/sessions/{session}:detectIntent

It does what Dialogflow does with a query, through the offline simulator (``simulator.session``):
the tenant whose ``dialogflow.project`` is in the path, its agent built from the library and
classified in the query's ``languageCode``, contexts kept per session (as Dialogflow keeps them, in
memory here: at most ``MAX_SESSIONS``, least recently used dropped), a real WebhookRequest POSTed
to the running webhook with the tenant's demo Basic credential (``townhall-dev-<id>``, demo tenants
only), and a real ``DetectIntentResponse`` JSON back. Requests are parsed strictly with Google's own
``DetectIntentRequest`` type (an unknown field or wrong type is a 400 ``INVALID_ARGUMENT``, as the
API answers); errors are Google's JSON error shape.

Where it sends turns: ``TOWNHALL_FAKE_DIALOGFLOW_WEBHOOK`` (default ``http://127.0.0.1:8080/``);
which tenant files: ``TOWNHALL_FAKE_DIALOGFLOW_TENANTS`` (default ``infra/tenants``). Fitting a
tenant's classifier takes several seconds: ``TOWNHALL_FAKE_DIALOGFLOW_WARM=1`` (make run) fits
every tenant's languages in the background at start; the first query of one not yet fitted waits.

Magic texts make it fail as Dialogflow can, so the gateway's degraded answers can be seen:
``demo-dialogflow-500``, ``demo-dialogflow-401``, ``demo-dialogflow-429`` answer that status;
``demo-dialogflow-hang`` answers (as usual) only after ``HANG_SECONDS``, past the gateway's budget;
``demo-dialogflow-drip`` sends its 200 head at once and its body a byte at a time over as long.
``GET /dialogflow/_requests`` lists the request bodies received (tests).
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

PREFIX = "dialogflow"
MAX_SESSIONS = 1000
HANG_SECONDS = 10.0
MAGIC = re.compile(r"^demo-dialogflow-(?P<what>500|401|429|hang|drip)$")
DRIP_EVERY = 0.25  # seconds between the bytes of a dripped answer
STATUS = {500: "INTERNAL", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}
PATH = re.compile(
    r"^projects/(?P<project>[^/]+)(?:/locations/(?P<location>[^/]+))?/agent"
    r"(?:/environments/(?P<environment>[^/]+)/users/(?P<user>[^/]+))?/sessions/(?P<session>[^/:]+):detectIntent$"
)


class StandIn:
    """The stand-in's state: tenants by project, fitted classifiers, sessions, received requests."""

    def __init__(self, webhook: str, tenants: Path, warm: bool = False):
        from townhall.yamlio import load_yaml

        self.webhook = webhook
        self.tenants = Path(tenants)
        self.by_project: dict[str, Path] = {}
        for path in sorted(self.tenants.glob("*.yaml")):
            doc = load_yaml(path)
            if isinstance(doc, dict) and isinstance(doc.get("dialogflow"), dict):
                self.by_project[doc["dialogflow"].get("project")] = path
        self.requests: list[dict] = []  # what the gateway sent (path, body), for tests
        self.responses: list[dict] = []  # the DetectIntentResponses answered, for tests
        self._sessions: OrderedDict[str, tuple[Any, threading.Lock]] = OrderedDict()  # with its lock
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._nlus: dict[tuple[str, str], Any] = {}
        self._exports: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        if warm:
            threading.Thread(target=self.warm, name="dialogflow-warm", daemon=True).start()

    # -- the agents ------------------------------------------------------------------------------------
    def export(self, tenant_id: str):
        from townhall.library import default_library

        from ..agent.build import build_tenant

        with self._lock:
            if tenant_id not in self._exports:
                self._exports[tenant_id] = build_tenant(tenant_id, self.tenants, default_library())
            return self._exports[tenant_id]

    def nlu(self, tenant_id: str, language: str):
        from ..simulator.nlu import NLU

        key = (tenant_id, language)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one fit per tenant and language; later queries wait for it
            if key not in self._nlus:
                self._nlus[key] = NLU(self.export(tenant_id), language)
            return self._nlus[key]

    def warm(self, only: list[tuple[str, str]] | None = None) -> None:
        """Fit the classifiers now (every tenant's languages, or ``only`` these)."""
        wanted = only or [
            (path.stem, language) for path in self.by_project.values() for language in self.export(path.stem).languages
        ]
        for tenant_id, language in wanted:
            self.nlu(tenant_id, language)

    def session(self, tenant_file: Path, project: str, session_id: str, language: str):
        """The session (created on first use) and the lock its queries take, dropped together
        when the session is the least recently used of more than ``MAX_SESSIONS``."""
        from ..simulator.chat import password_for
        from ..simulator.session import Session

        tenant_id = tenant_file.stem
        key = f"{project}/{session_id}"
        with self._lock:
            held = self._sessions.get(key)
            if held is not None:
                self._sessions.move_to_end(key)
        if held is None:
            found = Session(
                self.nlu(tenant_id, language),
                url=self.webhook,
                project=project,
                username=tenant_id,
                password=password_for(tenant_file),
                session_id=session_id,
                nlu_for=lambda wanted: (
                    self.nlu(tenant_id, wanted) if wanted in self.export(tenant_id).languages else None
                ),
            )
            with self._lock:
                held = self._sessions.setdefault(key, (found, threading.Lock()))
                while len(self._sessions) > MAX_SESSIONS:
                    self._sessions.popitem(last=False)
        found = held[0]
        if found.language != language and language in self.export(tenant_id).languages:
            found.nlu = self.nlu(tenant_id, language)
            found._fallbacks = [i for i in found.nlu.intents if i.fallback]
        return held


def _error(code: int, message: str):
    from flask import jsonify

    return jsonify({"error": {"code": code, "message": message, "status": STATUS.get(code, "UNKNOWN")}}), code


def _check(raw: bytes) -> str | None:
    """Google's own type parses the body strictly, as the API does; the problem, or None."""
    try:
        from google.cloud.dialogflow_v2.types import DetectIntentRequest
    except ImportError:  # pragma: no cover - tooling installs google-cloud-dialogflow
        return None
    try:
        DetectIntentRequest.from_json(raw.decode("utf-8"))
    except Exception as e:  # noqa: BLE001 - any parse failure is INVALID_ARGUMENT
        return f"Invalid JSON payload received. {str(e)[:300]}"
    return None


def response(stand_in_session, result, project: str) -> dict:
    """A DetectIntentResponse's JSON for one simulator ``Result``."""
    answer = result.responses[-1] if result.responses and not result.error else {}
    messages = answer.get("fulfillmentMessages")
    text = answer.get("fulfillmentText", result.reply or "")
    if not messages:
        messages = [{"text": {"text": [t for t in text.split("\n\n") if t]}}] if text else []
    query: dict[str, Any] = {
        "queryText": result.text or (result.intent or ""),
        "parameters": result.parameters or {},
        "allRequiredParamsPresent": not result.slot_filling,
        "fulfillmentText": text,
        "fulfillmentMessages": messages,
        "outputContexts": [
            c for c in stand_in_session.contexts.for_request(stand_in_session.session) if c["lifespanCount"] > 0
        ],
        "intentDetectionConfidence": result.confidence,
        "languageCode": stand_in_session.language,
    }
    if result.intent:
        intent = next((i for i in stand_in_session.nlu.intents if i.name == result.intent), None)
        query["intent"] = {
            "name": f"projects/{project}/agent/intents/{uuid.uuid5(uuid.NAMESPACE_URL, result.intent)}",
            "displayName": result.intent,
        }
        if intent is not None and intent.fallback:
            query["intent"]["isFallback"] = True
    body: dict[str, Any] = {"responseId": str(uuid.uuid4()), "queryResult": query}
    if result.error:
        body["webhookStatus"] = {"code": 14, "message": "Webhook call failed. " + result.error[:200]}
    return body


def _dripped(stopping: threading.Event):
    """A 200 whose body (a valid answer, led by JSON whitespace) comes a byte every ``DRIP_EVERY``
    seconds, ``HANG_SECONDS`` in all; stops when the server stops."""
    from flask import Response

    answer = json.dumps({"responseId": str(uuid.uuid4()), "queryResult": {"fulfillmentText": "late"}}).encode()
    lead = int(HANG_SECONDS / DRIP_EVERY)

    def body():
        for _ in range(lead):
            if stopping.wait(DRIP_EVERY):
                return
            yield b" "
        yield answer

    headers = {"Content-Length": str(lead + len(answer))}
    return Response(body(), status=200, mimetype="application/json", headers=headers)


def app(stand_in: StandIn | None = None):
    from flask import Flask, jsonify, request

    from ..paths import TENANTS

    state = stand_in or StandIn(
        os.environ.get("TOWNHALL_FAKE_DIALOGFLOW_WEBHOOK", "http://127.0.0.1:8080/"),
        Path(os.environ.get("TOWNHALL_FAKE_DIALOGFLOW_TENANTS") or TENANTS),
        warm=os.environ.get("TOWNHALL_FAKE_DIALOGFLOW_WARM") == "1",
    )
    flask_app = Flask(__name__)
    flask_app.config["stand_in"] = state

    @flask_app.get("/_requests")
    def received():
        return jsonify(state.requests[-200:])

    @flask_app.post("/v2/<path:name>")
    def detect_intent(name: str):
        found = PATH.match(name)
        if not found:
            return _error(404, f"Method not found: {name[:200]}")
        raw = request.get_data()
        problem = _check(raw)
        if problem:
            return _error(400, problem)
        body = request.get_json(silent=True) or {}
        with state._lock:
            state.requests.append(
                {"path": name, "body": body, "authorization": bool(request.headers.get("Authorization"))}
            )
            del state.requests[:-1000]
        project = found["project"]
        tenant_file = state.by_project.get(project)
        if tenant_file is None:
            return _error(404, f"No DesignTimeAgent found for project '{project}'.")
        query = body.get("queryInput") or {}
        kind = "text" if "text" in query else "event" if "event" in query else None
        if kind is None:
            return _error(400, "Query input must be set: text or event.")
        language = query[kind].get("languageCode") or ""
        if not language:
            return _error(400, "Language code must be set.")
        magic = MAGIC.match(query[kind].get("text", "")) if kind == "text" else None
        if magic and magic["what"] == "hang":
            state.stopping.wait(HANG_SECONDS)  # bounded, and ends when the server stops; then answers
        elif magic and magic["what"] == "drip":
            return _dripped(state.stopping)
        elif magic:
            code = int(magic["what"])
            return _error(
                code,
                {
                    500: "Internal error",
                    401: "Request had invalid authentication credentials.",
                    429: "Quota exceeded for quota metric 'Session requests'.",
                }[code],
            )
        session, lock = state.session(tenant_file, project, found["session"], language.split("-")[0].lower())
        with lock:  # one query at a time per session, as its contexts change
            for context in (body.get("queryParams") or {}).get("contexts") or []:
                short = str(context.get("name", "")).rsplit("/", 1)[-1]
                session.contexts.set(short, int(context.get("lifespanCount", 0) or 0), context.get("parameters") or {})
                if short == "townhall-language":
                    session._switch_language([context])
            if kind == "text":
                result = session.say(query["text"].get("text", ""))
            else:
                event = query["event"]
                result = session.event(event.get("name", ""), event.get("parameters") or {})
            answer = response(session, result, project)
            with state._lock:
                state.responses.append(answer)
                del state.responses[:-1000]
            return jsonify(answer)

    return flask_app


class DialogflowServer:
    """The stand-in served alone in a background thread (tests): ``with DialogflowServer(webhook,
    tenants) as df: df.url``; ``df.state`` is its ``StandIn``."""

    def __init__(self, webhook: str, tenants: Path, host: str = "127.0.0.1", port: int = 0):
        from werkzeug.serving import make_server

        self.state = StandIn(webhook, tenants)
        from . import _handler

        self.server = make_server(host, port, app(self.state), threaded=True, request_handler=_handler(True))
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="dialogflow", daemon=True)

    def __enter__(self) -> DialogflowServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.state.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
