"""What a process needs to call upstream services, injected through ``settings.upstream``.

    up = settings.upstream
    response = up.http.get(url, params={...}, deadline=turn.deadline)   # timeouts inside the turn
    key = up.secret(settings.process["api_key_secret"])                  # secrets by reference
    result = up.once(f"report:{turn.conversation}:{digest}", lambda: submit(...), turn.deadline)

The handler stays a function of the turn and the settings: every side of the outside world arrives
here, so tests hand in an ``Upstream`` pointed at local fakes (``townhall_tools.testing.settings_for``).

Rules every upstream call follows (docs/processes.md):
- connect and read timeouts inside the time the turn has left (``deadline.remaining()``);
- idempotent reads (GET) may retry once, when a retry still fits in the deadline;
- any failure (connection, timeout, 4xx, 5xx, a body that is not what the contract says) raises
  ``UpstreamError`` with a ``kind`` the handler turns into a useful reply;
- side effects (a report, a payment, a message) go through ``once`` so they happen once per
  resident request, even when Dialogflow or the resident repeats it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from . import logs
from .contract import Deadline

MAX_BODY = 1024 * 1024  # an upstream answer larger than this is not one we asked for
CONNECT_TIMEOUT = 1.0
MARGIN = 0.05  # kept back from the deadline for turning the answer into a reply
USER_AGENT = "Townhall (council chatbot; https://github.com/townhall-uk)"


class UpstreamError(Exception):
    """An upstream call that did not give a usable answer.

    ``kind``: ``unconfigured`` (no URL or secret), ``timeout``, ``connection``, ``status`` (a 4xx or
    5xx; ``status`` holds it and ``body`` the parsed error if any), ``malformed`` (not the body the
    contract promises), ``busy`` (the same side effect is already under way).
    """

    def __init__(self, kind: str, message: str, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.body = body

    @property
    def retryable(self) -> bool:
        return self.kind in ("timeout", "connection", "busy") or (self.status or 0) >= 500


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


class Http:
    """A thread-safe HTTP client (urllib3) whose every call fits inside a turn's deadline."""

    def __init__(self, pool: Any = None):
        self._pool = pool
        self._lock = threading.Lock()

    @property
    def pool(self):
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    import urllib3  # imported on first upstream call: no cost to pure turns

                    self._pool = urllib3.PoolManager(
                        num_pools=32, maxsize=8, retries=False, headers={"User-Agent": USER_AGENT}
                    )
        return self._pool

    def get(
        self,
        url: str,
        *,
        deadline: Deadline,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        retry: bool = True,
    ) -> Response:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}"
        return self.request("GET", url, deadline=deadline, headers=headers, ok=ok, retry=retry)

    def post_json(
        self,
        url: str,
        body: Any,
        *,
        deadline: Deadline,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> Response:
        return self.request(
            "POST",
            url,
            deadline=deadline,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            ok=ok,
        )

    def post_form(
        self,
        url: str,
        fields: Mapping[str, Any] | list[tuple[str, Any]],
        *,
        deadline: Deadline,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> Response:
        body = urlencode(list(fields.items()) if isinstance(fields, Mapping) else fields, doseq=True)
        return self.request(
            "POST",
            url,
            deadline=deadline,
            body=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
            ok=ok,
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
    ) -> Response:
        """One call (and, for ``retry``, one more on a timeout, connection error or 5xx)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError("unconfigured", f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                response = self._once(method, url, deadline, body, headers)
            except UpstreamError as e:
                if attempt + 1 < attempts and e.retryable and deadline.remaining() > 0.5:
                    continue
                raise
            if response.status >= 500 and attempt + 1 < attempts and deadline.remaining() > 0.5:
                continue
            if response.status not in ok:
                raise UpstreamError(
                    "status",
                    f"{method} {parts.hostname} answered {response.status}",
                    response.status,
                    _error_body(response),
                )
            return response
        raise AssertionError("unreachable")

    def _once(self, method, url, deadline, body, headers) -> Response:
        import urllib3

        left = deadline.remaining() - MARGIN
        host = urlsplit(url).hostname
        if left <= 0.05:
            raise UpstreamError("timeout", f"no time left in the turn to call {host}")
        started = time.monotonic()
        status = None
        try:
            raw = self.pool.request(
                method,
                url,
                body=body,
                headers=dict(headers or {}),
                preload_content=False,
                redirect=False,
                timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, left), read=left),
            )
            try:
                data = raw.read(MAX_BODY + 1, decode_content=True)
            finally:
                raw.release_conn()
            status = raw.status
            if len(data) > MAX_BODY:
                raise UpstreamError("malformed", f"{host} answered with more than {MAX_BODY} bytes", status)
            return Response(status, {k.lower(): v for k, v in raw.headers.items()}, data)
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise UpstreamError("timeout", f"{host} did not answer in {left:.2f} s") from None
        except urllib3.exceptions.HTTPError as e:
            raise UpstreamError("connection", f"{host}: {type(e).__name__}") from None
        finally:
            # Host and status only: paths and queries carry postcodes and references.
            logs.event(
                "INFO",
                "upstream call",
                host=host,
                method=method,
                status=status,
                latency_ms=round((time.monotonic() - started) * 1000, 1),
            )


def _error_body(response: Response) -> Any:
    if response.content_type.endswith("json"):
        try:
            return json.loads(response.data)
        except ValueError:
            return None
    return response.text()[:2000] if response.data else None


SecretLookup = Callable[[str], "str | None"]
Once = Callable[[str, Callable[[], Any], Deadline], Any]


@dataclass(frozen=True)
class Upstream:
    """A tenant's view of the outside world: HTTP, its secrets and once-only side effects."""

    tenant: str
    http: Http = field(default_factory=Http)
    secrets: SecretLookup = lambda name: None
    side_effects: Once | None = None

    def secret(self, name: str | None) -> str:
        """The tenant's secret called ``name`` (e.g. ``pay-api-key``); ``unconfigured`` if unset."""
        if not name:
            raise UpstreamError("unconfigured", "no secret named in the settings")
        value = self.secrets(name)
        if not value:
            raise UpstreamError("unconfigured", f"secret {name!r} of tenant {self.tenant!r} is not set")
        return value

    def once(self, key: str, action: Callable[[], Any], deadline: Deadline) -> Any:
        """Run ``action`` once for ``key`` (per tenant) and return its JSON-able result every time.

        A repeat of a finished key returns the stored result without calling ``action``; a repeat
        while the first is still running waits for it (inside the deadline), or raises ``busy``.
        A failed action stores nothing, so the resident can try again.
        """
        if self.side_effects is None:
            return action()
        return self.side_effects(f"{self.tenant}:{key}", action, deadline)
