"""report_problem's handler, turn by turn, against the Open311 and Notify fakes over loopback HTTP."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from townhall.library import default_library
from townhall.upstreams import open311
from townhall_tools.fakes import point_at
from townhall_tools.testing import sandbox_upstream, settings_for, tenant_doc, turn

HANDLE = default_library().processes["report_problem"].handler
DATA = "report_problem-report"


@pytest.fixture(autouse=True)
def fresh_cache():
    open311.clear_cache()
    yield
    open311.clear_cache()


class Chat:
    """Turns carried like Dialogflow carries them: the reply's contexts are the next turn's."""

    def __init__(self, settings, language="en", now="2026-12-02T10:00"):
        self.settings, self.language, self.now = settings, language, now
        self.contexts: dict[str, dict] = {}
        self.reply = None

    def say(self, text, intent="answer", **parameters):
        self.reply = HANDLE(
            turn(
                f"report_problem.{intent}",
                parameters,
                text=text,
                language=self.language,
                now=self.now,
                contexts=self.contexts,
            ),
            self.settings,
        )
        for context in self.reply.contexts:
            if context.lifespan:
                self.contexts[context.name] = dict(context.parameters)
            else:
                self.contexts.pop(context.name, None)
        return self

    @property
    def text(self) -> str:
        return "\n".join(self.reply.text)

    @property
    def step(self) -> str | None:
        return self.contexts.get(DATA, {}).get("step")


def settings(served_fakes, tmp_path, tenant="oxford", language="en", **override):
    process = None
    if override:
        process = {**tenant_doc(tenant)["processes"]["report_problem"], **override}
        process = json.loads(
            point_at(json.dumps({k: v for k, v in process.items() if v is not None}), served_fakes.url)
        )
    return settings_for(
        "report_problem",
        tenant,
        language=language,
        fakes=served_fakes.url,
        upstream=sandbox_upstream(tenant, tmp_path),
        override=process,
    )


def with_missed_bins(served_fakes, tmp_path):
    """Oxford offering its missed-bin service too (the demo tenant leaves it to missed_bin)."""
    routing = tenant_doc("oxford")["processes"]["report_problem"]["categories"]
    return settings(served_fakes, tmp_path, categories={k: v for k, v in routing.items() if k != "hide_service_codes"})


def posts(served_fakes, marker):
    found = requests.get(f"{served_fakes.url}/open311/_received", timeout=5).json()["requests"]
    return [p for p in found if marker in p["fields"].get("description", "")]


def notifications(served_fakes, reference):
    found = requests.get(f"{served_fakes.url}/notify/_received", timeout=5).json()["notifications"]
    return [n for n in found if n["reference"] == reference]


def to_confirm(chat, marker, contact="No thanks"):
    """From the location step to the summary."""
    chat.say("outside 12 Cowley Road, OX4 1AA", "location", postcode="OX4 1AA")
    chat.say(f"A sofa and two mattresses left on the pavement {marker}")
    if contact == "No thanks":
        chat.say(contact, "skip")
    else:
        chat.say(contact, "contact")
    assert chat.step == "confirm", chat.text
    return chat


# -- categories -------------------------------------------------------------------------------------


def test_a_two_tier_menu_is_grouped_and_the_county_owns_roads(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("I want to report a problem", "report")
    assert chat.reply.quick_replies == (
        "Street cleaning",
        "Vehicles",
        "Roads and pavements",
        "Street lighting",
        "Flooding and drainage",
    )  # missed bins: the missed_bin process
    assert chat.step == "category" and "report_problem-category" in chat.contexts
    chat.say("Street cleaning")
    assert chat.reply.quick_replies == ("Fly-tipping", "Graffiti", "Dog fouling", "Overflowing litter bin")
    chat.say("Street lighting")  # a group of one: chosen at once, from the county's list
    assert "Got it: Street light not working." in chat.text and "Oxfordshire County Council" in chat.text
    assert chat.contexts[DATA]["service"]["tier"] == "county" and chat.step == "location"


def test_a_unitary_menu_lists_every_category(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path, "cardiff")).say("report a problem", "report")
    assert chat.reply.quick_replies == ("Fly-tipping", "Graffiti", "Dog fouling", "Pothole", "Street light not working")
    welsh = Chat(settings(served_fakes, tmp_path, "cardiff", "cy"), "cy").say("Rhoi gwybod am broblem", "report")
    assert welsh.reply.quick_replies[0] == "Tipio anghyfreithlon" and "Am beth hoffech chi" in welsh.text


def test_the_first_message_can_name_the_category_and_place(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say(
        "a pothole on OX4 1AA", "report", category="pothole", postcode="OX4 1AA"
    )
    assert "Got it: Pothole." in chat.text and chat.step == "details"
    assert chat.contexts[DATA]["place"] == {"postcode": "OX4 1AA", "text": "OX4 1AA"}


def test_a_category_the_council_does_not_list(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path, "cardiff")).say("report a noisy party", "report", category="noise")
    assert 'couldn\'t find "report a noisy party"' in chat.text and chat.reply.quick_replies
    chat.say("something else", "category")
    assert "report it to us directly" in chat.text and "01632 960002" in chat.text and chat.step == "category"
    chat.say("pothole", "category", category="pothole")
    assert chat.step == "location"


def test_an_ambiguous_answer_offers_the_candidates(served_fakes, tmp_path):
    chat = Chat(with_missed_bins(served_fakes, tmp_path)).say("report a problem", "report").say("bin")
    assert set(chat.reply.quick_replies) == {"Overflowing litter bin", "Missed bin collection"}
    chat.say("Missed bin collection")
    assert "Which bin was missed?" in chat.text and chat.step == "question"


def test_hidden_services_are_not_offered_or_matched(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("report a problem", "report").say("Missed bin collection")
    assert 'can\'t take reports about "Missed bin collection" here' in chat.text and "start again" in chat.text
    assert chat.step == "category" and "Street cleaning" in chat.reply.quick_replies


def test_the_categories_list_failing_keeps_the_conversation(served_fakes, tmp_path):
    broken = {"base_url": f"{served_fakes.url}/open311/broken", "api_key_secret": "open311-api-key"}
    chat = Chat(settings(served_fakes, tmp_path, "cardiff", endpoints={"district": broken}))
    chat.say("report fly tipping", "report", category="fly-tipping")
    assert "can't get the list of problems" in chat.text and "01632 960002" in chat.text
    assert chat.reply.links and chat.step == "category"


def test_without_the_county_list_the_district_categories_are_still_offered(served_fakes, tmp_path):
    doc = tenant_doc("oxford")["processes"]["report_problem"]
    endpoints = {**doc["endpoints"], "county": {**doc["endpoints"]["county"], "jurisdiction_id": "nowhere"}}
    chat = Chat(settings(served_fakes, tmp_path, endpoints=endpoints)).say("report a problem", "report")
    assert "aren't listed just now" in chat.text
    assert "Fly-tipping" in chat.reply.quick_replies and "Pothole" not in chat.reply.quick_replies
    assert "Street light not working" not in chat.reply.quick_replies  # the county owns it: not the district's


# -- questions, place, details, contact -------------------------------------------------------------


def test_required_questions_are_asked_and_checked(served_fakes, tmp_path):
    chat = (
        Chat(with_missed_bins(served_fakes, tmp_path)).say("report a missed bin", "report").say("Missed bin collection")
    )
    assert chat.reply.quick_replies == (
        "Rubbish (green bin)",
        "Recycling (blue bin)",
        "Food waste caddy",
        "Garden waste (brown bin)",
    )
    chat.say("the purple one")
    assert "isn't one of the choices" in chat.text and chat.step == "question"
    chat.say("blue bin")
    assert "When should it have been collected?" in chat.text
    chat.say("sometime last week")
    assert "Please give a date" in chat.text
    chat.say("next friday")
    assert "still to come" in chat.text
    chat.say("yesterday")
    assert chat.step == "location"
    assert chat.contexts[DATA]["answers"] == {"bin_type": "recycling", "collection_date": "2026-12-01"}


def test_a_place_is_a_postcode_or_a_description(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    chat.say("OX4 1A", "location")
    assert "doesn't look like a full postcode" in chat.text and '"OX1 1BX"' in chat.text and chat.step == "location"
    chat.say("here", "location")
    assert "a bit more about where" in chat.text and chat.step == "location"
    chat.say("ox41aa", "location")
    assert chat.contexts[DATA]["place"] == {"postcode": "OX4 1AA", "text": "OX4 1AA"} and chat.step == "details"


def test_details_must_say_something(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    chat.say("Iffley Road by the shops", "location").say("big")
    assert "a little more" in chat.text and chat.step == "details"
    chat.say("x " * 600)
    assert "longer than I can send" in chat.text and "1000 at most" in chat.text
    chat.say("A deep pothole in the bus lane")
    assert chat.step == "contact" and chat.reply.quick_replies == ("Skip",)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("jo@example", "complete email address"),
        ("01632 960001", "landline"),
        ("07700 9001", "UK mobile number"),
        ("maybe later", "email address or a mobile number"),
    ],
)
def test_contact_details_are_checked_with_a_reason(served_fakes, tmp_path, typed, says):
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    chat.say("Iffley Road by the shops", "location").say("A deep pothole in the bus lane").say(typed, "contact")
    assert says in chat.text and chat.step == "contact"


def test_only_the_channels_the_council_has_templates_for(served_fakes, tmp_path):
    doc = tenant_doc("oxford")["processes"]["report_problem"]
    email_only = {k: v for k, v in doc["notify"].items() if k != "sms_template_id"}
    chat = Chat(settings(served_fakes, tmp_path, notify=email_only)).say("pothole", "report", category="pothole")
    chat.say("Iffley Road by the shops", "location").say("A deep pothole in the bus lane")
    assert "confirmation by email" in chat.text
    chat.say("07700 900123", "contact", phone="07700 900123")
    assert "only send confirmations by email" in chat.text and chat.step == "contact"


# -- confirming and sending ------------------------------------------------------------------------


def test_the_report_goes_once_with_a_confirmation(served_fakes, tmp_path):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path)).say("report fly tipping", "report", category="fly-tipping")
    chat.say("Furniture or mattresses")
    to_confirm(chat, marker, "my email is demo.resident@example.org")
    assert "Problem: Fly-tipping" in chat.text and "What has been dumped? Furniture or mattresses" in chat.text
    assert "Confirmation to: demo.resident@example.org" in chat.text
    assert "Shall I send it to Oxford City Council?" in chat.text
    confirm_contexts = dict(chat.contexts)
    chat.say("Yes, send it", "confirm")
    [post] = posts(served_fakes, marker)
    reference = post["service_request_id"]
    assert (
        f"Your reference is {reference}." in chat.text
        and "sent a confirmation to demo.resident@example.org" in chat.text
    )
    fields = post["fields"]
    assert post["council"] == "oxford" and fields["service_code"] == "FLYTIP"
    assert fields["attribute[waste_type]"] == "furniture" and fields["email"] == "demo.resident@example.org"
    assert fields["address_string"] == "outside 12 Cowley Road, OX4 1AA"
    assert fields["description"].startswith("title: Fly-tipping\n\ndetail: A sofa and two mattresses")
    [sent] = notifications(served_fakes, reference)
    assert sent["personalisation"] == {
        "council": "Oxford City Council",
        "summary": "Fly-tipping",
        "reference": reference,
    }
    # Dialogflow repeating the turn: the same reference, no second report or message.
    chat.contexts = confirm_contexts
    chat.say("Yes, send it", "confirm")
    assert f"Your reference is {reference}." in chat.text
    assert len(posts(served_fakes, marker)) == 1 and len(notifications(served_fakes, reference)) == 1
    chat.say("yes")
    assert "already been sent" in chat.text or "has been sent" in chat.text
    assert len(posts(served_fakes, marker)) == 1


def test_county_categories_go_to_the_county(served_fakes, tmp_path):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path)).say("street light out", "report", category="street light")
    to_confirm(chat, marker).say("Yes, send it", "confirm")
    [post] = posts(served_fakes, marker)
    assert post["council"] == "oxfordshire" and post["fields"]["jurisdiction_id"] == "oxfordshire-demo"
    assert post["token"]  # a batch service: the token was polled for the id
    assert (
        f"I've sent your report to Oxfordshire County Council. Your reference is {post['service_request_id']}."
        in chat.text
    )


def test_a_part_can_be_changed_before_sending(served_fakes, tmp_path):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    to_confirm(chat, marker)
    assert "Change the place" in chat.reply.quick_replies and "No, don't report it" in chat.reply.quick_replies
    chat.say("Change the place", "change", part="location")
    assert chat.step == "location"
    chat.say("Corner of Church Street and Mill Lane", "location")
    assert chat.step == "confirm" and "Where: Corner of Church Street and Mill Lane" in chat.text
    chat.say("Change the problem", "change", part="category")
    assert chat.step == "category"
    chat.say("Broken or uneven pavement")
    assert chat.step == "confirm" and "Problem: Broken or uneven pavement" in chat.text
    chat.say("Change contact details", "change", part="contact").say("07700 900123", "contact", phone="07700 900123")
    assert "Confirmation to: 07700 900123" in chat.text
    chat.say("Yes, send it", "confirm")
    [post] = posts(served_fakes, marker)
    assert post["fields"]["service_code"] == "PAVE" and post["fields"]["phone"] == "07700900123"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "hmm no, don't send it after all"),
        ("en", "wait, don't send it yet"),
        ("en", "no"),
        ("cy", "na, peidiwch â'i anfon"),
        ("cy", "nac ydw, dim diolch"),
    ],
)
def test_a_no_at_the_confirm_step_sends_nothing_whatever_intent_matched(served_fakes, tmp_path, language, text):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path, "cardiff" if language == "cy" else "oxford", language), language)
    chat.say("pothole", "report", category="pothole")
    to_confirm(chat, marker)
    chat.say(text, "confirm")  # Dialogflow took it for a yes: the words say no
    assert posts(served_fakes, marker) == []
    assert chat.step is None and "reference" not in chat.text and "cyfeirnod" not in chat.text
    assert "haven't sent anything" in chat.text or "dydw i ddim wedi anfon dim byd" in chat.text
    chat.say("Yes, send it", "confirm")  # the report was left: a later yes sends nothing
    assert posts(served_fakes, marker) == []


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "go on then... no hang on, hold off"), ("en", "no wait, forget it"), ("cy", "na, gad e")],
)
def test_a_change_of_mind_taken_for_a_change_request_leaves_the_report(served_fakes, tmp_path, language, text):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path, "cardiff" if language == "cy" else "oxford", language), language)
    chat.say("pothole", "report", category="pothole")
    to_confirm(chat, marker)
    chat.say(text, "change")  # Dialogflow heard "change": no part is named and the words say no
    assert posts(served_fakes, marker) == [] and chat.step is None
    assert "haven't sent anything" in chat.text or "dydw i ddim wedi anfon dim byd" in chat.text
    chat.say("Yes, send it", "confirm")  # the report was left: a later yes sends nothing
    assert posts(served_fakes, marker) == []


@pytest.mark.parametrize(("language", "text"), [("en", "cheers"), ("en", "do"), ("cy", "diolch"), ("cy", "efallai")])
def test_an_unclear_answer_at_the_confirm_step_asks_again(served_fakes, tmp_path, language, text):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path, "cardiff" if language == "cy" else "oxford", language), language)
    chat.say("pothole", "report", category="pothole")
    to_confirm(chat, marker)
    chat.say(text, "confirm")
    assert posts(served_fakes, marker) == [] and chat.step == "confirm"
    replies = chat.reply.quick_replies
    assert ("Yes, send it" in replies and "No, don't report it" in replies) or (
        "Ie, anfonwch e" in replies and "Na, peidiwch â'i gyflwyno" in replies
    )


@pytest.mark.parametrize(
    ("step_text", "asked"),
    [("what's the weather", "location"), ("I want to apply for planning permission", "location")],
)
def test_a_request_for_something_else_is_not_taken_as_the_place(served_fakes, tmp_path, step_text, asked):
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    assert chat.step == asked
    chat.say(step_text)
    assert chat.step == asked and "can't use" in chat.text and "Leave the report" in chat.reply.quick_replies
    chat.say("Leave the report", "decline")
    assert chat.step is None and "haven't sent anything" in chat.text


def test_a_council_system_failure_keeps_the_report(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    to_confirm(chat, "demo-fail-500").say("Yes, send it", "confirm")
    assert "isn't answering" in chat.text and "01632 960001" in chat.text and chat.reply.links
    assert chat.step == "confirm" and chat.reply.quick_replies == ("Yes, send it",)
    chat.say("Change the details", "change", part="details").say(f"A deep pothole {uuid.uuid4().hex}")
    chat.say("Yes, send it", "confirm")
    assert "Your reference is OCC-" in chat.text


def test_a_slow_council_system_is_answered_in_time(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    to_confirm(chat, f"demo-slow {uuid.uuid4().hex}")
    chat.reply = HANDLE(
        turn("report_problem.confirm", text="Yes, send it", contexts=chat.contexts, seconds_left=1.0), chat.settings
    )
    said = "\n".join(chat.reply.text)  # the report was stored but the answer came late: it may be in
    assert "didn't answer in time" in said and "can't tell yet" in said and "01632 960001" in said


def test_a_rejected_report_says_so(served_fakes, tmp_path):
    chat = (
        Chat(with_missed_bins(served_fakes, tmp_path)).say("report a missed bin", "report").say("Missed bin collection")
    )
    chat.say("blue bin")
    chat.contexts[DATA]["questions"] = []  # as if the council had added a required question since
    chat.contexts[DATA]["answers"] = {}
    chat.contexts[DATA]["step"] = "location"
    to_confirm(chat, uuid.uuid4().hex).say("Yes, send it", "confirm")
    assert "didn't accept the report" in chat.text and "01632 960001" in chat.text
    # refused for good (a 4xx): no retry offered, nothing kept to send again, never "isn't answering"
    assert "Yes, send it" not in chat.reply.quick_replies and "try again" not in chat.text
    assert "isn't answering" not in chat.text and chat.step is None


@pytest.mark.parametrize(
    ("contact", "said"),
    [
        ("fail-500@example.org", "couldn't send a confirmation to fail-500@example.org"),
        # Notify's fake sends to slow@example.org, then answers after the turn's deadline.
        ("slow@example.org", "A confirmation to slow@example.org may be on its way"),
    ],
)
def test_a_failed_or_unanswered_confirmation_still_gives_the_reference(served_fakes, tmp_path, contact, said):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    to_confirm(chat, marker, contact).say("Yes, send it", "confirm")
    [post] = posts(served_fakes, marker)
    assert f"Your reference is {post['service_request_id']}." in chat.text
    assert said in chat.text and chat.step == "done"


def test_without_notify_the_contact_goes_to_the_council_only(served_fakes, tmp_path):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path, notify=None)).say("pothole", "report", category="pothole")
    chat.say("Iffley Road by the shops", "location").say(f"A deep pothole {marker}")
    assert "able to contact you" in chat.text
    chat.say("demo.resident@example.org", "contact").say("Yes, send it", "confirm")
    assert "may contact you at demo.resident@example.org" in chat.text
    assert posts(served_fakes, marker)[0]["fields"]["email"] == "demo.resident@example.org"


def test_a_blackbox_service_gives_no_reference(served_fakes, tmp_path):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path, "cardiff")).say("graffiti", "report", category="graffiti")
    chat.say("Queen Street by the station", "location").say(f"Tags on the wall {marker}").say("No thanks", "skip")
    chat.say("Yes, send it", "confirm")
    assert "doesn't give a reference" in chat.text and len(posts(served_fakes, marker)) == 1


def test_without_asking_for_contact(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path, notify=None, ask_contact=False)).say(
        "pothole", "report", category="pothole"
    )
    chat.say("Iffley Road by the shops", "location").say("A deep pothole in the bus lane")
    assert chat.step == "confirm" and "Confirmation: none" in chat.text


# -- Welsh and lost contexts ------------------------------------------------------------------------


def test_a_welsh_report(served_fakes, tmp_path):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path, "cardiff", "cy"), "cy")
    chat.say("mae twll yn y ffordd ar fy stryd", "report", category="pothole")
    assert "Iawn: Twll yn y ffordd." in chat.text and "Ble mae e?" in chat.text
    chat.say("CF10 1EP", "location", postcode="CF10 1EP").say(f"Twll mawr yn y ffordd {marker}")
    chat.say("Dim diolch", "skip")
    assert "Hoffech chi i mi ei anfon? Cyngor Caerdydd fydd yn ei gael." in chat.text
    chat.say("Ie, anfonwch e", "confirm")
    [post] = posts(served_fakes, marker)
    assert f"a'ch cyfeirnod yw {post['service_request_id']}." in chat.text
    assert "Ein nod yw edrych arno o fewn 5 diwrnod gwaith (demo)." in chat.text


def test_a_lost_context_starts_again(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("07700 900123", "contact")
    assert "lost track of your report" in chat.text and chat.step == "category"


def test_a_context_that_is_not_ours_is_read_safely(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path))
    chat.contexts[DATA] = {
        "step": "confirm",
        "service": {"tier": "elsewhere"},
        "place": "x",
        "reach": {"x": 1},
        "questions": [{"code": ""}, "junk"],
        "answers": {"a": 3},
    }
    chat.say("yes")
    assert chat.step == "category" and chat.reply.quick_replies


def test_after_sending_another_report_can_start(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    to_confirm(chat, uuid.uuid4().hex).say("Yes, send it", "confirm")
    assert chat.reply.quick_replies == ("Report another problem",)
    chat.say("Report another problem", "report")
    assert chat.step == "category" and "What would you like to report?" in chat.text


def test_a_batch_token_without_an_id_is_given_as_a_receipt(served_fakes, tmp_path):
    marker = uuid.uuid4().hex
    chat = Chat(settings(served_fakes, tmp_path)).say("street light out", "report", category="street light")
    to_confirm(chat, f"demo-token-stuck {marker}")
    chat.reply = HANDLE(
        turn("report_problem.confirm", text="Yes, send it", contexts=chat.contexts, seconds_left=1.5), chat.settings
    )
    [post] = posts(served_fakes, marker)
    assert f"Your receipt number is {post['token']}." in "\n".join(chat.reply.text)


def test_saying_there_is_no_email_skips_the_contact(served_fakes, tmp_path):
    chat = Chat(settings(served_fakes, tmp_path)).say("pothole", "report", category="pothole")
    chat.say("Iffley Road by the shops", "location").say("A deep pothole in the bus lane")
    chat.say("i dont have an email", "contact")
    assert chat.step == "confirm" and "Confirmation: none" in chat.text
