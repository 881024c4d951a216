"""Helpers shared by the test suites (importable as ``support``; pytest puts tests/ on the path)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = REPO / "functions"
TENANTS = REPO / "infra" / "tenants"
PASSWORDS = {"oxford": "townhall-dev-oxford", "cardiff": "townhall-dev-cardiff"}
PROJECTS = {"oxford": "townhall-demo-oxford", "cardiff": "townhall-demo-cardiff"}
MAX_RESPONSE = 64 * 1024


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def auth_for(tenant: str) -> dict:
    return {"Authorization": basic(tenant, PASSWORDS[tenant])}


def check_response(body: bytes, session: str | None) -> dict:
    """Strict checks of a 200 answer, as Dialogflow applies them (and the brief adds)."""
    from google.cloud.dialogflow_v2.types import WebhookResponse

    assert len(body) <= MAX_RESPONSE, f"response is {len(body)} bytes"
    text = body.decode("utf-8")
    WebhookResponse.from_json(text)  # strict: unknown fields, wrong types and bad enums raise
    data = json.loads(text)
    assert data.get("fulfillmentText") or data.get("followupEventInput"), data
    for message in data.get("fulfillmentMessages", []):
        assert "platform" not in message, message
        if "payload" in message:
            assert set(message["payload"]) == {"richContent"}, message
    for context in data.get("outputContexts", []):
        assert session is not None and context["name"].startswith(session + "/contexts/"), context
    return data
