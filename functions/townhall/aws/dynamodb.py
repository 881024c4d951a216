"""Tenant settings in DynamoDB (``TOWNHALL_SETTINGS_BACKEND=dynamodb``).

The tenants table (``TOWNHALL_TENANTS_TABLE``, default ``townhall-tenants``; partition key ``id``,
a string) holds one item per tenant, ``{id: <tenant id>, settings: <the tenant document as JSON>}``,
and the tenant index as the item ``id = "#tenant-index"`` (no tenant id can start with ``#``):
``{settings: <index document as JSON>, version: <number>}``, written by ``townhall settings push
--backend dynamodb``. Documents are kept as JSON text so they round-trip exactly (DynamoDB's own
numbers would turn every float into a Decimal).

This is only a ``settings.Backend``: validation, the cache, stale-if-error and single-flight reads
are ``settings.SettingsCache``'s, the same as for Firestore. Every failure of a read (network,
permissions, throttling, a missing table) is a ``BackendError``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from .. import logs
from ..settings import BackendError, TenantIndex, index_document, parse_index
from . import client as aws_client

TENANTS_TABLE = "townhall-tenants"  # default of TOWNHALL_TENANTS_TABLE
SIDE_EFFECTS_TABLE = "townhall-side-effects"  # default of TOWNHALL_SIDE_EFFECTS_TABLE
INDEX_ID = "#tenant-index"


def table_names(env: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """(tenants table, side-effects table) from the environment, with their defaults."""
    return (
        env.get("TOWNHALL_TENANTS_TABLE") or TENANTS_TABLE,
        env.get("TOWNHALL_SIDE_EFFECTS_TABLE") or SIDE_EFFECTS_TABLE,
    )


def table_definitions(tenants: str, side_effects: str) -> list[dict]:
    """The two tables as ``CreateTable`` arguments: what infra/aws/modules/platform makes, for
    ``settings push --create-tables`` (local and test use) to make the same."""
    return [
        {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
        for name, key in ((tenants, "id"), (side_effects, "key"))
    ]


def _encode(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class DynamoDBBackend:
    name = "dynamodb"

    def __init__(self, table: str = TENANTS_TABLE, client: Any = None):
        self.table = table
        self._client = client

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DynamoDBBackend:
        return cls(table_names(env)[0])

    @property
    def client(self):
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    # -- reads (the webhook) ---------------------------------------------------------------------
    def _get(self, item_id: str) -> dict | None:
        try:
            found = self.client.get_item(TableName=self.table, Key={"id": {"S": item_id}})
        except Exception as e:  # any client, transport, permission or throttling failure
            raise BackendError(f"dynamodb read of {self.table}/{item_id} failed: {type(e).__name__}") from e
        return found.get("Item")

    def read(self, tenant_id: str) -> Mapping[str, Any] | None:
        item = self._get(tenant_id)
        if item is None:
            return None
        text = item.get("settings", {}).get("S")
        try:
            return json.loads(text)
        except (TypeError, ValueError):
            # Not a document: validated as it is, so the tenant gets the safe fallback and the
            # operator an ERROR naming the problem (not a stale copy, as for an outage).
            return {"settings": "the item's settings attribute is not a JSON document"}

    def read_index(self) -> TenantIndex:
        """The index item; where there is none yet, one scan of the table (logged)."""
        item = self._get(INDEX_ID)
        source = f"{self.table}/{INDEX_ID}"
        if item is not None:
            try:
                return parse_index(json.loads(item.get("settings", {}).get("S")), source)
            except (TypeError, ValueError):
                raise BackendError(f"{source}: not JSON: run townhall settings push --backend dynamodb") from None
        docs = self.tenant_documents()
        logs.event(
            "WARNING",
            f"no {INDEX_ID} item: tenant index built from a scan of {self.table}; "
            "run townhall settings push --backend dynamodb to write it",
        )
        return parse_index(index_document(docs), f"table {self.table}")

    def tenant_documents(self) -> dict[str, Any]:
        """``{tenant id: document}`` of every tenant item (a paginated, consistent scan)."""
        docs: dict[str, Any] = {}
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        try:
            for _ in range(10_000):  # pages of 1 MB: far more than any number of councils
                page = self.client.scan(**kwargs)
                for item in page.get("Items", []):
                    item_id = item.get("id", {}).get("S")
                    if item_id and item_id != INDEX_ID:
                        try:
                            docs[item_id] = json.loads(item.get("settings", {}).get("S"))
                        except (TypeError, ValueError):
                            continue  # not a document: its tenant cannot sign in
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except Exception as e:
            raise BackendError(f"dynamodb scan of {self.table} failed: {type(e).__name__}") from e
        return docs

    # -- writes (townhall settings push; the webhook's role may not make them) --------------------
    def write(self, tenant_id: str, doc: Mapping[str, Any]) -> None:
        try:
            self.client.put_item(
                TableName=self.table, Item={"id": {"S": tenant_id}, "settings": {"S": _encode(dict(doc))}}
            )
        except Exception as e:
            raise BackendError(f"dynamodb write of {self.table}/{tenant_id} failed: {e}") from e

    def write_index(self, dry_run: bool = False, pending: Mapping[str, Any] | None = None) -> tuple[str, int]:
        """Rewrite the index item from the tenant items as they now are. The write is conditional
        on the version read, so two pushes at once never leave an index older than either: the
        loser reads again and rewrites. Returns (created | updated | unchanged, tenants)."""
        for _ in range(5):
            docs = self.tenant_documents()
            docs.update(pending or {})
            wanted = index_document(docs)
            item = self._get(INDEX_ID)
            held = None
            if item is not None:
                try:
                    held = json.loads(item.get("settings", {}).get("S"))
                except (TypeError, ValueError):
                    held = {}
            state = "unchanged" if held == wanted else ("created" if held is None else "updated")
            if state == "unchanged" or dry_run:
                return state, wanted["count"]
            version = int(item["version"]["N"]) if item is not None and "version" in item else 0
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "id": {"S": INDEX_ID},
                        "settings": {"S": _encode(wanted)},
                        "version": {"N": str(version + 1)},
                    },
                    ConditionExpression="attribute_not_exists(id) OR version = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except Exception as e:
                if type(e).__name__ == "ConditionalCheckFailedException":
                    continue  # another push wrote it meanwhile: read again
                raise BackendError(f"dynamodb write of {self.table}/{INDEX_ID} failed: {e}") from e
            return state, wanted["count"]
        raise BackendError(f"dynamodb write of {self.table}/{INDEX_ID}: changed by others five times; run again")
