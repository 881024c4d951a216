"""What a process needs to call upstream services, injected through ``settings.upstream``.

    up = settings.upstream
    response = up.http.get(url, params={...}, deadline=turn.deadline)   # timeouts inside the turn
    key = up.secret(settings.process["api_key_secret"])                  # secrets by reference
    result = up.once(f"report:{turn.conversation}:{digest}", lambda: submit(...), turn.deadline)

The handler stays a function of the turn and the settings: every side of the outside world arrives
here, so tests hand in an ``Upstream`` pointed at local fakes (``townhall_tools.testing.settings_for``).

Rules every upstream call follows (docs/processes.md, docs/reliability.md):
- one total deadline per call (connect, headers and the whole body), never past the turn's: a
  watchdog shuts the socket at the deadline, so an upstream that drips its answer a byte at a
  time is cut off as surely as one that never answers;
- a bounded body (``max_body``, 1 MiB unless the client says less): a longer answer is refused;
- a circuit breaker per tenant and upstream (host, port and first path segment: ``upstream_of``):
  after ``BREAKER_FAILURES`` failed attempts in a row
  (timeouts, connection errors, 429 and 5xx) calls are refused at once (``UpstreamError("open")``)
  for ``BREAKER_COOL_DOWN`` seconds; then one probe goes through, and its success closes it;
- every failure is logged (WARNING, or ERROR for a permanent refusal or a missing secret) with
  the host, the status class, tenant and process, and recorded for the turn
  (``TurnFailures``): the webhook names the degradation in the turn's outcome;
- idempotent reads (GET) may retry once, when a retry still fits in the deadline;
- any failure (connection, timeout, 4xx, 5xx, a body that is not what the contract says) raises
  ``UpstreamError`` with a ``kind`` the handler turns into a useful reply;
- side effects (a report, a payment, a message) go through ``once`` so they happen once per
  resident request, even when Dialogflow or the resident repeats it.
"""

from __future__ import annotations

import contextvars
import copy
import heapq
import itertools
import json
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from . import logs
from .contract import Deadline

MAX_BODY = 1024 * 1024  # an upstream answer larger than this is not one we asked for
CONNECT_TIMEOUT = 1.0
MARGIN = 0.15  # kept back from the deadline for recording the outcome and turning it into a reply
USER_AGENT = "Townhall (council chatbot; https://github.com/townhall-uk)"
BREAKER_FAILURES = 5  # failed attempts in a row (per tenant and upstream) that open the breaker
BREAKER_COOL_DOWN = 30.0  # seconds an open breaker refuses calls before letting one probe through
BREAKER_ENTRIES = 1024  # (tenant, upstream) pairs remembered, least recently used dropped first

# Statuses that say "not now" rather than "never": retrying later may work.
TRANSIENT_STATUSES = frozenset({408, 429})


class UpstreamError(Exception):
    """An upstream call that did not give a usable answer.

    ``kind``: ``unconfigured`` (no URL or secret), ``timeout``, ``connection``, ``status`` (a 4xx or
    5xx; ``status`` holds it and ``body`` the parsed error if any), ``malformed`` (not the body the
    contract promises), ``busy`` (the same side effect is already under way), ``open`` (the
    circuit breaker for this upstream is open: nothing was sent), ``unknown`` (a side effect whose
    answer never came: it may have been made; never repeat it blindly).

    ``retryable``: trying again later may work (timeouts, connection errors, 408, 429, 5xx, busy,
    open). ``permanent``: it will fail the same way however often it is tried (a bad key, an
    unknown service code, a refused value: unconfigured and 4xx other than 408/429); handlers
    offer no retry then. ``sent``: the request may have reached the upstream (False when it was
    refused before any byte left: no time, breaker open, unconfigured, connection refused).
    """

    def __init__(
        self, kind: str, message: str, status: int | None = None, body: Any = None, *, sent: bool | None = None
    ):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.body = body
        self.sent = (kind in ("timeout", "connection", "status", "malformed")) if sent is None else sent

    @property
    def retryable(self) -> bool:
        if self.kind in ("timeout", "connection", "busy", "open"):
            return True
        return self.status is not None and (self.status >= 500 or self.status in TRANSIENT_STATUSES)

    @property
    def permanent(self) -> bool:
        if self.kind == "unconfigured":
            return True
        return self.kind == "status" and self.status is not None and 400 <= self.status < 500 and not self.retryable

    @property
    def status_class(self) -> str:
        """For logs and metrics: ``4xx``, ``5xx``, ``timeout``, ``connection``, ``malformed``..."""
        if self.status is not None and self.kind == "status":
            return f"{self.status // 100}xx"
        return self.kind


# -- what failed in this turn ----------------------------------------------------------------------


@dataclass
class TurnFailures:
    """The upstream failures of one turn, gathered while its handler runs (a contextvar, copied
    into the handler's pool thread) and read by the webhook to name the turn's outcome."""

    tenant: str | None = None
    process: str | None = None
    items: list[tuple[str, str, str]] = field(default_factory=list)  # (host, kind, status class)

    def add(self, host: str, kind: str, status_class: str) -> None:
        if len(self.items) < 32:
            self.items.append((host, kind, status_class))

    @property
    def worst(self) -> str | None:
        """``secret_missing``, ``unknown``, ``refused`` or ``failed`` (in that order), or None."""
        kinds = {kind for _, kind, _ in self.items}
        for kind in ("secret_missing", "unknown", "refused", "failed"):
            if kind in kinds:
                return kind
        return None


_failures: contextvars.ContextVar[TurnFailures | None] = contextvars.ContextVar("townhall_failures", default=None)


@contextmanager
def watching(failures: TurnFailures) -> Iterator[TurnFailures]:
    """Record the upstream failures of the code run inside (and of a pool thread started with
    ``contextvars.copy_context().run``) in ``failures``."""
    token = _failures.set(failures)
    try:
        yield failures
    finally:
        _failures.reset(token)


def current_failures() -> TurnFailures | None:
    return _failures.get()


def report_failure(host: str, error: UpstreamError, *, method: str = "GET") -> None:
    """Log one failed upstream call (no path, no query, no body: they carry personal data) and
    record it for the turn's outcome."""
    failures = _failures.get()
    if error.kind == "unknown":
        kind = "unknown"
    elif error.permanent:
        kind = "refused"
    else:
        kind = "failed"
    if failures is not None:
        failures.add(host, kind, error.status_class)
    logs.event(
        "ERROR" if kind in ("secret_missing", "refused", "unknown") else "WARNING",
        f"upstream {kind}: {error.kind}",
        host=host,
        method=method,
        status_class=error.status_class,
        status=error.status,
        retryable=error.retryable,
        permanent=error.permanent,
        tenant=failures.tenant if failures is not None else None,
        process=failures.process if failures is not None else None,
    )


# -- side effects in progress ------------------------------------------------------------------------


class Effect:
    """A once-only side effect under way in this context (``Upstream.once``): ``id`` is a short
    digest of its key (an external id the upstream can keep); ``uncertain`` counts requests other
    than GET that were sent and either got no answer or a 2xx one (the upstream may have acted)."""

    def __init__(self, effect_id: str):
        self.id = effect_id
        self.uncertain = 0
        self.check: dict | None = None  # how to look for what it made (``register_check``)


# How to find what an earlier attempt made, by the ``kind`` of the spec a client left in
# ``current_effect().check`` (e.g. ``open311``): (upstream, spec, deadline) -> result or None.
Checker = Callable[["Upstream", dict, Deadline], Any]
CHECKERS: dict[str, Checker] = {}


def register_check(kind: str, checker: Checker) -> None:
    """Let ``Upstream.once`` look for what an unknown attempt made, from the spec (JSON, no
    personal data) the client put in ``current_effect().check`` before sending."""
    CHECKERS[kind] = checker


_effect: contextvars.ContextVar[Effect | None] = contextvars.ContextVar("townhall_effect", default=None)


def current_effect() -> Effect | None:
    """The once-only side effect this code runs inside, if any."""
    return _effect.get()


@contextmanager
def effect(effect_id: str) -> Iterator[Effect]:
    token = _effect.set(Effect(effect_id))
    try:
        yield _effect.get()
    finally:
        _effect.reset(token)


# -- circuit breaker -------------------------------------------------------------------------------


class Breakers:
    """One circuit breaker per (tenant, upstream), at most ``size`` of them (LRU)."""

    def __init__(
        self, failures: int = BREAKER_FAILURES, cool_down: float = BREAKER_COOL_DOWN, size: int = BREAKER_ENTRIES
    ):
        self.failures = failures
        self.cool_down = cool_down
        self.size = size
        self._state: OrderedDict[tuple[str, str], list] = OrderedDict()  # key -> [failures, opened_at, probing]
        self._lock = threading.Lock()

    def allow(self, key: tuple[str, str]) -> bool:
        """Whether a call may go now: closed, or open past its cool-down (one probe at a time)."""
        with self._lock:
            held = self._state.get(key)
            if held is None or held[1] is None:
                return True
            if time.monotonic() - held[1] < self.cool_down or held[2]:
                return False
            held[2] = True  # half-open: this call is the probe
            return True

    def success(self, key: tuple[str, str]) -> None:
        with self._lock:
            if key in self._state:
                del self._state[key]

    def failure(self, key: tuple[str, str]) -> bool:
        """Count a failure; True when it opened (or re-opened) the breaker."""
        with self._lock:
            held = self._state.get(key)
            if held is None:
                held = self._state[key] = [0, None, False]
            self._state.move_to_end(key)
            held[0] += 1
            opened = held[2] or (held[1] is None and held[0] >= self.failures)
            if opened:
                held[1], held[2] = time.monotonic(), False
            while len(self._state) > self.size:
                self._state.popitem(last=False)
            return opened

    def release(self, key: tuple[str, str]) -> None:
        """A probe that ended without a verdict (e.g. a 4xx): let the next call probe."""
        with self._lock:
            held = self._state.get(key)
            if held is not None:
                held[2] = False

    def is_open(self, key: tuple[str, str]) -> bool:
        with self._lock:
            held = self._state.get(key)
            return held is not None and held[1] is not None

    def __len__(self) -> int:
        return len(self._state)


# -- the watchdog: one thread that shuts sockets whose call ran out of time -----------------------


class _Call:
    __slots__ = ("expires_at", "sock", "done", "expired")

    def __init__(self, expires_at: float):
        self.expires_at = expires_at
        self.sock: socket.socket | None = None
        self.done = False
        self.expired = False


_call: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("townhall_call", default=None)


class _Watchdog:
    def __init__(self):
        self._heap: list = []
        self._counter = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, call: _Call) -> None:
        with self._cv:
            heapq.heappush(self._heap, (call.expires_at, next(self._counter), call))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="upstream-watchdog", daemon=True)
                self._thread.start()
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._heap:
                    self._cv.wait()
                expires_at, _, call = self._heap[0]
                wait = expires_at - time.monotonic()
                if wait > 0:
                    self._cv.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if call.done:
                    continue
                call.expired = True
                sock = call.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # the blocked recv returns: the call ends now
                except OSError:
                    pass


_watchdog = _Watchdog()


def _connection_classes():
    """urllib3 connection pools whose connections tell the watchdog their socket."""
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection

    def watched(base):
        class Watched(base):
            def request(self, *args, **kwargs):
                call = _call.get()
                try:
                    return super().request(*args, **kwargs)
                finally:
                    if call is not None:
                        call.sock = self.sock
                        if call.expired and self.sock is not None:
                            try:
                                self.sock.shutdown(socket.SHUT_RDWR)
                            except OSError:
                                pass

        Watched.__name__ = f"Watched{base.__name__}"
        return Watched

    class Pool(urllib3.HTTPConnectionPool):
        ConnectionCls = watched(HTTPConnection)

    class SecurePool(urllib3.HTTPSConnectionPool):
        ConnectionCls = watched(HTTPSConnection)

    return {"http": Pool, "https": SecurePool}


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        try:
            return json.loads(self.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise UpstreamError("malformed", f"answer is not JSON: {e}", self.status) from None

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class _Shared:
    def __init__(self, pool: Any, breakers: Breakers):
        self.pool = pool
        self.breakers = breakers
        self.lock = threading.Lock()


class Http:
    """A thread-safe HTTP client (urllib3) whose every call fits inside a turn's deadline.

    One is shared by the instance; ``for_tenant`` gives a tenant's view of it (the same
    connection pool, its own circuit breakers)."""

    def __init__(self, pool: Any = None, *, breakers: Breakers | None = None, tenant: str | None = None):
        self._shared = _Shared(pool, breakers if breakers is not None else Breakers())
        self.tenant = tenant

    def for_tenant(self, tenant: str) -> Http:
        view = copy.copy(self)  # a subclass (e.g. a test's counting client) stays what it is
        view.tenant = tenant
        return view

    @property
    def breakers(self) -> Breakers:
        return self._shared.breakers

    @property
    def pool(self):
        shared = self._shared
        if shared.pool is None:
            with shared.lock:
                if shared.pool is None:
                    import urllib3  # imported on first upstream call: no cost to pure turns

                    pool = urllib3.PoolManager(
                        num_pools=32, maxsize=8, retries=False, headers={"User-Agent": USER_AGENT}
                    )
                    pool.pool_classes_by_scheme = _connection_classes()
                    shared.pool = pool
        return shared.pool

    def get(
        self,
        url: str,
        *,
        deadline: Deadline,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        retry: bool = True,
        max_body: int = MAX_BODY,
    ) -> Response:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}"
        return self.request("GET", url, deadline=deadline, headers=headers, ok=ok, retry=retry, max_body=max_body)

    def post_json(
        self,
        url: str,
        body: Any,
        *,
        deadline: Deadline,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
        max_body: int = MAX_BODY,
    ) -> Response:
        return self.request(
            "POST",
            url,
            deadline=deadline,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            ok=ok,
            max_body=max_body,
        )

    def post_form(
        self,
        url: str,
        fields: Mapping[str, Any] | list[tuple[str, Any]],
        *,
        deadline: Deadline,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
        max_body: int = MAX_BODY,
    ) -> Response:
        body = urlencode(list(fields.items()) if isinstance(fields, Mapping) else fields, doseq=True)
        return self.request(
            "POST",
            url,
            deadline=deadline,
            body=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
            ok=ok,
            max_body=max_body,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        deadline: Deadline,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        retry: bool = False,
        max_body: int = MAX_BODY,
    ) -> Response:
        """One call (and, for ``retry``, one more on a timeout, connection error or 5xx).

        A failure is logged and recorded for the turn once, when it is final."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            return self._request(method, url, parts, deadline, body, headers, ok, retry, max_body)
        except UpstreamError as e:
            report_failure(host or "(none)", e, method=method)
            raise

    def _request(self, method, url, parts, deadline, body, headers, ok, retry, max_body) -> Response:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError("unconfigured", f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        key = (self.tenant or "", upstream_of(parts))
        breakers = self._shared.breakers
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            if not breakers.allow(key):
                raise UpstreamError(
                    "open", f"{parts.hostname} failed {breakers.failures} times in a row: resting", sent=False
                )
            try:
                response = self._once(method, url, deadline, body, headers, max_body)
            except UpstreamError as e:
                if e.retryable:
                    self._failed(key, e)
                else:
                    breakers.release(key)
                if attempt + 1 < attempts and e.retryable and e.kind != "open" and deadline.remaining() > 0.5:
                    continue
                raise
            if response.status >= 500 or response.status in TRANSIENT_STATUSES:
                self._failed(key, None, response.status)
                if response.status >= 500 and attempt + 1 < attempts and deadline.remaining() > 0.5:
                    continue
            elif response.status < 400:
                breakers.success(key)
            else:
                breakers.release(key)
            if response.status not in ok:
                raise UpstreamError(
                    "status",
                    f"{method} {parts.hostname} answered {response.status}",
                    response.status,
                    _error_body(response),
                )
            return response
        raise AssertionError("unreachable")

    def _failed(self, key: tuple[str, str], error: UpstreamError | None, status: int | None = None) -> None:
        if error is not None and error.kind == "timeout" and str(error).startswith("no time left"):
            return  # no time left in the turn: the upstream did nothing wrong
        if self._shared.breakers.failure(key):
            logs.event(
                "ERROR",
                "upstream circuit breaker open",
                host=key[1].split("/", 1)[0].rpartition(":")[0] or key[1].split("/", 1)[0],
                tenant=key[0] or None,
                cool_down_s=self._shared.breakers.cool_down,
            )

    def _once(self, method, url, deadline, body, headers, max_body) -> Response:
        import urllib3

        left = deadline.remaining() - MARGIN
        host = urlsplit(url).hostname
        if left <= 0.05:
            raise UpstreamError("timeout", f"no time left in the turn to call {host}", sent=False)
        started = time.monotonic()
        call = _Call(started + left)
        effect_now = _effect.get() if method != "GET" else None
        status = None
        token = _call.set(call)
        _watchdog.watch(call)
        sending = False
        try:
            sending = True
            if effect_now is not None:
                effect_now.uncertain += 1  # from here the upstream may act on it
            raw = self.pool.request(
                method,
                url,
                body=body,
                headers=dict(headers or {}),
                preload_content=False,
                redirect=False,
                timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, left), read=left),
            )
            whole = False
            try:
                status = raw.status
                length = raw.headers.get("content-length")
                if length and length.isdigit() and int(length) > max_body:
                    raise UpstreamError("malformed", f"{host} announced more than {max_body} bytes", status)
                chunks, size = [], 0
                while True:
                    chunk = raw.read1(65536) if hasattr(raw, "read1") else raw.read(65536)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_body:
                        raise UpstreamError("malformed", f"{host} answered with more than {max_body} bytes", status)
                    chunks.append(chunk)
                    if call.expired:
                        raise TimeoutError
                whole = True
            finally:
                if not whole:
                    raw.close()  # a half-read answer: its connection is never reused
                raw.release_conn()
            if call.expired:
                raise TimeoutError
            if effect_now is not None and not 200 <= status < 300:
                effect_now.uncertain -= 1  # a clear refusal: nothing was done
            return Response(status, {k.lower(): v for k, v in raw.headers.items()}, b"".join(chunks))
        except UpstreamError:
            if effect_now is not None and status is not None and status >= 300:
                effect_now.uncertain -= 1
            raise
        except urllib3.exceptions.ConnectTimeoutError as e:  # NewConnectionError too: never connected
            if effect_now is not None and sending:
                effect_now.uncertain -= 1  # nothing reached the upstream
            if isinstance(e, urllib3.exceptions.NewConnectionError):
                raise UpstreamError("connection", f"{host}: {type(e).__name__}", sent=False) from None
            raise UpstreamError("timeout", f"{host} did not accept a connection in time", sent=False) from None
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise UpstreamError("timeout", f"{host} did not answer in {left:.2f} s") from None
        except urllib3.exceptions.HTTPError as e:
            if call.expired:
                raise UpstreamError("timeout", f"{host} did not answer in {left:.2f} s") from None
            raise UpstreamError("connection", f"{host}: {type(e).__name__}") from None
        finally:
            call.done = True
            _call.reset(token)
            # Host and status only: paths and queries carry postcodes and references.
            logs.event(
                "INFO",
                "upstream call",
                host=host,
                method=method,
                status=status,
                latency_ms=round((time.monotonic() - started) * 1000, 1),
            )


def upstream_of(parts: Any) -> str:
    """The upstream a URL belongs to, for its circuit breaker: host and port, and the first path
    segment (one gateway host may front several APIs: ``council.example.org/open311``)."""
    segment = parts.path.lstrip("/").split("/", 1)[0]
    return f"{parts.netloc.rpartition('@')[2]}/{segment}"


def _error_body(response: Response) -> Any:
    if response.content_type.endswith("json"):
        try:
            return json.loads(response.data)
        except ValueError:
            return None
    return response.text()[:2000] if response.data else None


SecretLookup = Callable[[str], "str | None"]
Once = Callable[..., Any]


def secret_missing(tenant: str, name: str | None) -> None:
    """Log (ERROR) and record for the turn a secret the settings name but nobody has set."""
    failures = _failures.get()
    if failures is not None:
        failures.add("(secret)", "secret_missing", "secret_missing")
    logs.event(
        "ERROR",
        "upstream secret missing",
        secret=name or "(none named)",
        tenant=tenant,
        process=failures.process if failures is not None else None,
        status_class="secret_missing",
    )


def uncertain(error: BaseException, effect_now: Effect | None) -> bool:
    """Whether a side effect that raised ``error`` may nevertheless have been made: a request
    other than GET went out and no clear refusal came back."""
    if effect_now is not None and effect_now.uncertain > 0:
        return True
    return isinstance(error, UpstreamError) and error.kind == "unknown"


@dataclass(frozen=True)
class Upstream:
    """A tenant's view of the outside world: HTTP, its secrets and once-only side effects."""

    tenant: str
    http: Http = field(default_factory=Http)
    secrets: SecretLookup = lambda name: None
    side_effects: Once | None = None

    def __post_init__(self):
        if self.http.tenant != self.tenant:  # the tenant's own circuit breakers
            object.__setattr__(self, "http", self.http.for_tenant(self.tenant))

    def secret(self, name: str | None) -> str:
        """The tenant's secret called ``name`` (e.g. ``pay-api-key``); ``unconfigured`` if unset
        (logged at ERROR, and the turn's outcome says ``secret_missing``)."""
        if not name:
            secret_missing(self.tenant, None)
            raise UpstreamError("unconfigured", "no secret named in the settings", sent=False)
        value = self.secrets(name)
        if not value:
            secret_missing(self.tenant, name)
            raise UpstreamError("unconfigured", f"secret {name!r} of tenant {self.tenant!r} is not set", sent=False)
        return value

    def once(
        self,
        key: str,
        action: Callable[[], Any],
        deadline: Deadline,
        *,
        check: Callable[[], Any] | None = None,
    ) -> Any:
        """Run ``action`` once for ``key`` (per tenant) and return its JSON-able result every time.

        A repeat of a finished key returns the stored result without calling ``action``; a repeat
        while the first is still running waits for it (inside the deadline), or raises ``busy``.
        An action that failed clearly (nothing sent, or a refusal answered) stores nothing, so the
        resident can try again. An action whose request went out but whose answer never came
        (a timeout, a dropped connection, a 2xx it could not read), or a record still in progress
        past its deadline, leaves the key ``unknown``: it raises ``UpstreamError("unknown")``,
        now and on every repeat, and is never run again blindly. ``check`` (optional) is asked on
        a repeat of an unknown key: it returns the result it found (an earlier report, the same
        payment through an idempotency key) which is stored as done, or None (still unknown).
        ``current_effect().id`` inside the action is a short digest of the key: an id the
        upstream may keep, to find the request again.
        """
        if self.side_effects is None:
            return action()
        full = f"{self.tenant}:{key}"
        effect_id = _effect_id(full)

        def run() -> Any:
            with effect(effect_id) as now:
                try:
                    return action()
                except Exception as e:
                    if uncertain(e, now):
                        error = UpstreamError(
                            "unknown", f"the side effect may have been made: {type(e).__name__}", sent=True
                        )
                        error.check = now.check
                        report_failure("(side effect)", error, method="POST")
                        raise error from e
                    raise

        def checked(spec: dict | None = None) -> Any:
            with effect(effect_id):
                if check is not None:
                    return check()
                checker = CHECKERS.get((spec or {}).get("kind"))
                if checker is None:
                    return None
                try:
                    return checker(self, spec, deadline)
                except UpstreamError:
                    return None  # cannot tell yet: still unknown

        try:
            return self.side_effects(full, run, deadline, check=checked)
        except UpstreamError as e:
            if e.kind == "unknown" and e.__cause__ is None:  # a repeat of an unknown key
                report_failure("(side effect)", e, method="POST")
            raise


def _effect_id(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
