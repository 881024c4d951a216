"""Put a tenant's agent into its Google Cloud project with ``google-cloud-dialogflow``.

1. ``AgentsClient.restore_agent(parent="projects/<dialogflow.project>", agent_content=<ZIP>)``,
   waiting on the long-running operation (restore replaces every intent and entity type, and the
   fulfillment with the ZIP's webhook, which is off: the agent answers with the intents' static
   texts, the council's contact details, never through a webhook with an empty URL);
2. ``FulfillmentsClient.update_fulfillment``: our webhook URL, HTTP Basic with the tenant id as
   username and the tenant's webhook secret as password, enabled;
3. ``AgentsClient.train_agent``, waiting likewise (the trained agent is live with its webhook).

The secret comes, in this order, from ``--password-from-env VAR``, ``TOWNHALL_WEBHOOK_PASSWORD``,
or Secret Manager (``townhall-<tenant>-webhook-password`` in the platform project, where Terraform
keeps it, when
``google-cloud-secret-manager`` is installed). Before anything is sent it must match the
``webhook.password_sha256`` of the tenant file, or every turn would be refused.

``TOWNHALL_DIALOGFLOW_ENDPOINT=host:port`` sends every call, over a plaintext channel, to a
local stand-in instead of Google (the tests' fake server).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

from townhall.secrets import secret_id
from townhall.tenants import Tenant

from ..delivery import WEBHOOK_PLACEHOLDER
from .build import AgentExport

ENDPOINT_ENV = "TOWNHALL_DIALOGFLOW_ENDPOINT"
URL_ENV = "TOWNHALL_WEBHOOK_URL"
PASSWORD_ENV = "TOWNHALL_WEBHOOK_PASSWORD"
# The fulfillment's name, as infra/modules/tenant sets it too: one value, so a deploy and the next
# Terraform plan agree (tests/test_infra.py checks both).
FULFILLMENT_NAME = "townhall-webhook"
PLATFORM_ENV = "TOWNHALL_PLATFORM_PROJECT"
WEBHOOK_SECRET = "webhook-password"  # the tenant module's Secret Manager secret townhall-<id>-webhook-password
OPERATION_TIMEOUT = 600.0  # seconds for restore and for training


class DeployError(Exception):
    """The agent cannot be deployed; the message says what was wrong and how to fix it."""


def secret_name(tenant_id: str, platform_project: str) -> str:
    return f"projects/{platform_project}/secrets/{secret_id(tenant_id, WEBHOOK_SECRET)}/versions/latest"


def webhook_url(given: str | None) -> str:
    url = given or os.environ.get(URL_ENV, "")
    if not url:
        raise DeployError(
            f"no webhook URL: pass --webhook-url https://... or set {URL_ENV} "
            "(in production the Terraform output of the function's URL)"
        )
    if not url.startswith("https://"):
        raise DeployError(f"webhook URL {url!r}: Dialogflow calls HTTPS fulfillment only; give the https:// URL")
    return url


def webhook_password(tenant: Tenant, from_env: str | None = None, platform_project: str | None = None) -> str:
    """The tenant's webhook secret, checked against the SHA-256 its tenant file keeps."""
    if from_env:
        password = os.environ.get(from_env)
        if not password:
            raise DeployError(f"--password-from-env {from_env}: that environment variable is not set or empty")
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    else:
        password = _from_secret_manager(tenant, platform_project)
    if tenant.password_sha256 == WEBHOOK_PLACEHOLDER:
        # Terraform owns this council's secret and delivers its hash to the settings itself
        # (settings push --webhook-hashes); the file has nothing to check the password against.
        return password
    digest = hashlib.sha256(password.encode()).hexdigest()
    if not hmac.compare_digest(digest, tenant.password_sha256):
        raise DeployError(
            f"the webhook password given for {tenant.id!r} does not match webhook.password_sha256 in "
            f"its tenant file: the webhook would refuse every turn; give the secret that file's hash "
            "was made from, or update the file"
        )
    return password


def _from_secret_manager(tenant: Tenant, platform_project: str | None) -> str:
    project = platform_project or os.environ.get(PLATFORM_ENV) or os.environ.get("GOOGLE_CLOUD_PROJECT")
    how = f"pass --password-from-env VAR or set {PASSWORD_ENV}"
    if not project:
        raise DeployError(
            f"no webhook password: {how}, or name the platform project holding Secret Manager "
            f"secret {secret_id(tenant.id, WEBHOOK_SECRET)} (--platform-project or {PLATFORM_ENV})"
        )
    try:
        from google.cloud import secretmanager  # optional: only deploys that read Secret Manager need it
    except ImportError:
        raise DeployError(
            f"no webhook password: {how}, or pip install google-cloud-secret-manager "
            f"to read secret {secret_id(tenant.id, WEBHOOK_SECRET)} from {project}"
        ) from None
    name = secret_name(tenant.id, project)
    try:
        response = secretmanager.SecretManagerServiceClient().access_secret_version(name=name)
    except Exception as e:  # noqa: BLE001 - any API failure is reported with the secret's name
        raise DeployError(f"could not read {name}: {e}") from e
    return response.payload.data.decode("utf-8")


def clients():
    """(AgentsClient, FulfillmentsClient): Google's, or a local stand-in's at TOWNHALL_DIALOGFLOW_ENDPOINT."""
    from google.cloud import dialogflow_v2

    endpoint = os.environ.get(ENDPOINT_ENV)
    if not endpoint:
        return dialogflow_v2.AgentsClient(), dialogflow_v2.FulfillmentsClient()
    import grpc
    from google.cloud.dialogflow_v2.services.agents.transports import AgentsGrpcTransport
    from google.cloud.dialogflow_v2.services.fulfillments.transports import FulfillmentsGrpcTransport

    channel = grpc.insecure_channel(endpoint)
    return (
        dialogflow_v2.AgentsClient(transport=AgentsGrpcTransport(channel=channel)),
        dialogflow_v2.FulfillmentsClient(transport=FulfillmentsGrpcTransport(channel=channel)),
    )


def deploy(
    export: AgentExport, url: str, password: str, say: Callable[[str], None] = print, timeout: float = OPERATION_TIMEOUT
) -> None:
    """Restore, point the fulfillment at ``url`` with the tenant's credential, then train."""
    from google.api_core import exceptions
    from google.protobuf import field_mask_pb2

    tenant = export.tenant
    parent = f"projects/{tenant.project}"
    agents, fulfillments = clients()
    content = export.zip_bytes()
    try:
        say(f"{tenant.id}: restoring the agent in {parent} ({len(content)} bytes)")
        agents.restore_agent(request={"parent": parent, "agent_content": content}).result(timeout=timeout)
        # The ZIP's webhook is off: until the fulfillment is set, the restored agent answers with
        # the intents' static texts (the council's contact details). Set it before training, so
        # the trained agent is never live without its webhook.
        say(f"{tenant.id}: fulfillment -> {url} (Basic, username {tenant.id})")
        fulfillments.update_fulfillment(
            fulfillment={
                "name": f"{parent}/agent/fulfillment",
                "display_name": FULFILLMENT_NAME,
                "enabled": True,
                "generic_web_service": {"uri": url, "username": tenant.id, "password": password},
            },
            update_mask=field_mask_pb2.FieldMask(paths=["display_name", "enabled", "generic_web_service"]),
        )
        say(f"{tenant.id}: training")
        agents.train_agent(request={"parent": parent}).result(timeout=timeout)
    except exceptions.GoogleAPICallError as e:
        raise DeployError(f"{tenant.id}: Dialogflow refused ({parent}): {e.message or e}") from e
    except TimeoutError as e:  # concurrent.futures.TimeoutError is TimeoutError on 3.11
        raise DeployError(f"{tenant.id}: the operation did not finish within {timeout:g} s") from e
