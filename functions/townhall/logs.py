"""Structured JSON logs for Cloud Logging, one line per event, with personal data redacted.

Cloud Logging reads each stdout line as a LogEntry: ``severity`` and ``message`` are special,
``logging.googleapis.com/trace`` links the line to the request's trace. Nothing a resident typed is
ever logged on purpose; on top of that every string goes through ``redact``, which removes UK
postcodes, email addresses and phone numbers, and every free-text field (message, error, trace)
also loses any value the current turn carried (query text, parameters, context parameters, and
their words), tracebacks included. The turn's values are held in a ``contextvars.ContextVar``, so a
handler run on a pool thread through ``contextvars.copy_context().run`` (as the webhook does) keeps
them. Whole values are removed wherever they appear; their single words only as whole words, and
never from a traceback's own lines (``Traceback (most recent call last):``, ``File "...", line N``
and the code lines under them), which the runtime writes, not residents. Host names and IP
addresses in ``host``/``upstream`` fields are checked and written as they are.
"""

from __future__ import annotations

import contextvars
import os
import re
import select
import sys
import threading
from collections.abc import Iterable
from typing import Any

import orjson

REDACTED = "[redacted]"

_PATTERNS = [
    # UK postcodes, with or without the space, any case (e.g. OX1 1BX, cf104uw).
    re.compile(r"\b[A-Za-z]{1,2}[0-9][A-Za-z0-9]?\s*[0-9][A-Za-z]{2}\b"),
    # Email addresses.
    re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    # Phone numbers and other long digit runs (with spaces, dashes, brackets, a leading +).
    re.compile(r"(?<![\w.])\+?\(?\d[\d\s().-]{7,}\d"),
]

_PATTERN = re.compile("|".join(f"(?:{p.pattern})" for p in _PATTERNS))

_lock = threading.Lock()
_active: contextvars.ContextVar[tuple] = contextvars.ContextVar("townhall_sensitive", default=())
_stream = None


def set_stream(stream) -> None:
    """Send log lines elsewhere (tests); None restores stdout."""
    global _stream
    _stream = stream


def _values(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _values(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _values(v)
    elif isinstance(getattr(value, "parameters", None), dict):  # a turn's context
        yield from _values(value.parameters)


class sensitive:
    """Within this block, the given values (and their words) are redacted from every log line.

    The values are only gathered when a free-text field is actually logged (rarely: errors)."""

    def __init__(self, *values: Any):
        self._raw = values
        self._values: list[str] | None = None
        self._words: re.Pattern | None = None

    @property
    def values(self) -> list[str]:
        """Whole values, longest first."""
        self._gather()
        return self._values

    @property
    def words(self) -> re.Pattern | None:
        """The values' single words, as one whole-word pattern (None when there are none)."""
        self._gather()
        return self._words

    def _gather(self) -> None:
        if self._values is not None:
            return
        found, words = set(), set()
        for text in _values(list(self._raw)):
            text = text.strip()
            if len(text) >= 3:
                found.add(text)
                words.update(w for w in re.split(r"[\s,]+", text) if len(w) >= 3)
        words -= found
        self._words = (
            re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?!\w)"
            )
            if words
            else None
        )
        self._values = sorted(found, key=len, reverse=True)

    def __enter__(self) -> sensitive:
        self._token = _active.set((self, *_active.get()))
        return self

    def __exit__(self, *exc: Any) -> None:
        _active.reset(self._token)


# Fields whose values the runtime controls (ids, names it checked): only the patterns apply.
STRUCTURED = frozenset({"tenant", "intent", "backend", "process"})
# Fields holding a host name or IP address the runtime took from a URL in the settings.
HOSTS = frozenset({"host", "upstream"})
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$|^\[?[0-9A-Fa-f:.]{2,45}\]?$")
# Fields the runtime sets itself from constants, numbers and checked hex: written as they are.
TRUSTED = frozenset(
    {
        "outcome",
        "status",
        "latency_ms",
        "serving",
        "logging.googleapis.com/trace",
        "status_class",
        "retryable",
        "permanent",
        "method",
        "cool_down_s",
    }
)


_MAYBE_PERSONAL = re.compile(r"[0-9@]")  # every pattern above needs a digit or an @


# A traceback's own lines: written by Python from the code, never from what a resident typed.
_FRAME = re.compile(r"^(?:Traceback \(most recent call last\):|  File \".*\", line \d+, in .*|    .*|\s*\^+\s*)$")


def _words_out(text: str, words: re.Pattern) -> str:
    if "Traceback (most recent call last):" not in text:
        return words.sub(REDACTED, text)
    lines = text.split("\n")
    frame = False
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last):") or line.startswith('  File "'):
            frame = True
            continue
        if frame and _FRAME.match(line):
            continue
        frame = False
        lines[i] = words.sub(REDACTED, line)
    return "\n".join(lines)


def redact(text: str, turn_values: bool = True) -> str:
    if turn_values:
        for block in _active.get():
            for value in block.values:
                if value in text:
                    text = text.replace(value, REDACTED)
            if block.words is not None:
                text = _words_out(text, block.words)
    return _PATTERN.sub(REDACTED, text) if _MAYBE_PERSONAL.search(text) else text


def _host(value: Any) -> Any:
    """A host name or IP literal, written as it is; anything else is treated as free text."""
    if isinstance(value, str) and len(value) <= 253 and _HOST.match(value):
        return value
    return _clean(value, turn_values=True)


def _clean(value: Any, turn_values: bool = True) -> Any:
    if isinstance(value, str):
        return redact(value, turn_values)
    if isinstance(value, dict):
        return {k: _clean(v, turn_values) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, turn_values) for v in value]
    return value


def _checked(value: str) -> str:
    """A value the runtime checked (an id, an intent name): only the patterns apply."""
    return _PATTERN.sub(REDACTED, value) if _MAYBE_PERSONAL.search(value) else value


def trace_field(header: str | None) -> dict:
    """Cloud Logging's trace field from ``X-Cloud-Trace-Context: TRACE_ID/SPAN;o=1``."""
    if not header:
        return {}
    trace_id = header.split("/", 1)[0].strip()
    if not re.fullmatch(r"[0-9a-fA-F]{32}", trace_id):
        return {}
    project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    return {"logging.googleapis.com/trace": f"projects/{project}/traces/{trace_id}" if project else trace_id}


def event(severity: str, message: str, **fields: Any) -> None:
    """Write one structured log line; every string in it is redacted."""
    entry = {"severity": severity, "message": redact(message)}
    for key, value in fields.items():
        if value is not None:
            if key in TRUSTED:
                entry[key] = value
            elif key in HOSTS:
                entry[key] = _host(value)
            else:
                entry[key] = _clean(value, turn_values=key not in STRUCTURED)
    _write(orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS))


def turn(
    severity: str,
    tenant: str | None,
    intent: str | None,
    outcome: str | None,
    status: int,
    latency_ms: float,
    trace: str | None,
) -> None:
    """The one line every turn writes: ``event(severity, "turn", ...)`` without the general
    field-by-field treatment, as every value is one the runtime set or checked itself."""
    entry = {"severity": severity, "message": "turn"}
    if tenant is not None:
        entry["tenant"] = tenant  # set only once the credential opened this tenant's settings
    if intent is not None:
        entry["intent"] = _checked(intent)
    if outcome is not None:
        entry["outcome"] = outcome
    entry["status"] = status
    entry["latency_ms"] = latency_ms
    if trace:
        entry.update(trace_field(trace))
    _write(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))


def _write(data: bytes) -> None:
    """One line out. On a real stdout, a line of at most PIPE_BUF bytes is one write(2), which
    the kernel keeps whole, so turns on many threads never wait on each other here."""
    stream = sys.stdout if _stream is None else _stream
    try:
        fd = -1 if _stream is not None else stream.fileno()
    except (AttributeError, ValueError, OSError):
        fd = -1  # stdout replaced by something without a file descriptor
    if fd < 0:
        with _lock:
            stream.write(data.decode("utf-8"))
            stream.flush()
        return
    if len(data) <= select.PIPE_BUF:
        os.write(fd, data)
        return
    with _lock:  # long lines (tracebacks): written whole, one at a time
        stream.flush()
        while data:
            data = data[os.write(fd, data) :]
