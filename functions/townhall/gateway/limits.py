"""Rate limits: token buckets per conversation and per client IP address, in bounded memory.

Each bucket holds up to ``capacity`` requests and refills at ``capacity / period`` a second; a
request takes one. Buckets live in one LRU map of at most ``size`` keys per instance (10,000 by
default: about a megabyte): the least recently seen key is forgotten first, which can only make a
limit more lenient, never refuse a resident wrongly. Instances do not share buckets, so a limit is
per instance; with ``max_instance_request_concurrency`` requests per instance the effective limit
is at most the instance count times this one (infra: the chat function's ``max_instances``).

Rates come from the environment as ``N/S`` (N requests per S seconds):
``TOWNHALL_CHAT_SESSION_RATE`` (default ``20/60``), ``TOWNHALL_CHAT_IP_RATE`` (default ``120/60``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping


def parse_rate(value: str, name: str) -> tuple[int, float]:
    count, _, seconds = value.partition("/")
    try:
        n, s = int(count), float(seconds)
    except ValueError:
        raise ValueError(f"{name}={value!r}: write N/S, e.g. 20/60 for 20 requests a minute") from None
    if n < 1 or s <= 0:
        raise ValueError(f"{name}={value!r}: N and S must be positive, e.g. 20/60")
    return n, s


class Buckets:
    def __init__(self, capacity: int, period: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.capacity = capacity
        self.rate = capacity / period  # tokens a second
        self.size = size
        self.clock = clock
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key -> [tokens, updated]
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0.0 when allowed, else seconds until one is."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = [float(self.capacity), now]
                self._buckets[key] = bucket
                if len(self._buckets) > self.size:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                bucket[0] = min(self.capacity, bucket[0] + (now - bucket[1]) * self.rate)
                bucket[1] = now
            if bucket[0] >= 1.0:
                bucket[0] -= 1.0
                return 0.0
            return (1.0 - bucket[0]) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(seconds: float) -> str:
    """Whole seconds for a Retry-After header (at least 1)."""
    return str(max(1, math.ceil(seconds)))


class Limits:
    def __init__(self, session: Buckets, ip: Buckets):
        self.session = session
        self.ip = ip

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        value = env.get("TOWNHALL_CHAT_RATE_KEYS") or "10000"
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"TOWNHALL_CHAT_RATE_KEYS={value!r}: give a whole number of keys, e.g. 10000")
        size = int(value)
        return cls(
            Buckets(*parse_rate(env.get("TOWNHALL_CHAT_SESSION_RATE", "20/60"), "TOWNHALL_CHAT_SESSION_RATE"), size),
            Buckets(*parse_rate(env.get("TOWNHALL_CHAT_IP_RATE", "120/60"), "TOWNHALL_CHAT_IP_RATE"), size),
        )
