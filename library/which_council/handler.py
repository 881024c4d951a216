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

import re

from townhall.contract import Deadline, Link, OutputContext, Reply, Settings, Turn
from townhall.kit import fold, folded, localised, postcode, postcode_said, with_english
from townhall.replies import how_to_reach, runtime_texts
from townhall.upstream import UpstreamError
from townhall.upstreams import postcodes

CONTEXT = "which_council-postcode"
LIFESPAN = 2
PLACE = "which_council-place"  # the postcode last answered about, for follow-ups ("what's their number?")
PLACE_LIFESPAN = 3
# The first half of a postcode alone ("I've just moved to OX4", "bins in CF10?"): not enough to say.
OUTCODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,2}[0-9][A-Za-z0-9]?)(?![A-Za-z0-9])")
AREAS = frozenset(
    [
        "AB",
        "AL",
        "B",
        "BA",
        "BB",
        "BD",
        "BH",
        "BL",
        "BN",
        "BR",
        "BS",
        "BT",
        "CA",
        "CB",
        "CF",
        "CH",
        "CM",
        "CO",
        "CR",
        "CT",
        "CV",
        "CW",
        "DA",
        "DD",
        "DE",
        "DG",
        "DH",
        "DL",
        "DN",
        "DT",
        "DY",
        "E",
        "EC",
        "EH",
        "EN",
        "EX",
        "FK",
        "FY",
        "G",
        "GL",
        "GU",
        "GY",
        "HA",
        "HD",
        "HG",
        "HP",
        "HR",
        "HS",
        "HU",
        "HX",
        "IG",
        "IM",
        "IP",
        "IV",
        "JE",
        "KA",
        "KT",
        "KW",
        "KY",
        "L",
        "LA",
        "LD",
        "LE",
        "LL",
        "LN",
        "LS",
        "LU",
        "M",
        "ME",
        "MK",
        "ML",
        "N",
        "NE",
        "NG",
        "NN",
        "NP",
        "NR",
        "NW",
        "OL",
        "OX",
        "PA",
        "PE",
        "PH",
        "PL",
        "PO",
        "PR",
        "RG",
        "RH",
        "RM",
        "S",
        "SA",
        "SE",
        "SG",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SP",
        "SR",
        "SS",
        "ST",
        "SW",
        "SY",
        "TA",
        "TD",
        "TF",
        "TN",
        "TQ",
        "TR",
        "TS",
        "TW",
        "UB",
        "W",
        "WA",
        "WC",
        "WD",
        "WF",
        "WN",
        "WR",
        "WS",
        "WV",
        "YO",
        "ZE",
    ]
)  # the UK's postcode areas
CONTACT_WORDS = folded(
    "phone number numbers tel telephone call ring email e-mail contact website site address "
    "ffon ffonio rhif cysylltu e-bost ebost gwefan cyfeiriad galw"
)
SMALL_WORDS = folded("and the a of to for my our your their with about y a ac ar am i o yn")
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


def _outcode(text: str) -> str | None:
    """The first half of a postcode written alone ("OX4", "cf10"), upper-cased, or None. A
    one-letter area counts only in capitals ("E1", not the text-speak "b4")."""
    for match in OUTCODE.finditer(text or ""):
        found = match.group(1)
        area = re.match(r"[A-Za-z]+", found).group(0).upper()
        if area in AREAS and (len(area) == 2 or found[0].isupper()):
            return found.upper()
    return None


def _place(turn: Turn, settings: Settings, postcode: str) -> postcodes.Place | Reply:
    """The postcode's place, or the reply that says why it can't be told."""
    t = settings.texts
    deadline = Deadline(turn.deadline.expires_at - RESERVE)
    try:
        if settings.upstream is None:
            raise UpstreamError("unconfigured", "no upstream access given to the handler")
        return postcodes.lookup(settings.upstream.http, settings.process["base_url"], postcode, deadline)
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


def _answered(reply: Reply, turn: Turn, postcode: str) -> Reply:
    """The answer, remembering the postcode for follow-ups and closing the "what's the postcode?"."""
    contexts = [OutputContext(PLACE, PLACE_LIFESPAN, {"place_postcode": postcode})]
    if turn.context(CONTEXT) is not None:
        contexts.append(OutputContext(CONTEXT, 0))
    return Reply(reply.text, links=reply.links, contexts=contexts)


def lookup(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    found, attempted = postcode_said(turn)
    if found is None:
        outcode = _outcode(turn.query_text)
        if outcode:
            return _keep(t("outcode_only", outcode=outcode))
        if not attempted:
            return _keep(t("ask_postcode"))
        return _keep(t("not_a_postcode", example=t("example_postcode")))
    place = _place(turn, settings, found)
    if isinstance(place, Reply):
        return place
    return _answered(describe(place, turn, settings), turn, place.postcode)


# -- follow-ups about the postcode last answered about -----------------------------------------------


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


def _tier_asked(text: str, settings: Settings) -> str | None:
    """ "district" or "county" when the words name a service of one tier ("recycling", "roads")."""
    asked = {_stem(w) for w in fold(text).split()} - SMALL_WORDS
    tiers = settings.process["tiers"]
    for tier in ("district", "county"):
        services = tiers[tier]
        texts = [localised(services, language) for language in with_english("cy")]
        words = {_stem(w) for text_ in texts if text_ for w in fold(text_).split()} - SMALL_WORDS
        if asked & {w for w in words if len(w) > 3}:
            return tier
    return None


def _is_ours(code: str | None, settings: Settings) -> bool:
    return bool(code) and code == settings.council.gss_code


def followup(turn: Turn, settings: Settings) -> Reply:
    """ "And what about recycling there?", "what's their phone number?": about the postcode kept."""
    t = settings.texts
    if postcode(turn):  # a new postcode: answer about that one
        return lookup(turn, settings)
    context = turn.context(PLACE)
    kept = (context.parameters.get("place_postcode") if context else None) or ""
    if not isinstance(kept, str) or not kept:
        return _keep(t("ask_postcode"))
    place = _place(turn, settings, kept)
    if isinstance(place, Reply):
        return place
    names = Names(settings, turn.language)
    if place.district_code is None or not place.district:
        return _answered(describe(place, turn, settings), turn, place.postcode)
    tier = _tier_asked(turn.query_text, settings) if place.two_tier else None
    councils = [(place.district_code, names.district(place))]
    if place.two_tier:
        county = (place.county_code, names.county(place))
        councils = [county] if tier == "county" else councils if tier == "district" else [*councils, county]
    contact = bool(set(fold(turn.query_text).split()) & CONTACT_WORDS)
    text: list[str] = []
    links: list[Link] = []
    for code, name in councils:
        if _is_ours(code, settings):
            reach, ours = how_to_reach(settings.council, turn.language)
            text += [t("topic_ours", postcode=place.postcode, council=settings.council.name), reach]
            links += ours
        else:
            text.append(t("their_contact" if contact else "topic_theirs", postcode=place.postcode, council=name))
            links += names.website(code, name)
    if not links or not any(link.url for link in links):
        hint, finder = _finder(settings)
        text += hint
        links += finder
    return _answered(Reply(text, links=links), turn, place.postcode)


def handle(turn: Turn, settings: Settings) -> Reply:
    if turn.action == "followup":
        return followup(turn, settings)
    return lookup(turn, settings)
