"""polling_station: the handler against the Democracy Club fake (served over loopback HTTP).

Sandbox postcodes (fake.py): AA1 1AA no elections; AA1 2AA station known (7 May 2026, photo ID);
AA1 2AB station not known; AA1 3AA address picker; AA1 4AA three dates with cancellations;
AA1 5AA Northern Ireland; EH1 1YJ Scotland. ZZ50 0AA fails, ZZ99 9AA is slow.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from townhall.contract import Link, OutputContext
from townhall.library import default_library
from townhall.upstream import Http, Upstream, UpstreamError
from townhall_tools.testing import sandbox_upstream, settings_for, tenant_doc, turn

PROCESS = default_library().processes["polling_station"]
handle = PROCESS.handler
from townhall_processes.polling_station import fake  # noqa: E402  (a package once the handler is loaded)
from townhall_processes.polling_station.client import parse  # noqa: E402
from townhall_processes.polling_station.handler import Answer, choose  # noqa: E402

POSTCODE, ADDRESS = "polling_station-postcode", "polling_station-address"
OXFORD_SERVICES = (
    "You can contact our electoral services team: phone 01632 960011, email demo-oxford-elections@example.org."
)
PICKER = [
    {"address": "1 Sandbox Road, Democracy Town", "slug": "10035187881"},
    {"address": "2 Sandbox Road, Democracy Town", "slug": "10035187882"},
    {"address": "Flat A, 3 Sandbox Road, Democracy Town", "slug": "10035187883"},
]
GONE = {"address": "4 Sandbox Road, Democracy Town", "slug": "10035187884"}  # listed, but its lookup is 404
NOT_LISTED = "My address isn't listed"


@pytest.fixture
def settings(served_fakes, tmp_path):
    def make(tenant="oxford", language="en", override=None, upstream=None):
        return settings_for(
            "polling_station",
            tenant,
            language=language,
            fakes=served_fakes.url,
            override=override,
            upstream=upstream or sandbox_upstream(tenant, tmp_path),
        )

    return make


def find(
    settings,
    postcode=None,
    *,
    tenant="oxford",
    language="en",
    action="find",
    text="",
    contexts=None,
    seconds_left=3.0,
    **kw,
):
    params = {"postcode": postcode} if postcode else {}
    return handle(
        turn(
            f"polling_station.{action}",
            params,
            text=text,
            language=language,
            contexts=contexts,
            seconds_left=seconds_left,
        ),
        settings(tenant, language, **kw),
    )


def pick(settings, text, *, address=None, language="en", tenant="oxford", addresses=PICKER):
    contexts = {ADDRESS: {"postcode": "AA1 3AA", "addresses": addresses}} if addresses is not None else None
    params = {"address": address} if address else {}
    return handle(
        turn("polling_station.address", params, text=text, language=language, contexts=contexts),
        settings(tenant, language),
    )


def test_a_known_station_with_date_ballot_photo_id_hours_and_advice(settings):
    reply = find(settings, "aa1 2aa")
    assert reply.text == (
        "Your polling station for the election on Thursday 7 May 2026 is Sandbox Community Centre, 12 Demo Road, "
        "Democracy Town, AA1 2AB.",
        "You can vote in: Democracy Town local election Sandbox.",
        "You need to show photographic ID to vote in this election. You'll need to show an accepted form of photo ID, "
        "like a passport or driving licence, at the polling station.",
        "Polling stations are open from 7am to 10pm on polling day.",
        "If you can't get to your polling station, you can apply to vote by post or by proxy.",
    )
    assert reply.links == (Link("Photo ID you can use", "https://example.org/demo/voter-id"),)
    assert reply.contexts == ()


def test_the_same_in_welsh_with_the_mutated_weekday(settings):
    reply = find(settings, "AA1 2AA", tenant="cardiff", language="cy")
    assert reply.text[0].startswith("Eich gorsaf bleidleisio ar gyfer yr etholiad ar ddydd Iau 7 Mai 2026 yw Sandbox")
    assert reply.text[2].startswith("Bydd angen i chi ddangos dull adnabod â llun")
    assert reply.text[3] == "Mae gorsafoedd pleidleisio ar agor o 7yb tan 10yh ar ddiwrnod y bleidlais."


def test_a_station_not_yet_known_gives_the_electoral_services_contact_from_the_api(settings):
    reply = find(settings, "AA1 2AB")
    assert reply.text[0] == "There's an election on Thursday 7 May 2026, but I don't know your polling station yet."
    assert (
        "To find out where to vote, contact Democracy Town Council (demo): phone 01632 960900, "
        "email demo-elections@example.org."
    ) in reply.text
    # photo ID from the ballot alone (no notification): the council's own link
    assert "You'll need to show photo ID to vote at your polling station" in reply.text[2]
    assert reply.links == (
        Link("Photo ID you can use", "https://example.org/demo/oxford/voter-id"),
        Link("Democracy Town Council (demo)", "https://example.org/demo/elections"),
    )


def test_no_elections_coming_up(settings):
    reply = find(settings, "AA1 1AA")
    assert reply.text == ("There are no elections coming up at AA1 1AA that I know of.",)
    assert reply.links == ()


def test_several_dates_cancelled_ballots_explained_and_notifications_shown(settings):
    text = find(settings, "AA1 4AA").text
    assert text[0].startswith("Your polling station for the election on Thursday 7 May 2026 is")
    assert text[1] == "You can vote in: Mayor of Democracy Town election."
    assert text[2] == (
        "There won't be a vote in 'Democracy Town local election Harbour' on Thursday 7 May 2026: "
        "a candidate has died, so the election has been postponed. "
        "It will now take place on Thursday 18 June 2026."
    )
    assert text[4] == "The poll on Thursday 14 May 2026 has been cancelled, so you don't need to vote that day."
    assert "there were only as many candidates as seats, so they were elected without a vote" in text[5]
    assert text[6] == "Uncontested Election. The poll for this election will not take place because it is uncontested."
    assert text[7].startswith("Your polling station for the election on Thursday 18 June 2026")
    assert sum("photo" in line.lower() for line in text) == 1  # said once, not per date


def test_several_dates_in_welsh(settings):
    text = find(settings, "AA1 4AA", tenant="cardiff", language="cy").text
    assert "Bydd yn cael ei chynnal ar ddydd Iau 18 Mehefin 2026 yn lle hynny." in text[2]
    assert text[4] == (
        "Mae'r bleidlais ar ddydd Iau 14 Mai 2026 wedi'i chanslo, felly does dim angen i chi "
        "bleidleisio'r diwrnod hwnnw."
    )
    assert not any("Uncontested" in line for line in text)  # said in Welsh instead


def test_scotland_gives_the_registration_contact_not_the_councils(settings):
    reply = find(settings, "EH1 1YJ")
    assert reply.text == (
        "There are no elections coming up at EH1 1YJ that I know of.",
        "In Scotland, registering to vote is handled by the electoral registration office, not the council.",
        "To register to vote or check your registration, contact the electoral registration office: "
        "phone 01632 960903, email demo-ero@example.org.",
    )
    assert reply.links == (Link("The electoral registration office", "https://example.org/demo/valuation-joint-board"),)
    welsh = find(settings, "EH1 1YJ", tenant="cardiff", language="cy")
    assert welsh.text[2] == (
        "Cysylltwch i gofrestru i bleidleisio neu i wirio eich cofrestriad – Y swyddfa gofrestru "
        "etholiadol: ffoniwch 01632 960903, e-bostiwch demo-ero@example.org."
    )


def test_northern_ireland_names_the_electoral_office_once(settings):
    reply = find(settings, "AA1 5AA")
    assert reply.text[2] == (
        "You need to show photographic ID to vote in this election. Voters in Northern Ireland "
        "are required to show one form of photo ID, like a passport or driving licence."
    )
    assert (
        "To find out where to vote, contact the Electoral Office for Northern Ireland: phone 01632 960901, "
        "email demo-eoni@example.org."
    ) in reply.text
    assert sum("01632 960901" in line for line in reply.text) == 1
    assert "In Northern Ireland, elections and registering to vote are handled by the Electoral Office" in " ".join(
        reply.text
    )
    welsh = find(settings, "AA1 5AA", tenant="cardiff", language="cy")
    assert "Yng Ngogledd Iwerddon, rhaid i chi ddangos dull adnabod â llun" in welsh.text[2]


def test_no_postcode_asks_and_a_non_postcode_gets_format_help(settings):
    reply = find(settings, text="where do i vote")
    assert reply.text == ("What's your postcode? I'll find your polling station.",)
    assert reply.contexts == (OutputContext(POSTCODE, 2),)
    reply = find(settings, action="postcode", text="the one near the church", contexts={POSTCODE: {}})
    assert reply.text[0].startswith("That doesn't look like a postcode. A postcode looks like 'OX1 1BX'")
    assert reply.contexts == (OutputContext(POSTCODE, 2),)


def test_the_postcode_is_found_in_the_words_and_the_flow_contexts_are_cleared(settings):
    reply = find(settings, action="postcode", text="oh its aa1 2aa", contexts={POSTCODE: {}})
    assert reply.text[0].startswith("Your polling station")
    assert reply.contexts == (OutputContext(POSTCODE, 0),)


def test_a_split_postcode_offers_its_addresses_kept_in_a_context(settings):
    reply = find(settings, "AA1 3AA", contexts={POSTCODE: {}})
    assert reply.text == ("AA1 3AA is split between polling districts. Which of these is your address?",)
    assert reply.quick_replies == (*(a["address"] for a in [*PICKER, GONE]), NOT_LISTED)
    assert reply.contexts == (
        OutputContext(ADDRESS, 3, {"postcode": "AA1 3AA", "addresses": [*PICKER, GONE]}),
        OutputContext(POSTCODE, 0),
    )


@pytest.mark.parametrize(
    ("text", "station"),
    [
        ("2 Sandbox Road, Democracy Town", "St Demo's Church Hall"),  # tapped
        ("1 sandbox road", "Sandbox Community Centre"),  # typed, in part
        ("the second one", "St Demo's Church Hall"),
        ("the last one", None),
        ("I'm at number 2", "St Demo's Church Hall"),  # a house number
        ("2", "St Demo's Church Hall"),
        ("flat a", None),  # a flat's name
    ],
)
def test_the_chosen_address_is_looked_up(settings, text, station):
    reply = pick(settings, text)
    if station:
        assert station in reply.text[0]
    else:
        assert reply.text[0].startswith("There's an election on Thursday 7 May 2026, but I don't know")
    assert reply.contexts == (OutputContext(ADDRESS, 0),)


def test_welsh_ordinals_pick_too(settings):
    assert "St Demo's Church Hall" in pick(settings, "yr ail un", tenant="cardiff", language="cy").text[0]


def test_an_address_that_fits_no_one_address_is_asked_again(settings):
    for text in ("99 Nowhere Street", "sandbox road"):
        reply = pick(settings, text)
        assert reply.text == (
            "I couldn't match that to one address at AA1 3AA. Please choose your address from the "
            "list, or type its first line.",
        )
        assert reply.quick_replies == (*(a["address"] for a in PICKER), NOT_LISTED)
        assert reply.contexts == (OutputContext(ADDRESS, 3, {"postcode": "AA1 3AA", "addresses": PICKER}),)


def test_the_address_parameter_is_used_when_the_words_do_not_fit():
    assert choose(PICKER, ["please, it's mine:", "flat a 3 sandbox road"]) == PICKER[2]
    assert choose(PICKER, ["", "nothing"]) is None
    flats = [{"address": "1 Sandbox Road, Flat 1", "slug": "1"}, {"address": "1 Sandbox Road, Flat 2", "slug": "2"}]
    assert choose(flats, ["1 sandbox road"]) is None  # fits both
    assert choose(flats, ["1 Sandbox Road, flat 2"]) == flats[1]


def test_a_lost_address_list_asks_for_the_postcode_again(settings):
    reply = pick(settings, "1 Sandbox Road", addresses=None)
    assert reply.text == ("Sorry, I no longer have the addresses for your postcode. What's your postcode?",)
    assert reply.contexts == (OutputContext(POSTCODE, 2),)


@pytest.mark.parametrize(
    ("text", "addresses"),
    [("4 Sandbox Road, Democracy Town", [*PICKER, GONE]), ("1 Old Road", [{"address": "1 Old Road", "slug": "123"}])],
)
def test_an_address_democracy_club_no_longer_knows_ends_the_picker_with_what_is_known(settings, text, addresses):
    """A 404 for a slug from Democracy Club's own picker never sends the resident round again."""
    reply = pick(settings, text, addresses=addresses)
    assert reply.text[0].startswith("Sorry, I couldn't find the polling station for that address")
    assert "What's your postcode?" not in " ".join(reply.text)
    assert any("01632 960900" in line for line in reply.text)  # the API's electoral services
    assert reply.text[-1].startswith("Your poll card")
    assert reply.contexts == (OutputContext(ADDRESS, 0),)


@pytest.mark.parametrize(
    ("text", "language", "tenant"),
    [(NOT_LISTED, "en", "oxford"), ("my address isn't there", "en", "oxford"), ("dim un o'r rhain", "cy", "cardiff")],
)
def test_my_address_is_not_listed_ends_the_picker_with_the_contact(settings, text, language, tenant):
    reply = pick(settings, text, language=language, tenant=tenant)
    assert len(reply.text) >= 3
    assert any("01632 960900" in line for line in reply.text)
    assert reply.contexts == (OutputContext(ADDRESS, 0),)


@pytest.mark.parametrize("postcode", [fake.ERROR_POSTCODE, fake.MALFORMED_POSTCODE])
def test_democracy_club_failing_gives_our_electoral_services(settings, postcode):
    reply = find(settings, postcode)
    assert reply.text == (
        "Sorry, I can't look up polling stations at the moment.",
        "Your poll card, which comes by post before an election, also shows your polling station.",
        OXFORD_SERVICES,
        "You can try again by sending me your postcode.",
    )
    assert reply.links == (Link("Electoral services", "https://example.org/demo/oxford/elections"),)
    assert reply.contexts == (OutputContext(POSTCODE, 2, {"postcode": postcode}),)


def test_a_slow_democracy_club_is_answered_inside_the_turn(settings):
    started = time.monotonic()
    reply = find(settings, fake.SLOW_POSTCODE, seconds_left=0.8)
    assert time.monotonic() - started < 0.8
    assert reply.text[0] == "Sorry, I can't look up polling stations at the moment." and OXFORD_SERVICES in reply.text


def test_a_rejected_key_or_a_missing_secret_offers_no_retry(settings, tmp_path):
    """A permanent refusal is not "can't reach the system", and trying again would not help."""
    for up in (Upstream("oxford", Http(), lambda name: "not-the-key"), Upstream("oxford", Http(), lambda name: None)):
        reply = find(settings, "AA1 2AA", upstream=up, contexts={POSTCODE: {}})
        assert reply.text == (
            "I can't look up polling stations in this chat.",
            "Your poll card, which comes by post before an election, also shows your polling station.",
            OXFORD_SERVICES,
        )
        assert reply.contexts == (OutputContext(POSTCODE, 0),)


@pytest.mark.parametrize("status", [408, 429, 503])
def test_a_rate_limit_or_a_timeout_from_democracy_club_is_for_now_and_offers_a_retry(settings, monkeypatch, status):
    """Only a refusal that will not change (UpstreamError.permanent) ends the journey: a 429 or
    408 is the "at the moment" failure that keeps the postcode step open."""
    from townhall_processes.polling_station import handler as module

    class Refusing:
        def postcode(self, *args, **kwargs):
            raise UpstreamError("status", f"Democracy Club answered {status}", status)

    monkeypatch.setattr(module, "_client", lambda settings: Refusing())
    reply = find(settings, "AA1 2AA", contexts={POSTCODE: {}})
    assert reply.text[0] == "Sorry, I can't look up polling stations at the moment."
    assert reply.text[-1] == "You can try again by sending me your postcode."
    assert reply.contexts[0].name == POSTCODE and reply.contexts[0].lifespan > 0


def test_an_unknown_postcode_and_a_failed_address_lookup(settings):
    reply = find(settings, "OX1 1BX")
    assert reply.text[0] == "I couldn't find election information for OX1 1BX. Please check the postcode."
    assert reply.contexts == (OutputContext(POSTCODE, 2, {"postcode": "OX1 1BX"}),)


def test_without_the_councils_electoral_services_its_general_contact_is_given(settings):
    doc = tenant_doc("oxford")
    del doc["processes"]["polling_station"]["electoral_services"]
    reply = find(settings, fake.ERROR_POSTCODE, override=doc["processes"]["polling_station"])
    assert reply.text[2] == (
        "You can contact Oxford City Council by phone on 01632 960001, by email at "
        "demo-oxford@example.org or using the online form."
    )
    website_only = dict(doc["processes"]["polling_station"], electoral_services={"website": "https://example.org/e"})
    reply = find(settings, fake.ERROR_POSTCODE, override=website_only)
    assert reply.text[2] == "You can contact our electoral services team through our website."


def test_other_notifications_are_always_shown_with_their_links(settings):
    result = parse(
        {
            "address_picker": False,
            "electoral_services": None,
            "registration": None,
            "dates": [
                {
                    "date": "2026-05-07",
                    "polling_station": {
                        "polling_station_known": False,
                        "station": None,
                        "custom_finder": "https://example.org/demo/finder",
                    },
                    "notifications": [
                        {
                            "type": "pre_eco",
                            "title": "Boundary changes",
                            "detail": "Wards are changing.",
                            "url": "https://example.org/demo/boundaries",
                        }
                    ],
                    "ballots": [{"ballot_title": "A demo election", "cancelled": False, "requires_voter_id": None}],
                }
            ],
        }
    )
    for language in ("en", "cy"):
        reply = Answer(
            turn("polling_station.find", language=language), settings("cardiff", language), result, "AA1 2AA"
        ).build()
        assert "Boundary changes. Wards are changing." in reply.text
        assert [link.url for link in reply.links] == [
            "https://example.org/demo/finder",
            "https://example.org/demo/boundaries",
        ]
        assert not any("ID" in line or "adnabod" in line for line in reply.text)


def test_without_upstream_access_the_reply_is_still_useful(settings):
    reply = handle(turn("polling_station.find", {"postcode": "AA1 2AA"}), replace(settings(), upstream=None))
    assert reply.text[0] == "I can't look up polling stations in this chat."
