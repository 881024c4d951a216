"""Replies every process may need: how to reach the council, in the turn's language.

The runtime uses these for its own fallbacks; processes may import them too (they are pure).
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from .contract import Council, Link, Texts
from .yamlio import load_yaml

_MESSAGES = Path(__file__).with_name("messages")
LANGUAGES = ("en", "cy")


@cache
def _messages(language: str) -> dict:
    return load_yaml(_MESSAGES / f"{language}.yaml")


@lru_cache(maxsize=64)
def runtime_texts(language: str) -> Texts:
    """The runtime's replies in ``language`` (a code such as ``cy`` or ``cy-GB``), else English."""
    language = language.split("-", 1)[0].lower()
    if language not in LANGUAGES:
        language = "en"
    return Texts(language, _messages(language), _messages("en"))


def how_to_reach(council: Council, language: str) -> tuple[str, tuple[Link, ...]]:
    """A sentence with the council's phone, email and web form, and links to them."""
    t = runtime_texts(language)
    c = council.contact
    ways = []
    if c.phone:
        ways.append(t("by_phone", phone=c.phone))
    if c.email:
        ways.append(t("by_email", email=c.email))
    if c.web_form:
        ways.append(t("by_web_form"))
    joined = ways[0] if len(ways) == 1 else f"{', '.join(ways[:-1])} {t('or')} {ways[-1]}"
    links = []
    if c.web_form:
        links.append(Link(t("web_form_link"), c.web_form))
    if c.website:
        links.append(Link(t("website_link"), c.website))
    return t("reach_us", council=council.name, ways=joined), tuple(links)
