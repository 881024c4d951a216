"""Tenant secrets (upstream API keys), looked up by name; tenant settings hold only the names.

A process's settings say ``api_key_secret: pay-api-key``; the handler asks
``settings.upstream.secret("pay-api-key")`` and one of these backends answers
(``TOWNHALL_SECRETS_BACKEND``):

- ``files`` (default, for laptops and tests): a YAML file ``{tenant-id: {name: value}}`` at
  ``TOWNHALL_SECRETS_FILE`` (default ``examples/demo-secrets.yaml``: demo values that open only the
  local fakes). A missing file means no secrets.
- ``env``: the variable ``TOWNHALL_SECRET_<TENANT>_<NAME>`` (upper case, ``-`` as ``_``).
- ``secretmanager`` (production): Secret Manager secret ``townhall-<tenant-id>-<name>``, latest
  version, in ``TOWNHALL_SECRETS_PROJECT`` (default ``GOOGLE_CLOUD_PROJECT``): the platform project
  where the webhook runs. Values are cached for ``TOWNHALL_SECRETS_TTL`` seconds (default 300);
  a failed read serves the last good value (or None) and is not tried again for 5 seconds.
- ``secretsmanager`` (AWS): AWS Secrets Manager secret ``townhall-<tenant-id>-<name>``, cached and
  kept on errors the same way (``townhall.aws.secrets``, docs/aws.md).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import logs
from .yamlio import YamlError, load_yaml


def secret_id(tenant: str, name: str) -> str:
    """The Secret Manager secret id of a tenant's secret (the Terraform tenant module creates it)."""
    return f"townhall-{tenant}-{name}"


class FilesSecrets:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._data: Mapping[str, Any] | None = None

    def __call__(self, tenant: str, name: str) -> str | None:
        if self._data is None:
            try:
                self._data = load_yaml(self.path) if self.path.is_file() else {}
            except YamlError as e:
                logs.event("ERROR", f"secrets file unreadable: {e}")
                self._data = {}
        value = (self._data.get(tenant) or {}).get(name)
        return str(value) if value is not None else None


class EnvSecrets:
    def __init__(self, env: Mapping[str, str] = os.environ):
        self.env = env

    def __call__(self, tenant: str, name: str) -> str | None:
        return self.env.get(f"TOWNHALL_SECRET_{tenant}_{name}".upper().replace("-", "_")) or None


class SecretManagerSecrets:
    """Values kept ``ttl`` seconds. A read that fails (the store down, slow or refusing, the secret
    missing) answers the last good value, or None, and is not tried again for ``retry_after``
    seconds: meanwhile each turn gets that answer at once, instead of waiting out the client's
    timeouts and adding a call to a store that is failing."""

    def __init__(self, project: str, ttl: float = 300.0, client: Any = None, retry_after: float = 5.0):
        self.project = project
        self.ttl = ttl
        self.retry_after = retry_after
        self._client = client
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._failed: dict[tuple[str, str], float] = {}  # when a key's last read failed
        self._lock = threading.Lock()

    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from google.cloud import secretmanager  # only when this backend is used

                    self._client = secretmanager.SecretManagerServiceClient()
        return self._client

    def __call__(self, tenant: str, name: str) -> str | None:
        key = (tenant, name)
        held = self._cache.get(key)
        now = time.monotonic()
        if held is not None and now - held[0] < self.ttl:
            return held[1]
        failed = self._failed.get(key)
        if failed is not None and now - failed < self.retry_after:
            return held[1] if held is not None else None  # failed moments ago: not tried again yet
        try:
            value = self._read(tenant, name)
        except Exception as e:  # not found, no version yet, permission, network
            self._failed[key] = time.monotonic()
            logs.event("ERROR", f"secret {secret_id(tenant, name)} unreadable: {type(e).__name__}", tenant=tenant)
            return held[1] if held is not None else None  # the last good value keeps serving
        self._failed.pop(key, None)
        self._cache[key] = (now, value)
        return value

    def _read(self, tenant: str, name: str) -> str:
        """The secret's current value from the store; raises on any failure (the cache decides)."""
        path = f"projects/{self.project}/secrets/{secret_id(tenant, name)}/versions/latest"
        return self.client.access_secret_version(name=path, timeout=2.0).payload.data.decode("utf-8")


def secrets_from_env(env: Mapping[str, str] = os.environ) -> Callable[[str, str], str | None]:
    kind = env.get("TOWNHALL_SECRETS_BACKEND", "files")
    if kind == "files":
        return FilesSecrets(Path(env.get("TOWNHALL_SECRETS_FILE", "examples/demo-secrets.yaml")))
    if kind == "env":
        return EnvSecrets(env)
    if kind == "secretmanager":
        project = env.get("TOWNHALL_SECRETS_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise ValueError(
                "TOWNHALL_SECRETS_BACKEND=secretmanager needs TOWNHALL_SECRETS_PROJECT "
                "or GOOGLE_CLOUD_PROJECT (the platform project holding the secrets)"
            )
        return SecretManagerSecrets(project, float(env.get("TOWNHALL_SECRETS_TTL", "300")))
    if kind == "secretsmanager":  # AWS (docs/aws.md): the same names, the same cache
        from .aws.secrets import SecretsManagerSecrets

        return SecretsManagerSecrets(float(env.get("TOWNHALL_SECRETS_TTL", "300")))
    raise ValueError(
        f"TOWNHALL_SECRETS_BACKEND={kind!r}: use 'files', 'env', 'secretmanager' (Google Cloud) or 'secretsmanager' (AWS)"
    )
