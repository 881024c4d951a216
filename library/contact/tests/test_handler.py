"""contact: details, opening hours, "are you open now?" and handing over to a person.

Every ``now`` is London local time, as the runtime gives it. Calendar used below (2026):
Tue 1 Dec, Fri 4 Dec, Sat 5 Dec, Mon 7 Dec; Thu 24 Dec (oxford and cardiff closure: Christmas
Eve), Fri 25 Dec (Christmas Day), Mon 28 Dec (Boxing Day, substitute day), oxford closed 29-31 Dec
("the Christmas break"), Fri 1 Jan 2027 (New Year's Day), Mon 4 Jan 2027 first day open again.
Oxford: Mon-Thu 9am-5pm, Fri 9am-4:30pm, live chat Mon-Fri 10am-4pm. Cardiff: Mon-Thu 8:30am-5pm,
Fri 8:30am-4:30pm, Sat 9am-12pm, no live chat.
"""

from __future__ import annotations

import copy
import importlib
import re
from datetime import UTC, datetime, time, timedelta

import pytest

from townhall.contract import Link, Reply
from townhall.library import default_library
from townhall_tools.testing import LONDON, settings_for, tenant_doc, turn

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
OXFORD_CHAT = Link("Chat to an adviser", "https://example.org/demo/oxford/live-chat")
OXFORD_LINKS = (
    Link("Contact form", "https://example.org/demo/oxford/contact"),
    Link("Council website", "https://example.org/demo/oxford"),
)
OXFORD_REACH = (
    "You can contact Oxford City Council by phone on 01632 960001, by email at "
    "demo-oxford@example.org or using the online form."
)
CARDIFF_REACH_CY = (
    "Gallwch gysylltu â'r cyngor dros y ffôn ar 01632 960002, drwy e-bost yn "
    "demo-cardiff@example.org neu drwy'r ffurflen ar-lein."
)


def ask(action: str, now, tenant="oxford", language="en", override=None) -> Reply:
    handle = default_library().processes["contact"].handler
    settings = settings_for("contact", tenant, language=language, override=override)
    reply = handle(turn(f"contact.{action}", now=now, language=language), settings)
    assert isinstance(reply, Reply)
    for line in (*reply.text, *reply.quick_replies, *(link.title for link in reply.links)):
        assert not PLACEHOLDER.search(line), f"unfilled placeholder in {line!r}"
    return reply


def settings_of(tenant: str, **changes) -> dict:
    """The tenant's contact settings with some keys replaced (None removes a key)."""
    settings = copy.deepcopy(tenant_doc(tenant)["processes"]["contact"])
    for key, value in changes.items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    return settings


def module(name: str):
    default_library().processes["contact"].handler  # makes townhall_processes.contact a package
    return importlib.import_module(f"townhall_processes.contact.{name}")


# -- open now / closed now ---------------------------------------------------------------------


def test_open_on_a_weekday_inside_hours():
    assert ask("open_now", "2026-12-01T10:00").text == ("Yes, we're open now, until 5pm.",)


def test_open_on_a_friday_until_half_past_four():
    assert ask("open_now", "2026-12-04T15:00").text == ("Yes, we're open now, until 4:30pm.",)


def test_open_from_the_opening_minute():
    assert ask("open_now", "2026-12-01T09:00").text == ("Yes, we're open now, until 5pm.",)


def test_closed_in_the_evening_opens_tomorrow_at_nine():
    reply = ask("open_now", "2026-12-01T18:00")
    assert reply.text == ("No, we're closed at the moment.", "We next open tomorrow at 9am.")


def test_closed_at_the_closing_minute():
    reply = ask("open_now", "2026-12-01T17:00")
    assert reply.text == ("No, we're closed at the moment.", "We next open tomorrow at 9am.")


def test_closed_early_in_the_morning_opens_today():
    reply = ask("open_now", "2026-12-01T07:30")
    assert reply.text == ("No, we're closed at the moment.", "We next open today at 9am.")


def test_friday_evening_next_opens_on_monday():
    reply = ask("open_now", "2026-12-04T18:00")
    assert reply.text == ("No, we're closed at the moment.", "We next open on Monday 7 December at 9am.")


def test_saturday_for_a_council_closed_at_weekends():
    reply = ask("open_now", "2026-12-05T10:00")
    assert reply.text == ("No, we're closed at the moment.", "We next open on Monday 7 December at 9am.")


def test_saturday_morning_for_cardiff_is_open_until_noon():
    assert ask("open_now", "2026-12-05T10:00", "cardiff").text == ("Yes, we're open now, until 12pm.",)


def test_saturday_noon_for_cardiff_is_closed_until_monday():
    reply = ask("open_now", "2026-12-05T12:00", "cardiff")
    assert reply.text == ("No, we're closed at the moment.", "We next open on Monday 7 December at 8:30am.")


def test_friday_evening_for_cardiff_opens_tomorrow():
    reply = ask("open_now", "2026-12-04T18:00", "cardiff")
    assert reply.text == ("No, we're closed at the moment.", "We next open tomorrow at 9am.")


def test_bank_holiday_before_the_weekend_skips_to_the_next_working_day():
    # Thursday before Good Friday (3 April 2026) and Easter Monday (6 April 2026)
    reply = ask("open_now", "2026-04-02T18:00")
    assert reply.text == ("No, we're closed at the moment.", "We next open on Tuesday 7 April at 9am.")


# -- bank holidays and closures -------------------------------------------------------------------


def test_christmas_day_is_closed_with_its_name_and_the_next_opening():
    reply = ask("open_now", "2026-12-25T10:00")
    assert reply.text == (
        "No, we're closed at the moment.",
        "We're closed today (Christmas Day).",
        "We next open on Monday 4 January at 9am.",
    )


def test_boxing_day_substitute_on_monday_is_closed():
    reply = ask("open_now", "2026-12-28T10:00", "cardiff")
    assert reply.text == (
        "No, we're closed at the moment.",
        "We're closed today (Boxing Day).",
        "We next open tomorrow at 8:30am.",
    )


def test_christmas_day_for_cardiff_opens_on_the_saturday():
    reply = ask("open_now", "2026-12-25T10:00", "cardiff")
    assert reply.text[1:] == ("We're closed today (Christmas Day).", "We next open tomorrow at 9am.")


def test_council_closure_from_settings_gives_its_reason():
    reply = ask("open_now", "2026-12-24T10:00")
    assert reply.text == (
        "No, we're closed at the moment.",
        "We're closed today (Christmas Eve).",
        "We next open on Monday 4 January at 9am.",
    )


@pytest.mark.parametrize("day", ["2026-12-29", "2026-12-30", "2026-12-31"])
def test_oxford_christmas_break(day):
    reply = ask("open_now", f"{day}T11:00")
    assert reply.text[1] == "We're closed today (the Christmas break)."
    assert reply.text[2] == "We next open on Monday 4 January at 9am."


def test_closure_without_a_reason():
    override = settings_of("oxford", closures=[{"date": "2026-12-02"}])
    reply = ask("open_now", "2026-12-02T10:00", override=override)
    assert reply.text == ("No, we're closed at the moment.", "We're closed today.", "We next open tomorrow at 9am.")


def test_bank_holidays_none_opens_on_bank_holidays():
    override = settings_of("oxford", bank_holidays="none", closures=None)
    assert ask("open_now", "2026-12-25T10:00", override=override).text == ("Yes, we're open now, until 4:30pm.",)


def test_closure_after_closing_time_still_says_closed_today():
    reply = ask("open_now", "2026-12-25T20:00")
    assert "We're closed today (Christmas Day)." in reply.text


# -- opening hours --------------------------------------------------------------------------------

OXFORD_WEEK = (
    "Our opening hours are:\n"
    "Monday: 9am to 5pm\n"
    "Tuesday: 9am to 5pm\n"
    "Wednesday: 9am to 5pm\n"
    "Thursday: 9am to 5pm\n"
    "Friday: 9am to 4:30pm\n"
    "Saturday: closed\n"
    "Sunday: closed"
)


def test_opening_hours_lists_every_weekday_and_the_status():
    reply = ask("opening_hours", "2026-12-01T10:00")
    assert reply.text == (OXFORD_WEEK, "We're open now, until 5pm.")


def test_opening_hours_lists_closures_in_the_next_fourteen_days():
    reply = ask("opening_hours", "2026-12-14T10:00")
    assert reply.text == (
        OXFORD_WEEK,
        "We're closed on Thursday 24 December (Christmas Eve).",
        "We're closed on Friday 25 December (Christmas Day).",
        "We're closed on Monday 28 December (Boxing Day).",
        "We're open now, until 5pm.",
    )


def test_opening_hours_over_christmas_lists_holidays_and_council_closures():
    reply = ask("opening_hours", "2026-12-20T10:00")  # a Sunday
    assert reply.text == (
        OXFORD_WEEK,
        "We're closed on Thursday 24 December (Christmas Eve).",
        "We're closed on Friday 25 December (Christmas Day).",
        "We're closed on Monday 28 December (Boxing Day).",
        "We're closed on Tuesday 29 December (the Christmas break).",
        "We're closed on Wednesday 30 December (the Christmas break).",
        "We're closed on Thursday 31 December (the Christmas break).",
        "We're closed on Friday 1 January (New Year’s Day).",
        "We're closed at the moment. We next open tomorrow at 9am.",
    )


def test_opening_hours_does_not_list_closures_on_days_already_closed():
    override = settings_of("oxford", closures=[{"date": "2026-12-05", "reason": {"en": "a Saturday event"}}])
    reply = ask("opening_hours", "2026-12-01T10:00", override=override)
    assert reply.text == (OXFORD_WEEK, "We're open now, until 5pm.")


def test_opening_hours_closure_without_a_reason():
    override = settings_of("oxford", closures=[{"date": "2026-12-03"}])
    reply = ask("opening_hours", "2026-12-01T10:00", override=override)
    assert reply.text[1] == "We're closed on Thursday 3 December."


def test_cardiff_opening_hours_include_saturday_until_noon():
    reply = ask("opening_hours", "2026-12-01T10:00", "cardiff")
    assert "\nFriday: 8:30am to 4:30pm\nSaturday: 9am to 12pm\nSunday: closed" in reply.text[0]


def test_lunch_closure_shows_both_ranges_and_half_past_twelve():
    override = settings_of("oxford", opening_hours={"monday": "09:00-12:30, 13:30-17:00"})
    reply = ask("opening_hours", "2026-12-07T10:00", override=override)
    assert reply.text[0].splitlines()[1] == "Monday: 9am to 12:30pm, 1:30pm to 5pm"
    assert reply.text[-1] == "We're open now, until 12:30pm."


def test_lunch_closure_is_closed_at_one_and_opens_at_half_past_one():
    override = settings_of("oxford", opening_hours={"monday": "09:00-12:30, 13:30-17:00"})
    reply = ask("open_now", "2026-12-07T13:00", override=override)
    assert reply.text == ("No, we're closed at the moment.", "We next open today at 1:30pm.")
    assert ask("open_now", "2026-12-07T13:30", override=override).text == ("Yes, we're open now, until 5pm.",)


def test_always_closed_says_closed_without_a_next_opening():
    override = settings_of("oxford", opening_hours={}, live_chat=None)
    assert ask("open_now", "2026-12-01T10:00", override=override).text == ("No, we're closed at the moment.",)
    details = ask("details", "2026-12-01T10:00", override=override)
    assert details.text[-1] == "We're closed at the moment."
    assert "next open" not in " ".join(details.text)


# -- the clock ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "english", "welsh"),
    [
        (time(9, 0), "9am", "9yb"),
        (time(9, 5), "9:05am", "9:05yb"),
        (time(0, 0), "12am", "12yb"),
        (time(12, 0), "12pm", "12yh"),
        (time(12, 30), "12:30pm", "12:30yh"),
        (time(17, 0), "5pm", "5yh"),
        (time(23, 45), "11:45pm", "11:45yh"),
    ],
)
def test_clock(value, english, welsh):
    clock = module("handler").clock
    contact = default_library().processes["contact"]
    assert clock(contact.texts("en"), value) == english
    assert clock(contact.texts("cy"), value) == welsh


# -- summer time ----------------------------------------------------------------------------------


def test_summer_day_uses_london_wall_clock():
    assert ask("open_now", "2026-07-15T16:59").text == ("Yes, we're open now, until 5pm.",)
    assert ask("open_now", "2026-07-15T08:59").text == ("No, we're closed at the moment.", "We next open today at 9am.")


def test_same_utc_instant_is_open_in_summer_and_closed_in_winter():
    summer = datetime(2026, 7, 15, 8, 30, tzinfo=UTC).astimezone(LONDON)  # 9:30 BST
    winter = datetime(2026, 12, 16, 8, 30, tzinfo=UTC).astimezone(LONDON)  # 8:30 GMT
    assert ask("open_now", summer).text == ("Yes, we're open now, until 5pm.",)
    assert ask("open_now", winter).text == ("No, we're closed at the moment.", "We next open today at 9am.")


def test_next_opening_across_the_clock_change_is_in_summer_time():
    hours = module("hours")
    settings = settings_of("oxford")
    timetable = hours.Hours.from_settings(settings["opening_hours"], "england-and-wales", settings["closures"])
    friday = datetime(2026, 3, 27, 18, 0, tzinfo=LONDON)  # clocks go forward on Sunday 29 March
    opens = timetable.next_open(friday)
    assert opens == datetime(2026, 3, 30, 9, 0, tzinfo=LONDON)
    assert opens.utcoffset() == timedelta(hours=1)
    assert opens.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    winter = timetable.next_open(datetime(2026, 12, 4, 18, 0, tzinfo=LONDON))
    assert winter.utcoffset() == timedelta(0)


# -- details ----------------------------------------------------------------------------------------


def test_details_while_chat_is_staffed_offer_the_chat_first():
    reply = ask("details", "2026-12-01T10:00")
    assert reply.text == (
        "Here's how to get in touch.",
        OXFORD_REACH,
        "We're open now, until 5pm.",
        "You can chat to an adviser online now.",
    )
    assert reply.links == (OXFORD_CHAT, *OXFORD_LINKS)


@pytest.mark.parametrize("now", ["2026-12-01T09:30", "2026-12-01T16:00", "2026-12-04T16:15", "2026-12-01T18:00"])
def test_details_outside_chat_hours_have_no_chat_link(now):
    reply = ask("details", now)
    assert reply.links == OXFORD_LINKS
    assert "You can chat to an adviser online now." not in reply.text


def test_details_when_closed_say_when_we_next_open():
    reply = ask("details", "2026-12-01T18:00")
    assert reply.text == (
        "Here's how to get in touch.",
        OXFORD_REACH,
        "We're closed at the moment. We next open tomorrow at 9am.",
    )


def test_no_chat_on_a_bank_holiday_inside_chat_hours():
    reply = ask("details", "2026-12-25T11:00")
    assert OXFORD_CHAT not in reply.links
    assert reply.text[2:] == (
        "We're closed today (Christmas Day).",
        "We're closed at the moment. We next open on Monday 4 January at 9am.",
    )


def test_chat_is_offered_at_one_minute_to_four():
    assert ask("details", "2026-12-01T15:59").links[0] == OXFORD_CHAT


# -- handing over to a person ------------------------------------------------------------------------


def test_human_while_chat_is_staffed_offers_the_chat():
    reply = ask("human", "2026-12-01T10:00")
    assert reply.text == ("You can chat to an adviser online now.",)
    assert reply.links == (OXFORD_CHAT, *OXFORD_LINKS)


@pytest.mark.parametrize("now", ["2026-12-01T09:30", "2026-12-04T16:15"])
def test_human_when_open_but_chat_closed_offers_the_phone(now):
    reply = ask("human", now)
    assert reply.text == ("You can speak to someone now by calling 01632 960001.",)
    assert reply.links == OXFORD_LINKS


def test_human_without_live_chat_offers_the_phone_while_open():
    reply = ask("human", "2026-12-01T10:00", "cardiff")
    assert reply.text == ("You can speak to someone now by calling 01632 960002.",)
    assert all("live-chat" not in link.url for link in reply.links)


def test_human_when_closed_says_write_to_us_and_gives_contact_details():
    reply = ask("human", "2026-12-01T18:00")
    assert reply.text == (
        "Our advisers aren't available right now.",
        "We're closed at the moment. We next open tomorrow at 9am.",
        "You can also write to us at any time, and we'll reply when we're open.",
        OXFORD_REACH,
    )
    assert reply.links == OXFORD_LINKS


def test_human_on_a_bank_holiday_says_why_we_are_closed():
    reply = ask("human", "2026-12-28T11:00")
    assert reply.text[:3] == (
        "Our advisers aren't available right now.",
        "We're closed today (Boxing Day).",
        "We're closed at the moment. We next open on Monday 4 January at 9am.",
    )
    assert OXFORD_CHAT not in reply.links


def test_human_when_closed_and_only_a_phone_does_not_offer_writing():
    doc = tenant_doc("oxford")
    doc["contact"] = {"phone": "01632 960001"}
    reply = ask("human", "2026-12-01T18:00", doc)
    assert "You can also write to us at any time, and we'll reply when we're open." not in reply.text
    assert reply.text[-1] == "You can contact Oxford City Council by phone on 01632 960001."
    assert reply.links == ()


# -- Welsh ---------------------------------------------------------------------------------------------


def test_welsh_open_now_uses_welsh_times():
    assert ask("open_now", "2026-12-01T10:00", "cardiff", "cy").text == ("Ydyn, rydyn ni ar agor nawr, tan 5yh.",)


def test_welsh_next_opening_mutates_the_weekday():
    reply = ask("open_now", "2026-12-05T12:00", "cardiff", "cy")
    assert reply.text == (
        "Nac ydyn, rydyn ni ar gau ar hyn o bryd.",
        "Byddwn ni'n agor nesaf ar ddydd Llun 7 Rhagfyr am 8:30yb.",
    )


def test_welsh_tomorrow():
    reply = ask("open_now", "2026-12-04T18:00", "cardiff", "cy")
    assert reply.text[-1] == "Byddwn ni'n agor nesaf yfory am 9yb."


def test_welsh_bank_holiday_name():
    reply = ask("open_now", "2026-12-25T10:00", "cardiff", "cy")
    assert reply.text == (
        "Nac ydyn, rydyn ni ar gau ar hyn o bryd.",
        "Rydyn ni ar gau heddiw (Dydd Nadolig).",
        "Byddwn ni'n agor nesaf yfory am 9yb.",
    )


def test_welsh_council_closure_reason():
    reply = ask("open_now", "2026-12-24T10:00", "cardiff", "cy")
    assert reply.text[1] == "Rydyn ni ar gau heddiw (Noswyl Nadolig)."


@pytest.mark.parametrize(
    ("division", "day", "welsh"),
    [
        ("england-and-wales", "2027-01-01", "Dydd Calan"),  # GOV.UK title has a curly apostrophe
        ("england-and-wales", "2026-12-28", "Gŵyl San Steffan"),
        ("england-and-wales", "2026-08-31", "Gŵyl banc yr haf"),
        ("scotland", "2026-11-30", "Dydd Sant Andreas"),
        ("scotland", "2026-01-02", "Ail ddydd Ionawr"),
        ("northern-ireland", "2026-03-17", "Dydd Sant Padrig"),
        ("northern-ireland", "2026-07-13", "Brwydr y Boyne"),
    ],
)
def test_welsh_names_for_every_kind_of_bank_holiday(division, day, welsh):
    override = settings_of("cardiff", bank_holidays=division)
    reply = ask("open_now", f"{day}T10:00", "cardiff", "cy", override=override)
    assert f"Rydyn ni ar gau heddiw ({welsh})." in reply.text


def test_welsh_opening_hours_and_upcoming_closures():
    reply = ask("opening_hours", "2026-12-14T10:00", "cardiff", "cy")
    assert reply.text == (
        "Ein horiau agor yw:\n"
        "Dydd Llun: 8:30yb tan 5yh\n"
        "Dydd Mawrth: 8:30yb tan 5yh\n"
        "Dydd Mercher: 8:30yb tan 5yh\n"
        "Dydd Iau: 8:30yb tan 5yh\n"
        "Dydd Gwener: 8:30yb tan 4:30yh\n"
        "Dydd Sadwrn: 9yb tan 12yh\n"
        "Dydd Sul: ar gau",
        "Byddwn ni ar gau ar ddydd Iau 24 Rhagfyr (Noswyl Nadolig).",
        "Byddwn ni ar gau ar ddydd Gwener 25 Rhagfyr (Dydd Nadolig).",
        "Byddwn ni ar gau ar ddydd Llun 28 Rhagfyr (Gŵyl San Steffan).",
        "Rydyn ni ar agor nawr, tan 5yh.",
    )


def test_welsh_human_when_closed():
    reply = ask("human", "2026-12-01T18:00", "cardiff", "cy")
    assert reply.text == (
        "Dydy ein hymgynghorwyr ddim ar gael ar hyn o bryd.",
        "Rydyn ni ar gau ar hyn o bryd. Byddwn ni'n agor nesaf yfory am 8:30yb.",
        "Gallwch hefyd ysgrifennu atom ar unrhyw adeg, a byddwn ni'n ateb pan fyddwn ni ar agor.",
        CARDIFF_REACH_CY,
    )
    assert reply.links == (
        Link("Ffurflen gyswllt", "https://example.org/demo/cardiff/contact"),
        Link("Gwefan y cyngor", "https://example.org/demo/cardiff"),
    )


def test_welsh_live_chat_link():
    chat = {"url": "https://example.org/demo/cardiff/chat", "hours": {"tuesday": "10:00-16:00"}}
    override = settings_of("cardiff", live_chat=chat)
    reply = ask("human", "2026-12-01T10:00", "cardiff", "cy", override=override)
    assert reply.text == ("Gallwch sgwrsio ag ymgynghorydd ar-lein nawr.",)
    assert reply.links[0] == Link("Sgwrsio ag ymgynghorydd", "https://example.org/demo/cardiff/chat")


def test_welsh_details():
    reply = ask("details", "2026-12-01T10:00", "cardiff", "cy")
    assert reply.text == ("Dyma sut i gysylltu â ni.", CARDIFF_REACH_CY, "Rydyn ni ar agor nawr, tan 5yh.")


def test_english_turn_for_a_welsh_council_stays_english():
    reply = ask("open_now", "2026-12-24T10:00", "cardiff", "en")
    assert reply.text[1] == "We're closed today (Christmas Eve)."


# -- every action, every tenant, every language: a well-formed reply ------------------------------------


@pytest.mark.parametrize("action", ["details", "opening_hours", "open_now", "human"])
@pytest.mark.parametrize(("tenant", "language"), [("oxford", "en"), ("cardiff", "en"), ("cardiff", "cy")])
@pytest.mark.parametrize("now", ["2026-12-01T10:00", "2026-12-05T10:30", "2026-12-25T10:00", "2026-07-15T23:30"])
def test_every_action_gives_text(action, tenant, language, now):
    reply = ask(action, now, tenant, language)
    assert reply.text and all(line.strip() for line in reply.text)
    assert reply.contexts == () and reply.event is None


def test_human_when_open_without_a_phone_offers_writing_not_a_closed_message():
    from townhall.contract import Settings
    from townhall.library import default_library
    from townhall_tools.testing import settings_for, turn

    settings = settings_for("contact", "cardiff")
    council = settings.council
    no_phone = council.__class__(
        **{
            **council.__dict__,
            "contact": council.contact.__class__(
                email="demo-cardiff@example.org", web_form="https://example.org/demo/cardiff/contact"
            ),
        }
    )
    handle = default_library().processes["contact"].handler
    reply = handle(turn("contact.human", now="2026-12-01T10:00"), Settings(no_phone, settings.process, settings.texts))
    assert "Our advisers aren't available right now." not in reply.text
    assert reply.text[0] == "You can also write to us at any time, and we'll reply when we're open."
    assert "demo-cardiff@example.org" in reply.text[-1]


# -- the manifest's cache: {by: minute} -------------------------------------------------------


@pytest.mark.parametrize("tenant,language", [("oxford", "en"), ("cardiff", "en"), ("cardiff", "cy")])
def test_a_reply_is_the_same_throughout_its_minute(tenant, language):
    """What ``cache: {by: minute}`` promises the runtime: every 10 minutes from 20 December to
    6 January (bank holidays, council closures, weekends) and over the March clock change, each
    action's reply at the first instant of a minute is the reply at its last."""
    handle = default_library().processes["contact"].handler
    settings = settings_for("contact", tenant, language=language)
    minutes = [datetime(2026, 12, 20, tzinfo=LONDON) + timedelta(minutes=10 * i) for i in range(18 * 144)]
    minutes += [datetime(2027, 3, 27, tzinfo=LONDON) + timedelta(minutes=10 * i) for i in range(3 * 144)]
    for now in minutes:
        for action in module("handler").ACTIONS:
            first = handle(turn(f"contact.{action}", now=now, language=language), settings)
            last = handle(
                turn(f"contact.{action}", now=now + timedelta(seconds=59, microseconds=999999), language=language),
                settings,
            )
            assert first == last, (action, now)


def test_the_manifest_lets_the_runtime_keep_replies_for_a_minute():
    assert default_library().processes["contact"].manifest["cache"] == {"by": "minute"}
