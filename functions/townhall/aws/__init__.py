"""AWS backends of the runtime, chosen by environment (docs/aws.md):

- ``TOWNHALL_SETTINGS_BACKEND=dynamodb``: tenant settings and the tenant index in a DynamoDB
  table (``townhall.aws.dynamodb``); side-effect records then go to a table of their own
  (``townhall.aws.sideeffects``);
- ``TOWNHALL_SECRETS_BACKEND=secretsmanager``: upstream secrets from AWS Secrets Manager
  (``townhall.aws.secrets``);
- ``functions/lambda_main.py`` adapts Lambda's HTTP events to the one runtime (``townhall.aws.events``).

boto3 is the client (``requirements-aws.txt``). It is imported on first use, never when a module
here is imported, so the Cloud Function bundle (which does not install it) imports these modules
and never pays for it. Endpoint, region and credentials come from the usual AWS environment
(``AWS_ENDPOINT_URL`` points every client at a moto server; ``AWS_REGION`` or
``AWS_DEFAULT_REGION``, else ``eu-west-2``, London).
"""

from __future__ import annotations

import os
import threading
from typing import Any

DEFAULT_REGION = "eu-west-2"
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """The process's one boto3 client of ``service`` (thread-safe; made on first use). Calls have
    short timeouts and are not retried: the settings cache, the side-effect store and the secrets
    cache each decide what a failure means, inside the turn's deadline."""
    found = _clients.get(service)
    if found is None:
        with _lock:
            found = _clients.get(service)
            if found is None:
                import boto3  # only when an AWS backend is used
                from botocore.config import Config

                session = boto3.session.Session()
                found = _clients[service] = session.client(
                    service,
                    region_name=session.region_name or os.environ.get("AWS_REGION") or DEFAULT_REGION,
                    config=Config(
                        connect_timeout=1.0,
                        read_timeout=2.0,
                        retries={"max_attempts": 1, "mode": "standard"},
                        max_pool_connections=32,
                    ),
                )
    return found


def reset() -> None:
    """Forget the clients made (tests point the environment at another endpoint)."""
    with _lock:
        _clients.clear()
