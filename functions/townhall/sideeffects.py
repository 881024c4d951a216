"""Once-only side effects: a report, payment or message happens once per resident request.

Instances are stateless, so the record of what was done lives next to the settings, chosen with
them by ``TOWNHALL_SETTINGS_BACKEND``:

- ``files``: one JSON file per key under ``TOWNHALL_STATE_DIR`` (default ``.townhall/state``),
  with an exclusive lock per key (one machine: laptops, tests, the sandbox).
- ``firestore``: collection ``side_effects``, document id = SHA-256 of the key. The first caller
  creates the document (``create`` fails if it exists, atomically), runs the action and stores its
  result; a repeat finds the result. A record left ``pending`` by a crashed instance is taken over
  after ``PENDING_FOR`` seconds. Firestore's TTL policy on ``expire_at`` (``infra/modules/platform``)
  deletes a record ``KEEP_FOR`` days on. Firestore failing before the action raises
  ``UpstreamError("connection")``: nothing was done.

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
PENDING_FOR = 30.0
KEEP_FOR = timedelta(days=30)
POLL = 0.05


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class FilesSideEffects:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def __call__(self, key: str, action: Callable[[], Any], deadline: Deadline) -> Any:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = _digest(key)
        result_path = self.directory / f"{name}.json"
        with open(self.directory / f"{name}.lock", "a+") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline.remaining() <= POLL:
                        raise UpstreamError("busy", "the same request is already being handled") from None
                    time.sleep(POLL)
            try:
                if result_path.is_file():
                    return json.loads(result_path.read_text())["result"]
                result = action()
                tmp = result_path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"result": result}))
                os.replace(tmp, result_path)
                return result
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class FirestoreSideEffects:
    def __init__(self, client_source: Callable[[], Any]):
        self._client_source = client_source  # the settings backend's client, made on first use

    def __call__(self, key: str, action: Callable[[], Any], deadline: Deadline) -> Any:
        from google.api_core.exceptions import GoogleAPIError

        client = self._client_source()
        doc = client.collection(COLLECTION).document(_digest(key))
        try:
            found = self._claim(client, doc, deadline)
        except GoogleAPIError as e:  # Firestore unreachable or refusing: nothing was done
            raise UpstreamError("connection", f"side-effect record: {type(e).__name__}") from None
        if found is not None:
            return found[0]
        now = datetime.now(UTC)
        try:
            result = action()
        except BaseException:
            try:
                doc.delete(timeout=2.0)  # nothing was done: the resident can try again
            except GoogleAPIError:
                pass  # the pending record is taken over after PENDING_FOR
            raise
        try:
            doc.set(
                {"state": "done", "result": json.dumps(result), "since": now, "expire_at": now + KEEP_FOR}, timeout=2.0
            )
        except GoogleAPIError as e:
            # Done, but not recorded: a repeat after PENDING_FOR would do it again. The resident
            # still gets the result; the operator gets the reason.
            logs.event("ERROR", f"side effect done but its record not saved: {type(e).__name__}")
        return result

    def _claim(self, client: Any, doc: Any, deadline: Deadline) -> tuple[Any] | None:
        """Create the pending record (None: ours to do), or (result,) of the attempt that did it."""
        from google.api_core.exceptions import AlreadyExists

        while True:
            now = datetime.now(UTC)
            try:
                doc.create(
                    {"state": "pending", "since": now, "expire_at": now + KEEP_FOR},
                    timeout=max(0.2, deadline.remaining()),
                )
                return None
            except AlreadyExists:
                snapshot = doc.get(timeout=max(0.2, deadline.remaining()))
                record = snapshot.to_dict() or {}
                if record.get("state") == "done":
                    return (json.loads(record["result"]),)
                since = record.get("since")
                if since is not None and (now - since).total_seconds() > PENDING_FOR:
                    try:  # a crashed attempt: take it over, unless another instance just did
                        doc.delete(option=client.write_option(last_update_time=snapshot.update_time))
                    except Exception:
                        pass
                    continue
                if deadline.remaining() <= 0.2:
                    raise UpstreamError("busy", "the same request is already being handled") from None
                time.sleep(min(0.2, deadline.remaining() / 4))


def side_effects_from_env(settings_backend: Any, env: Mapping[str, str] = os.environ) -> Callable:
    if getattr(settings_backend, "name", "") == "firestore":
        return FirestoreSideEffects(lambda: settings_backend.client)
    return FilesSideEffects(Path(env.get("TOWNHALL_STATE_DIR", ".townhall/state")))
