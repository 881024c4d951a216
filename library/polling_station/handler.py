"""polling_station: where to vote, from Democracy Club's API.

The flow: a postcode (asked for when not given) -> Democracy Club. A postcode split between
polling districts gets an address picker: the addresses go out as quick replies and are kept in
the ``polling_station-address`` context; the resident's choice is looked up by its slug. The answer
gives, per election date, the polling station (or, when it is not known yet, the electoral
services contact from the API), the ballots, cancelled ballots in plain words, and Democracy
Club's notifications (photo ID) always; then the poll's hours and the council's own advice from
settings. In Scotland and Northern Ireland registering to vote is not the council's job, so the
registration contact from the API is given too. Any failure ends in the council's own electoral
services contact: a passing one (timeout, 5xx, a garbled answer) keeps the flow's context so the
resident can try again; a permanent refusal (our key refused, any other 4xx, nothing configured)
offers no retry and is not called a fault of the system.

An address Democracy Club no longer knows (404 for a slug from its own picker), or "my address
isn't listed", ends the picker rather than asking for the postcode again: the reply gives what is
known (the postcode's elections, where it has any) and the electoral services contact.
"""

from __future__ import annotations

from datetime import date

from townhall.contract import Deadline, Link, OutputContext, Reply, Settings, Texts, Turn
from townhall.kit import NONE, localised, pick, postcode_said
from townhall.postcodes import normalise
from townhall.replies import how_to_reach
from townhall.upstream import UpstreamError

from .client import BadPostcode, Ballot, Contact, DemocracyClub, ElectionDate, NotFound, Result

POSTCODE_CONTEXT = "polling_station-postcode"
ADDRESS_CONTEXT = "polling_station-address"
POSTCODE_LIFESPAN = 2
ADDRESS_LIFESPAN = 3
MAX_KEPT = 100  # addresses kept in the context (Democracy Club lists every address of the postcode)
MAX_OFFERED = 10  # offered as quick replies; the rest can be typed
RESERVE = 0.2  # seconds of the turn kept back to answer when the API is slow
REASONS = ("NO_CANDIDATES", "EQUAL_CANDIDATES", "UNDER_CONTESTED", "CANDIDATE_DEATH")
ID_NI = "EFA-2002"


# -- what the resident said ----------------------------------------------------------------------


def choose(addresses: list[dict], typed: list[str], not_listed: str = "") -> dict | None:
    """The address the resident picked with the kit's picker (``townhall.kit.pick``): one tapped
    or typed, in part ("1 sandbox road", "flat a"), its position among those offered ("the second
    one", "yr ail"), or its house number ("I'm at number 2"). ``typed``: the words, then any
    address parameter. None when nothing fits one address; ``NOT_LISTED`` for "my address isn't
    listed" (the quick reply ``not_listed``, or the kit's "none of these" in either language)."""
    labels = [a["address"] for a in addresses]
    on_screen = range(min(len(labels), MAX_OFFERED))
    for text in typed:
        if not_listed and text.strip().casefold() == not_listed.casefold():
            return NOT_LISTED
        picked = pick(text, labels, shown=on_screen)
        if picked.index is not None:
            return addresses[picked.index]
        if picked == NONE:
            return NOT_LISTED
    return None


NOT_LISTED: dict = {"address": "", "slug": ""}  # "my address isn't listed"


# -- saying it -------------------------------------------------------------------------------------


def on(t: Texts, day: date) -> str:
    """ "Thursday 7 May 2026"; in Welsh "ddydd Iau 7 Mai 2026" (every Welsh message puts it after
    "ar" or "i", which soft-mutate "dydd")."""
    return t("date", weekday=t(f"weekday_{day.weekday()}"), day=day.day, month=t(f"month_{day.month}"), year=day.year)


def _station(date_: ElectionDate) -> str:
    lines = list(date_.station.address)
    if date_.station.postcode and date_.station.postcode.replace(" ", "") not in lines[-1].replace(" ", ""):
        lines.append(date_.station.postcode)
    return ", ".join(lines)


def _ways(t: Texts, phone: str, email: str) -> str:
    ways = ([t("way_phone", phone=phone)] if phone else []) + ([t("way_email", email=email)] if email else [])
    return ", ".join(ways)


def _contact(t: Texts, key: str, contact: Contact, name: str) -> tuple[list[str], list[Link]]:
    """A sentence (and website link) to reach an office the API named."""
    ways = _ways(t, contact.phone, contact.email)
    title = t("website_of", name=name)
    title = title[:1].upper() + title[1:]
    links = [Link(title, contact.website)] if contact.website.startswith(("https://", "http://")) else []
    if not ways and not links:
        return [], []
    return [t(key, name=name, ways=ways or t("way_website"))], links


def _services_name(t: Texts, contact: Contact) -> str:
    if contact.name:
        return contact.name
    return t("eoni") if contact.nation == "Northern Ireland" else t("services_unnamed")


def _reason(t: Texts, ballot: Ballot) -> str:
    reason = ballot.cancellation_reason
    return t(f"reason_{reason.lower()}") if reason in REASONS else t("reason_unknown")


class Answer:
    """The reply to a Democracy Club result, paragraph by paragraph."""

    def __init__(self, turn: Turn, settings: Settings, result: Result, postcode: str):
        self.t, self.language, self.settings = settings.texts, turn.language, settings
        self.result, self.postcode = result, postcode
        self.text: list[str] = []
        self.links: list[Link] = []
        self.voter_id_said = False
        self.services_shown = False

    def link(self, link: Link) -> None:
        if all(link.url != seen.url for seen in self.links):
            self.links.append(link)

    def build(self) -> Reply:
        t, result = self.t, self.result
        rescheduled = {b.id: d.day for d in result.dates for b in d.ballots if b.id and not b.cancelled}
        voting = [d for d in result.dates if any(not b.cancelled for b in d.ballots)]
        if not result.dates:
            self.text.append(t("no_elections", postcode=self.postcode))
        for election in result.dates:
            self.date(election, rescheduled)
        if voting:
            self.text.append(localised(self.settings.process["poll_hours"], self.language))
        services = result.electoral_services
        if services and any(not d.station_known or d.station is None for d in voting):
            text, links = _contact(t, "contact_services", services, _services_name(t, services))
            self.text += text
            self.services_shown = bool(text)
            for link in links:
                self.link(link)
        self.registration()
        advice = self.settings.process.get("advice")
        if advice and voting:
            self.text.append(localised(advice, self.language))
        return Reply(self.text, links=self.links)

    def date(self, election: ElectionDate, rescheduled: dict[str, date]) -> None:
        t = self.t
        when = on(t, election.day)
        live = [b for b in election.ballots if not b.cancelled]
        if not live:
            self.text.append(t("all_cancelled", date=when))
        elif election.station_known and election.station is not None:
            self.text.append(t("station", date=when, station=_station(election)))
        else:
            self.text.append(t("station_unknown", date=when))
            if election.custom_finder.startswith(("https://", "http://")):
                self.link(Link(t("custom_finder_link"), election.custom_finder))
        if live:
            self.text.append(t("ballots", ballots="; ".join(b.title for b in live)))
        for ballot in election.ballots:
            if ballot.cancelled:
                line = t("cancelled", ballot=ballot.title, date=when, reason=_reason(t, ballot))
                later = rescheduled.get(ballot.replaced_by)
                self.text.append(f"{line} {t('moved', date=on(t, later))}" if later else line)
        self.notifications(election, live)

    def notifications(self, election: ElectionDate, live: list[Ballot]) -> None:
        """Democracy Club asks that notifications are always shown; photo ID is said once."""
        t = self.t
        needs_id = [b.requires_voter_id for b in live if b.requires_voter_id]
        notices = list(election.notifications)
        id_notice = next((n for n in notices if n.type == "voter_id"), None)
        if (needs_id or id_notice) and not self.voter_id_said:
            self.voter_id_said = True
            ni = ID_NI in needs_id or (
                self.result.electoral_services and self.result.electoral_services.nation == "Northern Ireland"
            )
            if id_notice and self.language == "en" and (id_notice.title or id_notice.detail):
                self.text.append(" ".join(x for x in (_sentence(id_notice.title), id_notice.detail) if x))
            else:
                self.text.append(t("voter_id_ni" if ni else "voter_id"))
            url = (id_notice.url if id_notice else "") or self.settings.process.get("voter_id_url", "")
            if url:
                self.link(Link(t("voter_id_link"), url))
        for notice in notices:
            if notice.type == "voter_id":
                continue
            if notice.type == "cancelled_election" and self.language != "en":
                continue  # said in the reply's language by "all_cancelled"
            if notice.title or notice.detail:
                self.text.append(" ".join(x for x in (_sentence(notice.title), notice.detail) if x))
            if notice.url.startswith(("https://", "http://")):
                self.link(Link(t("notification_link"), notice.url))

    def registration(self) -> None:
        """Scotland and Northern Ireland: registering to vote is not the council's job."""
        t, result = self.t, self.result
        services, registration = result.electoral_services, result.registration_contact
        if registration is None:
            return
        nation = (services.nation if services else "") or registration.nation
        differs = services is None or registration.reaches() != services.reaches()
        elsewhere = nation in ("Scotland", "Northern Ireland")
        if elsewhere:
            self.text.append(t("registration_scotland" if nation == "Scotland" else "registration_ni"))
        if not differs and (self.services_shown or not elsewhere):
            return  # the contact already given (or the council's, in England and Wales) serves
        name = registration.name or (t("eoni") if nation == "Northern Ireland" else t("registration_unnamed"))
        text, links = _contact(t, "contact_registration", registration, name)
        self.text += text
        for link in links:
            self.link(link)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?:" else text + "."


# -- the flow --------------------------------------------------------------------------------------


def _ask_postcode(text) -> Reply:
    return Reply(text, contexts=[OutputContext(POSTCODE_CONTEXT, POSTCODE_LIFESPAN)])


def _own_services(turn: Turn, settings: Settings) -> tuple[list[str], list[Link]]:
    """The council's own electoral services contact (else its general contact details)."""
    t = settings.texts
    own = settings.process.get("electoral_services")
    text: list[str] = []
    links: list[Link] = []
    if own:
        ways = _ways(t, own.get("phone", ""), own.get("email", ""))
        text.append(t("own_services", ways=ways) if ways else t("own_services_web"))
        if own.get("website"):
            links.append(Link(t("own_services_link"), own["website"]))
    else:
        reach, reach_links = how_to_reach(settings.council, turn.language)
        text.append(reach)
        links += reach_links
    return text, links


def _failure(turn: Turn, settings: Settings, lead: str, keep: OutputContext) -> Reply:
    """Democracy Club unreachable for now: the council's own electoral services, and try again."""
    t = settings.texts
    own, links = _own_services(turn, settings)
    return Reply([lead, t("poll_card"), *own, t("try_again")], links=links, contexts=[keep])


def _not_available(turn: Turn, settings: Settings) -> Reply:
    """Democracy Club refuses us for good (key refused, 4xx, unconfigured): no retry offered."""
    t = settings.texts
    own, links = _own_services(turn, settings)
    return Reply([t("not_available"), t("poll_card"), *own], links=links, contexts=_clear(turn))


def _upstream_failed(turn: Turn, settings: Settings, error: UpstreamError, keep: OutputContext) -> Reply:
    if error.permanent:
        return _not_available(turn, settings)
    return _failure(turn, settings, settings.texts("unavailable"), keep)


def _client(settings: Settings) -> DemocracyClub:
    up = settings.upstream
    if up is None:
        raise UpstreamError("unconfigured", "no upstream access given to the handler")
    s = settings.process
    return DemocracyClub(up.http, s["base_url"], up.secret(s["api_key_secret"]))


def _clear(turn: Turn) -> list[OutputContext]:
    return [OutputContext(name, 0) for name in (POSTCODE_CONTEXT, ADDRESS_CONTEXT) if turn.context(name)]


def _picker(t: Texts, result: Result, postcode: str) -> Reply:
    kept = [{"address": a.address, "slug": a.slug} for a in result.addresses[:MAX_KEPT]]
    offered = [a["address"] for a in kept[:MAX_OFFERED]]
    text = [t("pick_address", postcode=postcode)]
    if len(kept) > len(offered):
        text.append(t("pick_more"))
    return Reply(
        text,
        quick_replies=[*offered, t("not_listed")],
        contexts=[
            OutputContext(ADDRESS_CONTEXT, ADDRESS_LIFESPAN, {"postcode": postcode, "addresses": kept}),
            OutputContext(POSTCODE_CONTEXT, 0),
        ],
    )


def by_postcode(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    postcode, attempted = postcode_said(turn)
    if postcode is None:
        if not attempted:
            return _ask_postcode(t("ask_postcode"))
        return _ask_postcode(t("not_a_postcode", example=t("example_postcode")))
    keep = OutputContext(POSTCODE_CONTEXT, POSTCODE_LIFESPAN, {"postcode": postcode})
    try:
        result = _client(settings).postcode(postcode, Deadline(turn.deadline.expires_at - RESERVE))
    except (NotFound, BadPostcode):
        return _failure(turn, settings, t("unknown_postcode", postcode=postcode), keep)
    except UpstreamError as e:
        return _upstream_failed(turn, settings, e, keep)
    if result.address_picker:
        return _picker(t, result, postcode)
    reply = Answer(turn, settings, result, postcode).build()
    return Reply(reply.text, links=reply.links, contexts=_clear(turn))


def by_address(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    context = turn.context(ADDRESS_CONTEXT)
    addresses = [
        a
        for a in (context.parameters.get("addresses") if context else None) or []
        if isinstance(a, dict) and isinstance(a.get("address"), str) and isinstance(a.get("slug"), str)
    ]
    postcode = normalise((context.parameters.get("postcode") if context else None) or "")
    if not addresses or postcode is None:  # the context expired or was cleared
        return _ask_postcode(t("address_gone"))
    typed = [turn.query_text, *(v for v in [turn.param("address")] if isinstance(v, str))]
    chosen = choose(addresses, typed, t("not_listed"))
    keep = OutputContext(ADDRESS_CONTEXT, ADDRESS_LIFESPAN, {"postcode": postcode, "addresses": addresses})
    if chosen is None:
        return Reply(
            t("pick_again", postcode=postcode),
            quick_replies=[*(a["address"] for a in addresses[:MAX_OFFERED]), t("not_listed")],
            contexts=[keep],
        )
    if chosen is NOT_LISTED:
        return _without_address(turn, settings, postcode, t("address_not_listed"))
    try:
        result = _client(settings).address(chosen["slug"], Deadline(turn.deadline.expires_at - RESERVE))
    except NotFound:  # Democracy Club no longer knows an address it listed: no going round again
        return _without_address(turn, settings, postcode, t("address_unknown"))
    except UpstreamError as e:
        return _upstream_failed(turn, settings, e, keep)
    reply = Answer(turn, settings, result, postcode).build()
    return Reply(reply.text, links=reply.links, contexts=_clear(turn))


def _without_address(turn: Turn, settings: Settings, postcode: str, lead: str) -> Reply:
    """No address to look up: what the postcode's own answer says (its elections, if it gives
    them), the electoral services contact, the poll card; the picker ends here."""
    t = settings.texts
    text, links = [lead], []
    services = None
    try:
        result = _client(settings).postcode(postcode, Deadline(turn.deadline.expires_at - RESERVE))
    except (NotFound, BadPostcode, UpstreamError):
        result = None
    if result is not None and result.dates:
        answer = Answer(turn, settings, result, postcode).build()
        text += [line for line in answer.text if line not in text]
        links += answer.links
        services = result.electoral_services
    elif result is not None:
        services = result.electoral_services
    if services is not None and not any(services.phone in line for line in text if services.phone):
        said, said_links = _contact(t, "contact_services", services, _services_name(t, services))
        text += said
        links += [link for link in said_links if link not in links]
    if services is None or not (services.phone or services.email or services.website):
        own, own_links = _own_services(turn, settings)
        text += own
        links += own_links
    text.append(t("poll_card"))
    return Reply(text, links=links, contexts=_clear(turn))


def handle(turn: Turn, settings: Settings) -> Reply:
    if turn.action == "address":
        return by_address(turn, settings)
    return by_postcode(turn, settings)
