"""which_council: which council serves a postcode, from postcodes.io.

"That's us" when the postcode's district (or county) is the council's own ONS code; otherwise
"that postcode is served by X, not us", with where to go instead. In two-tier England both the
district and the county council are named with what each looks after (the tenant's ``tiers``
text); Welsh, Scottish and Northern Irish councils are described as they are. Retired postcodes
say when they were retired; mistyped ones get format help. Any upstream failure ends in a reply
with GOV.UK's council finder and the council's own contact details, keeping the flow's context so
the resident can simply type the postcode again.
"""

from __future__ import annotations

from townhall.contract import Deadline, Link, OutputContext, Reply, Settings, Turn
from townhall.kit import localised, postcode_said
from townhall.replies import how_to_reach, runtime_texts
from townhall.upstream import UpstreamError
from townhall.upstreams import postcodes

CONTEXT = "which_council-postcode"
LIFESPAN = 2
RESERVE = 0.2  # seconds of the turn kept back to answer when postcodes.io is slow
SINGLE_TIER = ("E06", "E08", "E09", "W06", "S12", "N09")  # kinds of council that do everything


def _sentence(text: str) -> str:
    """A sentence that starts with a council's name ("the council for Cherwell ...") in capitals."""
    return text[:1].upper() + text[1:]


def _keep(text, links=()) -> Reply:
    return Reply(text, links=links, contexts=[OutputContext(CONTEXT, LIFESPAN)])


class Names:
    """Councils' names and websites in the turn's language, from the settings where listed."""

    def __init__(self, settings: Settings, language: str):
        self.t = settings.texts
        self.language = language
        self.councils = settings.process.get("councils") or {}

    def _listed(self, code: str | None) -> dict | None:
        return self.councils.get(code) if code else None

    def district(self, place: postcodes.Place) -> str:
        listed = self._listed(place.district_code)
        return localised(listed["name"], self.language) if listed else self.t("council_for", area=place.district)

    def county(self, place: postcodes.Place) -> str:
        listed = self._listed(place.county_code)
        return localised(listed["name"], self.language) if listed else self.t("county_council", county=place.county)

    def website(self, code: str | None, name: str) -> list[Link]:
        listed = self._listed(code)
        if listed and listed.get("website"):
            return [Link(self.t("website_link", council=name), listed["website"])]
        return []


def _finder(settings: Settings) -> tuple[list[str], list[Link]]:
    url = settings.process.get("find_council_url")
    if not url:
        return [], []
    t = settings.texts
    return [t("find_council_hint")], [Link(t("find_council_link"), url)]


def _ours(place: postcodes.Place, gss: str, turn: Turn, settings: Settings, names: Names) -> Reply:
    t, tiers, language = settings.texts, settings.process["tiers"], turn.language
    text = [t("ours", postcode=place.postcode, council=settings.council.name)]
    links: list[Link] = []
    if place.two_tier and gss == place.district_code:
        county = names.county(place)
        text += [
            t("ours_district", district_services=localised(tiers["district"], language)),
            _sentence(t("county_does", council=county, services=localised(tiers["county"], language))),
            t("other_tier", council=county),
        ]
        links = names.website(place.county_code, county)
    elif place.two_tier:  # the council is the county
        district = names.district(place)
        text += [
            t("ours_county", county_services=localised(tiers["county"], language)),
            _sentence(t("district_does", council=district, services=localised(tiers["district"], language))),
            t("other_tier", council=district),
        ]
        links = names.website(place.district_code, district)
    elif gss.startswith("N09"):
        text.append(t("ours_n09"))
    else:
        text.append(t("ours_single"))
    return Reply(text, links=links)


def _not_ours(place: postcodes.Place, turn: Turn, settings: Settings, names: Names) -> Reply:
    t, tiers, language = settings.texts, settings.process["tiers"], turn.language
    district = names.district(place)
    if place.two_tier:
        county = names.county(place)
        text = [
            t("not_ours_two_tier", postcode=place.postcode, district=place.district, county=place.county),
            _sentence(t("district_does", council=district, services=localised(tiers["district"], language))),
            _sentence(t("county_does", council=county, services=localised(tiers["county"], language))),
        ]
        links = names.website(place.district_code, district) + names.website(place.county_code, county)
    else:
        text = [t("not_ours", postcode=place.postcode, council=district)]
        kind = (place.district_code or "")[:3]
        if kind in SINGLE_TIER:
            text.append(t(f"kind_{kind.lower()}"))
        links = names.website(place.district_code, district)
    text.append(t("contact_them"))
    if not links:
        hint, links = _finder(settings)
        text += hint
    return Reply(text, links=links)


def describe(place: postcodes.Place, turn: Turn, settings: Settings) -> Reply:
    """Who serves the place, worded for its nation and tiers, from the council's point of view."""
    t, names = settings.texts, Names(settings, turn.language)
    if place.district_code is None or not place.district:
        if place.country and place.country not in postcodes.NATIONS:  # Channel Islands, Isle of Man
            return Reply(t("no_council", postcode=place.postcode, country=place.country))
        hint, links = _finder(settings)
        return Reply([t("unknown_area", postcode=place.postcode), *hint], links=links)
    gss = settings.council.gss_code
    if gss and gss in (place.district_code, place.county_code):
        return _ours(place, gss, turn, settings, names)
    return _not_ours(place, turn, settings, names)


def handle(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    postcode, attempted = postcode_said(turn)
    if postcode is None:
        if not attempted:
            return _keep(t("ask_postcode"))
        return _keep(t("not_a_postcode", example=t("example_postcode")))
    deadline = Deadline(turn.deadline.expires_at - RESERVE)
    try:
        if settings.upstream is None:
            raise UpstreamError("unconfigured", "no upstream access given to the handler")
        place = postcodes.lookup(settings.upstream.http, settings.process["base_url"], postcode, deadline)
    except postcodes.InvalidPostcode:
        return _keep(t("not_a_postcode", example=t("example_postcode")))
    except postcodes.PostcodeNotFound as e:
        if e.terminated:
            month = runtime_texts(turn.language)(f"month_{e.terminated.month}")
            return _keep(t("terminated", postcode=postcode, month=month, year=e.terminated.year))
        return _keep(t("not_found", postcode=postcode))
    except UpstreamError:
        hint, finder = _finder(settings)
        reach, links = how_to_reach(settings.council, turn.language)
        return _keep([t("unavailable"), *hint, reach], links=(*finder, *links))
    reply = describe(place, turn, settings)
    if turn.context(CONTEXT) is None:
        return reply
    return Reply(reply.text, links=reply.links, contexts=[OutputContext(CONTEXT, 0)])
