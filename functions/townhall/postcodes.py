"""UK postcodes as residents type them: find one in text and write it the standard way.

    normalise("ox11bx") == "OX1 1BX";  normalise("not a postcode") is None
    compact("OX1 1BX") == "OX11BX"     (for URLs such as postcodes.io and Democracy Club)
    said(turn.param("postcode"), turn.query_text) == ("OX1 1BX", True)   (what a resident gave)

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


def said(parameter: object, text: str) -> tuple[str | None, bool]:
    """The postcode a resident gave, and whether they gave anything meant as one.

    ``parameter`` is Dialogflow's ``@uk-postcode`` value (a string, or a list whose first text
    counts); without a valid one, the first postcode written in ``text``. ``(None, True)`` means
    something was given that is not a postcode: answer with format help rather than asking again.
    """
    if isinstance(parameter, list):
        parameter = next((p for p in parameter if isinstance(p, str) and p.strip()), None)
    found = normalise(parameter) or find(text)
    return found, bool(found or (isinstance(parameter, str) and parameter.strip()))
