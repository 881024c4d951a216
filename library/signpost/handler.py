"""signpost: send the resident to the right web page for a council service the bot has no process for.

The service is its LGSL code: the ``service`` parameter (the ``lgsl-service`` entity), else the
longest of the services' words found in what the resident wrote (either language: residents mix
them). The council's settings give its own page per code; a two-tier district's ``county`` gives
the county's pages, used for services of tier ``county`` (and any service the county lists).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from townhall.contract import Link, Reply, Settings, Turn
from townhall.kit import fold, has_phrase, localised
from townhall.replies import how_to_reach

from .services import LANGUAGES, Service, by_code, services

MAX_CHOICES = 6
# What the bot suggests when it cannot tell the service: these, as far as the council has them.
EXAMPLES = ("487", "474", "13", "412", "437", "510")
MAX_EXAMPLES = 3
OR = {"en": "or", "cy": "neu"}

SERVICES = by_code()
# (folded words, code), longest first: the resident's words are matched against these in order.
WORDS = tuple(
    sorted(
        {(fold(w), s.code) for s in services() for lang in LANGUAGES for w in s.words[lang] if fold(w)},
        key=lambda pair: (-len(pair[0]), pair[0]),
    )
)


def service_asked(turn: Turn) -> Service | None:
    """The service the resident asked about, or None."""
    value = turn.param("service")
    if isinstance(value, list):  # a list parameter in some agents: the first value
        value = value[0] if value else None
    if value is not None and str(value) in SERVICES:
        return SERVICES[str(value)]
    said = fold(turn.query_text)
    for words, code in WORDS:
        if has_phrase(said, words):
            return SERVICES[code]
    return None


def _url(page: Mapping[str, Any], language: str) -> str:
    return page.get("url_cy") if language == "cy" and page.get("url_cy") else page["url"]


def _county_page(service: Service, county: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The county's page for ``service`` when the county provides it, else None."""
    if not county:
        return None
    listed = (county.get("services") or {}).get(service.code)
    if listed:
        return listed
    return county if service.tier == "county" else None


def _instead(turn: Turn, settings: Settings) -> tuple[list[str], list[str]]:
    """A sentence naming what else the bot does here, and those as quick replies."""
    labels = [s.label for s in settings.council.services if s.process != "signpost"][:MAX_CHOICES]
    if not labels:
        return [], []
    return [settings.texts("instead", services=", ".join(labels))], labels


def lower(name: str) -> str:
    """A service's name inside a sentence: "pest control", but "Blue Badge", "Budd-dal Tai"."""
    parts = name.split()
    if len(parts) > 1 and parts[1][:1].isupper():
        return name
    return name[:1].lower() + name[1:]


def _listed(names: list[str], language: str) -> str:
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {OR.get(language, 'or')} {names[-1]}"


def _examples(turn: Turn, settings: Settings) -> list[str]:
    """A few services the council has pages for, to show what the resident could ask."""
    own = settings.process.get("services") or {}
    county = settings.process.get("county")
    names = []
    for code in EXAMPLES:
        service = SERVICES[code]
        if code in own or _county_page(service, county):
            names.append(lower(localised(service.name, turn.language)))
    if not names:
        return []
    return [settings.texts("examples", examples=_listed(names[:MAX_EXAMPLES], turn.language))]


def signpost(service: Service, turn: Turn, settings: Settings) -> Reply:
    t, council, language = settings.texts, settings.council, turn.language
    name = localised(service.name, language)
    own = (settings.process.get("services") or {}).get(service.code)
    county = settings.process.get("county")
    instead, choices = _instead(turn, settings)
    if own:
        text = [t("own_page", service=name, council=council.name)]
        if own.get("phone"):
            text.append(t("own_phone", council=council.name, phone=own["phone"]))
        return Reply(text + instead, quick_replies=choices, links=[Link(name, _url(own, language))])
    page = _county_page(service, county)
    if page:
        county_name = localised(county["name"], language)
        text = [t("county_page", service=name, county=county_name, council=council.name)]
        phone = page.get("phone") or county.get("phone")
        if phone:
            text.append(t("county_phone", county=county_name, phone=phone))
        link = Link(t("link_county", service=name, county=county_name), _url(page, language))
        return Reply(text + instead, quick_replies=choices, links=[link])
    reach, links = how_to_reach(council, language)
    return Reply([t("not_here", service=lower(name)), reach, *instead], quick_replies=choices, links=links)


def handle(turn: Turn, settings: Settings) -> Reply:
    service = service_asked(turn)
    if service is not None:
        return signpost(service, turn, settings)
    reach, links = how_to_reach(settings.council, turn.language)
    instead, choices = _instead(turn, settings)
    text = [settings.texts("unknown"), *_examples(turn, settings), reach, *instead]
    return Reply(text, quick_replies=choices, links=links)
