"""signpost.service: the council's page, the county's, "not here" and "not sure", in English and Welsh.

Demo settings (infra/tenants/*.yaml): Oxford is a district with Oxfordshire County Council as its
county (county services and on-street parking there); Cardiff is unitary, bilingual, with Welsh
pages. Neither sets up pest control (431).
"""

from __future__ import annotations

import importlib

import pytest

from townhall.contract import Link, Reply
from townhall.library import default_library
from townhall_tools.testing import settings_for, tenant_doc, turn


def module(name: str):
    default_library().processes["signpost"].handler  # imports the process's package
    return importlib.import_module(f"townhall_processes.signpost.{name}")


def ask(text="", service=None, tenant="oxford", language="en", override=None) -> Reply:
    handle = default_library().processes["signpost"].handler
    settings = settings_for("signpost", tenant, language=language, override=override)
    params = {"service": service} if service is not None else {}
    return handle(turn("signpost.service", params, text=text, language=language), settings)


def menu(tenant: str, language: str) -> list[str]:
    """The council's menu labels (its other processes), as the reply offers them."""
    library = default_library()
    doc = tenant_doc(tenant)
    return [
        library.processes[p].manifest["menu"][language]
        for p in library.processes
        if p in doc["processes"] and library.processes[p].manifest.get("menu")
    ]


def test_own_page_names_the_service_links_it_and_offers_the_rest():
    reply = ask("how do i apply for planning permission", service="487")
    assert reply.text[0] == (
        "Planning applications: Oxford City Council has a page with everything you need, "
        "including how to apply or get in touch."
    )
    assert reply.links == (Link("Planning applications", "https://example.org/demo/oxford/planning-applications"),)
    assert reply.text[-1].startswith("I can help you here with: ")
    assert set(reply.quick_replies) <= set(menu("oxford", "en"))
    assert len(reply.quick_replies) == min(6, len(menu("oxford", "en")))
    assert reply.quick_replies and "Council services signpost" not in reply.quick_replies


def test_own_page_with_its_phone():
    reply = ask("my neighbour's dog barks all night", service="412")
    assert reply.text[:2] == (
        "Noise complaints: Oxford City Council has a page with everything you need, including how to apply or get "
        "in touch.",
        "You can also call Oxford City Council on 01632 960023.",
    )
    assert reply.links == (Link("Noise complaints", "https://example.org/demo/oxford/noise-complaints"),)


@pytest.mark.parametrize(
    ("code", "name", "url"),
    [
        ("13", "School admissions", "https://example.org/demo/oxfordshire/school-admissions"),
        ("279", "Blue Badge", "https://example.org/demo/oxfordshire/blue-badge"),
        ("209", "Adult social care", "https://example.org/demo/oxfordshire/adult-social-care"),
        (
            "471",
            "Parking fines (penalty charge notices)",
            "https://example.org/demo/oxfordshire/parking-fines-penalty-charge-notices",
        ),
    ],
)
def test_a_county_service_in_a_district_goes_to_the_county_saying_so(code, name, url):
    reply = ask(service=code)
    assert reply.text[0] == (
        f"{name} is run by Oxfordshire County Council, not by Oxford City Council, so here's the county "
        "council's page for it."
    )
    assert reply.text[1] == "You can call Oxfordshire County Council on 01632 960100."
    assert reply.links == (Link(f"{name} (Oxfordshire County Council)", url),)


def test_a_county_service_without_a_county_page_gets_the_county_home_page():
    doc = tenant_doc("oxford")["processes"]["signpost"]
    override = {**doc, "county": {k: v for k, v in doc["county"].items() if k not in ("services", "phone")}}
    reply = ask(service="437", override=override)
    assert reply.text[0].startswith("Libraries is run by Oxfordshire County Council")
    assert reply.links == (Link("Libraries (Oxfordshire County Council)", "https://example.org/demo/oxfordshire"),)
    assert not any("01632 960100" in line for line in reply.text)


def test_a_district_service_never_goes_to_the_county():
    doc = tenant_doc("oxford")["processes"]["signpost"]
    override = {**doc, "services": {k: v for k, v in doc["services"].items() if k != "487"}}
    reply = ask(service="487", override=override)
    assert reply.text[0] == "Sorry, I can't help with planning applications here."


def test_a_service_the_council_has_not_set_up_gets_the_contact_details():
    reply = ask("we have rats in the garden", service="431")
    assert reply.text[0] == "Sorry, I can't help with pest control here."
    assert reply.text[1].startswith("You can contact Oxford City Council by phone on 01632 960001")
    assert Link("Contact form", "https://example.org/demo/oxford/contact") in reply.links


def test_an_unrecognised_service_still_gets_examples_and_contact_details():
    reply = ask("i want to ask about the thing")
    assert reply.text[0] == "Sorry, I'm not sure which council service you mean."
    assert reply.text[1] == (
        "You can ask me about things like planning applications, parking permits or school admissions."
    )
    assert reply.text[2].startswith("You can contact Oxford City Council")
    assert reply.links and reply.quick_replies


def test_an_unknown_code_in_the_parameter_falls_back_to_the_words():
    assert ask("how do i get a blue badge", service="99999").links[0].title == "Blue Badge (Oxfordshire County Council)"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("my neighbour's dog barks all night", "412"),
        ("I got a parking ticket", "471"),
        ("someone's parked across my drive", "471"),
        ("can I build an extension", "487"),
        ("how do i get my kid into a school", "13"),
        ("ma'r ci drws nesa'n cyfarth trwy'r nos", "412"),
        ("sut mae cael lle mewn ysgol i'r plant", "13"),
        ("how do i object to a planning application", "855"),  # the longer words win over "planning"
        ("dwi moyn parking permit i'r stryd", "474"),
    ],
)
def test_the_service_is_read_from_the_words_when_dialogflow_gives_none(text, code):
    assert module("handler").service_asked(turn("signpost.service", text=text)).code == code


def test_welsh_names_the_service_and_gives_the_welsh_page():
    reply = ask("sut mae cael lle mewn ysgol i'r plant", service="13", tenant="cardiff", language="cy")
    assert reply.text[0] == (
        "Derbyn i ysgolion: mae tudalen ar wefan Cyngor Caerdydd gyda phopeth sydd ei angen arnoch chi, gan gynnwys "
        "sut i wneud cais neu gysylltu."
    )
    assert reply.links == (Link("Derbyn i ysgolion", "https://example.org/demo/caerdydd/derbyn-i-ysgolion"),)
    assert reply.text[-1].startswith("Galla i eich helpu chi yma gyda: ")
    assert reply.quick_replies and set(reply.quick_replies) <= set(menu("cardiff", "cy"))


def test_welsh_not_set_up_and_english_page_when_there_is_no_welsh_one():
    reply = ask(service="431", tenant="cardiff", language="cy")
    assert reply.text[0] == "Mae'n ddrwg gen i, alla i ddim eich helpu chi gyda'r gwasanaeth hwn yma (rheoli plâu)."
    doc = tenant_doc("cardiff")["processes"]["signpost"]
    override = {"services": {"510": {"url": "https://example.org/demo/cardiff/allotments"}}}
    assert doc["services"]["510"]["url_cy"]
    reply = ask(service="510", tenant="cardiff", language="cy", override=override)
    assert reply.links == (Link("Rhandiroedd", "https://example.org/demo/cardiff/allotments"),)


def test_english_in_cardiff_gets_the_english_page():
    reply = ask(service="510", tenant="cardiff")
    assert reply.links == (Link("Allotments", "https://example.org/demo/cardiff/allotments"),)


def test_in_sentence_names_keep_proper_nouns():
    lower = module("handler").lower
    assert lower("Pest control") == "pest control"
    assert lower("Blue Badge") == "Blue Badge"
    assert lower("Budd-dal Tai") == "Budd-dal Tai"
