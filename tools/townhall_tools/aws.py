"""Tooling for the AWS hosting option (docs/aws.md): never deployed.

- ``create_tables``: the tenants and side-effect tables as infra/aws makes them (local and test
  use: ``townhall settings push --backend dynamodb --create-tables``);
- ``put_secrets``: tenant secrets into Secrets Manager, tagged as infra/aws tags them (tests, the
  benchmark, a laptop against moto);
- ``function_url_event``: a Lambda Function URL event (payload format 2.0) for one request, as
  ``townhall request ... --event lambda`` prints it and the tests replay it;
- ``MotoServer``: a moto server on a free loopback port, started and stopped like the Firestore
  emulator, and ``moto_env``: the environment that points every AWS client at it.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from townhall.aws.dynamodb import table_definitions
from townhall.secrets import secret_id

REGION = "eu-west-2"


def moto_env(url: str) -> dict[str, str]:
    """Every AWS client at the moto server ``url``, with moto's dummy credentials (not secrets)."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def create_tables(client: Any, tenants: str, side_effects: str) -> list[str]:
    """Create the two tables where missing (waiting until they are active) and switch on the
    side-effect table's TTL on ``expire_at``; returns the names created. Idempotent."""
    existing = set()
    kwargs: dict[str, Any] = {}
    for _ in range(1000):
        page = client.list_tables(**kwargs)
        existing.update(page.get("TableNames", []))
        if "LastEvaluatedTableName" not in page:
            break
        kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
    made = []
    for definition in table_definitions(tenants, side_effects):
        name = definition["TableName"]
        if name not in existing:
            client.create_table(**definition)
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            made.append(name)
    ttl = client.describe_time_to_live(TableName=side_effects).get("TimeToLiveDescription", {})
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=side_effects, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expire_at"}
        )
    return made


def put_secrets(client: Any, secrets: Mapping[str, Mapping[str, str]]) -> int:
    """``{tenant: {name: value}}`` into Secrets Manager as ``townhall-<tenant>-<name>``, tagged
    ``townhall = upstream-key`` and ``tenant`` (as infra/aws tags them); a secret that exists gets a new value. Returns how many."""
    count = 0
    for tenant, named in sorted(secrets.items()):
        for name, value in sorted((named or {}).items()):
            sid = secret_id(tenant, name)
            try:
                client.create_secret(
                    Name=sid,
                    SecretString=str(value),
                    Tags=[{"Key": "townhall", "Value": "upstream-key"}, {"Key": "tenant", "Value": tenant}],
                )
            except client.exceptions.ResourceExistsException:
                client.put_secret_value(SecretId=sid, SecretString=str(value))
            count += 1
    return count


def function_url_event(
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    method: str = "POST",
    base64_body: bool = False,
    source_ip: str = "127.0.0.1",
) -> dict:
    """A Lambda Function URL event (payload format 2.0), as AWS sends it: header names in lower
    case, the body as text (base64 when ``base64_body``)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "townhall-local",
            "domainName": "townhall-local.lambda-url.eu-west-2.on.aws",
            "domainPrefix": "townhall-local",
            "http": {
                "method": method,
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "townhall",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": base64.b64encode(raw).decode() if base64_body else raw.decode("utf-8"),
        "isBase64Encoded": base64_body,
    }


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Context:
    """A stand-in for Lambda's context object: the remaining time counts down from ``millis``."""

    def __init__(self, millis: int = 6000):
        self._ends = time.monotonic() + millis / 1000
        self.function_name = "townhall-webhook"
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def invoke(handler: Any, body: Any, headers: Mapping[str, str], millis: int = 6000, **kw) -> tuple[int, dict, Any]:
    """Call a Lambda handler with a Function URL event: (status, headers, parsed JSON body)."""
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    answer = handler(function_url_event(raw, headers, **kw), Context(millis))
    try:
        parsed = json.loads(answer["body"])
    except ValueError:
        parsed = None
    return answer["statusCode"], answer["headers"], parsed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """``moto_server`` on 127.0.0.1 and a free port, in its own process group; ``stop`` ends it
    (and ``start`` may serve again on the same port, empty: moto keeps nothing on disk)."""

    def __init__(self, log: Path | None = None, port: int | None = None):
        self.port = port or _free_port()
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, seconds: float = 30) -> MotoServer:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.proc.returncode} (log: {self.log})")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto server not listening on {self.url} after {seconds}s (log: {self.log})")

    def stop(self) -> None:
        from .simulator.chat import stop_group

        if self.proc is not None:
            stop_group(self.proc)
            self.proc = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
