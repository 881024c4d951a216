"""Once-only side-effect records in DynamoDB: the table ``TOWNHALL_SIDE_EFFECTS_TABLE`` (default
``townhall-side-effects``, partition key ``key``: the SHA-256 of the side effect's key), used with
the DynamoDB settings backend. The only table the webhook's role may write (infra/aws).

The state machine is ``townhall.sideeffects``'s, as the Firestore store runs it (pending, done,
unknown; a clearly failed action leaves nothing; an answer that never came is never re-sent,
only looked for): the first caller claims the key with a conditional ``PutItem`` (the write fails
if a live record exists, atomically), runs the action and stores its result.

Expiry: each record carries ``expire_at`` (epoch seconds, ``KEEP_FOR`` on), the table's TTL
attribute, so DynamoDB deletes it in the background. That deletion may come days late (and moto
never makes it), so expiry is also checked here: a record past ``expire_at`` counts as absent, and
the claim's condition lets a new record replace it.

DynamoDB failing before the action raises ``UpstreamError("connection")``: nothing was done.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from .. import logs
from ..contract import Deadline
from ..sideeffects import GRACE, KEEP_FOR, ClaimedRecords, _digest
from ..upstream import UpstreamError
from . import client as aws_client
from .dynamodb import table_names

KEEP_SECONDS = int(KEEP_FOR.total_seconds())
_CLAIM = "attribute_not_exists(#k) OR expire_at < :now"


class DynamoDBSideEffects(ClaimedRecords):
    def __init__(self, table: str, client_source: Callable[[], Any] = lambda: aws_client("dynamodb")):
        self.table = table
        self._client_source = client_source

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DynamoDBSideEffects:
        return cls(table_names(env)[1])

    def _failures(self) -> tuple[type[BaseException], ...]:
        return (Exception,)  # botocore's errors, and its connection and timeout errors

    def _record(self, digest: str) -> tuple[Any, str]:
        return self._client_source(), digest

    def _clear(self, record: tuple[Any, str]) -> None:
        client, digest = record
        client.delete_item(TableName=self.table, Key={"key": {"S": digest}})

    def _save(self, record: tuple[Any, str], state: str, result: Any = None, check: dict | None = None) -> None:
        client, digest = record
        now = time.time()
        item = {
            "key": {"S": digest},
            "state": {"S": state},
            "since": {"N": repr(now)},
            "expire_at": {"N": str(int(now) + KEEP_SECONDS)},
        }
        if state == "done":
            item["result"] = {"S": json.dumps(result)}
        if check is not None:
            item["check"] = {"S": json.dumps(check)}
        try:
            client.put_item(TableName=self.table, Item=item)
        except Exception as e:
            # Done, but not recorded: the record stays pending and a repeat after its deadline
            # finds it unknown, so nothing is made twice. The operator gets the reason.
            logs.event("ERROR", f"side effect {state} but its record not saved: {type(e).__name__}")

    def _claim(self, record: tuple[Any, str], deadline: Deadline) -> tuple[Any] | dict | None:
        client, digest = record
        while True:
            now = time.time()
            try:
                client.put_item(
                    TableName=self.table,
                    Item={
                        "key": {"S": digest},
                        "state": {"S": "pending"},
                        "since": {"N": repr(now)},
                        "until": {"N": repr(now + deadline.remaining() + GRACE)},
                        "expire_at": {"N": str(int(now) + KEEP_SECONDS)},
                    },
                    ConditionExpression=_CLAIM,
                    ExpressionAttributeNames={"#k": "key"},
                    ExpressionAttributeValues={":now": {"N": str(int(now))}},
                )
                return None
            except Exception as e:
                if type(e).__name__ != "ConditionalCheckFailedException":
                    raise
            item = client.get_item(TableName=self.table, Key={"key": {"S": digest}}, ConsistentRead=True).get("Item")
            if item is not None:  # (None: cleared meanwhile by a failed attempt: claim it again)
                state = item.get("state", {}).get("S")
                if state == "done":
                    return (json.loads(item["result"]["S"]),)
                if state == "unknown":
                    spec = item.get("check", {}).get("S")
                    return {"check": json.loads(spec) if spec else None}
                until = float(item.get("until", {}).get("N") or float(item.get("since", {}).get("N") or now) + 30)
                if now > until:
                    return {"check": None}  # the attempt never finished: it may have sent its request
            if deadline.remaining() <= 0.2:  # every round, so a store that keeps contradicting itself ends
                raise UpstreamError("busy", "the same request is already being handled", sent=False) from None
            time.sleep(min(0.2, deadline.remaining() / 4))

    def state(self, key: str) -> str | None:
        """A key's state (``pending``, ``done``, ``unknown``), or None: for tools and tests."""
        item = (
            self._client_source()
            .get_item(TableName=self.table, Key={"key": {"S": _digest(key)}}, ConsistentRead=True)
            .get("Item")
        )
        if item is None or int(item.get("expire_at", {}).get("N", "0")) < time.time():
            return None
        return item["state"]["S"]
