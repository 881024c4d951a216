"""The path of one turn, from an HTTP request to a WebhookResponse (docs/architecture.md):

    check the HTTP request (POST, JSON, size)         -> 405 / 415 / 413
    Basic credential -> tenant settings (cache)       -> 401
    parse + check the WebhookRequest (townhall.wire)  -> 400 naming the field
    session's project must be the tenant's            -> 403
    registry: intent "<process>.<name>" -> handler    (unknown or switched off: a helpful 200)
    handler(turn, settings) -> Reply, inside the turn's deadline
    render the WebhookResponse (townhall.wire)        -> 200

Every turn ends in one ``townhall.outcomes.Outcome`` (its HTTP status and log severity are kept
there) and is logged as one JSON line. A request that is not served is refused by raising a
``Refusal``, answered in one place (``outcomes.refusal_response``). Nothing raises out of
``handle_http``: an unexpected error anywhere becomes a polite 200 (or a short JSON 4xx), never a
5xx or a stack trace.

Each platform adapts its own request to one ``HttpRequest`` (method, headers, a body reader,
the client's address, the platform's deadline) and the one ``Runtime.serve`` checks and answers
it: ``handle_http`` for functions-framework (Cloud Functions, ``functions/main.py``) and
``functions/lambda_main.py`` for AWS Lambda. The HTTP checks live here only.

The tenant comes compiled from the settings cache (``townhall.tenants``): the council and every
enabled process's settings in each language are prepared when its settings are loaded, so a turn
only looks them up. Replies of processes that declare ``cache`` in their manifest are kept
rendered in the one reply cache (``townhall.replycache``).
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import auth, logs, replycache, wire
from . import library as library_module
from . import upstream as upstream_module
from .contract import Deadline, Reply, Turn
from .library import Library, default_library
from .outcomes import (
    JSON_HEADERS,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    Outcome,
    Refusal,
    TooLarge,
    Unauthenticated,
    UnreadableBody,
    UnsupportedMediaType,
    Unverifiable,
    refusal_response,
)
from .replies import how_to_reach, runtime_texts
from .replycache import ReplyCache
from .secrets import secrets_from_env
from .settings import IndexUnavailable, SettingsCache, Unavailable
from .sideeffects import side_effects_from_env
from .tenants import Served, Tenant
from .upstream import Http, Upstream

MAX_BODY = 256 * 1024
STEP = 64 * 1024  # how much of a body is asked for at once
LONDON = ZoneInfo("Europe/London")
INTENT_NAME = re.compile(r"^[A-Za-z0-9_]{1,60}\.[A-Za-z0-9_.]{1,100}$")
JSON = "application/json"


def _budget() -> float:
    try:
        return float(os.environ.get("TOWNHALL_TURN_BUDGET", "4.0"))
    except ValueError:
        return 4.0


def _setting(name: str, default: int) -> int:
    """A positive whole number from the environment, else ``default``."""
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else default


# Least time a turn must have left to be worth starting a process that calls upstream services.
MIN_START = 0.25


class Bulkheads:
    """The bounded pool that runs handlers calling upstream services, and the shares of it.

    A future that timed out cannot stop its handler: the thread stays busy until the handler's
    upstream calls give up (each has its own total deadline). So a slot is taken before a handler
    is submitted and given back only when the handler really ends, and one council, or one
    process, may hold only its share of the pool. When a share (or the pool) is full the turn is
    not queued: ``take`` says which is full and the turn is answered at once.
    """

    def __init__(self, threads: int, tenant_share: int, process_share: int):
        self.threads = threads
        self.tenant_share = min(tenant_share, threads)
        self.process_share = min(process_share, threads)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="handler")
        self._lock = threading.Lock()
        self._busy = 0
        self._tenants: dict[str, int] = {}
        self._processes: dict[str, int] = {}

    @classmethod
    def from_env(cls) -> Bulkheads:
        threads = _setting("TOWNHALL_HANDLER_THREADS", 32)
        return cls(
            threads,
            _setting("TOWNHALL_TENANT_SHARE", max(1, threads // 4)),
            _setting("TOWNHALL_PROCESS_SHARE", max(1, threads // 2)),
        )

    def take(self, tenant: str, process: str) -> str | None:
        """Take a slot for one handler; None when taken, else which share is full."""
        with self._lock:
            if self._tenants.get(tenant, 0) >= self.tenant_share:
                return "tenant"
            if self._processes.get(process, 0) >= self.process_share:
                return "process"
            if self._busy >= self.threads:
                return "pool"
            self._busy += 1
            self._tenants[tenant] = self._tenants.get(tenant, 0) + 1
            self._processes[process] = self._processes.get(process, 0) + 1
        return None

    def give_back(self, tenant: str, process: str) -> None:
        with self._lock:
            self._busy -= 1
            self._tenants[tenant] -= 1
            if not self._tenants[tenant]:
                del self._tenants[tenant]
            self._processes[process] -= 1
            if not self._processes[process]:
                del self._processes[process]

    def submit(self, tenant: str, process: str, fn: Callable, *args):
        """Run ``fn(*args)`` in the pool on a slot already taken; the slot is given back when it ends."""

        def run():
            try:
                return fn(*args)
            finally:
                self.give_back(tenant, process)

        try:
            return self.pool.submit(run)
        except BaseException:
            self.give_back(tenant, process)
            raise

    def in_use(self) -> int:
        with self._lock:
            return self._busy


HttpResult = tuple  # (status, body, headers): what a WSGI adapter sends back
OK = Outcome.OK
_DEGRADED = {  # TurnFailures.worst -> the turn's outcome
    "secret_missing": Outcome.SECRET_MISSING,
    "unknown": Outcome.SIDE_EFFECT_UNKNOWN,
    "refused": Outcome.UPSTREAM_REFUSED,
    "failed": Outcome.UPSTREAM_FAILED,
}


class HttpRequest:
    """One HTTP request as the runtime reads it, whatever platform brought it.

    ``headers.get(name)`` answers by lower-case header name (``content-type``, ``authorization``);
    ``read_body()`` returns at most ``MAX_BODY + 1`` bytes of the body (called only once the request
    passed the checks before it; it may raise ``UnreadableBody``); ``arrived`` is when the request
    arrived (``time.monotonic()``, default: when the runtime got it); ``deadline`` is when the
    platform stops waiting for the answer (monotonic; None when only the turn budget bounds it)."""

    __slots__ = ("method", "headers", "read_body", "remote_addr", "arrived", "deadline")

    def __init__(
        self,
        method: str,
        headers: Mapping[str, str],
        read_body: Callable[[], bytes],
        remote_addr: str | None = None,
        arrived: float | None = None,
        deadline: float | None = None,
    ):
        self.method = method
        self.headers = headers
        self.read_body = read_body
        self.remote_addr = remote_addr
        self.arrived = arrived
        self.deadline = deadline


class WsgiHeaders(Mapping):
    """A WSGI environ's headers by lower-case name (PEP 3333 keeps them as ``HTTP_*``, and
    ``CONTENT_TYPE``/``CONTENT_LENGTH``), read where they are: nothing is copied per request."""

    __slots__ = ("environ",)
    _PLAIN = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}

    def __init__(self, environ: Mapping[str, Any]):
        self.environ = environ

    @classmethod
    def key(cls, name: str) -> str:
        return cls._PLAIN.get(name) or "HTTP_" + name.upper().replace("-", "_")

    def __getitem__(self, name: str) -> str:
        return self.environ[self.key(name)]

    def get(self, name: str, default: Any = None) -> Any:
        return self.environ.get(self.key(name), default)

    def __iter__(self):
        for key in self.environ:
            if key.startswith("HTTP_"):
                yield key[5:].lower().replace("_", "-")
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                yield key.lower().replace("_", "-")

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _read_at_most(read, limit: int) -> bytes:
    """Read the body up to ``limit`` bytes, however the server hands it over, 64 KiB at a time
    (the server's reader buffers what it is asked for: small steps keep its copies small)."""
    chunks, size = [], 0
    while size < limit:
        chunk = read(min(STEP, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class Runtime:
    """One instance per process: the library, the settings cache, the reply cache, the handler
    pool and each tenant's Upstream (handed to the settings cache, which compiles tenants)."""

    def __init__(self, library: Library, settings: SettingsCache, budget: float | None = None):
        self.library = library
        self.settings = settings
        self.budget = _budget() if budget is None else budget
        self.margin = min(0.25, self.budget / 4)  # kept back for rendering and the network
        self.handler_budget = self.budget - self.margin
        self.bulkheads = Bulkheads.from_env()
        self.pool = self.bulkheads.pool  # the bounded pool the bulkheads share out
        self.http = Http()
        self.secrets = secrets_from_env()
        self.side_effects = side_effects_from_env(settings.backend)
        self._upstreams: dict[str, Upstream] = {}
        self._upstreams_lock = threading.Lock()
        self.replies = ReplyCache()
        if settings.upstream_for is None:
            settings.upstream_for = self.upstream
        # Development and tests only: let the X-Townhall-Now header set the turn's clock.
        self.dev_clock = os.environ.get("TOWNHALL_DEV_CLOCK") == "1"

    def upstream(self, tenant_id: str) -> Upstream:
        """The tenant's Upstream: one per tenant id, kept across settings loads."""
        found = self._upstreams.get(tenant_id)
        if found is None:
            with self._upstreams_lock:
                found = self._upstreams.get(tenant_id)
                if found is None:
                    found = self._upstreams[tenant_id] = Upstream(
                        tenant_id, self.http, lambda name: self.secrets(tenant_id, name), self.side_effects
                    )
        return found

    def _now(self, headers: Mapping[str, str]) -> datetime:
        if self.dev_clock:
            given = headers.get("x-townhall-now")
            if given:
                try:
                    now = datetime.fromisoformat(given)
                    return now if now.tzinfo else now.replace(tzinfo=LONDON)
                except ValueError:
                    pass
        return datetime.now(LONDON)

    # -- HTTP ------------------------------------------------------------------------------
    def serve(self, request: HttpRequest) -> HttpResult:
        """One HTTP request from any platform: (status, body, headers). Nothing raises out."""
        started_ns = time.monotonic_ns()
        trace = request.headers.get("x-cloud-trace-context")
        log = {"tenant": None, "intent": None, "outcome": None, "trace": trace}
        try:
            result = self._handle(request, started_ns / 1e9 if request.arrived is None else request.arrived, log)
        except Refusal as refusal:
            log["outcome"] = refusal.outcome
            result = refusal_response(refusal)
        except Exception:  # the last net: nothing escapes as a 5xx
            logs.event("ERROR", "unexpected error in the runtime\n" + traceback.format_exc(), **logs.trace_field(trace))
            result = self._reply_result(Reply(runtime_texts("en")("unavailable")), None, log)
            log["outcome"] = Outcome.RUNTIME_ERROR
        outcome = log["outcome"]
        logs.turn(  # _value_: the member's own attribute, without Enum.value's descriptor
            outcome.severity,
            log["tenant"],
            log["intent"],
            outcome._value_,
            result[0],
            (time.monotonic_ns() - started_ns) // 100_000 / 10,
            trace,  # ms, to 0.1 ms
        )
        return result

    def _handle(self, http: HttpRequest, started: float, log: dict) -> HttpResult:
        if http.method != "POST":
            raise MethodNotAllowed("use POST")
        headers = http.headers
        media = headers.get("content-type") or ""
        if media != JSON and media.split(";", 1)[0].strip().lower() != JSON:  # "application/json; charset=utf-8" too
            raise UnsupportedMediaType("send the WebhookRequest as Content-Type: application/json")
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:  # refused before it is read
            raise TooLarge(f"request body over {MAX_BODY // 1024} KiB ({MAX_BODY} bytes)")
        raw = http.read_body()
        if len(raw) > MAX_BODY:
            raise TooLarge(f"request body over {MAX_BODY // 1024} KiB ({MAX_BODY} bytes)")

        credential = auth.parse_basic(headers.get("authorization"))
        if credential is None:
            raise Unauthenticated("HTTP Basic credentials required")
        tenant_id, password = credential
        try:  # the tenant index: every tenant's hash and project, no backend read per name
            known = self.settings.credential(tenant_id)
        except IndexUnavailable as e:  # never loaded: nothing can be verified, so nothing is served
            raise Unverifiable("credentials cannot be verified yet: retry later", e.retry_after) from None
        # The same hash check whether the name is known or not: no timing tell, no read.
        verified = auth.check_password(password, known.password_sha256 if known is not None else None)
        if known is None or not verified:
            raise Unauthenticated("wrong credentials")
        project = known.project
        try:  # only a verified credential leads to the tenant's full settings
            loaded = self.settings.get(tenant_id)
        except Unavailable:
            loaded = None
        if loaded is not None and loaded.missing:  # removed since the index was read
            raise Unauthenticated("wrong credentials")
        tenant = loaded.tenant if loaded is not None else None
        log["tenant"] = tenant_id

        try:
            request = wire.parse_request(raw)
        except wire.BadRequest as e:
            raise BadRequest(f"{e.field}: {e.reason}") from None
        log["intent"] = request.intent if INTENT_NAME.match(request.intent) else "(unrecognised)"
        if project is not None and request.project != project:
            raise Forbidden("this credential does not open this agent's project")

        if tenant is None:
            # Settings unreadable or invalid: a safe answer that reveals nothing of the tenant.
            log["outcome"] = Outcome.SETTINGS_UNAVAILABLE if loaded is None else Outcome.SETTINGS_INVALID
            texts = runtime_texts(request.language_code)
            return self._reply_result(Reply(texts("unavailable")), request, log)

        language = (  # the language the resident chose (the townhall-language context), if the council offers it
            chosen
            if (chosen := getattr(request.contexts.get("townhall-language"), "parameters", {}).get("language"))
            in tenant.languages
            else tenant.language_for(request.language_code)
        )
        process = self.library.for_intent(request.intent)
        served = tenant.served[language].get(process.id) if process is not None else None
        if served is None:
            log["outcome"] = Outcome.UNKNOWN_INTENT if process is None else Outcome.PROCESS_DISABLED
            return self._reply_result(self._menu(tenant, language), request, log, tenant)
        now = self._now(headers)
        key = None
        if served.cache is not None:  # the process declared its replies may be kept
            key = (tenant.serial, request.intent, language, now.tzinfo, replycache.moment(served.cache, now))
            body = self.replies.get(key)
            if body is not None:
                log["outcome"] = OK
                return 200, body, JSON_HEADERS
        with logs.sensitive(request.query_text, request.parameters, request.contexts):
            # The turn ends at its budget from arrival, or sooner when the platform stops waiting.
            ends = started + self.budget if http.deadline is None else min(started + self.budget, http.deadline)
            reply = self._dispatch(tenant, served, request, language, ends - self.margin, log, now)
            result = self._reply_result(reply, request, log, tenant)
        if key is not None and log["outcome"] is OK and not reply.contexts and reply.event is None:
            self.replies.put(key, result[1])
        return result

    # -- dispatch --------------------------------------------------------------------------
    def _dispatch(
        self,
        tenant: Tenant,
        served: Served,
        request: wire.Request,
        language: str,
        expires_at: float,
        log: dict,
        now: datetime,
    ) -> Reply:
        """The handler's reply; ``expires_at`` is when the handler's time is up (monotonic)."""
        if served.handler is None:  # the process could not be prepared when settings were loaded
            return self._failed(tenant, served, language, log, served.failure)
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
        failures = upstream_module.TurnFailures(tenant.id, served.process)
        try:
            with upstream_module.watching(failures):
                if served.upstream:
                    # Handlers that wait on upstream services run under the turn's deadline, in a
                    # copy of this context: the turn's redactions and failure record go with them;
                    # only if there is time to start them and their share of the pool is free.
                    if turn.deadline.remaining() < MIN_START:
                        return self._shed(tenant, served, language, log, Outcome.LATE, "no time left to start")
                    full = self.bulkheads.take(tenant.id, served.process)
                    if full is not None:
                        return self._shed(tenant, served, language, log, Outcome.BUSY, f"{full} share full")
                    context = contextvars.copy_context()
                    future = self.bulkheads.submit(
                        tenant.id, served.process, context.run, served.handler, turn, served.settings
                    )
                    reply = future.result(timeout=turn.deadline.remaining())
                else:
                    reply = served.handler(turn, served.settings)
        except FutureTimeout:
            future.cancel()
            log["outcome"] = Outcome.TIMEOUT
            logs.event(
                "WARNING",
                "handler overran the turn's deadline",
                tenant=tenant.id,
                process=served.process,
                intent=request.intent,
            )
            return self._sorry(tenant, language, "timeout")
        except Exception:
            return self._failed(
                tenant, served, language, log, f"handler {served.process} failed\n" + traceback.format_exc()
            )
        if not isinstance(reply, Reply):
            return self._failed(
                tenant, served, language, log, f"handler {served.process} returned {type(reply).__name__}, not a Reply"
            )
        # The resident got a reply; an upstream that failed on the way names the turn's outcome.
        log["outcome"] = _DEGRADED.get(failures.worst, OK)
        return reply

    def _failed(self, tenant: Tenant, served: Served, language: str, log: dict, why: str) -> Reply:
        """A process that failed the turn: logged (ERROR, with the turn's trace), the council's apology."""
        log["outcome"] = Outcome.HANDLER_ERROR
        logs.event("ERROR", why, tenant=tenant.id, process=served.process, **logs.trace_field(log["trace"]))
        return self._sorry(tenant, language, "handler_error")

    def _shed(self, tenant: Tenant, served: Served, language: str, log: dict, outcome: Outcome, why: str) -> Reply:
        """A turn not started: the council's 'taking longer' apology at once."""
        log["outcome"] = outcome
        logs.event(
            "WARNING",
            f"turn not started: {why}",
            tenant=tenant.id,
            process=served.process,
            **logs.trace_field(log["trace"]),
        )
        return self._sorry(tenant, language, "timeout")

    def _menu(self, tenant: Tenant, language: str) -> Reply:
        """What the bot can help with, and how to reach the council."""
        t = runtime_texts(language)
        council = tenant.council(language)
        reach, links = how_to_reach(council, language)
        labels = [s.label for s in council.services]
        text = [t("unknown_intent")]
        if labels:
            text.append(f"{t('can_help_with')} {', '.join(labels)}.")
        text.append(reach)
        return Reply(text, quick_replies=labels, links=links)

    def _sorry(self, tenant: Tenant, language: str, key: str) -> Reply:
        reach, links = how_to_reach(tenant.council(language), language)
        return Reply([runtime_texts(language)(key), reach], links=links)

    def _reply_result(
        self, reply: Reply, request: wire.Request | None, log: dict, tenant: Tenant | None = None
    ) -> HttpResult:
        session = request.session if request else "projects/-/agent/sessions/-"
        language_code = request.language_code if request else "en"
        try:
            body = wire.encode(wire.render(reply, session, language_code))
        except (ValueError, TypeError) as e:
            logs.event("ERROR", f"reply could not be rendered: {e}", tenant=log.get("tenant"), intent=log.get("intent"))
            log["outcome"] = Outcome.RENDER_ERROR
            language = tenant.language_for(language_code) if tenant else "en"
            fallback = (
                self._sorry(tenant, language, "handler_error")
                if tenant
                else Reply(runtime_texts(language)("unavailable"))
            )
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


# How much of a body the webhook did not read it still reads (and throws away) after answering:
# enough that a broken chunk near the start is met here, where it is harmless, and not by the
# server's own drain (which would append a second answer); the server drains a little more and
# closes the connection when a body is longer still.
DRAIN = 256 * 1024
DRAIN_SECONDS = 0.5
# Chunked bodies read at once: the server buffers a chunk as large as the client declares it, so
# many at once (huge ones, to be refused) would cost the worker memory; Dialogflow sends a
# Content-Length, so these are rare.
CHUNKED_READS = threading.BoundedSemaphore(4)
BODY_SECONDS = 2.0  # a body not arrived by then is refused: Dialogflow sends its few KiB at once


class BoundedBody:
    """Reads a Flask request's body once, at most ``limit + 1`` bytes (``MAX_BODY`` unless told),
    straight from the stream (never buffered whole); a body that cannot be read, or does not arrive
    within ``BODY_SECONDS``, is refused as ``UnreadableBody``. ``release`` after answering: it
    drains a little of what is left and marks the body consumed, so nothing reads it afterwards.
    The webhook and the chat gateway both read their bodies through it."""

    def __init__(self, request, limit: int = MAX_BODY):
        self.request = request
        self.limit = limit
        self.stream = request.stream  # werkzeug: Content-Length bytes at most, or the chunked body
        length = request.environ.get("CONTENT_LENGTH")  # PEP 3333: absent or empty when unknown
        self.length = int(length) if length and length.isdigit() else None
        sock = request.environ.get("gunicorn.socket")  # the client's socket, under gunicorn
        self.sock = sock if hasattr(sock, "settimeout") else None
        self.done = False

    def _read(self, deadline: float) -> Callable[[int], bytes]:
        """The stream's read, each call bounded by what is left until ``deadline``."""

        def read(size: int) -> bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the body did not arrive in time")
            if self.sock is not None:
                self.sock.settimeout(left)
            return self.stream.read(size)

        return read

    def _restore(self, prior) -> None:
        if self.sock is not None:
            try:
                self.sock.settimeout(prior)
            except OSError:
                pass

    def __call__(self) -> bytes:
        deadline = time.monotonic() + BODY_SECONDS
        if self.length is not None:
            return self._read_all(deadline)
        if not CHUNKED_READS.acquire(timeout=BODY_SECONDS):
            self.done = True
            raise UnreadableBody("the request body could not be read in time: send it with a Content-Length")
        try:
            return self._read_all(deadline)
        finally:
            CHUNKED_READS.release()

    def _read_all(self, deadline: float) -> bytes:
        prior = self.sock.gettimeout() if self.sock is not None else None
        try:
            raw = _read_at_most(self._read(deadline), self.limit + 1)
        except Exception as e:  # broken chunking, a stalled or lying client, one that went away
            self.done = True  # the server's parser knows the body failed and closes the connection
            raise UnreadableBody(f"the request body could not be read ({_reason(e)}): send it whole") from None
        finally:
            self._restore(prior)
        self.done = len(raw) <= self.limit
        if self.length is not None and len(raw) < min(self.length, self.limit + 1):
            raise UnreadableBody(
                f"the request body could not be read (Content-Length {self.length}, {len(raw)} bytes came): send it whole"
            )
        return raw

    def release(self) -> None:
        """After answering: drain what is left (``drain``), and leave the framework's own
        after-request read (``get_data``, the whole body kept in memory) nothing to read."""
        try:
            self.drain()
        finally:
            self.request._cached_data = b""

    def drain(self) -> None:
        """Read and throw away what is left of a chunked body: ``DRAIN`` bytes, ``DRAIN_SECONDS``
        at most. A body with a Content-Length cannot be broken that way: the server drains it."""
        if self.done or self.length is not None or not CHUNKED_READS.acquire(timeout=DRAIN_SECONDS):
            return  # (when too many are being read, the server drains a little and closes)
        try:
            self._drain()
        finally:
            CHUNKED_READS.release()

    def _drain(self) -> None:
        prior = self.sock.gettimeout() if self.sock is not None else None
        read, left = self._read(time.monotonic() + DRAIN_SECONDS), DRAIN
        try:
            while left > 0:
                chunk = read(min(left, 8 * 1024))
                if not chunk:
                    break
                left -= len(chunk)
        except Exception:  # broken or stalled: the server closes the connection
            pass
        finally:
            self._restore(prior)


def _reason(error: Exception) -> str:
    name = type(error).__name__
    text = str(error).splitlines()[0][:80] if str(error) else ""
    return f"{name}: {text}" if text else name


def serve(request: HttpRequest) -> HttpResult:
    """One request from any platform's adapter, served by the process-wide runtime: (status, body,
    headers). A runtime that cannot start answers the generic reply (200), logged CRITICAL."""
    try:
        current = runtime()
    except Exception:  # a broken deployment (library or settings configuration): say so loudly
        logs.event("CRITICAL", "the runtime cannot start\n" + traceback.format_exc())
        body = wire.encode(wire.render(Reply(runtime_texts("en")("unavailable")), "", "en"))
        return 200, body, JSON_HEADERS
    return current.serve(request)


def handle_http(request) -> tuple[bytes, int, dict]:
    """Flask adapter: a functions-framework request in, a (body, status, headers) tuple out."""
    body_reader = BoundedBody(request)
    environ = request.environ
    try:
        status, body, headers = serve(
            HttpRequest(
                environ.get("REQUEST_METHOD") or "",
                WsgiHeaders(environ),
                body_reader,
                environ.get("REMOTE_ADDR"),
            )
        )
    finally:
        # The framework reads the whole body after the function returns (get_data, kept in
        # memory): the body is either read already or refused, so it finds it consumed.
        body_reader.release()
    return body, status, headers
