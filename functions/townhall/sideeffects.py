"""Once-only side effects: a report, payment or message happens once per resident request, even
when the upstream acts but answers after the turn's deadline.

A key's record goes through these states (docs/reliability.md, "Late success"):

    (none) --claim--> pending --action returned--> done      (the result, returned to every repeat)
                         |----action failed clearly--> (none)  (nothing sent, or a refusal answered:
                         |                                       the resident may try again)
                         |----answer never came------> unknown (sent, no answer: it may be made)
                         `----still pending past its deadline (a crash, a lost instance)--> unknown

``pending`` holds ``until``: the wall-clock end of the claiming turn's deadline plus ``GRACE``. A
repeat while pending waits inside its own deadline, then raises ``busy``. A repeat of an
``unknown`` key never runs the action again: with a ``check`` (Open311: look for the earlier
report; GOV.UK Pay: the same Idempotency-Key) it stores what the check found as ``done``;
otherwise, or when the check finds nothing, it raises ``UpstreamError("unknown")`` and the
handler tells the resident it may have gone through and what happens next.

Instances are stateless, so the records live in a store of their own, chosen with the settings'
backend (``TOWNHALL_SETTINGS_BACKEND``) but never in the settings themselves: the webhook may
write the records and only read the settings (least privilege, docs/operations.md):

- ``files``: one JSON file per key under ``TOWNHALL_STATE_DIR`` (default ``.townhall/state``),
  with an exclusive lock per key (one machine: laptops, tests, the sandbox).
- ``firestore``: collection ``side_effects``, document id = SHA-256 of the key. The first caller
  creates the document (``create`` fails if it exists, atomically), runs the action and stores its
  result. Firestore's TTL policy on ``expire_at`` (``infra/modules/platform``) deletes a record
  ``KEEP_FOR`` days on. Firestore failing before the action raises ``UpstreamError("connection")``:
  nothing was done.
- ``dynamodb`` (AWS): the table ``TOWNHALL_SIDE_EFFECTS_TABLE`` (default
  ``townhall-side-effects``), the same states with conditional writes (``townhall.aws.sideeffects``).

The Firestore and DynamoDB stores share one driver of the states (``ClaimedRecords``); each gives
only its atomic claim, its save and its clear.

Keys are made by handlers from the conversation and the confirmed details (``Upstream.once``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import logs
from .contract import Deadline
from .upstream import UpstreamError

COLLECTION = "side_effects"
GRACE = 2.0  # seconds after the claiming turn's deadline before a pending record is unknown
KEEP_FOR = timedelta(days=30)
POLL = 0.05


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _unknown() -> UpstreamError:
    return UpstreamError(
        "unknown", "an earlier attempt at this side effect got no answer: it may have been made", sent=False
    )


def _was_unknown(error: BaseException) -> bool:
    return isinstance(error, UpstreamError) and error.kind == "unknown"


def _spec(error: BaseException) -> dict | None:
    """How to look for what an unknown attempt made (JSON, no personal data), if its client said."""
    spec = getattr(error, "check", None)
    return spec if isinstance(spec, dict) else None


def _until(deadline: Deadline) -> float:
    return time.time() + deadline.remaining() + GRACE


class FilesSideEffects:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def __call__(
        self, key: str, action: Callable[[], Any], deadline: Deadline, check: Callable[[], Any] | None = None
    ) -> Any:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = _digest(key)
        path = self.directory / f"{name}.json"
        with open(self.directory / f"{name}.lock", "a+") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline.remaining() <= POLL:
                        raise UpstreamError("busy", "the same request is already being handled", sent=False) from None
                    time.sleep(POLL)
            try:
                record = json.loads(path.read_text()) if path.is_file() else None
                state = (record or {}).get("state", "done" if record else None)
                if state == "pending" and time.time() > record.get("until", 0):
                    state = "unknown"  # the attempt holding it never finished (its lock is free)
                if state == "done":
                    return record["result"]
                if state in ("unknown", "pending"):
                    found = check(record.get("check")) if check is not None else None
                    if found is None:
                        since = record.get("since", time.time())
                        self._write(path, {"state": "unknown", "since": since, "check": record.get("check")})
                        raise _unknown()
                    self._write(path, {"state": "done", "result": found, "since": time.time()})
                    return found
                self._write(path, {"state": "pending", "since": time.time(), "until": _until(deadline)})
                try:
                    result = action()
                except BaseException as e:
                    if _was_unknown(e):
                        self._write(path, {"state": "unknown", "since": time.time(), "check": _spec(e)})
                    else:
                        path.unlink(missing_ok=True)  # nothing was done: the resident can try again
                    raise
                self._write(path, {"state": "done", "result": result, "since": time.time()})
                return result
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _write(path: Path, record: dict) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, path)

    def state(self, key: str) -> str | None:
        """A key's state (``pending``, ``done``, ``unknown``), or None: for tools and tests."""
        path = self.directory / f"{_digest(key)}.json"
        if not path.is_file():
            return None
        return json.loads(path.read_text()).get("state", "done")


class ClaimedRecords:
    """The state machine over a shared store (Firestore, DynamoDB) that can create a record only
    if none is live, atomically. A store gives ``_record(digest)`` (a handle on the key's record),
    ``_claim``, ``_save``, ``_clear`` and ``_failures()`` (what its client raises when the store
    is unreachable or refusing); the states and what each means for the resident are here only."""

    def __call__(
        self, key: str, action: Callable[[], Any], deadline: Deadline, check: Callable[[], Any] | None = None
    ) -> Any:
        record = self._record(_digest(key))
        try:
            found = self._claim(record, deadline)
        except UpstreamError:
            raise
        except self._failures() as e:  # the store unreachable or refusing: nothing was done
            raise UpstreamError("connection", f"side-effect record: {type(e).__name__}", sent=False) from None
        if isinstance(found, dict):  # unknown: the spec of how to look for it
            result = check(found.get("check")) if check is not None else None
            if result is None:
                raise _unknown()
            self._save(record, "done", result)
            return result
        if found is not None:
            return found[0]
        try:
            result = action()
        except BaseException as e:
            try:
                if _was_unknown(e):
                    self._save(record, "unknown", check=_spec(e))
                else:
                    self._clear(record)  # nothing was done: the resident can try again
            except self._failures():
                pass  # left pending: a repeat after its deadline finds it unknown (never re-sent)
            raise
        self._save(record, "done", result)
        return result

    def _failures(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError

    def _record(self, digest: str) -> Any:
        raise NotImplementedError

    def _claim(self, record: Any, deadline: Deadline) -> tuple[Any] | dict | None:
        """Create the pending record (None: ours to do), ``(result,)`` of the attempt that did it,
        or ``{"check": spec}`` when unknown (an attempt whose answer never came, or that never
        finished; ``spec`` says how to look for what it made, if its client said)."""
        raise NotImplementedError

    def _save(self, record: Any, state: str, result: Any = None, check: dict | None = None) -> None:
        """Store the record as ``state``; a failure is logged, never raised (the record stays
        pending, so a repeat past its deadline finds it unknown and nothing is made twice)."""
        raise NotImplementedError

    def _clear(self, record: Any) -> None:
        raise NotImplementedError


class FirestoreSideEffects(ClaimedRecords):
    def __init__(self, client_source: Callable[[], Any]):
        self._client_source = client_source  # the settings backend's client, made on first use

    def _failures(self) -> tuple[type[BaseException], ...]:
        from google.api_core.exceptions import GoogleAPIError

        return (GoogleAPIError,)

    def _record(self, digest: str) -> Any:
        return self._client_source().collection(COLLECTION).document(digest)

    def _clear(self, doc: Any) -> None:
        doc.delete(timeout=2.0)

    def _save(self, doc: Any, state: str, result: Any = None, check: dict | None = None) -> None:
        from google.api_core.exceptions import GoogleAPIError

        now = datetime.now(UTC)
        record = {"state": state, "since": now, "expire_at": now + KEEP_FOR}
        if state == "done":
            record["result"] = json.dumps(result)
        if check is not None:
            record["check"] = json.dumps(check)
        try:
            doc.set(record, timeout=2.0)
        except GoogleAPIError as e:
            # Done, but not recorded: the record stays pending and a repeat after its deadline
            # finds it unknown, so nothing is made twice. The operator gets the reason.
            logs.event("ERROR", f"side effect {state} but its record not saved: {type(e).__name__}")

    def _claim(self, doc: Any, deadline: Deadline) -> tuple[Any] | dict | None:
        from google.api_core.exceptions import AlreadyExists

        while True:
            now = datetime.now(UTC)
            try:
                doc.create(
                    {
                        "state": "pending",
                        "since": now,
                        "until": now + timedelta(seconds=deadline.remaining() + GRACE),
                        "expire_at": now + KEEP_FOR,
                    },
                    timeout=max(0.2, deadline.remaining()),
                )
                return None
            except AlreadyExists:
                snapshot = doc.get(timeout=max(0.2, deadline.remaining()))
                record = snapshot.to_dict() or {}
                state = record.get("state")
                if state == "done":
                    return (json.loads(record["result"]),)
                if state == "unknown":
                    spec = record.get("check")
                    return {"check": json.loads(spec) if isinstance(spec, str) else None}
                until = record.get("until") or (record.get("since") or now) + timedelta(seconds=30)
                if now > until:
                    return {"check": None}  # the attempt never finished: it may have sent its request
                if deadline.remaining() <= 0.2:
                    raise UpstreamError("busy", "the same request is already being handled", sent=False) from None
                time.sleep(min(0.2, deadline.remaining() / 4))


def side_effects_from_env(settings_backend: Any, env: Mapping[str, str] = os.environ) -> Callable:
    """With Firestore settings, the records go to a database of their own, in the same project:
    ``TOWNHALL_SIDE_EFFECTS_DATABASE`` (default ``townhall-side-effects``), the only database the
    webhook's account may write (infra/modules/platform); it only reads the settings database."""
    if getattr(settings_backend, "name", "") == "firestore":
        from .settings import SIDE_EFFECTS_DATABASE

        database = env.get("TOWNHALL_SIDE_EFFECTS_DATABASE") or SIDE_EFFECTS_DATABASE
        return FirestoreSideEffects(lambda: settings_backend.client_for(database))
    if getattr(settings_backend, "name", "") == "dynamodb":  # AWS: a table of their own
        from .aws.sideeffects import DynamoDBSideEffects

        return DynamoDBSideEffects.from_env(env)
    return FilesSideEffects(Path(env.get("TOWNHALL_STATE_DIR", ".townhall/state")))
