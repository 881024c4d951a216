"""Tenant secrets from AWS Secrets Manager (``TOWNHALL_SECRETS_BACKEND=secretsmanager``).

The secret ``townhall-<tenant-id>-<name>`` (``townhall.secrets.secret_id``, the same names as on
Google Cloud; infra/aws/modules/tenant makes them, tagged ``townhall = "upstream-key"`` and ``tenant``),
its current version (``AWSCURRENT``), as ``SecretString``. The cache and the failure handling are
``SecretManagerSecrets``'s: values kept ``TOWNHALL_SECRETS_TTL`` seconds; a secret that cannot be
read (not found, no value yet, access denied, network) is logged at ERROR and answers the last good
value, or None, which the turn reports as ``secret_missing``, and is not read again for
``retry_after`` seconds (default 5).
"""

from __future__ import annotations

from typing import Any

from ..secrets import SecretManagerSecrets, secret_id
from . import client as aws_client


class SecretsManagerSecrets(SecretManagerSecrets):
    def __init__(self, ttl: float = 300.0, client: Any = None, retry_after: float = 5.0):
        super().__init__("", ttl, client, retry_after)

    @property
    def client(self):
        if self._client is None:
            self._client = aws_client("secretsmanager")
        return self._client

    def _read(self, tenant: str, name: str) -> str:
        found = self.client.get_secret_value(SecretId=secret_id(tenant, name))
        value = found.get("SecretString")
        if value is None:
            raise LookupError("the secret has no SecretString")
        return value
