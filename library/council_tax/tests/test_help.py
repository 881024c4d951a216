"""council_tax: money owed, arrears, reminders and summonses; balances the bot cannot see."""

from __future__ import annotations

import copy

from townhall.library import default_library
from townhall.tenants import validate
from townhall_tools.testing import settings_for, tenant_doc, turn

PROCESS = default_library().processes["council_tax"]
NATIONAL = {
    "https://www.citizensadvice.org.uk/debt-and-money/",
    "https://www.stepchange.org/",
    "https://www.moneyhelper.org.uk/en/money-troubles/dealing-with-debt",
}


def ask(action, text, tenant="oxford", language="en", override=None):
    settings = settings_for("council_tax", tenant, language=language, override=override)
    return PROCESS.handler(turn(f"council_tax.{action}", text=text, language=language), settings)


def test_arrears_offer_arrangements_support_free_advice_and_a_person():
    reply = ask("arrears", "I'm behind on my council tax and can't afford it")
    urls = {link.url for link in reply.links}
    assert "https://example.org/demo/oxford/council-tax/cant-pay" in urls
    assert "https://example.org/demo/oxford/council-tax/support" in urls
    assert urls >= NATIONAL
    assert "payment arrangement" in reply.text[0]
    assert any("01632 960001" in line for line in reply.text)
    assert "Speak to someone" in reply.quick_replies
    assert not any("reminder or a summons" in line for line in reply.text)


def test_a_reminder_or_summons_is_answered_with_urgency_in_both_languages():
    assert any("summons" in line for line in ask("arrears", "got a summons for council tax").text)
    welsh = ask("arrears", "ces i wŷs am y dreth gyngor", tenant="cardiff", language="cy")
    assert any("wŷs" in line for line in welsh.text)
    assert "Siarad â rhywun" in welsh.quick_replies
    assert "Cyngor ar Bopeth: help gyda dyledion" in {link.title for link in welsh.links}


def test_advice_links_can_be_the_councils_own_choice():
    doc = tenant_doc("oxford")
    own = copy.deepcopy(doc["processes"]["council_tax"])
    own["arrears"]["advice"] = {"stepchange": "https://example.org/demo/stepchange"}
    urls = {link.url for link in ask("arrears", "i cant pay", override=own).links}
    assert "https://example.org/demo/stepchange" in urls and "https://www.stepchange.org/" not in urls


def test_bad_arrears_settings_say_what_is_wrong():
    doc = tenant_doc("oxford")
    doc["processes"]["council_tax"]["arrears"] = {"advice": {"citizens_advice": "http://x", "shelter": "https://x"}}
    problems = [f"{p.path}: {p.reason}" for p in validate(doc, default_library())]
    assert any("arrears" in p and "arrangements_link" in p for p in problems), problems
    assert any("citizens_advice" in p for p in problems), problems
    assert any("shelter" in p for p in problems), problems


def test_balance_is_honest_and_links_the_online_account():
    for tenant, language, says in (
        ("oxford", "en", "can't see your council tax account"),
        ("cardiff", "cy", "Alla i ddim gweld"),
    ):
        reply = ask("balance", "Faint sydd arna i?" if language == "cy" else "how much do I owe", tenant, language)
        assert says in reply.text[0]
        assert f"https://example.org/demo/{tenant}/council-tax/account" in {link.url for link in reply.links}
        assert not any("£" in line for line in reply.text)
