"""Conversation tokens: a signed, expiring JWT (HS256, PyJWT) naming one conversation.

Claims: ``iss`` ``townhall-chat``, ``aud`` the council's tenant id, ``sid`` a random session id
(the Dialogflow session), ``lang`` the conversation's language, ``iat`` and ``exp``. Each council
signs with its own key, derived from the one signing key by HMAC-SHA256 over the council's id, so a
token made for one council never verifies as another's even if its claims were rewritten.

The signing key (``signing_key_from_env``):

- production: ``TOWNHALL_CHAT_SIGNING_SECRET`` names a Secret Manager secret in
  ``TOWNHALL_SECRETS_PROJECT`` (default ``GOOGLE_CLOUD_PROJECT``), read through the tenant secrets'
  cache (``townhall/secrets.py``: ``TOWNHALL_SECRETS_TTL`` seconds, the last good value kept on errors);
- development and tests only: with ``TOWNHALL_CHAT_DEV=1`` and no secret named, ``DEV_KEY`` below,
  a published key that must never sign anything real;
- neither: no key, and the gateway answers 503 ``unavailable`` rather than sign with a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ISSUER = "townhall-chat"
ALGORITHM = "HS256"
TTL = 1800  # seconds a token lives; every turn gives a fresh one
# DEV KEY, development and tests only (TOWNHALL_CHAT_DEV=1): published here, so worthless as a secret.
DEV_KEY = b"townhall-DEV-ONLY-chat-signing-key-never-use-in-production"
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
COUNCIL = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")  # a tenant id (townhall.settings.TENANT_ID)
LANGUAGE = re.compile(r"^(en|cy)$")


class TokenError(Exception):
    """The token cannot be used; ``code`` is ``token_invalid`` or ``token_expired``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class NoKey(Exception):
    """No signing key is configured or readable."""


@dataclass(frozen=True)
class Conversation:
    council: str
    session: str  # 32 hex digits: the Dialogflow session id
    language: str

    @classmethod
    def new(cls, council: str, language: str) -> Conversation:
        return cls(council, secrets.token_hex(16), language)


def council_key(master: bytes, council: str) -> bytes:
    """The council's own signing key."""
    return hmac.new(master, b"townhall-chat-token:" + council.encode(), hashlib.sha256).digest()


def issue(master: bytes, conversation: Conversation, ttl: int = TTL, now: float | None = None) -> str:
    import jwt  # PyJWT: imported on first use, not at cold start

    issued = int(time.time() if now is None else now)
    claims = {
        "iss": ISSUER,
        "aud": conversation.council,
        "sid": conversation.session,
        "lang": conversation.language,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, council_key(master, conversation.council), algorithm=ALGORITHM)


def claimed_council(token: str) -> str:
    """The council a token says it belongs to, read before its signature is checked (to find the
    council's key and allowed origins); ``TokenError`` when it names none."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenError("token_invalid", "the conversation token is not a token this service made") from None
    council = claims.get("aud")
    if not isinstance(council, str) or not COUNCIL.match(council):
        raise TokenError("token_invalid", "the conversation token names no council")
    return council


def verify(master: bytes, token: str, council: str) -> Conversation:
    """The conversation a token opens, checked with ``council``'s key; ``TokenError`` otherwise."""
    import jwt

    try:
        claims = jwt.decode(
            token,
            council_key(master, council),
            algorithms=[ALGORITHM],
            audience=council,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token_expired", "the conversation has expired: start a new one") from None
    except jwt.PyJWTError:
        raise TokenError("token_invalid", "the conversation token was changed or is not this council's") from None
    session, language = claims.get("sid"), claims.get("lang")
    if not isinstance(session, str) or not SESSION_ID.match(session):
        raise TokenError("token_invalid", "the conversation token holds no session")
    if not isinstance(language, str) or not LANGUAGE.match(language):
        raise TokenError("token_invalid", "the conversation token holds no language")
    return Conversation(council, session, language)


def bearer(header: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        return None
    return token


def _secret_manager_key(project: str, secret: str, ttl: float, client: Any = None) -> Callable[[], bytes]:
    """The key in Secret Manager, through the tenant secrets' own cache (``SecretManagerSecrets``):
    kept ``ttl`` seconds, the last good value served when a read fails, and a failing store not
    asked again for a few seconds, so no request waits on it meanwhile."""
    from ..secrets import SecretManagerSecrets

    class PlatformSecret(SecretManagerSecrets):
        def _read(self, tenant: str, name: str) -> str:  # the platform's one secret, not a tenant's
            path = f"projects/{self.project}/secrets/{secret}/versions/latest"
            return self.client.access_secret_version(name=path, timeout=2.0).payload.data.decode("utf-8")

    store = PlatformSecret(project, ttl, client=client)

    def key() -> bytes:
        value = store("chat", "signing-key")
        if not value:
            raise NoKey(f"the chat signing key ({secret}) is not readable")
        return value.encode("utf-8")

    return key


def signing_key_from_env(env: Mapping[str, str] = os.environ, client: Any = None) -> Callable[[], bytes]:
    secret = env.get("TOWNHALL_CHAT_SIGNING_SECRET", "").strip()
    if secret:
        project = env.get("TOWNHALL_SECRETS_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise ValueError(
                "TOWNHALL_CHAT_SIGNING_SECRET needs TOWNHALL_SECRETS_PROJECT or GOOGLE_CLOUD_PROJECT "
                "(the platform project holding the secret)"
            )
        return _secret_manager_key(project, secret, float(env.get("TOWNHALL_SECRETS_TTL", "300")), client)
    if env.get("TOWNHALL_CHAT_DEV") == "1":
        return lambda: DEV_KEY

    def missing() -> bytes:
        raise NoKey("set TOWNHALL_CHAT_SIGNING_SECRET (production) or TOWNHALL_CHAT_DEV=1 (development only)")

    return missing
