"""GOV.UK Notify: confirmations by email or text message, for any process that makes a report.

The helper processes call (it never raises for a delivery problem: a report is never lost
because its confirmation could not be sent):

    from townhall.upstreams import notify

    contact = notify.parse_contact(text)       # Contact(channel "email"|"sms", address, display),
                                               # or raises InvalidContact(reason) - see below
    result = notify.confirm(settings.upstream, settings.process["notify"], contact,
                            {"council": ..., "summary": ..., "reference": ref}, ref, turn.deadline)
    result.sent        # False: tell the resident the report is in, but no confirmation was sent
    result.problem     # None, or why not: "unconfigured", "no_template", "timeout", "status",
                       # "unknown" (sent, no answer: it may arrive; never sent again)...

``confirm`` picks the email or text template from the settings by the contact's channel, sends
through ``upstream.once`` (keyed on the channel, template, reference and a hash of the address:
a repeated turn sends nothing more; a send whose answer never came is looked up by its reference
with ``GET /v2/notifications?reference=`` before anything else, and never sent twice) and puts only the ``reference`` (a report reference, never
personal data: ``ValueError`` if it looks like an email address or phone number) in Notify's
``reference``. Contact details are never logged.

``InvalidContact.reason``: ``email`` (has an @ but is not a valid address), ``landline`` (a UK
number that is not a mobile: texts need a mobile), ``phone`` (digits that are not a UK mobile
number) or ``neither`` (no email address or phone number in the text). Processes word these in
their own messages.

Settings (JSON Schema ``settings.schema.json`` beside this file, which process schemas refer to
with ``{"$ref": "https://townhall.example/upstreams/notify/settings.schema.json"}``):

    base_url:           https://api.notifications.service.gov.uk
    api_key_secret:     notify-api-key        # tenant secret: "{key_name}-{service_id}-{secret}"
    email_template_id:  <uuid>                # at least one of the two template ids
    sms_template_id:    <uuid>
    email_reply_to_id:  <uuid>                # optional
    sms_sender_id:      <uuid>                # optional

The API (``Client``): ``POST /v2/notifications/email`` and ``/v2/notifications/sms`` (JSON),
``GET /v2/notifications/{id}``; ``Authorization: Bearer <JWT>`` signed HS256 with the key's
secret, claims ``{"iss": service_id, "iat": now}`` (PyJWT). The API key is sliced as Notify's
Python client does: ``key[-73:-37]`` is the service id, ``key[-36:]`` the secret. Error answers
``{"status_code": N, "errors": [{"error": "<Type>", "message": "…"}]}`` raise ``NotifyError``
(an ``UpstreamError`` of kind ``status``) with ``.errors`` as ``(type, message)`` pairs; branch
on the status and type, never the wording.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from townhall.contract import Deadline
from townhall.upstream import Upstream, UpstreamError

DEFAULT_BASE_URL = "https://api.notifications.service.gov.uk"
MAX_REFERENCE = 1000
MAX_ANSWER = 64 * 1024  # a notification's answer is a few KiB
MAX_LIST = 512 * 1024  # a page of the notifications list


class NotifyError(UpstreamError):
    """A Notify error answer: ``status`` and ``errors`` as (type, message) pairs."""

    def __init__(self, message: str, status: int | None, errors: tuple[tuple[str, str], ...], body: Any = None):
        super().__init__("status", message, status, body)
        self.errors = errors

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(kind for kind, _ in self.errors)


# -- API keys and tokens ---------------------------------------------------------------------------


def split_key(api_key: str) -> tuple[str, str]:
    """(service id, secret) from a Notify API key ``{key_name}-{service_id}-{secret}``."""
    key = (api_key or "").strip()
    service_id, secret = key[-73:-37], key[-36:]
    try:
        uuid.UUID(service_id)
        uuid.UUID(secret)
    except ValueError:
        raise UpstreamError("unconfigured", "the Notify API key is not '{key_name}-{service id}-{secret}'") from None
    if len(key) < 74 or key[-74] != "-" or key[-37] != "-":
        raise UpstreamError("unconfigured", "the Notify API key is not '{key_name}-{service id}-{secret}'")
    return service_id, secret


def token(service_id: str, secret: str, issued_at: float | None = None) -> str:
    """The bearer JWT Notify expects: HS256, ``{"iss": service_id, "iat": now}``."""
    import jwt  # PyJWT, imported when a message is first sent

    claims = {"iss": service_id, "iat": int(time.time() if issued_at is None else issued_at)}
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT", "alg": "HS256"})


# -- contact details -------------------------------------------------------------------------------

_EMAIL_LOCAL = re.compile(r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\-]+$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_EMAIL_IN_TEXT = re.compile(r"[^\s<>(),;:\"]*@[^\s<>(),;:\"]*")
_PHONE_IN_TEXT = re.compile(r"\+?\(?\d[\d\s().\-]{5,}\d")


class InvalidContact(ValueError):
    """Text that is not an email address or UK mobile number; ``reason`` says which way."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Contact:
    channel: str  # "email" or "sms"
    address: str  # what Notify gets: the email address, or the mobile number as 07xxxxxxxxx
    display: str  # how to show it back to the resident

    def to_json(self) -> dict:
        return {"channel": self.channel, "address": self.address, "display": self.display}

    @classmethod
    def from_json(cls, data: Any) -> Contact | None:
        """A Contact kept in a context, checked again (contexts come back from the outside)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("address"), str):
            return None
        try:
            contact = parse_contact(data["address"])
        except InvalidContact:
            return None
        return contact if contact.channel == data.get("channel") else None


def email_address(text: str) -> str:
    """The address, with its domain in lower case; ``InvalidContact("email")`` if not valid."""
    address = text.strip().strip(".")
    if len(address) > 320 or address.count("@") != 1:
        raise InvalidContact("email")
    local, _, host = address.rpartition("@")
    host = host.lower()
    labels = host.split(".")
    if (
        not local
        or len(local) > 64
        or not _EMAIL_LOCAL.match(local)
        or ".." in local
        or local.startswith(".")
        or local.endswith(".")
        or len(host) > 253
        or len(labels) < 2
        or not all(_HOST_LABEL.match(label) for label in labels)
        or not _TLD.match(labels[-1])
    ):
        raise InvalidContact("email")
    return f"{local}@{host}"


def uk_mobile(text: str) -> str:
    """The number as ``07xxxxxxxxx``; ``InvalidContact("landline"|"phone")`` if not a UK mobile."""
    digits = re.sub(r"[\s().\-]", "", text.strip())
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("44"):
            raise InvalidContact("phone")  # international numbers are not texted here
    if not digits.isdigit():
        raise InvalidContact("phone")
    if digits.startswith("0044"):
        digits = "0" + digits[4:]
    elif digits.startswith("44") and len(digits) == 12:
        digits = "0" + digits[2:]
    elif digits.startswith("7") and len(digits) == 10:
        digits = "0" + digits
    if digits.startswith("07") and len(digits) == 11 and not digits.startswith("076"):
        return digits  # 076 is pagers, not mobiles
    if re.fullmatch(r"0[1235689]\d{8,9}", digits):
        raise InvalidContact("landline")
    raise InvalidContact("phone")


def parse_contact(text: str) -> Contact:
    """An email address or UK mobile number found in what the resident typed."""
    text = (text or "").strip()
    email = _EMAIL_IN_TEXT.search(text)
    if email:
        address = email_address(email.group(0))
        return Contact("email", address, address)
    phone = _PHONE_IN_TEXT.search(text)
    if phone:
        number = uk_mobile(phone.group(0))
        return Contact("sms", number, f"{number[:5]} {number[5:]}")
    raise InvalidContact("neither")


def looks_personal(text: str) -> bool:
    """Whether ``text`` could hold an email address or a UK phone number (a reference such as
    ``OXF-1001`` or ``1234567890`` does not)."""
    if "@" in text:
        return True
    for run in re.findall(r"\+?\d[\d\s().\-]{8,}\d", text):
        digits = re.sub(r"\D", "", run)
        if re.fullmatch(r"(0|44|0044)\d{9,10}", digits):
            return True
    return False


# -- the client ------------------------------------------------------------------------------------


class Client:
    """GOV.UK Notify's v2 API through the tenant's ``Upstream`` (deadlines, secrets)."""

    def __init__(self, upstream: Upstream, settings: Mapping[str, Any]):
        self.upstream = upstream
        self.base_url = str(settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.api_key_secret = settings.get("api_key_secret")

    def _headers(self) -> dict:
        service_id, secret = split_key(self.upstream.secret(self.api_key_secret))
        return {"Authorization": f"Bearer {token(service_id, secret)}"}

    def send_email(
        self,
        email_address: str,
        template_id: str,
        deadline: Deadline,
        *,
        personalisation: Mapping[str, Any] | None = None,
        reference: str | None = None,
        email_reply_to_id: str | None = None,
    ) -> dict:
        body = {"email_address": email_address, "template_id": template_id}
        return self._post("email", body, deadline, personalisation, reference, {"email_reply_to_id": email_reply_to_id})

    def send_sms(
        self,
        phone_number: str,
        template_id: str,
        deadline: Deadline,
        *,
        personalisation: Mapping[str, Any] | None = None,
        reference: str | None = None,
        sms_sender_id: str | None = None,
    ) -> dict:
        body = {"phone_number": phone_number, "template_id": template_id}
        return self._post("sms", body, deadline, personalisation, reference, {"sms_sender_id": sms_sender_id})

    def notification(self, notification_id: str, deadline: Deadline) -> dict:
        """A notification's current state (``status``: created, sending, delivered, ...)."""
        try:
            response = self.upstream.http.get(
                f"{self.base_url}/v2/notifications/{notification_id}", headers=self._headers(), deadline=deadline
            )
        except UpstreamError as e:
            raise _notify_error(e) from None
        return _object(response.json())

    def find(self, reference: str, template_id: str, deadline: Deadline) -> dict | None:
        """The newest notification with this ``reference`` and template (``GET /v2/notifications``
        filtered by reference), or None: how a message whose answer never came is found."""
        try:
            response = self.upstream.http.get(
                f"{self.base_url}/v2/notifications",
                params={"reference": reference},
                headers=self._headers(),
                deadline=deadline,
                max_body=MAX_LIST,
            )
        except UpstreamError as e:
            raise _notify_error(e) from None
        found = _object(response.json()).get("notifications")
        for item in found if isinstance(found, list) else []:
            if isinstance(item, dict) and (item.get("template") or {}).get("id") == template_id:
                if isinstance(item.get("id"), str) and item.get("reference") == reference:
                    return item
        return None

    def _post(self, kind: str, body: dict, deadline: Deadline, personalisation, reference, extra) -> dict:
        if personalisation:
            body["personalisation"] = dict(personalisation)
        if reference is not None:
            body["reference"] = reference
        body.update({k: v for k, v in extra.items() if v})
        try:
            response = self.upstream.http.post_json(
                f"{self.base_url}/v2/notifications/{kind}",
                body,
                headers=self._headers(),
                deadline=deadline,
                ok=(201,),
                max_body=MAX_ANSWER,
            )
        except UpstreamError as e:
            raise _notify_error(e) from None
        answer = _object(response.json())
        if not isinstance(answer.get("id"), str):
            raise UpstreamError("malformed", "Notify's answer has no notification id")
        return answer


def _object(data: Any) -> dict:
    if not isinstance(data, dict):
        raise UpstreamError("malformed", "Notify's answer is not a JSON object")
    return data


def _notify_error(e: UpstreamError) -> UpstreamError:
    if e.kind != "status":
        return e
    body = e.body if isinstance(e.body, dict) else {}
    errors = tuple(
        (str(x.get("error", "")), str(x.get("message", ""))) for x in body.get("errors", []) if isinstance(x, dict)
    )
    # The message names the types only: Notify's wording can echo what was sent.
    return NotifyError(f"{e} ({', '.join(kind for kind, _ in errors)})" if errors else str(e), e.status, errors, body)


# -- the confirmation helper -----------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    sent: bool
    channel: str | None = None
    notification_id: str | None = None
    problem: str | None = None  # why not sent: unconfigured, no_template, an UpstreamError kind
    status: int | None = None  # Notify's HTTP status when problem == "status"


def channels(settings: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The channels a council can confirm on: ``email`` and/or ``sms``, by its template ids."""
    if not settings:
        return ()
    return tuple(c for c, key in (("email", "email_template_id"), ("sms", "sms_template_id")) if settings.get(key))


def confirm(
    upstream: Upstream,
    settings: Mapping[str, Any] | None,
    contact: Contact | str,
    personalisation: Mapping[str, Any],
    reference: str,
    deadline: Deadline,
) -> Confirmation:
    """Send the council's confirmation template to ``contact``, once per reference and address.

    Never raises for a Notify or settings problem (the ``Confirmation`` says what went wrong);
    raises ``ValueError`` for a ``reference`` that could carry personal data (a programming error).
    """
    if looks_personal(reference) or len(reference) > MAX_REFERENCE:
        raise ValueError("a Notify reference must not hold an email address or phone number")
    if isinstance(contact, str):
        try:
            contact = parse_contact(contact)
        except InvalidContact as e:
            return Confirmation(False, None, problem=f"invalid_{e.reason}")
    if not settings:
        return Confirmation(False, contact.channel, problem="unconfigured")
    template = settings.get(f"{contact.channel}_template_id")
    if not template:
        return Confirmation(False, contact.channel, problem="no_template")
    client = Client(upstream, settings)
    hashed = hashlib.sha256(contact.address.encode("utf-8")).hexdigest()[:16]
    key = f"notify:{contact.channel}:{template}:{reference}:{hashed}"

    def send() -> dict:
        if contact.channel == "email":
            answer = client.send_email(
                contact.address,
                template,
                deadline,
                personalisation=personalisation,
                reference=reference,
                email_reply_to_id=settings.get("email_reply_to_id"),
            )
        else:
            answer = client.send_sms(
                contact.address,
                template,
                deadline,
                personalisation=personalisation,
                reference=reference,
                sms_sender_id=settings.get("sms_sender_id"),
            )
        return {"id": answer["id"]}

    def sent_before() -> dict | None:  # an earlier attempt whose answer never came: did it go?
        found = client.find(reference, template, deadline)
        return {"id": found["id"]} if found else None

    try:
        result = upstream.once(key, send, deadline, check=sent_before)
    except UpstreamError as e:
        # "unknown": sent before, no answer, and not found since: it may still arrive, so it is
        # never sent again (the caller says the confirmation may come, or to contact the council).
        return Confirmation(False, contact.channel, problem=e.kind, status=e.status)
    return Confirmation(True, contact.channel, notification_id=str(result.get("id")))
