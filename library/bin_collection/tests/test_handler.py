"""bin_collection's handler with the demo tenants' settings and the bins fake served over HTTP.

Oxford: fixed rounds, addresses (with their round) from the council's endpoint. Cardiff: OS Places
addresses and an iCal feed per property. Calendar: Tue 1 Dec 2026 is "now" unless a test says
otherwise. Demo postcodes and schedules: tools/townhall_tools/fakes/bins.py.
"""

from __future__ import annotations

import pytest

from townhall.contract import Reply
from townhall.library import default_library
from townhall_tools.testing import sandbox_upstream, settings_for, tenant_doc, turn

handle = default_library().processes["bin_collection"].handler
OXFORD_REACH = (
    "You can contact Oxford City Council by phone on 01632 960001, by email at "
    "demo-oxford@example.org or using the online form."
)


@pytest.fixture
def ask(served_fakes, tmp_path):
    def ask(
        intent: str, parameters=None, *, tenant="oxford", language="en", text="", now="2026-12-01T10:00", contexts=None
    ) -> Reply:
        settings = settings_for(
            "bin_collection",
            tenant,
            language=language,
            fakes=served_fakes.url,
            upstream=sandbox_upstream(tenant, tmp_path),
        )
        return handle(
            turn(
                f"bin_collection.{intent}",
                parameters,
                language=language,
                text=text or intent,
                now=now,
                contexts=contexts,
            ),
            settings,
        )

    return ask


def known(address: str, postcode: str, uprn: str, round_: str) -> dict:
    """Input contexts holding a property chosen earlier in the conversation."""
    return {"bin_collection-property": {"address": address, "postcode": postcode, "uprn": uprn, "round": round_}}


DEMO_LANE = known("1 Demo Lane, Oxford", "OX1 2JD", "100120000101", "TUE-A")


def active(reply: Reply) -> dict:
    """Contexts the reply leaves active, by name, with their parameters."""
    return {c.name: dict(c.parameters) for c in reply.contexts if c.lifespan > 0}


def test_one_property_skips_the_picker_and_answers_per_bin(ask):
    reply = ask("next", {"postcode": "ox1 2jd"}, text="when is my bin day ox1 2jd")
    assert reply.text == (
        "For 1 Demo Lane, Oxford:",
        "Your blue recycling bin goes out today, Tuesday 1 December.",
        "Your food waste caddy goes out today, Tuesday 1 December.",
        "Your brown garden waste bin goes out today, Tuesday 1 December.",
        "Your green rubbish bin goes out on Tuesday 8 December.",
    )
    assert active(reply) == {
        "bin_collection-property": {
            "address": "1 Demo Lane, Oxford",
            "postcode": "OX1 2JD",
            "uprn": "100120000101",
            "round": "TUE-A",
        }
    }
    assert [link.title for link in reply.links] == ["Bins and recycling", "Contact form", "Council website"]


def test_tomorrow(ask):
    reply = ask("next", {"postcode": "OX1 2JD"}, now="2026-12-07T18:00")
    assert reply.text[1:] == (
        "Your green rubbish bin goes out tomorrow, Tuesday 8 December.",
        "Your food waste caddy goes out tomorrow, Tuesday 8 December.",
        "Your blue recycling bin goes out on Tuesday 15 December.",
        "Your brown garden waste bin goes out on Tuesday 15 December.",
    )


def test_christmas_moves_follow_the_bank_holidays_and_the_councils_exceptions(ask):
    # FRI-B: Fri 1 Jan 2027 would move two days (Mon 28 Dec and Fri 1 Jan are bank holidays); the
    # council moved it to Saturday 2 January instead.
    reply = ask(
        "next",
        {"postcode": "OX3 9DU"},
        text="Flat 1",
        now="2026-12-29T09:00",
        contexts=known("Flat 1, 5 Sample Street, Oxford", "OX3 9DU", "100120000301", "FRI-B"),
    )
    assert reply.text[1:] == (
        "Your green rubbish bin goes out on Saturday 2 January.",
        "Your food waste caddy goes out on Saturday 2 January.",
        "Your blue recycling bin goes out on Friday 8 January.",
        "Your brown garden waste bin goes out on Friday 8 January.",
    )


def test_a_known_property_is_not_asked_for_again_and_one_bin_can_be_asked_for(ask):
    reply = ask("next", {}, text="and my green bin?", contexts=DEMO_LANE)
    assert reply.text == ("For 1 Demo Lane, Oxford:", "Your green rubbish bin goes out on Tuesday 8 December.")
    reply = ask("next", {"bin": "garden"}, text="what about garden waste", contexts=DEMO_LANE)
    assert reply.text[1:] == ("Your brown garden waste bin goes out today, Tuesday 1 December.",)
    assert "bin_collection-property" in active(reply)


def test_a_bin_the_round_does_not_collect_gets_the_councils_note(ask):
    reply = ask(
        "next",
        {"bin": "garden"},
        text="when is the brown bin collected",
        contexts=known("2 Example Road, Oxford", "OX4 1YB", "100120000202", "WED-B"),
    )
    assert reply.text == (
        "For 2 Example Road, Oxford:",
        "There's no collection of your brown garden waste bin booked at the moment.",
        "Garden waste is collected only for homes that subscribe. You can subscribe online for a year at a time.",
    )


def test_a_kind_of_bin_the_council_does_not_have(ask):
    reply = ask("next", {"bin": "glass"}, text="when is glass collected", contexts=DEMO_LANE)
    assert reply.text[1] == "We don't have a separate glass collection here. These are your next collections:"
    assert len(reply.text) == 6


def test_no_postcode_asks_for_one_and_remembers_the_bin(ask):
    reply = ask("next", {"bin": "food"}, text="when is the food caddy emptied")
    assert reply.text == ("What's your postcode? I'll use it to find your address.",)
    assert active(reply) == {"bin_collection-postcode": {"carry": {"bin": "food"}}}
    reply = ask("postcode", {"postcode": "OX1 2JD"}, text="OX1 2JD", contexts=active(reply))
    assert reply.text == ("For 1 Demo Lane, Oxford:", "Your food waste caddy goes out today, Tuesday 1 December.")


def test_a_postcode_found_in_the_words_when_dialogflow_missed_it(ask):
    reply = ask("postcode", {}, text="its ox1 2jd thanks", contexts={"bin_collection-postcode": {}})
    assert reply.text[0] == "For 1 Demo Lane, Oxford:"


@pytest.mark.parametrize("intent", ["next", "postcode"])
def test_something_that_is_not_a_postcode(ask, intent):
    reply = ask(intent, {"postcode": "OX4"}, text="OX4")
    assert reply.text == (
        "That doesn't look like a postcode. It should look like 'OX1 1BX'.",
        "What's your postcode? I'll use it to find your address.",
    )
    assert "bin_collection-postcode" in active(reply)


def test_a_postcode_with_no_properties(ask):
    reply = ask("postcode", {"postcode": "ZZ0 0AA"}, text="ZZ0 0AA")
    assert reply.text == ("I couldn't find any addresses for ZZ0 0AA. Please check the postcode and type it again.",)
    assert "bin_collection-postcode" in active(reply)


def test_the_picker_pages_and_a_choice_is_answered(ask):
    reply = ask("next", {"postcode": "CF24 4HQ"}, tenant="cardiff", text="bin day CF24 4HQ")
    assert reply.text == ("Which address is yours? (showing 1 to 8 of 12)",)
    assert reply.quick_replies == tuple(f"Flat {n}, 20 Heol Enghraifft" for n in range(1, 9)) + (
        "More addresses",
        "My address isn't listed",
    )
    picker = active(reply)["bin_collection-address"]
    assert picker["postcode"] == "CF24 4HQ" and len(picker["choices"]) == 12
    reply = ask("address", text="More addresses", tenant="cardiff", contexts=active(reply))
    assert reply.text == ("Which address is yours? (showing 9 to 12 of 12)",)
    assert reply.quick_replies[0] == "Flat 9, 20 Heol Enghraifft" and reply.quick_replies[-2] == "More addresses"
    reply = ask("address", text="Flat 10, 20 Heol Enghraifft", tenant="cardiff", contexts=active(reply))
    assert reply.text[0] == "For Flat 10, 20 Heol Enghraifft, Cardiff:"
    assert active(reply)["bin_collection-property"]["uprn"] == "100100000210"
    assert "bin_collection-address" not in active(reply)


def test_more_wraps_round_to_the_first_page(ask):
    reply = ask("next", {"postcode": "CF24 4HQ"}, tenant="cardiff")
    reply = ask("address", text="more", tenant="cardiff", contexts=active(reply))
    reply = ask("address", text="show more", tenant="cardiff", contexts=active(reply))
    assert reply.text == ("Which address is yours? (showing 1 to 8 of 12)",)


def test_an_address_typed_in_part(ask):
    picker = active(ask("next", {"postcode": "CF24 4HQ"}, tenant="cardiff"))
    assert ask("address", text="it's flat 3", tenant="cardiff", contexts=picker).text[0] == (
        "For Flat 3, 20 Heol Enghraifft, Cardiff:"
    )
    unclear = ask("address", text="20 heol enghraifft", tenant="cardiff", contexts=picker)
    assert unclear.text == ("Sorry, I couldn't tell which address you meant. Please choose it from the list.",)
    assert len(unclear.quick_replies) == 9  # 8 that fit, and "not listed"
    nothing = ask("address", text="the big house", tenant="cardiff", contexts=picker)
    assert nothing.text == unclear.text and nothing.quick_replies[-2:] == ("More addresses", "My address isn't listed")


def test_address_not_listed(ask):
    picker = active(ask("next", {"postcode": "OX4 1YB"}))
    reply = ask("address", text="My address isn't listed", contexts=picker)
    assert reply.text == (
        "Sorry about that. If the postcode was wrong, type it again; otherwise we can help you ourselves.",
        OXFORD_REACH,
    )
    assert set(active(reply)) == {"bin_collection-postcode"}


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("the second one", "2 Example Road"),
        ("2nd", "2 Example Road"),
        ("last", "8 Example Road"),  # the last one shown
        ("I'm at number 12", "12 Example Road"),  # not on the first page: typed, it is found all the same
        ("12", "12 Example Road"),
        ("no. 14 please", "14 Example Road"),
    ],
)
def test_the_picker_understands_positions_and_house_numbers(ask, text, address):
    picker = active(ask("next", {"postcode": "OX4 1YB"}))
    reply = ask("address", text=text, contexts=picker)
    assert reply.text[0] == f"For {address}, Oxford:"
    assert active(reply)["bin_collection-property"]["address"] == f"{address}, Oxford"


def test_positions_count_on_the_page_shown(ask):
    reply = ask("next", {"postcode": "OX4 1YB"})
    reply = ask("address", text="more", contexts=active(reply))
    assert reply.text == ("Which address is yours? (showing 9 to 14 of 14)",)
    assert ask("address", text="the second one", contexts=active(reply)).text[0] == "For 10 Example Road, Oxford:"


def test_positions_count_in_a_narrowed_list(ask):
    unclear = ask(
        "address",
        text="20 heol enghraifft",
        tenant="cardiff",
        contexts=active(ask("next", {"postcode": "CF24 4HQ"}, tenant="cardiff")),
    )
    assert active(unclear)["bin_collection-address"]["shown"] == list(range(8))
    reply = ask("address", text="the third one", tenant="cardiff", contexts=active(unclear))
    assert reply.text[0] == "For Flat 3, 20 Heol Enghraifft, Cardiff:"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("my address isn't there", "en"),
        ("none of these", "en"),
        ("I can't see mine", "en"),
        ("dim un o'r rhain", "cy"),
        ("dyw fy nghyfeiriad i ddim yna", "cy"),
    ],
)
def test_the_picker_understands_an_address_not_listed(ask, text, language):
    picker = active(ask("next", {"postcode": "CF24 4HQ"}, tenant="cardiff", language=language))
    reply = ask("address", text=text, tenant="cardiff", language=language, contexts=picker)
    assert reply.text[0] == (
        "Sorry about that. If the postcode was wrong, type it again; otherwise we can help you ourselves."
        if language == "en"
        else "Mae'n ddrwg gen i am hynny. Os oedd y cod post yn anghywir, teipiwch ef eto; fel arall, "
        "gallwn ni eich helpu ein hunain."
    )
    assert set(active(reply)) == {"bin_collection-postcode"}


def test_welsh_ordinals_and_flat_numbers(ask):
    picker = active(ask("next", {"postcode": "CF24 4HQ"}, tenant="cardiff", language="cy"))
    reply = ask("address", text="yr ail un", tenant="cardiff", language="cy", contexts=picker)
    assert reply.text[0] == "Ar gyfer Flat 2, 20 Heol Enghraifft, Cardiff:"
    reply = ask("address", text="fflat 11 plis", tenant="cardiff", language="cy", contexts=picker)
    assert reply.text[0] == "Ar gyfer Flat 11, 20 Heol Enghraifft, Cardiff:"


def test_a_stale_list_on_screen_is_not_trusted(ask):
    picker = active(ask("next", {"postcode": "OX4 1YB"}))
    picker["bin_collection-address"]["shown"] = [99, "x"]
    assert ask("address", text="the second one", contexts=picker).text[0] == "For 2 Example Road, Oxford:"


def test_a_different_postcode_instead_of_an_address(ask):
    picker = active(ask("next", {"postcode": "OX4 1YB"}))
    reply = ask("address", {"postcode": "OX1 2JD"}, text="oh sorry it's OX1 2JD", contexts=picker)
    assert reply.text[0] == "For 1 Demo Lane, Oxford:"


def test_the_picker_gone_starts_again(ask):
    assert ask("address", text="12 Example Road").text == ("What's your postcode? I'll use it to find your address.",)


def test_welsh_dates_and_mutated_bin_names(ask):
    reply = ask(
        "next", {"postcode": "CF10 1EP"}, tenant="cardiff", language="cy", text="pryd mae fy min du yn cael ei gasglu"
    )
    assert reply.text == (
        "Ar gyfer 1 Demo Street, Cardiff:",
        "Diwrnod casglu nesaf eich bin du yw Dydd Mawrth 8 Rhagfyr.",
    )
    reply = ask(
        "next", {"postcode": "CF10 1EP"}, tenant="cardiff", language="cy", text="diwrnod bin", now="2026-11-30T12:00"
    )
    assert reply.text[1:] == (
        "Diwrnod casglu nesaf eich bagiau ailgylchu gwyrdd yw yfory, Dydd Mawrth 1 Rhagfyr.",
        "Diwrnod casglu nesaf eich cadi gwastraff bwyd yw yfory, Dydd Mawrth 1 Rhagfyr.",
        "Diwrnod casglu nesaf eich bin gwastraff gardd yw yfory, Dydd Mawrth 1 Rhagfyr.",
        "Diwrnod casglu nesaf eich bin du yw Dydd Mawrth 8 Rhagfyr.",
    )
    assert [link.title for link in reply.links][0] == "Biniau ac ailgylchu"


def test_plural_bin_names_go_out(ask):
    reply = ask("next", {"postcode": "CF10 1EP", "bin": "recycling"}, tenant="cardiff", text="recycling bags")
    assert reply.text[1] == "Your green recycling bags go out today, Tuesday 1 December."


def test_the_address_service_failing_keeps_the_postcode_step(ask):
    reply = ask("next", {"postcode": "ZZ5 0AA"})
    assert reply.text == (
        "Sorry, I can't look up addresses at the moment. Please try again in a few minutes.",
        OXFORD_REACH,
    )
    assert set(active(reply)) == {"bin_collection-postcode"}


@pytest.mark.parametrize("postcode", ["ZZ1 5AA", "ZZ1 4AA"])
def test_the_feed_failing_keeps_the_property(ask, postcode):
    reply = ask("next", {"postcode": postcode}, tenant="cardiff")
    assert reply.text[0] == "Sorry, I can't get the collection days at the moment. Please try again in a few minutes."
    assert "Cardiff Council" in reply.text[1]
    assert active(reply)["bin_collection-property"]["postcode"] == postcode


def test_the_feed_too_slow_for_the_turn(served_fakes, tmp_path):
    settings = settings_for(
        "bin_collection", "cardiff", fakes=served_fakes.url, upstream=sandbox_upstream("cardiff", tmp_path)
    )
    reply = handle(turn("bin_collection.next", {"postcode": "ZZ1 9AA"}, seconds_left=0.6), settings)
    assert reply.text[0] == "Sorry, I can't get the collection days at the moment. Please try again in a few minutes."


def test_fixed_rounds_by_postcode_alone():
    """No address service: the postcode picks the round (settings need no upstream at all)."""
    doc = tenant_doc("oxford")
    settings = doc["processes"]["bin_collection"]
    del settings["addresses"]
    settings["source"]["assign"] = {"postcodes": {"OX4": "WED-A"}}
    reply = handle(turn("bin_collection.next", {"postcode": "OX4 2AB"}), settings_for("bin_collection", doc))
    assert reply.text == (
        "For OX4 2AB:",
        "Your blue recycling bin goes out tomorrow, Wednesday 2 December.",
        "Your food waste caddy goes out tomorrow, Wednesday 2 December.",
        "Your brown garden waste bin goes out tomorrow, Wednesday 2 December.",
        "Your green rubbish bin goes out on Wednesday 9 December.",
    )
