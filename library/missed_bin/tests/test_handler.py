"""missed_bin's handler with the demo tenants' settings and the fakes (bins, Open311, Notify) served
over HTTP; and the once-only report through the served webhook.

Oxford: fixed rounds (1 Demo Lane, OX1 2JD, is on TUE-A: recycling, food and garden on Tue 1 Dec
2026, rubbish on Tue 8 Dec), crews finish at 5pm, Open311 in XML with a batch service (its token
is polled), collection date attribute. Cardiff: OS Places and iCal (1 Demo Street, CF10 1EP: the
same Tuesday pattern), crews finish at 4:30pm, Open311 in JSON, realtime.
"""

from __future__ import annotations

import pytest
import requests

from townhall.contract import Reply
from townhall.library import default_library
from townhall.upstreams import open311
from townhall_tools.testing import sandbox_upstream, settings_for, tenant_doc, turn

handle = default_library().processes["missed_bin"].handler
OXFORD_REACH = (
    "You can contact Oxford City Council by phone on 01632 960001, by email at "
    "demo-oxford@example.org or using the online form."
)


@pytest.fixture(autouse=True)
def fresh_definitions():
    open311.clear_cache()
    yield
    open311.clear_cache()


@pytest.fixture
def ask(served_fakes, tmp_path):
    upstreams = {}

    def ask(
        intent: str,
        parameters=None,
        *,
        tenant="oxford",
        language="en",
        text="",
        now="2026-12-01T18:00",
        contexts=None,
        settings=None,
    ) -> Reply:
        doc = tenant_doc(tenant)
        if settings is not None:  # changed keys; None drops one
            merged = {**doc["processes"]["missed_bin"], **settings}
            doc["processes"]["missed_bin"] = {k: v for k, v in merged.items() if v is not None}
        up = upstreams.setdefault(tenant, sandbox_upstream(tenant, tmp_path / tenant))
        built = settings_for("missed_bin", doc, language=language, fakes=served_fakes.url, upstream=up)
        return handle(
            turn(
                f"missed_bin.{intent}", parameters, language=language, text=text or intent, now=now, contexts=contexts
            ),
            built,
        )

    return ask


def active(reply: Reply) -> dict:
    return {c.name: dict(c.parameters) for c in reply.contexts if c.lifespan > 0}


def posts(served_fakes, uprn: str, day: str | None = None) -> list[dict]:
    """What the Open311 fake received for a property (and collection date)."""
    found = requests.get(f"{served_fakes.url}/open311/_received", timeout=5).json()["requests"]
    return [
        p
        for p in found
        if p["fields"].get("attribute[uprn]") == uprn and (day is None or day in p["fields"].get("description", ""))
    ]


def notified(served_fakes, reference: str) -> list[dict]:
    found = requests.get(f"{served_fakes.url}/notify/_received", timeout=5).json()["notifications"]
    return [n for n in found if n.get("reference") == reference]


# -- is it missed? -------------------------------------------------------------------------------------


def test_after_the_crews_finish_the_bin_can_be_reported(ask):
    reply = ask("report", {"bin": "recycling", "postcode": "OX1 2JD"}, text="my recycling wasnt collected")
    assert reply.text == (
        "The collection of your blue recycling bin at 1 Demo Lane, Oxford was due today. Shall I send a report that it was missed?",
    )
    assert reply.quick_replies == ("Yes, send the report", "No, don't send the report")
    assert active(reply)["missed_bin-confirm"] == {
        "address": "1 Demo Lane, Oxford",
        "postcode": "OX1 2JD",
        "uprn": "100120000101",
        "round": "TUE-A",
        "bin": "recycling",
        "date": "2026-12-01",
    }
    assert "missed_bin-property" in active(reply)


def test_before_the_crews_finish_it_is_not_missed_yet(ask):
    reply = ask("report", {"bin": "recycling", "postcode": "OX1 2JD"}, now="2026-12-01T11:00")
    assert reply.text == (
        "The collection of your blue recycling bin is due today. Our crews work until 5pm, so "
        "they may not have reached you yet. If it hasn't happened by 5pm, you can report it then.",
    )
    assert "missed_bin-confirm" not in active(reply)


def test_early_for_the_collection(ask):
    reply = ask(
        "report", {"bin": "rubbish", "postcode": "OX1 2JD"}, text="my green bin wasn't emptied", now="2026-12-07T09:00"
    )
    assert reply.text == ("Your green rubbish bin isn't due to be collected until tomorrow.",)


def test_too_late_to_report_online(ask):
    reply = ask("report", {"postcode": "OX1 2JD"}, text="my blue bin was missed", now="2026-12-07T09:00")
    assert reply.text == (
        "It's too late to report the collection of your blue recycling bin on Tuesday 1 December online: missed "
        "collections need to be reported within 2 working days.",
        "The next collection of your blue recycling bin is Tuesday 15 December.",
        OXFORD_REACH,
    )
    assert reply.links


def test_which_bin_is_asked_and_the_postcode_kept(ask):
    reply = ask("report", {"postcode": "OX1 2JD"}, text="my bin wasn't collected OX1 2JD")
    assert reply.text == ("Which bin wasn't collected?",)
    assert reply.quick_replies == (
        "Green rubbish bin",
        "Blue recycling bin",
        "Food waste caddy",
        "Brown garden waste bin",
    )
    assert active(reply) == {"missed_bin-bin": {"postcode": "OX1 2JD"}}
    reply = ask("which", {}, text="Food waste caddy", contexts=active(reply))
    assert reply.text[0].startswith("The collection of your food waste caddy at 1 Demo Lane, Oxford was due today.")
    reply = ask("which", {}, text="the purple one", contexts={"missed_bin-bin": {}})
    assert reply.text == ("Sorry, I didn't catch which bin. Please choose one.", "Which bin wasn't collected?")


def test_a_bin_the_council_does_not_collect(ask):
    reply = ask("report", {"bin": "glass"}, text="my glass box wasn't collected")
    assert reply.text == ("We don't collect glass separately here.", "Which bin wasn't collected?")


def test_the_address_from_bin_collection_is_used(ask):
    known = {
        "bin_collection-property": {
            "address": "1 Demo Lane, Oxford",
            "postcode": "OX1 2JD",
            "uprn": "100120000101",
            "round": "TUE-A",
        }
    }
    reply = ask("report", {"bin": "food"}, text="the food caddy was missed", contexts=known)
    assert reply.text[0].startswith("The collection of your food waste caddy at 1 Demo Lane, Oxford was due today.")


def test_the_postcode_and_address_steps(ask):
    reply = ask("report", {"bin": "rubbish"}, text="bin men missed my bin")
    assert reply.text == ("What's your postcode? I'll use it to find your address.",)
    reply = ask("postcode", {"postcode": "OX4 1YB"}, text="OX4 1YB", contexts=active(reply))
    assert reply.quick_replies[-2:] == ("Show more addresses", "My address is not on the list")
    reply = ask("address", {}, text="2 Example Road", contexts=active(reply), now="2026-12-02T18:00")
    # WED-B: rubbish on Wednesday 2 December.
    assert reply.text == (
        "The collection of your green rubbish bin at 2 Example Road, Oxford was due today. "
        "Shall I send a report that it was missed?",
    )


def test_the_collections_failing(ask):
    reply = ask("report", {"bin": "rubbish", "postcode": "ZZ1 5AA"}, tenant="cardiff")
    assert reply.text[0].startswith("Sorry, I can't check your collection days at the moment")
    assert "Cardiff Council" in reply.text[1]


# -- the report ------------------------------------------------------------------------------------


def confirming(ask, **kw) -> dict:
    return active(ask("report", {"bin": "recycling", "postcode": "OX1 2JD"}, **kw))


def test_confirmed_reports_go_to_open311_as_fixmystreet_sends_them(ask, served_fakes):
    before = len(posts(served_fakes, "100120000101", "2026-12-01"))  # the fake serves the whole session
    reply = ask("confirm", {}, text="yes report it", contexts=confirming(ask))
    [post] = posts(served_fakes, "100120000101", "2026-12-01")[before:]
    reference = post["service_request_id"]
    assert reply.text == (
        f"Thank you. I've reported the missed collection of your blue recycling bin. Your reference number is "
        f"{reference}.",
        "We aim to come back for it within 2 working days.",
        "If you'd like a confirmation, type your email address or mobile number.",
    )
    assert reply.quick_replies == ("No thanks",)
    assert post["token"] and post["format"] == "xml" and post["council"] == "oxford"
    fields = post["fields"]
    assert fields["service_code"] == "MISSBIN"
    assert fields["attribute[bin_type]"] == "recycling" and fields["attribute[collection_date]"] == "2026-12-01"
    assert fields["attribute[closest_address]"] == "1 Demo Lane, Oxford, OX1 2JD"
    assert fields["address_string"] == "1 Demo Lane, Oxford, OX1 2JD"
    assert fields["description"].startswith(
        "title: Missed bin collection: blue recycling bin\n\ndetail: The blue "
        "recycling bin at 1 Demo Lane, Oxford, OX1 2JD was due to be collected "
        "on Tuesday 1 December 2026 (2026-12-01)"
    )
    assert "email" not in fields and "phone" not in fields
    done = {"reference": reference, "token": post["token"], "bin": "recycling", "date": "2026-12-01"}
    assert active(reply) == {"missed_bin-report": done, "missed_bin-done": done}
    assert "missed_bin-confirm" in {c.name for c in reply.contexts}  # cleared (lifespan 0)


def test_yes_twice_is_one_report(ask, served_fakes):
    before = len(posts(served_fakes, "100120000101", "2026-12-01"))
    contexts = confirming(ask, tenant="cardiff", now="2026-12-01T17:00")
    first = ask("confirm", {}, text="yes", contexts=contexts, tenant="cardiff")
    again = ask("confirm", {}, text="yes", contexts=contexts, tenant="cardiff")
    assert first.text == again.text and "CAR-" in first.text[0]
    assert len(posts(served_fakes, "100120000101", "2026-12-01")) == before + 1
    after = ask("confirm", {}, text="yes", contexts=active(first), tenant="cardiff")
    assert after.text[0].startswith("I've already reported that. Your reference number is CAR-")


def test_open311_failing_keeps_the_question(ask):
    broken = {
        "open311": {
            **tenant_doc("oxford")["processes"]["missed_bin"]["open311"],
            "endpoint": {"base_url": "http://127.0.0.1:8090/open311/broken", "api_key_secret": "open311-api-key"},
        }
    }
    reply = ask("confirm", {}, text="yes", contexts=confirming(ask), settings=broken)
    assert reply.text == ("Sorry, I couldn't send your report just now. You can try again by saying yes.", OXFORD_REACH)
    assert "missed_bin-confirm" in active(reply)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"service_code": "FLYTIP"}, "a required question the process cannot answer"),
        (
            {
                "bin_attribute": {
                    "code": "bin_type",
                    "values": {"rubbish": "x", "recycling": "blue", "food": "y", "garden": "z"},
                }
            },
            "a value the service does not list",
        ),
        (
            {
                "endpoint": {
                    "base_url": "http://127.0.0.1:8090/open311/oxford",
                    "api_key_secret": "open311-county-api-key",
                }
            },
            "a key the endpoint refuses",
        ),
    ],
)
def test_reports_the_endpoint_would_refuse_are_not_sent(ask, served_fakes, change, why):
    before = len(posts(served_fakes, "100120000101"))
    settings = {"open311": {**tenant_doc("oxford")["processes"]["missed_bin"]["open311"], **change}}
    reply = ask("confirm", {}, text="yes", contexts=confirming(ask), settings=settings)
    assert reply.text == (REFUSED, OXFORD_REACH), why  # no retry offered: it would be refused again
    assert "missed_bin-confirm" not in active(reply) and "yes" not in reply.text[0]
    assert len(posts(served_fakes, "100120000101")) == before


REFUSED = (
    "Sorry, the council's system could not take this report, so nothing was reported. "
    "Please report it to the council another way."
)
DECLINED = (
    "OK, I haven't sent anything: nothing has been reported. If the bin is still not emptied, you can report it "
    "here any time within the reporting window, or contact the council."
)


@pytest.mark.parametrize(
    ("intent", "text", "language"),
    [
        ("decline", "no dont", "en"),
        ("confirm", "yes... no wait, don't send it", "en"),  # a confirm whose words refuse
        ("confirm", "actually leave it", "en"),
        ("decline", "Na, peidiwch ag anfon yr adroddiad", "cy"),
        ("confirm", "ie... na, gad e", "cy"),
    ],
)
def test_declining_reports_nothing_whichever_intent_matched(ask, served_fakes, intent, text, language):
    tenant = "oxford" if language == "en" else "cardiff"
    before = len(posts(served_fakes, "100120000101"))
    contexts = confirming(ask, tenant=tenant, language=language, now="2026-12-01T17:00")
    reply = ask(intent, {}, text=text, language=language, tenant=tenant, contexts=contexts)
    if language == "en":
        assert reply.text == (DECLINED,) and reply.quick_replies == ("Report a missed bin",)
    else:
        assert reply.text[0].startswith("Iawn, dydw i ddim wedi anfon dim byd")
    assert active(reply) == {}
    assert len(posts(served_fakes, "100120000101")) == before


def test_an_unclear_answer_asks_again_with_both_replies(ask, served_fakes):
    before = len(posts(served_fakes, "100120000101"))
    contexts = confirming(ask)
    reply = ask("confirm", {}, text="cheers", contexts=contexts)
    assert reply.quick_replies == ("Yes, send the report", "No, don't send the report")
    assert "missed_bin-confirm" in active(reply)
    welsh = ask("confirm", {}, text="do", language="en", contexts=contexts)  # bare "do" is no English yes
    assert welsh.quick_replies == ("Yes, send the report", "No, don't send the report")
    assert len(posts(served_fakes, "100120000101")) == before


@pytest.mark.parametrize("intent", ["postcode", "address"])
def test_a_postcode_or_address_with_no_bin_asked_asks_which_bin(ask, intent):
    reply = ask(intent, {"postcode": "OX1 2JD"}, text="OX1 2JD")
    assert reply.text == ("Which bin wasn't collected?",)
    assert "Blue recycling bin" in reply.quick_replies


def test_when_they_come_back_is_the_recollection_promise(ask):
    done = {"missed_bin-done": {"reference": "OXF-7", "bin": "recycling", "date": "2026-12-01"}}
    reply = ask("when_back", {}, text="when will they come back for it?", contexts=done)
    assert reply.text == (
        "You reported the missed collection of your blue recycling bin (reference OXF-7).",
        "We aim to come back for it within 2 working days.",
    )
    own = ask("when_back", {}, tenant="cardiff", language="cy", text="pryd fyddan nhw'n dod nôl?", contexts=done)
    assert own.text[1].startswith("Mae ein criwiau'n anelu at ddod nôl i'w gasglu o fewn 3 diwrnod gwaith")
    set_days = ask("when_back", {}, contexts=done, settings={"recollection": {"within_working_days": 5}})
    assert set_days.text[1] == "We aim to come back for it within 5 working days."
    default = ask("when_back", {}, contexts=done, settings={"recollection": None})
    assert default.text[1] == "We aim to come back for it within 2 working days."
    nothing = ask("when_back", {}, text="when will they come back")
    assert nothing.text[0].startswith("I don't have a report of a missed bin from you")


def test_yes_with_nothing_to_confirm_asks_what_was_missed(ask):
    assert ask("confirm", {}, text="yes").text == ("Which bin wasn't collected?",)


# -- the confirmation --------------------------------------------------------------------------------

REPORTED = {"missed_bin-report": {"reference": "CAR-9001", "bin": "recycling", "date": "2026-12-01"}}


def test_a_confirmation_by_email_in_welsh(ask, served_fakes):
    reply = ask(
        "contact",
        {"email": "jo@example.org"},
        text="fy e-bost yw jo@example.org",
        tenant="cardiff",
        language="cy",
        contexts=REPORTED,
        now="2026-12-02T09:00",
    )
    assert reply.text == ("Rydw i wedi anfon cadarnhad at jo@example.org. Eich cyfeirnod yw CAR-9001.",)
    [sent] = notified(served_fakes, "CAR-9001")
    assert sent["type"] == "email" and sent["personalisation"] == {
        "council": "Cyngor Caerdydd",
        "reference": "CAR-9001",
        "summary": "casgliad eich bagiau ailgylchu gwyrdd a fethwyd ddoe",
    }


@pytest.mark.parametrize(
    ("text", "reference", "kind"),
    [
        ("fy e-bost i yw rhys@example.org diolch", "CAR-9101", "email"),
        ("tecstiwch fi ar 07700 900 123", "CAR-9102", "sms"),
    ],
)
def test_welsh_contact_details_without_the_system_entities(ask, served_fakes, text, reference, kind):
    """Dialogflow may extract no @sys.email or @sys.phone-number from Welsh: the words are read."""
    reported = {"missed_bin-report": {"reference": reference, "bin": "recycling", "date": "2026-12-01"}}
    reply = ask("contact", {}, text=text, tenant="cardiff", language="cy", contexts=reported, now="2026-12-02T09:00")
    assert reply.text[0].startswith("Rydw i wedi anfon cadarnhad at")
    [sent] = notified(served_fakes, reference)
    assert sent["type"] == kind


def test_a_confirmation_by_text(ask, served_fakes):
    reported = {"missed_bin-report": {"reference": "OXF-9002", "bin": "food", "date": "2026-12-01"}}
    reply = ask("contact", {"phone": "07700 900123"}, text="07700 900123", contexts=reported)
    assert reply.text == ("I've sent a confirmation to 07700 900123. Your reference number is OXF-9002.",)
    [sent] = notified(served_fakes, "OXF-9002")
    assert sent["type"] == "sms" and sent["personalisation"]["summary"] == (
        "a missed collection of your food waste caddy today"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("jo@example", "That email address doesn't look right."),
        ("01632 960001", "That looks like a landline number"),
        ("12345678901", "That doesn't look like a UK mobile number."),
        ("what do you need", "Please type an email address or a mobile number"),
    ],
)
def test_contact_details_that_will_not_do_are_asked_again(ask, text, words):
    reply = ask("contact", {}, text=text, contexts=REPORTED)
    assert reply.text[0].startswith(words) and reply.quick_replies == ("No thanks",)
    assert "missed_bin-report" in active(reply)


def test_no_thanks(ask):
    for text in ("No thanks", "nah", "no thank you"):
        assert ask("contact", {}, text=text, contexts=REPORTED).text == ("OK. Your reference number is CAR-9001.",)


def test_a_confirmation_sent_but_unanswered_may_still_arrive(ask):
    # Notify's fake sends to slow@example.org, then answers after the turn's deadline.
    reply = ask("contact", {"email": "slow@example.org"}, text="slow@example.org", contexts=REPORTED)
    assert reply.text[0] == (
        "Your report is in. A confirmation may be on its way, but I didn't hear back in time, "
        "so please keep your reference number: CAR-9001."
    )


def test_notify_failing_never_loses_the_report(ask):
    reply = ask("contact", {"email": "fail-500@example.org"}, text="fail-500@example.org", contexts=REPORTED)
    assert reply.text == (
        "Your report is in, but I couldn't send the confirmation. Please keep your reference number: CAR-9001.",
        OXFORD_REACH,
    )


def test_a_council_confirming_by_email_only(ask):
    notify_settings = {
        k: v for k, v in tenant_doc("oxford")["processes"]["missed_bin"]["notify"].items() if k != "sms_template_id"
    }
    reply = ask(
        "contact", {"phone": "07700900123"}, text="07700900123", contexts=REPORTED, settings={"notify": notify_settings}
    )
    assert reply.text == (
        "We can only send confirmations by email. Please type an email address, or choose 'No thanks'.",
    )


def test_without_notify_no_confirmation_is_offered(ask):
    reply = ask("confirm", {}, text="yes", contexts=confirming(ask, now="2026-12-02T10:00"), settings={"notify": None})
    assert len(reply.text) == 2 and reply.quick_replies == ()  # the reference and the re-collection promise


# -- through the webhook -------------------------------------------------------------------------------


def test_two_identical_webhook_calls_make_one_open311_post(http, served_fakes):
    """Dialogflow repeating the request (or the resident saying yes twice): one POST, one reference."""
    confirm = {
        "missed_bin-confirm": {
            "address": "Flat 2, 5 Sample Street, Oxford",
            "postcode": "OX3 9DU",
            "uprn": "100120000302",
            "round": "FRI-B",
            "bin": "rubbish",
            "date": "2026-12-04",
        }
    }
    before = len(posts(served_fakes, "100120000302", "2026-12-04"))
    answers = [
        http.turn("oxford", "missed_bin.confirm", text="yes report it", contexts=confirm, session_id="missed-bin-twice")
        for _ in range(2)
    ]
    assert answers[0]["fulfillmentText"] == answers[1]["fulfillmentText"]
    assert "Your reference number is OXF-" in answers[0]["fulfillmentText"]
    assert len(posts(served_fakes, "100120000302", "2026-12-04")) == before + 1
