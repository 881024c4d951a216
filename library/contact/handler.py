"""contact: how to reach the council, when it is open, and handing over to a person.

Phone, email and web form are the tenant's core ``contact`` settings; hours, bank holidays,
closures and live chat are this process's settings. ``turn.now`` is the local time in London.

Every reply but ``on_date``'s depends on the turn only through its action, its language and the
minute of its clock (opening hours are whole minutes), so the manifest declares ``cache: {by:
minute}`` and the runtime may keep a rendered reply for the rest of its minute (docs/processes.md,
"Reply cache"). ``on_date`` answers for the day the resident named, so its reply always sets the
``contact-date`` context (the day asked about): the runtime never keeps a reply with output
contexts, so a reply for one day is never served for another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from townhall import dates
from townhall.contract import Link, OutputContext, Reply, Settings, Texts, Turn
from townhall.replies import how_to_reach

from .asked import asked_day, moved_holidays
from .hours import WEEKDAYS, Closure, Hours

DATE_CONTEXT = "contact-date"
DATE_LIFESPAN = 2
FURTHEST_DAYS = 800  # a day further off than this (a misread year) gets the week's hours


def clock(t: Texts, value: time) -> str:
    """9am, 5:30pm (9yb, 5:30yh in Welsh)."""
    return dates.clock(value, t.language)


def on_date(t: Texts, day: date) -> str:
    """ "on Monday 28 December" ("ar ddydd Llun 28 Rhagfyr": the weekday mutates after "ar")."""
    return dates.on_date(day, t.language)


def when(t: Texts, moment: datetime, now: datetime) -> str:
    at = clock(t, moment.time())
    if moment.date() == now.date():
        return t("when_today", time=at)
    if moment.date() == now.date() + timedelta(days=1):
        return t("when_tomorrow", time=at)
    return t("when_day", date=on_date(t, moment.date()), time=at)


def reason(t: Texts, closure: Closure) -> str:
    """A bank holiday's GOV.UK title in the reply's language, or the council's own reason."""
    key = "holiday_" + re.sub(r"[^a-z0-9]+", "_", closure.reason.lower()).strip("_")
    return t(key) if key in t else closure.reason


@dataclass(frozen=True)
class Prepared:
    """The council's timetables and weekly hours text, built once per settings load and language."""

    hours: Hours
    chat: Hours | None
    chat_url: str | None
    week: str  # "Our opening hours are:" and a line per weekday


def prepare(settings: Settings) -> Prepared:
    s, t = settings.process, settings.texts
    division = None if s["bank_holidays"] == "none" else s["bank_holidays"]
    hours = Hours.from_settings(s["opening_hours"], division, s.get("closures"), t.language)
    chat = s.get("live_chat")
    lines = []
    for number, day in enumerate(WEEKDAYS):
        shown = ", ".join(t("span", opens=clock(t, x.opens), closes=clock(t, x.closes)) for x in hours.weekly[day])
        lines.append(t("hours_line", day=dates.weekday(number, t.language), spans=shown or t("closed")))
    return Prepared(
        hours=hours,
        chat=Hours(chat["hours"], None, hours.closures) if chat else None,
        chat_url=chat["url"] if chat else None,
        week=t("hours_intro") + "\n" + "\n".join(lines),
    )


def _prepared(settings: Settings) -> Prepared:
    return settings.prepared if isinstance(settings.prepared, Prepared) else prepare(settings)


def _live_chat(prepared: Prepared, now: datetime) -> str | None:
    """The live chat link, only while it is staffed."""
    if prepared.chat is not None and prepared.chat.status(now).open_now:
        return prepared.chat_url
    return None


def _closed_today(t: Texts, closure: Closure) -> str:
    return t("closed_today_because", reason=reason(t, closure)) if closure.reason else t("closed_today")


def status_line(t: Texts, hours: Hours, now: datetime) -> list[str]:
    status = hours.status(now)
    if status.open_now:
        return [t("open_now_until", time=clock(t, status.closes))]
    lines = [_closed_today(t, status.closed_today)] if status.closed_today else []
    if status.next_open:
        lines.append(t("closed_now_next", when=when(t, status.next_open, now)))
    else:
        lines.append(t("closed_now_unknown"))
    return lines


def details(turn: Turn, settings: Settings) -> Reply:
    t, prepared = settings.texts, _prepared(settings)
    reach, links = how_to_reach(settings.council, turn.language)
    chat = _live_chat(prepared, turn.now)
    text = [t("details_intro"), reach, *status_line(t, prepared.hours, turn.now)]
    if chat:
        text.append(t("live_chat_now"))
        links = (Link(t("live_chat_link"), chat), *links)
    return Reply(text, links=links)


def opening_hours(turn: Turn, settings: Settings) -> Reply:
    t, prepared = settings.texts, _prepared(settings)
    text = [prepared.week]
    for closure in prepared.hours.upcoming_closures(turn.now):
        text.append(
            t("upcoming_closure", date=on_date(t, closure.day), reason=reason(t, closure))
            if closure.reason
            else t("upcoming_closure_no_reason", date=on_date(t, closure.day))
        )
    text += status_line(t, prepared.hours, turn.now)
    return Reply(text)


def open_now(turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    status = _prepared(settings).hours.status(turn.now)
    if status.open_now:
        return Reply(t("yes_open", time=clock(t, status.closes)))
    text = [t("no_closed")]
    if status.closed_today:
        text.append(_closed_today(t, status.closed_today))
    if status.next_open:
        text.append(t("next_open", when=when(t, status.next_open, turn.now)))
    return Reply(text)


def human(turn: Turn, settings: Settings) -> Reply:
    """Hand over to a person: live chat while staffed, the phone while open, else write to us."""
    t, prepared = settings.texts, _prepared(settings)
    contact = settings.council.contact
    reach, links = how_to_reach(settings.council, turn.language)
    chat = _live_chat(prepared, turn.now)
    if chat:
        return Reply([t("live_chat_now")], links=(Link(t("live_chat_link"), chat), *links))
    status = prepared.hours.status(turn.now)
    if status.open_now and contact.phone:
        return Reply([t("human_phone_now", phone=contact.phone)], links=links)
    text = [] if status.open_now else [t("human_later"), *status_line(t, prepared.hours, turn.now)]
    if contact.email or contact.web_form:
        text.append(t("human_write"))
    text.append(reach)
    return Reply(text, links=links)


def _holiday_names(t: Texts, hours: Hours) -> list[tuple[date, str]]:
    """(day, name) of every closure, by its English title and its name in the reply's language."""
    names = []
    for day, title in hours.closures.items():
        names.append((day, title))
        names.append((day, reason(t, Closure(day, title))))
    return names


def day_asked(turn: Turn, settings: Settings) -> Reply:
    """Open on a given day? From that day's hours, the council's closures and bank holidays."""
    t, prepared = settings.texts, _prepared(settings)
    hours, today = prepared.hours, turn.now.date()
    names = _holiday_names(t, hours)
    day = asked_day(turn.query_text, today, turn.param("date"), names)
    if day is None or abs((day - today).days) > FURTHEST_DAYS:
        return Reply([t("which_day"), prepared.week], contexts=[OutputContext(DATE_CONTEXT, DATE_LIFESPAN)])
    keep = [OutputContext(DATE_CONTEXT, DATE_LIFESPAN, {"date": day.isoformat()})]
    if day < today:
        return Reply([t("day_passed", date=dates.long_date(day, t.language)), prepared.week], contexts=keep)
    on_day = on_date(t, day)
    closure = hours.closure(day)
    spans = hours.weekly[WEEKDAYS[day.weekday()]]
    moved = [
        t("holiday_moved", holiday=reason(t, hours.closure(d)), date=on_date(t, d))
        for d in moved_holidays(turn.query_text, day, names)
    ]
    if closure is None and spans:
        shown = ", ".join(t("span", opens=clock(t, x.opens), closes=clock(t, x.closes)) for x in spans)
        text = [t("day_open", date=on_day, spans=shown), *moved]
        if day == today:
            text += status_line(t, hours, turn.now)
        return Reply(text, contexts=keep)
    if closure is not None and closure.reason:
        text = [t("day_closed_because", date=on_day, reason=reason(t, closure))]
    else:
        text = [t("day_closed", date=on_day)]
    text += moved
    start = turn.now if day == today else datetime.combine(day, time(23, 59), tzinfo=turn.now.tzinfo)
    following = hours.next_open(start)
    if following is not None:
        text.append(t("next_open", when=when(t, following, turn.now)))
    return Reply(text, contexts=keep)


ACTIONS = {
    "details": details,
    "opening_hours": opening_hours,
    "open_now": open_now,
    "human": human,
    "on_date": day_asked,
}


def handle(turn: Turn, settings: Settings) -> Reply:
    return ACTIONS[turn.action](turn, settings)
