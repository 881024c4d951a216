"""The runtime's one cache of rendered replies, for the processes that declare their replies may
be kept.

Handlers keep no memory: a handler is a pure function of the turn and its settings. A process
whose replies depend on the turn only through its intent, its language and the clock (never on
parameters, contexts, the resident's words or the conversation) may say so in its manifest:

    cache:
      by: minute      # or: date, settings

- ``settings``: a reply is the same for every turn of one intent in one language;
- ``date``: ... and of one local date;
- ``minute``: ... and of one minute of the local clock (a process whose times are whole minutes,
  such as opening hours, answers the same throughout a minute).

The webhook then keeps the rendered WebhookResponse of such a turn under the key

    (tenant serial, intent, reply language, time zone, date or minute or nothing)

where the tenant serial is unique to one load of the tenant's settings, so a settings refresh
never serves a reply of the old settings. Only ``ok`` turns whose reply sets no output contexts
and no follow-up event are kept (their rendered body then depends on nothing else), and none over
``LARGEST`` bytes. At most ``ENTRIES`` bodies are held per instance; when full, the oldest goes.
So the cache holds at most ``ENTRIES * LARGEST`` bytes (8 MiB). A process that calls upstream
services (``upstream: true``) cannot declare a cache: its replies depend on the world.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import Any

RULES = ("settings", "date", "minute")
ENTRIES = 1024
LARGEST = 8 * 1024


class CacheRuleError(ValueError):
    """A manifest's ``cache`` is not one the runtime understands; the message says the fix."""


def rule(manifest: Mapping[str, Any], where: str) -> str | None:
    """The manifest's ``cache.by`` (``settings``, ``date`` or ``minute``), or None for no cache."""
    declared = manifest.get("cache")
    if declared is None:
        return None
    if not isinstance(declared, Mapping) or set(declared) != {"by"} or declared["by"] not in RULES:
        raise CacheRuleError(f"{where}: cache must be {{by: {' | '.join(RULES)}}}, not {declared!r}")
    if manifest.get("upstream"):
        raise CacheRuleError(
            f"{where}: a process with upstream: true cannot cache its replies "
            "(they depend on the upstream's answers); remove cache"
        )
    return declared["by"]


def moment(by: str, now: datetime) -> Hashable:
    """The part of the clock a reply under rule ``by`` depends on (its time zone aside)."""
    if by == "minute":
        return int(now.timestamp()) // 60
    if by == "date":
        return now.toordinal()
    return 0


class ReplyCache:
    """Rendered replies by key, at most ``entries`` of them, none over ``largest`` bytes."""

    def __init__(self, entries: int = ENTRIES, largest: int = LARGEST):
        self.entries = entries
        self.largest = largest
        self._bodies: dict[Hashable, bytes] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._bodies)

    def get(self, key: Hashable) -> bytes | None:
        return self._bodies.get(key)

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.largest or self.entries <= 0:
            return
        with self._lock:
            if key not in self._bodies and len(self._bodies) >= self.entries:
                del self._bodies[next(iter(self._bodies))]  # the oldest
            self._bodies[key] = body
