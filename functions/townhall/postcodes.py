"""UK postcodes as residents type them: find one in text and write it the standard way.

    normalise("ox11bx") == "OX1 1BX";  normalise("not a postcode") is None
    compact("OX1 1BX") == "OX11BX"     (for URLs such as postcodes.io and Democracy Club)

The pattern is the one the library's ``@uk-postcode`` regexp entity uses (format only: whether a
postcode exists is for postcodes.io or the council's address service to say).
"""

from __future__ import annotations

import re

ENTITY_PATTERN = r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}"
_FULL = re.compile(r"^\s*([A-Za-z]{1,2}[0-9][A-Za-z0-9]?)\s*([0-9][A-Za-z]{2})\s*$")
_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,2}[0-9][A-Za-z0-9]?) ?([0-9][A-Za-z]{2})(?![A-Za-z0-9])")


def normalise(value: object) -> str | None:
    """The postcode in standard form (upper case, one space before the inward code), or None."""
    if not isinstance(value, str):
        return None
    match = _FULL.match(value)
    if match is None:
        return None
    return f"{match.group(1).upper()} {match.group(2).upper()}"


def find(text: str) -> str | None:
    """The first postcode written in free text, normalised, or None."""
    match = _IN_TEXT.search(text or "")
    return f"{match.group(1).upper()} {match.group(2).upper()}" if match else None


def compact(postcode: str) -> str:
    return postcode.replace(" ", "").upper()
