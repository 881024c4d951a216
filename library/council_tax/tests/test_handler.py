"""council_tax's handler: charges, discounts and moving home from settings, and the payment flow
against the GOV.UK Pay fake (served over loopback HTTP), in English and Welsh."""

from __future__ import annotations

import copy
import itertools
import re
import time

import pytest
import requests

from townhall.contract import Link, Reply
from townhall.library import default_library
from townhall_tools.testing import sandbox_upstream, settings_for, tenant_doc, turn

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
handle = default_library().processes["council_tax"].handler
_accounts = itertools.count(20000001)


def checked(reply: Reply) -> Reply:
    assert isinstance(reply, Reply)
    for line in (*reply.text, *reply.quick_replies, *(link.title for link in reply.links)):
        assert not PLACEHOLDER.search(line), f"unfilled placeholder in {line!r}"
    return reply


def ask(
    intent,
    parameters=None,
    *,
    text="",
    tenant="oxford",
    language="en",
    override=None,
    contexts=None,
    settings=None,
    **kw,
) -> Reply:
    settings = settings or settings_for("council_tax", tenant, language=language, override=override)
    return checked(
        handle(
            turn(f"council_tax.{intent}", parameters, text=text, language=language, contexts=contexts, **kw), settings
        )
    )


def settings_of(tenant):
    return copy.deepcopy(tenant_doc(tenant)["processes"]["council_tax"])


# -- overview and charges ---------------------------------------------------------------------------


def test_overview_offers_the_four_things(ct):
    reply = ask("overview")
    assert reply.quick_replies == ("Council tax charges", "Discounts and reductions", "Moving home", "Pay council tax")
    assert ask("overview", language="cy", tenant="cardiff").quick_replies[3] == "Talu'r dreth gyngor"


def test_a_bands_charge_with_its_instalments():
    reply = ask("charges", {"band": "D"})
    assert reply.text[:2] == (
        "Band D is £2,450.00 a year for 2026/27.",
        "It's usually paid in 10 monthly instalments of £245.00.",
    )
    assert "parish council" in reply.text[2] and reply.text[3] == "Discounts and reductions can lower your bill."
    assert reply.quick_replies == ("Discounts and reductions", "Pay council tax")
    assert Link("Council tax charges", "https://example.org/demo/oxford/council-tax/charges") in reply.links


def test_uneven_instalments_put_the_odd_pence_first():
    assert ask("charges", {"band": "A"}).text[1] == (
        "It's usually paid in 10 monthly instalments: £163.37 first, then 9 of £163.33."
    )
    assert ask("charges", {"band": "A"}, tenant="cardiff", language="cy").text[1] == (
        "Fel arfer, caiff ei thalu mewn 12 rhandaliad misol: £116.74 yn gyntaf, yna 11 rhandaliad o £116.66."
    )


@pytest.mark.parametrize(
    ("parameters", "text"),
    [
        ({"band": "d"}, ""),
        ({"band": "band d"}, ""),
        ({"band": "Band D"}, ""),
        ({"band": "Band I"}, "how much is band d"),
        ({}, "how much is band d"),
        ({}, "wats a d band cost"),
        ({}, "council tax for Band-D please"),
        ({}, "how much is a band d property"),
    ],
)
def test_the_band_from_the_parameter_or_the_words(parameters, text):
    assert ask("charges", parameters, text=text).text[0].startswith("Band D is £2,450.00")


def test_words_that_only_look_like_a_band():
    assert ask("charges", text="how much for a band").text[0].startswith("How much you pay depends")
    assert ask("charges", text="what band i'm in").text[0].startswith("How much you pay depends")
    for text in ("how much council tax will I pay", "how much will i pay a month"):
        assert ask("charges", {"band": "Band I"}, text=text).text[0].startswith("How much you pay depends"), text
    welsh = ask("charges", {"band": "Band I"}, text="Faint sydd arna i?", tenant="cardiff", language="cy")
    assert "Band I yn costio" not in welsh.text[0]


def test_welsh_band_answer_and_mutated_band():
    reply = ask("charges", text="dwi ym mand D faint dwi'n talu", tenant="cardiff", language="cy")
    assert reply.text[:2] == (
        "Mae Band D yn costio £2,100.00 y flwyddyn ar gyfer 2026/27.",
        "Fel arfer, caiff ei thalu mewn 12 rhandaliad misol o £175.00.",
    )
    assert "cyngor cymuned" in reply.text[2]


def test_wales_has_band_i_and_england_does_not():
    assert ask("charges", {"band": "I"}, tenant="cardiff").text[0] == "Band I is £4,900.00 a year for 2026/27."
    reply = ask("charges", {"band": "I"})
    assert reply.text[0] == "There's no band I here: bands go from A to H."
    assert "Band H: £4,900.00" in reply.text[1] and reply.quick_replies[-1] == "Band H"


def test_no_band_lists_every_charge_and_asks_which():
    reply = ask("charges", text="how much council tax will i pay", tenant="cardiff")
    assert reply.text[0].splitlines() == [
        "How much you pay depends on your home's band. The charges for 2026/27 are:",
        "Band A: £1,400.00",
        "Band B: £1,633.33",
        "Band C: £1,866.67",
        "Band D: £2,100.00",
        "Band E: £2,566.67",
        "Band F: £3,033.33",
        "Band G: £3,500.00",
        "Band H: £4,200.00",
        "Band I: £4,900.00",
    ]
    assert reply.text[-1] == "Which band is your home in? It's on your council tax bill."
    assert reply.quick_replies == tuple(f"Band {b}" for b in "ABCDEFGHI")
    assert reply.links[0] == Link("Check your council tax band", "https://www.gov.uk/council-tax-bands")


def test_charges_without_the_optional_settings():
    s = settings_of("oxford")
    for key in ("precepts", "charges_link", "find_band_link"):
        del s[key]
    s["bands"] = {band: 1000.05 + i for i, band in enumerate("ABCDEFGH")}  # numbers work too
    reply = ask("charges", {"band": "B"}, override=s)
    assert reply.text == (
        "Band B is £1,001.05 a year for 2026/27.",
        "It's usually paid in 10 monthly instalments: £100.15 first, then 9 of £100.10.",
        "Discounts and reductions can lower your bill.",
    )
    assert reply.links == ()
    assert ask("charges", override=s).links == ()


# -- discounts --------------------------------------------------------------------------------------


def test_a_discount_by_its_entity_value():
    reply = ask("discounts", {"discount": "students"})
    assert reply.text[0].startswith("Homes where everyone is a full-time student don't pay council tax.")
    assert reply.text[1].startswith("Who can get it: Full-time students")
    assert reply.links == (
        Link("Students: find out more and apply", "https://example.org/demo/oxford/council-tax/students"),
    )
    assert reply.quick_replies == ("Other discounts", "Pay council tax")


@pytest.mark.parametrize(
    ("text", "language", "starts"),
    [
        ("i live alone do i get money off", "en", "If you're the only adult"),
        ("Council Tax Reduction Scheme", "en", "If you're on a low income"),
        ("im on universal credit", "en", "If you're on a low income"),
        ("dwi'n fyfyriwr oes rhaid i mi dalu", "cy", "Does dim rhaid talu'r dreth gyngor"),
        ("Gofalwyr", "cy", "Caiff rhai gofalwyr eu diystyru"),
    ],
)
def test_a_discount_from_the_residents_words(text, language, starts):
    assert ask("discounts", text=text, tenant="cardiff", language=language).text[0].startswith(starts)


def test_discounts_list_their_titles():
    reply = ask("discounts", text="council tax discounts")
    assert reply.text == (
        "These discounts and reductions can lower your council tax bill. Which one would you like to know about?",
    )
    assert reply.quick_replies == (
        "Single person discount",
        "Students",
        "Disabled band reduction",
        "Council tax reduction",
        "Empty homes",
    )


def test_a_discount_the_council_has_not_listed():
    reply = ask("discounts", {"discount": "carers"})  # Oxford's settings have no carers entry
    assert reply.text[0] == "Sorry, I don't have details of that one." and len(reply.quick_replies) == 5
    assert ask("discounts", text="my mum has dementia").text[0] == "Sorry, I don't have details of that one."


def test_a_councils_own_discount_found_by_its_keywords():
    s = settings_of("oxford")
    s["discounts"].append(
        {
            "id": "care-leavers",
            "title": {"en": "Care leavers"},
            "summary": {"en": "Care leavers pay nothing until they are 25."},
            "who": {"en": "Young people who were in our care."},
            "link": "https://example.org/demo/care-leavers",
            "keywords": {"en": ["left care", "leaving care"]},
        }
    )
    assert (
        ask("discounts", text="i left care last year", override=s).text[0]
        == "Care leavers pay nothing until they are 25."
    )


# -- moving home ------------------------------------------------------------------------------------


def test_moving_asks_which_way_then_answers_with_the_form():
    reply = ask("moving", text="im moving house")
    assert reply.text == ("Are you moving into the area, moving out of it, or moving to another home within it?",)
    assert reply.quick_replies == ("Moving into the area", "Moving out of the area", "Moving within the area")
    reply = ask("moving", {"move": "within"})
    assert reply.text[0].startswith("Tell us about your move") and reply.text[1].startswith("We'll send you a new bill")
    assert reply.links == (Link("Tell us you're moving", "https://example.org/demo/oxford/council-tax/moving"),)


def test_moving_links_per_direction_in_welsh():
    into = ask("moving", text="dwi wedi symud i mewn", tenant="cardiff", language="cy")
    assert into.text[0].startswith("Croeso!") and into.links[0].url.endswith("/moving-in")
    out = ask("moving", {"move": "out"}, tenant="cardiff", language="cy")
    assert out.links[0] == Link(
        "Rhoi gwybod i ni eich bod yn symud", "https://example.org/demo/cardiff/council-tax/moving-out"
    )
    within = ask("moving", {"move": "within"}, tenant="cardiff")
    assert within.links[0].url == "https://example.org/demo/cardiff/council-tax/moving"  # no own form: the main one


# -- paying -----------------------------------------------------------------------------------------


@pytest.fixture
def paying(served_fakes, tmp_path):
    """Settings for a tenant, against the served fakes, with side effects kept in tmp_path."""

    def make(tenant="oxford", language="en", override=None):
        return settings_for(
            "council_tax",
            tenant,
            language=language,
            override=override,
            fakes=served_fakes.url,
            upstream=sandbox_upstream(tenant, tmp_path),
        )

    return make


def contexts_of(reply: Reply) -> dict:
    return {c.name: dict(c.parameters) for c in reply.contexts if c.lifespan > 0}


def posts(served_fakes, reference):
    return [
        r
        for r in requests.get(f"{served_fakes.url}/pay/_fake/requests", timeout=5).json()
        if r["method"] == "POST"
        and r["path"] == "/v1/payments"
        and isinstance(r["body"], dict)
        and r["body"].get("reference") == reference
    ]


def on_pay_page(served_fakes, reply, decision):
    """The resident follows the reply's payment link and pays or cancels on GOV.UK Pay's page."""
    token = reply.links[0].url.rsplit("/", 1)[1]
    requests.post(
        f"{served_fakes.url}/pay/secure",
        data={"chargeTokenId": token, "decision": decision},
        allow_redirects=False,
        timeout=5,
    )


def confirmed(account, pence):
    return {"council_tax-payment": {"payment_account": account, "payment_pence": pence, "payment_step": "confirm"}}


def test_the_flow_asks_for_the_account_then_the_amount_then_confirms(paying):
    s = paying()
    reply = ask("pay", text="pay my council tax", settings=s)
    assert reply.text == ("What's your council tax account number? It's on your bill, and looks like 12345678.",)
    reply = ask("pay_details", text="its 1234 5678", settings=s, contexts=contexts_of(reply))
    assert reply.text == ("How much would you like to pay? For example, £120.50.",)
    reply = ask("pay_details", text="120", settings=s, contexts=contexts_of(reply))
    assert reply.text == ("You're paying £120.00 towards council tax account 12345678. Is that right?",)
    assert reply.quick_replies == ("Yes, send me the link", "No, don't", "Change details")
    assert contexts_of(reply) == confirmed("12345678", 12000)


def test_everything_in_one_message_goes_straight_to_confirming(paying):
    reply = ask("pay", {"amount": 45, "account": "12345678"}, text="pay £45 on account 12345678", settings=paying())
    assert reply.text == ("You're paying £45.00 towards council tax account 12345678. Is that right?",)


def test_an_invalid_account_number_gets_format_help(paying):
    s = paying()
    reply = ask(
        "pay_details", text="1234567", settings=s, contexts={"council_tax-payment": {"payment_step": "account"}}
    )
    assert reply.text == (
        "That doesn't look like a council tax account number. It should look like 12345678: "
        "you'll find it at the top of your bill.",
    )
    assert contexts_of(reply)["council_tax-payment"] == {"payment_step": "account"}
    cy = ask("pay", text="talu treth gyngor 12345678", settings=paying("cardiff", "cy"))  # Cardiff's are 9 digits
    assert cy.text == (
        "Dydy hwnna ddim yn edrych fel rhif cyfrif treth gyngor. Dylai edrych fel 600123456: "
        "fe welwch chi ef ar frig eich bil.",
    )


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("£0.10", "You can pay between £0.30 and £100,000.00 at a time. How much would you like to pay?"),
        ("£250,000", "You can pay between £0.30 and £100,000.00 at a time. How much would you like to pay?"),
        ("£12.345", "Please give the amount in pounds and pence, like £120.50."),
        ("about 12.5.6", "Please give the amount in pounds and pence, like £120.50."),
    ],
)
def test_amounts_outside_pays_limits_or_format(paying, said, answer):
    context = {"council_tax-payment": {"payment_account": "12345678", "payment_step": "amount"}}
    reply = ask("pay_details", text=said, settings=paying(), contexts=context)
    assert reply.text == (answer,)
    assert contexts_of(reply)["council_tax-payment"] == {"payment_account": "12345678", "payment_step": "amount"}


def test_changing_the_details(paying):
    s = paying()
    reply = ask("pay_details", text="No, change details", settings=s, contexts=confirmed("12345678", 5000))
    assert reply.text == ("No problem. Type the right account number or amount and I'll check it again.",)
    reply = ask("pay_details", text="60", settings=s, contexts=contexts_of(reply))
    assert reply.text == ("You're paying £60.00 towards council tax account 12345678. Is that right?",)
    reply = ask("pay_details", text="87654321", settings=s, contexts=contexts_of(reply))
    assert reply.text == ("You're paying £60.00 towards council tax account 87654321. Is that right?",)


def test_paying_makes_one_payment_and_offers_its_link(paying, served_fakes):
    account = str(next(_accounts))
    s = paying()
    reply = ask("pay_confirm", text="yes pay now", settings=s, contexts=confirmed(account, 12050))
    assert reply.text == (
        f"Your payment of £120.50 for account {account} is ready. Use the button to pay securely "
        "on GOV.UK Pay. The link works for 90 minutes.",
    )
    [link] = reply.links
    assert link.title == "Pay £120.50 now" and link.url.startswith(served_fakes.url + "/pay/secure/")
    [post] = posts(served_fakes, account)
    body = post["body"]
    assert {k: body[k] for k in ("amount", "reference", "description", "language")} == {
        "amount": 12050,
        "reference": account,
        "description": "Oxford City Council council tax",
        "language": "en",
    }
    chat_id = body["metadata"]["chat_payment"]
    assert re.fullmatch(r"[0-9a-f]{32}", chat_id)
    assert body["return_url"] == f"https://example.org/demo/oxford/council-tax/paid?chat_payment={chat_id}"
    assert re.fullmatch(r"[0-9a-f]{64}", post["idempotency_key"])
    paid = contexts_of(reply)["council_tax-paid"]
    assert paid["next_url"] == link.url and paid["payment_account"] == account and paid["payment_pence"] == 12050
    assert contexts_of(reply)["council_tax-payment"] == confirmed(account, 12050)["council_tax-payment"]


def test_the_same_request_twice_is_one_payment(paying, served_fakes):
    """Dialogflow repeating the call (no council_tax-paid context yet): one POST, the same link."""
    account = str(next(_accounts))
    s = paying()
    first = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 3000))
    second = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 3000))
    assert first.links == second.links and first.text == second.text
    assert len(posts(served_fakes, account)) == 1


def test_yes_again_offers_the_same_link_and_a_new_amount_is_a_new_payment(paying, served_fakes):
    account = str(next(_accounts))
    s = paying()
    first = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 3000))
    again = ask("pay_confirm", text="yes", settings=s, contexts=contexts_of(first))
    assert again.text[0].startswith(f"You already have a payment link for £30.00 for account {account}.")
    assert again.links == first.links
    other = ask("pay_confirm", text="yes", settings=s, contexts={**contexts_of(first), **confirmed(account, 3100)})
    assert other.text[0].startswith("Your payment of £31.00") and other.links != first.links
    assert [p["body"]["amount"] for p in posts(served_fakes, account)] == [3000, 3100]


def test_after_paying_the_same_details_are_not_paid_again(paying, served_fakes):
    account = str(next(_accounts))
    s = paying()
    first = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 4000))
    on_pay_page(served_fakes, first, "pay")
    again = ask("pay_confirm", text="yes", settings=s, contexts=contexts_of(first))
    assert again.text == (
        f"Thank you: you've already paid £40.00 towards account {account}. To make another "
        "payment, tell me the amount.",
    )
    assert contexts_of(again)["council_tax-payment"] == {"payment_account": account, "payment_step": "amount"}
    assert len(posts(served_fakes, account)) == 1


@pytest.mark.parametrize("ending", ["cancel", "expire"])
def test_a_cancelled_or_expired_payment_is_replaced(paying, served_fakes, ending):
    """An expired link is replaced at once; one the resident cancelled only after saying so."""
    account = str(next(_accounts))
    s = paying()
    first = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 5000))
    if ending == "cancel":
        on_pay_page(served_fakes, first, "cancel")
    else:
        requests.post(
            f"{served_fakes.url}/pay/_fake/payments/{contexts_of(first)['council_tax-paid']['payment_id']}/expire",
            timeout=5,
        )
    again = ask("pay_confirm", text="yes", settings=s, contexts=contexts_of(first))
    if ending == "cancel":
        assert again.text == (
            f"You cancelled the payment of £50.00 for account {account} on GOV.UK Pay, so that link won't work "
            "any more. Nothing was taken.",
            "Would you like a new payment link?",
        )
        assert again.links == () and again.quick_replies == ("Yes, send me the link", "No, don't")
        assert len(posts(served_fakes, account)) == 1  # nothing made before they say they want one
        again = ask("pay_confirm", text="yes please", settings=s, contexts=contexts_of(again))
    assert again.text[0].startswith("Your payment of £50.00") and again.links != first.links
    third = ask("pay_confirm", text="yes", settings=s, contexts=contexts_of(again))
    assert third.text[0].startswith("You already have a payment link") and third.links == again.links
    assert len(posts(served_fakes, account)) == 2


def test_an_old_link_is_checked_even_without_the_paid_context(paying, served_fakes):
    account = str(next(_accounts))
    s = paying()
    first = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 5100), now="2026-12-01T10:00")
    requests.post(
        f"{served_fakes.url}/pay/_fake/payments/{contexts_of(first)['council_tax-paid']['payment_id']}/expire",
        timeout=5,
    )
    later = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 5100), now="2026-12-01T11:40")
    assert later.text[0].startswith("Your payment of £51.00") and later.links != first.links
    assert len(posts(served_fakes, account)) == 2


def test_welsh_payment_page_is_in_welsh(paying, served_fakes):
    account = str(next(_accounts)) + "0"  # Cardiff's account numbers have nine digits
    reply = ask(
        "pay_confirm", text="ydy", settings=paying("cardiff", "cy"), contexts=confirmed(account, 7525), language="cy"
    )
    assert reply.text[0].startswith(f"Mae eich taliad o £75.25 ar gyfer cyfrif {account} yn barod.")
    assert reply.links[0].title == "Talu £75.25 nawr"
    [post] = posts(served_fakes, account)
    assert post["body"]["language"] == "cy" and post["body"]["description"] == "Treth gyngor Cyngor Caerdydd"
    assert "demo payment page" in requests.get(reply.links[0].url, timeout=5).text


@pytest.mark.parametrize(
    ("amount", "account", "first"),
    [
        (99999, None, "Sorry, I couldn't set up your payment just now."),  # 500
        (99998, None, "Sorry, I couldn't set up your payment just now."),  # 503
        (99997, None, "Sorry, I couldn't set up your payment just now."),  # 429
        (99996, None, "Sorry, I didn't get a clear answer from the payment system"),  # made, answer unreadable
        (5000, "99999999", "Sorry, I didn't get a clear answer from the payment system"),  # made, answered late
    ],
)
def test_when_pay_fails_the_resident_gets_the_payment_page_and_contact_details(paying, amount, account, first):
    account = account or str(next(_accounts))
    reply = ask("pay_confirm", text="yes", settings=paying(), contexts=confirmed(account, amount), seconds_left=1.0)
    assert reply.text[0].startswith(first)
    assert reply.text[1:] == (
        "You can contact Oxford City Council by phone on 01632 960001, by email at demo-oxford@example.org "
        "or using the online form.",
    )
    assert reply.links[0] == Link("Pay council tax online", "https://example.org/demo/oxford/council-tax/pay")
    assert reply.quick_replies == ("Try the payment again",)
    retry = {"council_tax-payment": {**confirmed(account, amount)["council_tax-payment"], "payment_step": "retry"}}
    assert contexts_of(reply) == retry  # the resident can try again


def test_a_missing_api_key_is_a_failure_not_a_crash(paying, tmp_path):
    s = paying()
    from dataclasses import replace

    from townhall.upstream import Upstream

    s = replace(s, upstream=Upstream("oxford", s.upstream.http, lambda name: None, s.upstream.side_effects))
    reply = ask("pay_confirm", text="yes", settings=s, contexts=confirmed("12345678", 5000))
    assert reply.text[0] == REFUSED  # the council's own set-up: no retry, not "can't reach"
    assert reply.quick_replies == ()


def test_without_gov_uk_pay_the_councils_payment_page_is_offered():
    s = settings_of("oxford")
    s["payments"] = {"page": "https://example.org/demo/oxford/council-tax/pay"}
    for intent in ("pay", "pay_details", "pay_confirm"):
        reply = ask(intent, text="pay council tax", override=s)
        assert reply.text == ("You can pay your council tax online at any time on our payment page.",)
        assert reply.links == (Link("Pay council tax online", "https://example.org/demo/oxford/council-tax/pay"),)


def test_confirming_after_the_flow_was_left_starts_again(paying):
    reply = ask("pay_confirm", text="yes pay now", settings=paying())
    assert reply.text == ("What's your council tax account number? It's on your bill, and looks like 12345678.",)


def test_context_values_that_do_not_check_out_are_dropped(paying, served_fakes):
    """Contexts come back from outside: a tampered account or amount is asked for again, never sent."""
    tampered = {"council_tax-payment": {"payment_account": "<script>", "payment_pence": 5, "payment_step": "confirm"}}
    reply = ask("pay_confirm", text="yes", settings=paying(), contexts=tampered)
    assert reply.text[0].startswith("What's your council tax account number?")
    assert not posts(served_fakes, "<script>")
    reply = ask(
        "pay_confirm",
        text="yes",
        settings=paying(),
        contexts={"council_tax-payment": {"payment_account": "12345678", "payment_pence": 99.5}},
    )
    assert reply.text == ("How much would you like to pay? For example, £120.50.",)


REFUSED = (
    "Sorry, the council's payment system could not take this payment. Please pay on our payment page or contact us."
)


@pytest.mark.parametrize(
    ("text", "language", "tenant"),
    [
        ("No, don't", "en", "oxford"),
        ("hmm yes... actually no, don't send it", "en", "oxford"),
        ("wait don't do it yet", "en", "oxford"),
        ("Na, dim dolen dalu", "cy", "cardiff"),
        ("ie... na, gad e", "cy", "cardiff"),
    ],
)
def test_any_negation_at_the_summary_is_a_decline_and_nothing_is_sent(paying, served_fakes, text, language, tenant):
    account = str(next(_accounts)) + ("0" if tenant == "cardiff" else "")
    s = paying(tenant, language)
    for intent in ("pay_confirm", "pay_decline"):
        reply = ask(intent, text=text, settings=s, contexts=confirmed(account, 2500), language=language)
        assert [c.name for c in reply.contexts if c.lifespan == 0] == ["council_tax-payment", "council_tax-paid"]
        assert not reply.links
    assert posts(served_fakes, account) == []


def test_an_unclear_answer_asks_again_with_both_quick_replies(paying, served_fakes):
    account = str(next(_accounts))
    for text in ("hmm", "maybe", "is that right?", "ta"):
        reply = ask("pay_confirm", text=text, settings=paying(), contexts=confirmed(account, 2600))
        assert reply.text[0] == "Sorry, I need a clear yes or no before I make a payment link."
        assert reply.quick_replies[:2] == ("Yes, send me the link", "No, don't")
        assert contexts_of(reply) == confirmed(account, 2600)
    assert posts(served_fakes, account) == []
    welsh = ask("pay_confirm", text="efallai", settings=paying("cardiff", "cy"), contexts=confirmed("600123456", 2600))
    assert welsh.quick_replies[:2] == ("Ie, anfonwch y ddolen", "Na, dim dolen dalu")


def test_no_at_the_summary_through_pay_details_is_a_decline_but_a_correction_is_not(paying):
    reply = ask("pay_details", text="no dont bother", settings=paying(), contexts=confirmed("12345678", 2700))
    assert reply.text[0].startswith("OK, I haven't made a payment link")
    reply = ask("pay_details", text="no, the amount is wrong", settings=paying(), contexts=confirmed("12345678", 2700))
    assert reply.text[0].startswith("No problem. Type the right account number or amount")


def test_a_link_gov_uk_pay_no_longer_knows_is_replaced_and_the_resident_told(paying, served_fakes):
    account = str(next(_accounts))
    s = paying()
    first = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 5200))
    gone = contexts_of(first)["council_tax-paid"]["payment_id"]
    assert requests.post(f"{served_fakes.url}/pay/_fake/payments/{gone}/forget", timeout=5).status_code == 204
    again = ask("pay_confirm", text="yes", settings=s, contexts=contexts_of(first))
    assert again.text[0] == (
        "The payment link I gave you earlier no longer works on GOV.UK Pay, so I've made a new one."
    )
    assert again.text[1].startswith("Your payment of £52.00")
    assert again.links != first.links
    assert contexts_of(again)["council_tax-paid"]["payment_id"] != gone
    assert len(posts(served_fakes, account)) == 2


def test_a_permanent_refusal_offers_no_retry(paying, served_fakes):
    account = str(next(_accounts))
    reply = ask("pay_confirm", text="yes", settings=paying(), contexts=confirmed(account, 99995))
    assert reply.text[0] == REFUSED
    assert "01632 960001" in reply.text[1]
    assert reply.quick_replies == ()
    assert reply.links[0] == Link("Pay council tax online", "https://example.org/demo/oxford/council-tax/pay")
    assert [c.name for c in reply.contexts if c.lifespan == 0] == ["council_tax-payment"]


def test_a_bad_api_key_is_a_permanent_refusal(paying, served_fakes):
    from dataclasses import replace

    from townhall.upstream import Upstream

    s = paying()
    s = replace(s, upstream=Upstream("oxford", s.upstream.http, lambda name: "not-a-key", s.upstream.side_effects))
    reply = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(str(next(_accounts)), 5300))
    assert reply.text[0] == REFUSED and reply.quick_replies == ()


def test_the_retry_quick_reply_after_a_failure_tries_again(paying, served_fakes):
    account = str(next(_accounts))
    failed = ask("pay_confirm", text="yes", settings=paying(), contexts=confirmed(account, 99999))
    again = ask("pay_confirm", text="Try the payment again", settings=paying(), contexts=contexts_of(failed))
    assert again.text[0].startswith("Sorry, I couldn't set up your payment")
    assert len(posts(served_fakes, account)) == 2


def test_no_to_a_new_link_after_a_cancelled_payment_sends_nothing(paying, served_fakes):
    account = str(next(_accounts))
    s = paying()
    first = ask("pay_confirm", text="yes", settings=s, contexts=confirmed(account, 5400))
    on_pay_page(served_fakes, first, "cancel")
    asked = ask("pay_confirm", text="yes", settings=s, contexts=contexts_of(first))
    assert asked.text[1] == "Would you like a new payment link?"
    for text, intent in (("No, don't", "pay_decline"), ("no thanks", "pay_confirm")):
        reply = ask(intent, text=text, settings=s, contexts=contexts_of(asked))
        assert reply.text[0].startswith("OK, I haven't made a payment link")
    assert len(posts(served_fakes, account)) == 1


def test_a_clear_yes_matched_as_a_decline_asks_again_and_sends_nothing(paying, served_fakes):
    account = str(next(_accounts))
    reply = ask(
        "pay_decline", text="yes send me the payment link", settings=paying(), contexts=confirmed(account, 2800)
    )
    assert reply.text[0] == "Sorry, I need a clear yes or no before I make a payment link."
    assert contexts_of(reply) == confirmed(account, 2800)
    assert posts(served_fakes, account) == []


def test_a_payment_sent_but_unanswered_is_said_to_maybe_exist(paying, served_fakes):
    # GOV.UK Pay's fake makes a payment for account 99999999, then answers past the turn's deadline.
    s = paying()
    first = ask("pay_confirm", text="yes", settings=s, contexts=confirmed("99999999", 4321), seconds_left=1.0)
    assert first.text[0].startswith("Sorry, I didn't get a clear answer from the payment system")
    assert "Nothing has been taken" in first.text[0] and "never a second one" in first.text[0]
    assert first.quick_replies == ("Try the payment again",)
    made = []
    for _ in range(40):  # the fake records the request once it has answered (4.5 s): 8 s at most
        made = [r for r in posts(served_fakes, "99999999") if r["body"].get("amount") == 4321]
        if made:
            break
        time.sleep(0.2)
    assert len(made) == 1
