"""missed_bin: report a missed bin collection, after checking it really is missed.

Which bin, then the address (``AddressFlow``: postcode, picker), then the property's collections
(``townhall.upstreams.bins``) decide (``due.verdict``): still due today before the crews finish,
not due yet, too late to report online, or reportable. A confirmed report goes to the council's
Open311 endpoint once per conversation, property, bin and date (``upstream.once``), and the
reference is kept in ``missed_bin-report``; an optional confirmation goes by GOV.UK Notify.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta
from typing import Any

from townhall import dates
from townhall.bankholidays import bank_holidays
from townhall.contract import OutputContext, Reply, Settings, Texts, Turn
from townhall.kit import consent, email, fold, localised, phone, postcode, yes_no
from townhall.postcodes import normalise
from townhall.replies import how_to_reach
from townhall.upstream import UpstreamError
from townhall.upstreams import notify, open311
from townhall.upstreams.bins import Property, collections
from townhall.upstreams.bins.flow import AddressFlow, bin_asked, bin_name, phrases

from .due import verdict

PROCESS = "missed_bin"
ASKING_BIN, CONFIRMING, REPORTED = "missed_bin-bin", "missed_bin-confirm", "missed_bin-report"
DONE = "missed_bin-done"  # the report made in this conversation, for "when will they come back?"
DEFAULT_RECOLLECTION_DAYS = 2


# -- words -----------------------------------------------------------------------------------------


def on_day(t: Texts, day: date, today: date) -> str:
    """ "today", "yesterday", or "on Tuesday 1 December" ("ar ddydd Mawrth 1 Rhagfyr")."""
    if day == today:
        return t("day_today")
    if day == today - timedelta(days=1):
        return t("day_yesterday")
    return dates.on_date(day, t.language)


def day_words(t: Texts, day: date, today: date) -> str:
    """ "tomorrow", or "Tuesday 8 December" ("Dydd Mawrth 8 Rhagfyr")."""
    return t("day_tomorrow") if day == today + timedelta(days=1) else dates.long_date(day, t.language)


def crews_finish(settings: Settings) -> time:
    return time.fromisoformat(settings.process.get("crews_finish", "17:00"))


def failed(turn: Turn, settings: Settings, key: str, contexts=(), **values: Any) -> Reply:
    reach, links = how_to_reach(settings.council, turn.language)
    return Reply([settings.texts(key, **values), reach], links=links, contexts=contexts)


# -- which bin -------------------------------------------------------------------------------------


def ask_which(turn: Turn, settings: Settings, lead: list[str], postcode: str | None) -> Reply:
    names = [bin_name(settings, kind, turn.language) for kind in settings.process["bins"]]
    return Reply(
        [*lead, settings.texts("which_bin")],
        quick_replies=[n[:1].upper() + n[1:] for n in names],
        contexts=(OutputContext(ASKING_BIN, 2, {"postcode": postcode} if postcode else {}),),
    )


def start(turn: Turn, settings: Settings, postcode: str | None) -> Reply:
    wanted = bin_asked(turn, settings.process["bins"])
    if wanted in settings.process["bins"]:
        return flow(turn, settings).start({"bin": wanted}, postcode)
    t = settings.texts
    lead = [t("no_such_bin", kind=t(f"kind_{wanted}"))] if wanted else []
    if turn.action == "which" and not wanted:
        lead = [t("which_bin_again")]
    return ask_which(turn, settings, lead, postcode)


def report(turn: Turn, settings: Settings) -> Reply:
    return start(turn, settings, postcode(turn))


def which(turn: Turn, settings: Settings) -> Reply:
    asked = turn.context(ASKING_BIN)
    return start(turn, settings, normalise(asked.parameters.get("postcode")) if asked else None)


# -- is it missed? ---------------------------------------------------------------------------------


def check(turn: Turn, settings: Settings, prop: Property, carry: Mapping[str, Any]) -> Reply:
    """The property is known: decide whether the bin is missed, and offer to report it."""
    t, s = settings.texts, settings.process
    kind = carry.get("bin")
    if kind not in s["bins"]:  # a postcode or address with no bin asked (the context has gone)
        return ask_which(turn, settings, [], prop.postcode)
    today = turn.now.date()
    try:
        found = collections(s["source"], prop, settings.upstream, turn.deadline, today)
    except UpstreamError:
        return failed(turn, settings, "collections_failed")
    division = s.get("bank_holidays", "england-and-wales")
    holidays = bank_holidays(division) if division != "none" else {}
    window = s.get("report_within_days", 2)
    finish = crews_finish(settings)
    found_verdict = verdict(found, kind, turn.now, finish, window, holidays)
    name = bin_name(settings, kind, turn.language)
    if found_verdict.kind == "not_yet":
        return Reply([t("not_yet", bin=name, time=dates.clock(finish, turn.language))])
    if found_verdict.kind == "not_due":
        return Reply([t("not_due", bin=name, date=day_words(t, found_verdict.day, today))])
    if found_verdict.kind == "unknown":
        return failed(turn, settings, "no_collections", bin=name)
    if found_verdict.kind == "too_late":
        text = [t("too_late", bin=name, date=on_day(t, found_verdict.day, today), days=window)]
        if found_verdict.next:
            text.append(t("next_collection", bin=name, date=day_words(t, found_verdict.next, today)))
        reach, links = how_to_reach(settings.council, turn.language)
        return Reply([*text, reach], links=links)
    pending = {**prop.to_context(), "bin": kind, "date": found_verdict.day.isoformat()}
    return Reply(
        [t("confirm_report", bin=name, address=prop.address, date=on_day(t, found_verdict.day, today))],
        quick_replies=[t("yes_report"), t("no_report")],
        contexts=(OutputContext(CONFIRMING, 2, pending),),
    )


def flow(turn: Turn, settings: Settings) -> AddressFlow:
    return AddressFlow(PROCESS, turn, settings, lambda prop, carry: check(turn, settings, prop, carry))


# -- the report ------------------------------------------------------------------------------------


def pending_report(turn: Turn, settings: Settings) -> tuple[Property, str, date] | None:
    """What the resident is confirming (from ``missed_bin-confirm``), checked again."""
    context = turn.context(CONFIRMING)
    if context is None:
        return None
    prop = Property.from_context(context.parameters)
    kind = context.parameters.get("bin")
    try:
        day = date.fromisoformat(str(context.parameters.get("date")))
    except ValueError:
        return None
    if prop is None or kind not in settings.process["bins"]:
        return None
    return prop, kind, day


def attributes(
    definition: open311.Definition, settings: Mapping[str, Any], prop: Property, kind: str, day: date, address: str
) -> dict[str, str]:
    """The attributes FixMyStreet would send: uprn and closest_address always, the bin and the date
    as the settings map them; a required question we cannot answer means we cannot report."""
    o = settings["open311"]
    known = {"uprn": prop.uprn, "closest_address": address}
    if o.get("bin_attribute"):
        known[o["bin_attribute"]["code"]] = o["bin_attribute"]["values"].get(kind)
    if o.get("date_attribute"):
        known[o["date_attribute"]] = day.isoformat()
    filled = {code: value for code, value in known.items() if value}
    for attribute in definition.attributes:
        value = filled.get(attribute.code)
        if value is not None and attribute.values and value not in {v.key for v in attribute.values}:
            raise UpstreamError("unconfigured", f"attribute {attribute.code}: {value!r} is not one of its values")
        if value is None and attribute.required and attribute.asked:
            raise UpstreamError("unconfigured", f"service asks {attribute.code}, which this process cannot answer")
    return filled


def submit(turn: Turn, settings: Settings, prop: Property, kind: str, day: date) -> dict:
    """POST the report to the council's Open311 endpoint (run once, through ``upstream.once``)."""
    s, up = settings.process, settings.upstream
    o = s["open311"]
    code = (o.get("service_codes") or {}).get(kind) or o["service_code"]
    client = open311.Client(up, o["endpoint"])
    address = prop.address if prop.address == prop.postcode else f"{prop.address}, {prop.postcode}"
    name = s["bins"][kind]["name"]["en"]  # the council's own staff read the report
    detail = (
        f"The {name} at {address} was due to be collected on {dates.long_date(day, 'en')} {day.year} "
        f"({day.isoformat()}) and was not."
    )
    report = open311.Report(
        service_code=code,
        address_string=address,
        description=open311.description(
            f"Missed bin collection: {name}", detail, f"Reported through {settings.council.name}'s chatbot"
        ),
        attributes=attributes(client.definition(code, turn.deadline), s, prop, kind, day, address),
    )
    sent = client.submit(report, turn.deadline)
    return {"reference": sent.reference, "token": sent.token}


def answer(turn: Turn, settings: Settings) -> Reply:
    """The resident's answer at the confirm step, read by the kit's one consent rule whichever
    intent matched: only a clear yes reports; any no, negation or change of mind declines;
    anything unclear asks again with both quick replies."""
    said = consent(turn)
    if said is True:
        return confirm(turn, settings)
    if said is False or turn.context(CONFIRMING) is None:
        return decline(turn, settings)
    return ask_again(turn, settings)


def ask_again(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    keep = OutputContext(CONFIRMING, 2, dict(turn.context(CONFIRMING).parameters))
    return Reply([t("confirm_unclear")], quick_replies=[t("yes_report"), t("no_report")], contexts=(keep,))


def confirm(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    pending = pending_report(turn, settings)
    if pending is None:
        done = turn.context(REPORTED)
        reference = done and (done.parameters.get("reference") or done.parameters.get("token"))
        if reference:
            return Reply(
                [t("already_reported", reference=reference)],
                contexts=(OutputContext(REPORTED, 3, dict(done.parameters)),),
            )
        return ask_which(turn, settings, [], None)
    prop, kind, day = pending
    key = f"missed_bin:{turn.conversation}:{prop.uprn or prop.address}:{kind}:{day.isoformat()}"
    try:
        sent = settings.upstream.once(key, lambda: submit(turn, settings, prop, kind, day), turn.deadline)
    except UpstreamError as e:
        if e.permanent:  # a retry would be refused again: say so, and how else to report it
            return failed(turn, settings, "report_refused", contexts=(OutputContext(CONFIRMING, 0),))
        keep = OutputContext(CONFIRMING, 2, dict(turn.context(CONFIRMING).parameters))
        if e.kind == "unknown":  # sent, no answer: it may be in; a "yes" looks for it, never resends
            return failed(turn, settings, "report_unknown", contexts=(keep,))
        return failed(turn, settings, "report_failed", contexts=(keep,))
    name = bin_name(settings, kind, turn.language)
    text = [
        t("reported", bin=name, reference=sent["reference"])
        if sent.get("reference")
        else t("reported_token", bin=name, token=sent["token"])
    ]
    text.append(recollection(turn, settings))
    channels = notify.channels(settings.process.get("notify"))
    if channels:
        text.append(t("offer_" + ("both" if len(channels) == 2 else channels[0])))
    done = {
        k: v
        for k, v in {
            "reference": sent.get("reference"),
            "token": sent.get("token"),
            "bin": kind,
            "date": day.isoformat(),
        }.items()
        if v
    }
    return Reply(
        text,
        quick_replies=[t("no_thanks")] if channels else [],
        contexts=(OutputContext(CONFIRMING, 0), OutputContext(REPORTED, 3, done), OutputContext(DONE, 10, done)),
    )


def recollection(turn: Turn, settings: Settings) -> str:
    """The council's promise to come back for a reported bin: its own words in the settings, else
    within so many working days (``recollection.within_working_days``, default 2)."""
    promise = settings.process.get("recollection") or {}
    own = localised(promise.get("text"), turn.language)
    if own:
        return own
    return settings.texts("recollection_days", days=promise.get("within_working_days", DEFAULT_RECOLLECTION_DAYS))


def when_back(turn: Turn, settings: Settings) -> Reply:
    """ "When will they come back for it?" after a report: the re-collection promise, not the next
    ordinary collection."""
    t = settings.texts
    done = turn.context(DONE)
    params = dict(done.parameters) if done else {}
    kind = params.get("bin")
    if kind not in settings.process["bins"]:
        return Reply([t("recollection_none")], quick_replies=[t("report_again")])
    reference = params.get("reference") or params.get("token")
    said = t("recollection_reference", reference=reference) if reference else ""
    lead = t("recollection_asked", bin=bin_name(settings, kind, turn.language), reference=said)
    return Reply([lead, recollection(turn, settings)], contexts=(OutputContext(DONE, 10, params),))


def decline(turn: Turn, settings: Settings) -> Reply:
    """Nothing is sent: say so, and what the resident can do next."""
    t = settings.texts
    return Reply([t("not_reported")], quick_replies=[t("report_again")], contexts=(OutputContext(CONFIRMING, 0),))


# -- the confirmation --------------------------------------------------------------------------------


def contact(turn: Turn, settings: Settings) -> Reply:
    """An email address or mobile number (or "no thanks", or any other no) for the confirmation of
    the report."""
    t = settings.texts
    done = turn.context(REPORTED)
    reference = done and (done.parameters.get("reference") or done.parameters.get("token"))
    if not reference:
        return ask_which(turn, settings, [], None)
    no_thanks = Reply([t("no_confirmation", reference=reference)], contexts=(OutputContext(REPORTED, 0),))
    if fold(turn.query_text) in phrases(t("no_thanks_words")) | phrases(t("no_thanks")):
        return no_thanks
    keep = (OutputContext(REPORTED, 3, dict(done.parameters)),)
    settings_notify = settings.process.get("notify")
    text = email(turn) or phone(turn) or turn.query_text  # the parameter, else the words (Welsh)
    try:
        found = notify.parse_contact(str(text))
    except notify.InvalidContact as e:
        if e.reason == "neither" and yes_no(turn) is False:  # "nah I'm good", "dim angen diolch"
            return no_thanks
        return Reply([t(f"contact_{e.reason}")], quick_replies=[t("no_thanks")], contexts=keep)
    channels = notify.channels(settings_notify)
    if found.channel not in channels:
        return Reply(
            [t(f"channel_{channels[0]}_only") if channels else t("no_confirmation", reference=reference)],
            quick_replies=[t("no_thanks")] if channels else [],
            contexts=keep if channels else (),
        )
    today = turn.now.date()
    kind, day = done.parameters.get("bin"), done.parameters.get("date")
    try:
        when = on_day(t, date.fromisoformat(str(day)), today)
        summary = t("summary", bin=bin_name(settings, kind, turn.language), date=when)
    except (ValueError, KeyError):
        summary = t("summary_plain")
    result = notify.confirm(
        settings.upstream,
        settings_notify,
        found,
        {"council": settings.council.name, "summary": summary, "reference": str(reference)},
        str(reference),
        turn.deadline,
    )
    if result.sent:
        return Reply(
            [t("confirmation_sent", contact=found.display, reference=reference)], contexts=(OutputContext(REPORTED, 0),)
        )
    unknown = result.problem == "unknown"  # sent, no answer in time: it may still arrive
    return failed(turn, settings, "confirmation_unknown" if unknown else "confirmation_failed", reference=reference)


ACTIONS = {
    "report": report,
    "which": which,
    "confirm": answer,
    "decline": answer,
    "contact": contact,
    "when_back": when_back,
    "postcode": lambda turn, settings: flow(turn, settings).postcode(),
    "address": lambda turn, settings: flow(turn, settings).address(),
}


def handle(turn: Turn, settings: Settings) -> Reply:
    return ACTIONS[turn.action](turn, settings)
