"""AWS Lambda's HTTP events in, the one runtime's answer out (``functions/lambda_main.py``).

Accepted events:

- payload format 2.0: a Lambda Function URL, or an API Gateway HTTP API (``version: "2.0"``,
  ``requestContext.http.method``, headers already lower case, repeated ones joined by commas);
- payload format 1.0: an API Gateway REST API, or an HTTP API set to 1.0 (``httpMethod``,
  ``headers`` in the client's case, ``multiValueHeaders``).

Either way the body is text, base64 when ``isBase64Encoded``. The adapter makes one
``webhook.HttpRequest`` of it and ``webhook.serve`` does every check (method, content type, body
size, credential) and answers; nothing here decides a status. At most ``MAX_BODY + 1`` bytes of a
body are decoded, so an oversized body is refused (413) at the cost of that much.

The turn's deadline: the invocation's remaining time (``context.get_remaining_time_in_millis()``)
less ``TOWNHALL_LAMBDA_MARGIN`` seconds (default 0.2: the answer's way back through Lambda),
or the turn budget from arrival (``TOWNHALL_TURN_BUDGET``) if that ends sooner.

The answer is ``{statusCode, headers, body, isBase64Encoded: false}``, which both formats read.
An event that is no HTTP request at all is answered 400 ``{"error": ...}`` in the same shape.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import time
from collections.abc import Mapping
from typing import Any

from .. import logs
from ..outcomes import JSON_HEADERS, UnreadableBody
from ..webhook import MAX_BODY, HttpRequest, serve

# Base64 characters that decode to at most MAX_BODY + 1 bytes and no fewer.
_B64_PREFIX = -(-(MAX_BODY + 1) // 3) * 4


def _margin() -> float:
    try:
        return max(0.0, float(os.environ.get("TOWNHALL_LAMBDA_MARGIN", "0.2")))
    except ValueError:
        return 0.2


MARGIN = _margin()


class NotHttp(Exception):
    """The event is not an HTTP request in a format the adapter knows."""


def _lower(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}


def _headers_v1(event: Mapping) -> dict[str, str]:
    """``headers`` by lower-case name, each replaced by its ``multiValueHeaders`` values joined by
    commas where the event lists them (API Gateway sends both; a hand-made event may send either)."""
    found = _lower(event.get("headers"))
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping):
        joined: dict[str, str] = {}
        for name, values in multi.items():
            if isinstance(values, list):
                value = ",".join(v for v in values if isinstance(v, str))
                key = str(name).lower()
                joined[key] = f"{joined[key]},{value}" if key in joined else value
        found.update(joined)
    return found


def _remaining(context: Any) -> float | None:
    """Seconds the invocation has left, or None when the context does not say (no context, or a
    stand-in whose answer is no number: the turn budget alone bounds the turn)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        millis = float(remaining())
    except Exception:
        return None
    return millis / 1000 if math.isfinite(millis) else None


def _body_reader(event: Mapping):
    """A reader of the event's body: bytes, at most ``MAX_BODY + 1`` of them."""

    def read() -> bytes:
        body = event.get("body")
        if body is None:
            return b""
        if not isinstance(body, str):
            raise UnreadableBody("the request body could not be read (not text): send it whole")
        if event.get("isBase64Encoded"):
            try:
                return base64.b64decode(body[:_B64_PREFIX], validate=True)[: MAX_BODY + 1]
            except (binascii.Error, ValueError):
                raise UnreadableBody("the request body could not be read (invalid base64): send it whole") from None
        return body[: MAX_BODY + 1].encode("utf-8", "surrogatepass")

    return read


def request_from_event(event: Any, context: Any = None, arrived: float | None = None) -> HttpRequest:
    """The platform-neutral request of a Lambda HTTP event (payload 2.0 or 1.0)."""
    arrived = time.monotonic() if arrived is None else arrived
    if not isinstance(event, Mapping):
        raise NotHttp("the event is not a JSON object")
    request_context = event.get("requestContext") if isinstance(event.get("requestContext"), Mapping) else {}
    if event.get("version") == "2.0":
        http = request_context.get("http") if isinstance(request_context.get("http"), Mapping) else {}
        method, headers, source = http.get("method"), _lower(event.get("headers")), http.get("sourceIp")
    elif "httpMethod" in event:
        identity = request_context.get("identity") if isinstance(request_context.get("identity"), Mapping) else {}
        method, headers, source = event.get("httpMethod"), _headers_v1(event), identity.get("sourceIp")
    else:
        raise NotHttp("not an HTTP event: send a Function URL or API Gateway event (payload format 2.0 or 1.0)")
    if not isinstance(method, str):
        raise NotHttp("the event names no HTTP method")
    remaining = _remaining(context)
    deadline = None if remaining is None else arrived + remaining - MARGIN
    return HttpRequest(
        method.upper(),
        headers,
        _body_reader(event),
        source if isinstance(source, str) else None,
        arrived,
        deadline,
    )


def answer(status: int, body: bytes, headers: Mapping[str, str]) -> dict:
    """Lambda's HTTP answer (read alike by payload formats 2.0 and 1.0)."""
    return {
        "statusCode": status,
        "headers": dict(headers),
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }


def handle(event: Any, context: Any = None) -> dict:
    """One invocation: the event adapted, served by the runtime, answered in Lambda's shape."""
    arrived = time.monotonic()
    try:
        request = request_from_event(event, context, arrived)
    except NotHttp as e:
        logs.event("WARNING", f"lambda event refused: {e}")
        return answer(400, json.dumps({"error": str(e)}).encode(), JSON_HEADERS)
    status, body, headers = serve(request)
    return answer(status, body, headers)
