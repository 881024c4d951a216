"""which_council: the handler against the postcodes.io fake (served over loopback HTTP).

Demo postcodes (tools/townhall_tools/fakes/postcodes.py): OX1 1BX and OX1 1ND Oxford (E07000178) in
Oxfordshire (E10000025); OX15 4AA Cherwell (E07000177) in Oxfordshire; BS1 5TR Bristol (E06);
CF10 3ND Cardiff (W06000015); CF63 4RU Vale of Glamorgan (W06000014); EH8 8BG Edinburgh (S12);
BT1 5GS Belfast (N09); E1W 1UU retired in February 2015.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from townhall.contract import Link, OutputContext
from townhall.library import default_library
from townhall.upstreams.postcodes import Place
from townhall_tools.fakes.postcodes import ERROR_POSTCODE, MALFORMED_POSTCODE, SLOW_POSTCODE
from townhall_tools.testing import sandbox_upstream, settings_for, tenant_doc, turn

PROCESS = default_library().processes["which_council"]
handle = PROCESS.handler
CONTEXT = "which_council-postcode"
KEEP = OutputContext(CONTEXT, 2)
PLACE_KEPT = OutputContext("which_council-place", 3, {"place_postcode": "OX1 1BX"})
OXFORD_REACH = (
    "You can contact Oxford City Council by phone on 01632 960001, by email at "
    "demo-oxford@example.org or using the online form."
)
FINDER = Link("Find your local council", "https://www.gov.uk/find-local-council")


@pytest.fixture
def settings(served_fakes, tmp_path):
    def make(tenant="oxford", language="en", override=None):
        return settings_for(
            "which_council",
            tenant,
            language=language,
            fakes=served_fakes.url,
            upstream=sandbox_upstream(tenant, tmp_path),
            override=override,
        )

    return make


def ask(
    settings,
    postcode=None,
    *,
    tenant="oxford",
    language="en",
    action="lookup",
    text="",
    contexts=None,
    seconds_left=3.0,
    **kw,
):
    params = {"postcode": postcode} if postcode else {}
    return handle(
        turn(
            f"which_council.{action}",
            params,
            text=text,
            language=language,
            contexts=contexts,
            seconds_left=seconds_left,
        ),
        settings(tenant, language, **kw),
    )


def test_our_own_postcode_in_two_tier_england_names_the_county_too(settings):
    reply = ask(settings, "ox1 1bx")
    assert reply.text == (
        "OX1 1BX is in our area: that's us, Oxford City Council.",
        "We're the district council there. We look after bins and recycling, council tax, planning, housing and parking.",
        "Oxfordshire County Council looks after roads and pavements, schools, social care, libraries and trading standards.",
        "Please contact Oxfordshire County Council about those.",
    )
    assert reply.links == (Link("Oxfordshire County Council website", "https://example.org/demo/oxfordshire"),)
    assert reply.contexts == (PLACE_KEPT,)  # the postcode, for follow-ups


def test_a_neighbouring_district_names_both_councils_and_their_websites(settings):
    reply = ask(settings, "OX15 4AA")
    assert (
        reply.text[0]
        == "OX15 4AA isn't in our area. It's in Cherwell, in Oxfordshire, where two councils share the work:"
    )
    assert reply.text[1].startswith("Cherwell District Council looks after bins and recycling")
    assert reply.text[2].startswith("Oxfordshire County Council looks after roads")
    assert reply.text[-1] == "Please contact them about their services."
    assert [link.url for link in reply.links] == [
        "https://example.org/demo/cherwell",
        "https://example.org/demo/oxfordshire",
    ]


def test_councils_not_in_the_settings_are_named_from_the_area_and_found_on_gov_uk(settings):
    doc = tenant_doc("oxford")
    del doc["processes"]["which_council"]["councils"]
    reply = ask(settings, "OX15 4AA", override=doc["processes"]["which_council"])
    assert reply.text[1].startswith("The council for Cherwell looks after bins")
    assert reply.text[2].startswith("Oxfordshire County Council looks after roads")
    assert reply.text[-1] == "You can find any council's website with GOV.UK's 'Find your local council'."
    assert reply.links == (FINDER,)


def test_without_a_finder_url_nothing_is_linked(settings):
    doc = tenant_doc("oxford")
    del doc["processes"]["which_council"]["find_council_url"]
    reply = ask(settings, "CF10 3ND", override=doc["processes"]["which_council"])
    assert reply.links == () and not any("GOV.UK" in line for line in reply.text)


@pytest.mark.parametrize(
    ("postcode", "council", "kind"),
    [
        (
            "BS1 5TR",
            "the council for Bristol, City of",
            "It's a unitary council, so it provides all the main council services there.",
        ),
        (
            "CF10 3ND",
            "the council for Cardiff",
            "Councils in Wales are unitary, so it provides all the main council services there.",
        ),
        (
            "EH8 8BG",
            "the council for City of Edinburgh",
            "It's one of Scotland's 32 councils, so it provides all the main council services there.",
        ),
        ("BT1 5GS", "the council for Belfast", "It's one of Northern Ireland's 11 district councils."),
    ],
)
def test_single_tier_areas_are_worded_for_their_nation(settings, postcode, council, kind):
    reply = ask(settings, postcode)
    assert reply.text[0] == f"{postcode} isn't in our area: it's served by {council}, not us."
    assert reply.text[1].startswith(kind)
    assert reply.links == (FINDER,)


def test_northern_ireland_says_who_runs_what_councils_there_do_not(settings):
    text = " ".join(ask(settings, "BT1 5GS").text)
    assert "Department for Infrastructure" in text and "Education Authority" in text and "Housing Executive" in text


def test_a_welsh_council_answers_its_own_postcode_in_welsh(settings):
    reply = ask(settings, "cf10 3nd", tenant="cardiff", language="cy")
    assert reply.text == (
        "Mae CF10 3ND yn ein hardal ni: ni yw eich cyngor chi, Cyngor Caerdydd.",
        "Rydyn ni'n darparu'r holl brif wasanaethau cyngor yno.",
    )
    english = ask(settings, "CF10 4UW", tenant="cardiff")
    assert english.text == (
        "CF10 4UW is in our area: that's us, Cardiff Council.",
        "We provide all the main council services there.",
    )


def test_a_welsh_council_names_its_neighbour_in_welsh_and_two_tier_england_without_mutation_traps(settings):
    reply = ask(settings, "CF63 4RU", tenant="cardiff", language="cy")
    assert (
        reply.text[0]
        == "Dydy CF63 4RU ddim yn ein hardal ni: Cyngor Bro Morgannwg sy'n gwasanaethu'r cod post hwnnw, nid ni."
    )
    assert reply.links == (Link("Gwefan Cyngor Bro Morgannwg", "https://example.org/demo/vale-of-glamorgan"),)
    reply = ask(settings, "OX15 4AA", tenant="cardiff", language="cy")
    assert reply.text[1] == (
        "Mae Cyngor Cherwell yn gofalu am y gwasanaethau hyn: biniau ac ailgylchu, treth gyngor, cynllunio a thai."
    )
    assert reply.text[2].startswith("Mae Oxfordshire County Council yn gofalu am y gwasanaethau hyn: ffyrdd")


def test_a_county_council_tenant_sees_its_county_postcodes_as_its_own(settings):
    base = settings()
    county = replace(base, council=replace(base.council, gss_code="E10000025", name="Oxfordshire County Council"))
    reply = handle(turn("which_council.lookup", {"postcode": "OX15 4AA"}), county)
    assert reply.text[0] == "OX15 4AA is in our area: that's us, Oxfordshire County Council."
    assert reply.text[1].startswith("We're the county council there. We look after roads")
    assert reply.text[2].startswith("Cherwell District Council looks after bins")
    assert reply.links == (Link("Cherwell District Council website", "https://example.org/demo/cherwell"),)


def test_places_outside_the_uk_councils_or_without_a_district(settings):
    from townhall_processes.which_council.handler import describe

    s = settings()
    jersey = Place("JE2 4WD", "Channel Islands", None, None, None, None, None, None, None, None, None, 9, {})
    assert describe(jersey, turn("which_council.lookup"), s).text == (
        "JE2 4WD is in Channel Islands, which has its own government rather than a UK council. "
        "Please contact the local government there.",
    )
    odd = replace(jersey, country="England")
    reply = describe(odd, turn("which_council.lookup"), s)
    assert reply.text[0] == "JE2 4WD is a real postcode, but I can't tell which council serves it."
    assert reply.links == (FINDER,)


def test_a_retired_postcode_says_when_and_keeps_asking(settings):
    reply = ask(settings, "E1W 1UU")
    assert reply.text[0].startswith("The postcode E1W 1UU was retired in February 2015")
    assert reply.contexts == (KEEP,)
    welsh = ask(settings, "E1W 1UU", tenant="cardiff", language="cy")
    assert welsh.text[0].startswith("Daeth y cod post E1W 1UU i ben ym mis Chwefror 2015")


def test_an_unknown_postcode_asks_to_check_it(settings):
    reply = ask(settings, "OX1 9ZZ")
    assert reply.text == ("I couldn't find the postcode OX1 9ZZ. Please check it and try again.",)
    assert reply.contexts == (KEEP,)


def test_no_postcode_asks_for_one(settings):
    reply = ask(settings, text="which council am i in")
    assert reply.text == ("What's the postcode? I'll tell you which council serves it.",)
    assert reply.contexts == (KEEP,)


def test_something_that_is_not_a_postcode_gets_format_help_without_a_lookup(settings):
    no_upstream = lambda *a, **kw: replace(settings(*a, **kw), upstream=None)  # noqa: E731 - a call would fail loudly
    for given, action in (("12345", "lookup"), (None, "postcode")):
        reply = ask(no_upstream, given, action=action, text="it's the one by the park")
        assert reply.text == (
            "That doesn't look like a postcode. A postcode looks like 'OX1 1BX': please type the whole postcode.",
        )
        assert reply.contexts == (KEEP,)
    welsh = ask(no_upstream, "12345", tenant="cardiff", language="cy")
    assert "'CF10 3ND'" in welsh.text[0]


def test_the_postcode_is_found_in_the_words_when_dialogflow_extracted_none(settings):
    reply = ask(settings, action="postcode", text="oh sorry its ox1 1bx", contexts={CONTEXT: {}})
    assert reply.text[0] == "OX1 1BX is in our area: that's us, Oxford City Council."
    assert reply.contexts == (PLACE_KEPT, OutputContext(CONTEXT, 0))  # the flow is done; the postcode kept


@pytest.mark.parametrize("postcode", [ERROR_POSTCODE, MALFORMED_POSTCODE])
def test_postcodes_io_failing_gets_the_finder_and_our_contact_details(settings, postcode):
    reply = ask(settings, postcode)
    assert reply.text == (
        "Sorry, I can't look postcodes up at the moment. Please try again in a few minutes.",
        "You can find any council's website with GOV.UK's 'Find your local council'.",
        OXFORD_REACH,
    )
    assert reply.links[0] == FINDER and len(reply.links) == 3
    assert reply.contexts == (KEEP,)


def test_a_slow_postcodes_io_is_answered_inside_the_turn(settings):
    started = time.monotonic()
    reply = ask(settings, SLOW_POSTCODE, seconds_left=0.8)
    assert time.monotonic() - started < 0.8
    assert reply.text[0].startswith("Sorry, I can't look postcodes up") and reply.contexts == (KEEP,)


def test_without_upstream_access_the_reply_is_still_useful(settings):
    reply = handle(turn("which_council.lookup", {"postcode": "OX1 1BX"}), replace(settings(), upstream=None))
    assert reply.text[0].startswith("Sorry, I can't look postcodes up") and OXFORD_REACH in reply.text


# -- the first half of a postcode, and follow-ups ------------------------------------------------


@pytest.mark.parametrize(
    "text", ["I've just moved to OX4, is that you?", "who do I call about bins in CF10?", "is ox4 yours"]
)
def test_half_a_postcode_asks_for_the_whole_one(settings, text):
    reply = ask(settings, text=text)
    assert "only the first half of a postcode" in reply.text[0]
    assert reply.contexts == (KEEP,)


def test_text_speak_is_no_postcode_area(settings):
    assert ask(settings, text="which council was i in b4").text == (
        "What's the postcode? I'll tell you which council serves it.",
    )


def follow(settings, text, postcode="OX15 4AA", **kw):
    # Dialogflow adds the follow-up's own (empty) postcode parameter to the active context too
    place = {"place_postcode": postcode, "postcode": ""}
    return ask(settings, action="followup", text=text, contexts={"which_council-place": place}, **kw)


def test_their_phone_number_is_their_website_never_ours(settings):
    reply = follow(settings, "what's their phone number?")
    assert reply.text[0] == (
        "I don't hold Cherwell District Council's phone number or email address, but their website has their "
        "contact details."
    )
    assert Link("Cherwell District Council website", "https://example.org/demo/cherwell") in reply.links
    assert "01632 960001" not in " ".join(reply.text)
    assert reply.contexts[0].parameters == {"place_postcode": "OX15 4AA"}


def test_a_service_there_names_the_tier_that_runs_it(settings):
    reply = follow(settings, "and what about recycling there?")
    assert reply.text == ("At OX15 4AA, that's Cherwell District Council: please contact them.",)
    reply = follow(settings, "who looks after the roads there")
    assert reply.text == ("At OX15 4AA, that's Oxfordshire County Council: please contact them.",)


def test_a_service_of_ours_there_gives_our_own_contact(settings):
    reply = follow(settings, "and the bins?", postcode="OX1 1BX")
    assert reply.text[0] == "At OX1 1BX, that's us, Oxford City Council."
    assert reply.text[1] == OXFORD_REACH


def test_a_follow_up_without_a_kept_postcode_asks_for_one(settings):
    assert ask(settings, action="followup", text="what's their number").text[0].startswith("What's the postcode?")
