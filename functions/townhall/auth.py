"""Webhook authentication: HTTP Basic, username = tenant id, password = the tenant's webhook secret.

Settings hold only the secret's SHA-256; the comparison is constant-time. A credential is checked
against the tenant its username names, as the tenant index holds it (``townhall.settings``: every
tenant's hash and project, read once per cache period, never per name), and that tenant must own
the session's project: a valid credential for one council never opens another. A name the index
does not hold is checked against a dummy hash, the same work as a wrong password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

REALM = 'Basic realm="townhall", charset="UTF-8"'
_DUMMY = hashlib.sha256(b"no such tenant").hexdigest()


@lru_cache(maxsize=256)  # a caller sends the same header on every turn: decode it once
def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(username, password) from an ``Authorization: Basic ...`` header, or None."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        return None
    return username, password


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


# Passwords already proven against a stored hash: (password, stored hash) pairs, so a warm turn
# skips hashing. Only successes are kept, so guesses always pay for the full check; a rotated
# secret (a new stored hash) never matches an old entry.
_proven: set[tuple[str, str]] = set()
_PROVEN_MAX = 1024


def check_password(password: str, stored_sha256: Any) -> bool:
    """Constant-time check of a password against a stored SHA-256 (a non-string never matches)."""
    if (password, stored_sha256) in _proven:
        return True
    expected = stored_sha256 if isinstance(stored_sha256, str) and len(stored_sha256) == 64 else _DUMMY
    ok = hmac.compare_digest(password_hash(password).encode(), expected.lower().encode("ascii", "replace"))
    ok = ok and expected is stored_sha256
    if ok:
        if len(_proven) >= _PROVEN_MAX:
            _proven.clear()
        _proven.add((password, stored_sha256))
    return ok


def raw_credentials(doc: Mapping[str, Any] | None) -> tuple[Any, Any]:
    """(password_sha256, project) read from a document that failed validation, if present."""
    if not isinstance(doc, dict):
        return None, None
    webhook, dialogflow = doc.get("webhook"), doc.get("dialogflow")
    return (
        webhook.get("password_sha256") if isinstance(webhook, dict) else None,
        dialogflow.get("project") if isinstance(dialogflow, dict) else None,
    )
