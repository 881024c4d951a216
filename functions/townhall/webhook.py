"""The path of one turn, from an HTTP request to a WebhookResponse (docs/architecture.md):

    check the HTTP request (POST, JSON, size)         -> 405 / 415 / 413
    Basic credential -> tenant settings (cache)       -> 401
    parse + check the WebhookRequest (townhall.wire)  -> 400 naming the field
    session's project must be the tenant's            -> 403
    registry: intent "<process>.<name>" -> handler    (unknown or switched off: a helpful 200)
    handler(turn, settings) -> Reply, inside the turn's deadline
    render the WebhookResponse (townhall.wire)        -> 200

Every outcome is decided here, in one place, and logged as one JSON line. Nothing raises out of
``handle_http``: an unexpected error anywhere becomes a polite 200 (or a short JSON 4xx), never a
5xx or a stack trace.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from . import auth, logs, wire
from . import library as library_module
from .contract import Deadline, Reply, Turn
from .library import Library, default_library
from .replies import how_to_reach, runtime_texts
from .secrets import secrets_from_env
from .settings import SettingsCache, Unavailable
from .sideeffects import side_effects_from_env
from .tenants import Tenant
from .upstream import Http, Upstream

MAX_BODY = 256 * 1024
LONDON = ZoneInfo("Europe/London")
INTENT_NAME = re.compile(r"^[A-Za-z0-9_]{1,60}\.[A-Za-z0-9_.]{1,100}$")
JSON = "application/json"


def _budget() -> float:
    try:
        return float(os.environ.get("TOWNHALL_TURN_BUDGET", "4.0"))
    except ValueError:
        return 4.0


JSON_HEADERS = {"Content-Type": JSON}
HttpResult = tuple  # (status, body, headers): what a WSGI adapter sends back


def _json_error(status: int, message: str, **headers: str) -> HttpResult:
    body = json.dumps({"error": message}).encode()
    return status, body, {**JSON_HEADERS, **headers}


def _read_at_most(read, limit: int) -> bytes:
    """Read the body up to ``limit`` bytes, however the server hands it over."""
    chunks, size = [], 0
    while size < limit:
        chunk = read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class Runtime:
    """One instance per process: the library, the settings cache and the handler pool."""

    def __init__(self, library: Library, settings: SettingsCache, budget: float | None = None):
        self.library = library
        self.settings = settings
        self.budget = _budget() if budget is None else budget
        self.margin = min(0.25, self.budget / 4)  # kept back for rendering and the network
        self.handler_budget = self.budget - self.margin
        self.pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="handler")
        self.http = Http()
        self.secrets = secrets_from_env()
        self.side_effects = side_effects_from_env(settings.backend)
        self._upstreams: dict[str, Upstream] = {}
        # Development and tests only: let the X-Townhall-Now header set the turn's clock.
        self.dev_clock = os.environ.get("TOWNHALL_DEV_CLOCK") == "1"

    def upstream(self, tenant_id: str) -> Upstream:
        found = self._upstreams.get(tenant_id)
        if found is None:
            found = self._upstreams[tenant_id] = Upstream(
                tenant_id, self.http, lambda name: self.secrets(tenant_id, name), self.side_effects)
        return found

    def _now(self, environ) -> datetime:
        if self.dev_clock:
            given = environ.get("HTTP_X_TOWNHALL_NOW")
            if given:
                try:
                    now = datetime.fromisoformat(given)
                    return now if now.tzinfo else now.replace(tzinfo=LONDON)
                except ValueError:
                    pass
        return datetime.now(LONDON)

    # -- HTTP ------------------------------------------------------------------------------
    def handle(self, environ: Mapping[str, Any], read_body: Callable[[], bytes]) -> HttpResult:
        """One HTTP request, given as its WSGI environ (PEP 3333) and a function that reads its
        body (at most ``MAX_BODY + 1`` bytes; called only once the request passed the checks)."""
        started_ns = time.monotonic_ns()
        started = started_ns / 1e9
        trace = environ.get("HTTP_X_CLOUD_TRACE_CONTEXT")
        log = {"tenant": None, "intent": None, "outcome": None, "trace": trace}
        try:
            result = self._handle(environ, read_body, started, log)
        except Exception:  # the last net: nothing escapes as a 5xx
            logs.event("ERROR", "unexpected error in the runtime\n" + traceback.format_exc(),
                       **logs.trace_field(trace))
            result = self._reply_result(Reply(runtime_texts("en")("unavailable")), None, log)
            log["outcome"] = "runtime_error"
        status = result[0]
        logs.turn(
            "INFO" if status == 200 and log["outcome"] == "ok" else ("WARNING" if status < 500 else "ERROR"),
            log["tenant"], log["intent"], log["outcome"], status,
            (time.monotonic_ns() - started_ns) // 100_000 / 10, trace,  # ms, to 0.1 ms
        )
        return result

    def _handle(self, environ, read_body, started: float, log: dict) -> HttpResult:
        if environ.get("REQUEST_METHOD") != "POST":
            log["outcome"] = "method_not_allowed"
            return _json_error(405, "use POST", Allow="POST")
        media = environ.get("CONTENT_TYPE") or ""
        if media != JSON and media.split(";", 1)[0].strip().lower() != JSON:  # "application/json; charset=utf-8" too
            log["outcome"] = "unsupported_media_type"
            return _json_error(415, "send the WebhookRequest as Content-Type: application/json")
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit() and int(length) > MAX_BODY:  # refused before it is read
            log["outcome"] = "too_large"
            return _json_error(413, f"request body over {MAX_BODY} bytes")
        raw = read_body()
        if len(raw) > MAX_BODY:
            log["outcome"] = "too_large"
            return _json_error(413, f"request body over {MAX_BODY} bytes")

        credential = auth.parse_basic(environ.get("HTTP_AUTHORIZATION"))
        if credential is None:
            log["outcome"] = "unauthenticated"
            return _json_error(401, "HTTP Basic credentials required", **{"WWW-Authenticate": auth.REALM})
        tenant_id, password = credential
        try:
            loaded = self.settings.get(tenant_id)
        except Unavailable:
            loaded = None

        tenant = loaded.tenant if loaded is not None else None
        if tenant is not None:  # the usual case: valid settings
            stored, project = tenant.password_sha256, tenant.project
        elif loaded is not None and loaded.missing:
            auth.check_password(password, None)  # same work as a real check: no timing tell
            log["outcome"] = "unauthenticated"
            return _json_error(401, "wrong credentials", **{"WWW-Authenticate": auth.REALM})
        else:  # invalid or unreadable settings: check what can be checked
            stored, project = auth.raw_credentials(loaded.raw if loaded is not None else None)
        if stored is not None and not auth.check_password(password, stored):
            log["outcome"] = "unauthenticated"
            return _json_error(401, "wrong credentials", **{"WWW-Authenticate": auth.REALM})
        log["tenant"] = tenant_id

        try:
            request = wire.parse_request(raw)
        except wire.BadRequest as e:
            log["outcome"] = "bad_request"
            return _json_error(400, f"{e.field}: {e.reason}")
        log["intent"] = request.intent if INTENT_NAME.match(request.intent) else "(unrecognised)"
        if project is not None and request.project != project:
            log["outcome"] = "forbidden"
            return _json_error(403, "this credential does not open this agent's project")

        if tenant is None:
            # Settings unreadable or invalid: a safe answer that reveals nothing of the tenant.
            log["outcome"] = "settings_unavailable" if loaded is None else "settings_invalid"
            texts = runtime_texts(request.language_code)
            return self._reply_result(Reply(texts("unavailable")), request, log)

        with logs.sensitive(request.query_text, request.parameters, request.contexts):
            reply = self._dispatch(tenant, request, started + self.handler_budget, log,
                                   self._now(environ))
            return self._reply_result(reply, request, log, tenant)

    # -- dispatch --------------------------------------------------------------------------
    def _dispatch(self, tenant: Tenant, request: wire.Request, expires_at: float, log: dict,
                  now: datetime) -> Reply:
        """The handler's reply; ``expires_at`` is when the handler's time is up (monotonic)."""
        language = tenant.language_for(request.language_code)
        process = self.library.for_intent(request.intent)
        if process is None or process.id not in tenant.processes:
            log["outcome"] = "unknown_intent" if process is None else "process_disabled"
            return self._menu(tenant, language)
        turn = Turn(
            intent=request.intent,
            action=request.intent.partition(".")[2],
            parameters=request.parameters,
            contexts=request.contexts,
            language=language,
            query_text=request.query_text,
            now=now,
            deadline=Deadline(expires_at),
            all_required_params_present=request.all_required_params_present,
            conversation=request.conversation,
        )
        try:
            settings = tenant.settings(self.library, process, language)
            if process.upstream:
                # Handlers that wait on upstream services run under the turn's deadline.
                settings = replace(settings, upstream=self.upstream(tenant.id))
                future = self.pool.submit(process.handler, turn, settings)
                reply = future.result(timeout=turn.deadline.remaining())
            else:
                reply = process.handler(turn, settings)
        except FutureTimeout:
            future.cancel()
            log["outcome"] = "timeout"
            logs.event("WARNING", "handler overran the turn's deadline", tenant=tenant.id,
                       process=process.id, intent=request.intent)
            return self._sorry(tenant, language, "timeout")
        except Exception:
            log["outcome"] = "handler_error"
            logs.event("ERROR", f"handler {process.id} failed\n" + traceback.format_exc(),
                       tenant=tenant.id, process=process.id, **logs.trace_field(log["trace"]))
            return self._sorry(tenant, language, "handler_error")
        if not isinstance(reply, Reply):
            log["outcome"] = "handler_error"
            logs.event("ERROR", f"handler {process.id} returned {type(reply).__name__}, not a Reply",
                       tenant=tenant.id, process=process.id)
            return self._sorry(tenant, language, "handler_error")
        log["outcome"] = "ok"
        return reply

    def _menu(self, tenant: Tenant, language: str) -> Reply:
        """What the bot can help with, and how to reach the council."""
        t = runtime_texts(language)
        council = tenant.council(self.library, language)
        reach, links = how_to_reach(council, language)
        labels = [s.label for s in council.services]
        text = [t("unknown_intent")]
        if labels:
            text.append(f"{t('can_help_with')} {', '.join(labels)}.")
        text.append(reach)
        return Reply(text, quick_replies=labels, links=links)

    def _sorry(self, tenant: Tenant, language: str, key: str) -> Reply:
        reach, links = how_to_reach(tenant.council(self.library, language), language)
        return Reply([runtime_texts(language)(key), reach], links=links)

    def _reply_result(self, reply: Reply, request: wire.Request | None, log: dict,
                      tenant: Tenant | None = None) -> HttpResult:
        session = request.session if request else "projects/-/agent/sessions/-"
        language_code = request.language_code if request else "en"
        try:
            body = wire.encode(wire.render(reply, session, language_code))
        except (ValueError, TypeError) as e:
            logs.event("ERROR", f"reply could not be rendered: {e}", tenant=log.get("tenant"),
                       intent=log.get("intent"))
            log["outcome"] = "render_error"
            language = tenant.language_for(language_code) if tenant else "en"
            fallback = self._sorry(tenant, language, "handler_error") if tenant else Reply(
                runtime_texts(language)("unavailable"))
            body = wire.encode(wire.render(fallback, session, language_code))
        return 200, body, JSON_HEADERS


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def runtime() -> Runtime:
    """The process-wide runtime, built from the environment on first use."""
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                library = default_library()
                _runtime = Runtime(library, SettingsCache.from_env(library))
    return _runtime


def reset() -> None:
    """Forget the process-wide runtime and library (tests change the environment between apps)."""
    global _runtime
    _runtime = None
    library_module._default = None


def _body(request) -> Callable[[], bytes]:
    """How to read a Flask request's body, at most ``MAX_BODY + 1`` bytes of it."""
    if request.environ.get("CONTENT_LENGTH"):  # PEP 3333: absent or empty when unknown
        # Exactly Content-Length bytes (the runtime checks the length first); kept by werkzeug,
        # so the framework's own read of the body after the function returns costs nothing.
        return request.get_data
    return lambda: _read_at_most(request.stream.read, MAX_BODY + 1)  # chunked: no length given


def handle_http(request) -> tuple[bytes, int, dict]:
    """Flask adapter: a functions-framework request in, a (body, status, headers) tuple out."""
    try:
        current = runtime()
    except Exception:  # a broken deployment (library or settings configuration): say so loudly
        logs.event("CRITICAL", "the runtime cannot start\n" + traceback.format_exc())
        body = wire.encode(wire.render(Reply(runtime_texts("en")("unavailable")), "", "en"))
        return body, 200, JSON_HEADERS
    status, body, headers = current.handle(request.environ, _body(request))
    return body, status, headers
