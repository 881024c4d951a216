"""GOV.UK Pay, as this process uses it: create a card payment, and read a payment's status.

The published contract (GOV.UK Pay API reference, pay-tech-docs):

- ``POST {base}/v1/payments`` with ``Authorization: Bearer <API key>`` and a JSON body:
  ``amount`` (integer pence, 30 to 10,000,000), ``reference`` (at most 255 characters, no URLs),
  ``description`` (at most 255), ``return_url`` (at most 2,000, https), ``language`` (en or cy)
  and optional ``metadata``; 201 with ``payment_id``, ``state {status: created, finished: false}``
  and ``_links.next_url.href``, where the resident pays.
- ``Idempotency-Key`` (1 to 255 letters, digits and hyphens): the same key with the same body
  answers 200 with the original payment; with another body 409 ``P0191``.
- ``GET {base}/v1/payments/{payment_id}``: 200 with ``state {status, finished, code?, message?}``.
- Errors are JSON ``{field?, code, description}``: 400 ``P0101`` missing field / ``P0197`` bad JSON
  / ``P0920`` firewall; 401 with no body; 404 ``P0200``; 409 ``P0191``; 422 ``P0102`` invalid
  value; 429 ``P0900``; 5xx ``P0198`` / ``P0999``.

Values are checked here before anything is sent (``ValueError`` names the field), so a council's
settings or a resident's words can never make the bot send what GOV.UK Pay would refuse.
Anything GOV.UK Pay does not answer as the contract says raises ``UpstreamError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from townhall.contract import Deadline
from townhall.upstream import Http, UpstreamError

from .money import MAX_PENCE, MIN_PENCE

FIREWALL = re.compile(r'[<>"\\|]')  # refused by GOV.UK Pay's firewall (P0920)
URL_IN_TEXT = re.compile(r"https?://|www\.", re.IGNORECASE)
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9-]{1,255}$")
PAYMENT_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
LANGUAGES = ("en", "cy")


@dataclass(frozen=True)
class Payment:
    payment_id: str
    status: str  # created, started, submitted, capturable, success, failed, cancelled, error
    finished: bool
    next_url: str | None = None  # only while the resident can still pay
    code: str | None = None  # why it failed: P0010 rejected, P0020 expired, P0030 cancelled by the resident...


def error_code(error: UpstreamError) -> str | None:
    """GOV.UK Pay's ``code`` (``P0102``...) from a failed call, when it sent one."""
    return error.body.get("code") if isinstance(error.body, dict) else None


def _text(field: str, value: str, limit: int, urls: bool = True) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: required")
    if len(value) > limit:
        raise ValueError(f"{field}: at most {limit} characters")
    if FIREWALL.search(value):
        raise ValueError(f'{field}: GOV.UK Pay refuses < > " \\ and |')
    if not urls and URL_IN_TEXT.search(value):
        raise ValueError(f"{field}: must not contain a URL")


def payment_body(
    *,
    amount: int,
    reference: str,
    description: str,
    return_url: str,
    language: str,
    metadata: Mapping[str, str] | None = None,
) -> dict:
    """The JSON body of a 'create a payment' request, checked against the contract."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not MIN_PENCE <= amount <= MAX_PENCE:
        raise ValueError(f"amount: whole pence from {MIN_PENCE} to {MAX_PENCE}")
    _text("reference", reference, 255, urls=False)
    _text("description", description, 255, urls=False)
    _text("return_url", return_url, 2000)
    if not return_url.startswith("https://"):
        raise ValueError("return_url: must be https")
    if language not in LANGUAGES:
        raise ValueError(f"language: one of {LANGUAGES}")
    body: dict[str, Any] = {
        "amount": amount,
        "reference": reference,
        "description": description,
        "return_url": return_url,
        "language": language,
    }
    if metadata:
        if len(metadata) > 15:
            raise ValueError("metadata: at most 15 keys")
        for key, value in metadata.items():
            _text(f"metadata key {key!r}", key, 30)
            _text(f"metadata.{key}", value, 100)
        body["metadata"] = dict(metadata)
    return body


def _payment(data: Any) -> Payment:
    if not isinstance(data, dict):
        raise UpstreamError("malformed", "GOV.UK Pay's payment is not a JSON object")
    payment_id, state = data.get("payment_id"), data.get("state")
    if not isinstance(payment_id, str) or not PAYMENT_ID.match(payment_id) or not isinstance(state, dict):
        raise UpstreamError("malformed", "GOV.UK Pay's payment has no payment_id or state")
    status, finished = state.get("status"), state.get("finished")
    if not isinstance(status, str) or not isinstance(finished, bool):
        raise UpstreamError("malformed", "GOV.UK Pay's payment state has no status or finished")
    next_url = ((data.get("_links") or {}).get("next_url") or {}).get("href")
    if next_url is not None and (not isinstance(next_url, str) or not re.match(r"^https?://\S+$", next_url)):
        raise UpstreamError("malformed", "GOV.UK Pay's next_url is not a URL")
    code = state.get("code") if isinstance(state.get("code"), str) else None
    return Payment(payment_id, status, finished, next_url, code)


class PayClient:
    def __init__(self, http: Http, base_url: str, api_key: str):
        self.http = http
        self.base = base_url.rstrip("/")
        self.api_key = api_key

    def _headers(self, **extra: str) -> dict:
        return {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json", **extra}

    def create(self, body: Mapping[str, Any], *, idempotency_key: str, deadline: Deadline) -> Payment:
        """Create a payment (``body`` from ``payment_body``); the same key and body give the same payment."""
        if not IDEMPOTENCY_KEY.match(idempotency_key):
            raise ValueError("idempotency_key: 1 to 255 letters, digits and hyphens")
        response = self.http.post_json(
            f"{self.base}/v1/payments",
            dict(body),
            deadline=deadline,
            ok=(200, 201),
            headers=self._headers(**{"Idempotency-Key": idempotency_key}),
        )
        payment = _payment(response.json())
        if payment.next_url is None and not payment.finished:
            raise UpstreamError("malformed", "GOV.UK Pay's new payment has no next_url", response.status)
        return payment

    def get(self, payment_id: str, *, deadline: Deadline) -> Payment:
        """A payment's current status (strongly consistent)."""
        if not PAYMENT_ID.match(payment_id):
            raise ValueError("payment_id: letters and digits")
        response = self.http.get(f"{self.base}/v1/payments/{payment_id}", deadline=deadline, headers=self._headers())
        return _payment(response.json())
