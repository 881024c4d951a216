"""council_tax through the real webhook: once-only payments over HTTP, and nothing personal in logs."""

from __future__ import annotations

import json
import time

import requests
from support import PROJECTS, REPO

from townhall import wire


def links(response: dict) -> list[str]:
    found = []
    for message in response.get("fulfillmentMessages", []):
        for group in message.get("payload", {}).get("richContent", []):
            found += [item["link"] for item in group if item.get("type") == "button"]
    return found


def contexts(response: dict) -> dict:
    return {
        c["name"].rsplit("/contexts/", 1)[1]: c["parameters"]
        for c in response.get("outputContexts", [])
        if c["lifespanCount"] > 0
    }


def pay_posts(fakes_url: str, reference: str) -> list[dict]:
    return [
        r
        for r in requests.get(f"{fakes_url}/pay/_fake/requests", timeout=5).json()
        if r["method"] == "POST" and isinstance(r["body"], dict) and r["body"].get("reference") == reference
    ]


def test_two_identical_webhook_calls_make_one_payment(http, served, served_fakes):
    """Dialogflow repeating the confirming call: one POST to GOV.UK Pay, the same link both times."""
    body = wire.build_request(
        PROJECTS["oxford"],
        "council_tax.pay_confirm",
        text="yes pay now",
        session_id="ct-twice-0001",
        contexts={
            "council_tax-payment": {"payment_account": "31415926", "payment_pence": 12050, "payment_step": "confirm"}
        },
    )
    first = http.post(body, "oxford").json
    second = http.post(body, "oxford").json
    assert "is ready" in first["fulfillmentText"]
    assert links(first) == links(second) and links(first)[0].startswith(served_fakes.url + "/pay/secure/")
    assert contexts(first)["council_tax-paid"]["next_url"] == links(first)[0]
    [post] = pay_posts(served_fakes.url, "31415926")
    assert post["status"] == 201 and post["body"]["amount"] == 12050
    # and a resident saying "yes" again, with the contexts Dialogflow now holds, gets the same link
    again = dict(body, queryResult=dict(body["queryResult"], outputContexts=first["outputContexts"]))
    third = http.post(again, "oxford").json
    assert "already have a payment link" in third["fulfillmentText"] and links(third) == links(first)
    assert len(pay_posts(served_fakes.url, "31415926")) == 1
    assert "31415926" not in served.log.read_text(encoding="utf-8")


def test_account_numbers_and_amounts_never_reach_the_logs(make_app, sandbox_tenants, captured_logs):
    """A whole payment, a failure and bad input, through the webhook in this process: the account
    number and amounts the resident typed appear in no log line."""
    http = make_app(
        TOWNHALL_TENANTS_DIR=str(sandbox_tenants), TOWNHALL_SECRETS_FILE=str(REPO / "examples" / "demo-secrets.yaml")
    )
    session = "ct-logs-0001"
    active: list = []

    def say(intent: str, text: str, **parameters) -> dict:
        body = wire.build_request(PROJECTS["oxford"], intent, text=text, parameters=parameters, session_id=session)
        body["queryResult"]["outputContexts"] = active
        response = http.post(body, "oxford").json
        active[:] = [c for c in response.get("outputContexts", []) if c["lifespanCount"] > 0]
        return response

    say("council_tax.pay", "i want to pay my council tax")
    assert (
        "doesn't look like"
        in say("council_tax.pay_details", "my account is 2718281", account="2718281")["fulfillmentText"]
    )
    say("council_tax.pay_details", "my account number is 27182818", account="27182818")
    assert "Is that right" in say("council_tax.pay_details", "£271.82", amount=271.82)["fulfillmentText"]
    assert "is ready" in say("council_tax.pay_confirm", "yes pay now")["fulfillmentText"]
    say("council_tax.pay_details", "no change it to £999.99", amount=999.99)
    assert "couldn't set up your payment" in say("council_tax.pay_confirm", "yes")["fulfillmentText"]

    text = captured_logs.text()
    lines = captured_logs()
    assert any(line.get("message") == "upstream call" and line.get("status") == 201 for line in lines)
    assert any(line.get("message") == "upstream call" and line.get("status") == 500 for line in lines)
    assert sum(line.get("message") == "turn" for line in lines) == 7
    for secret in ("27182818", "2718281", "271.82", "27182", "999.99", "99999", "2718 2818"):
        assert secret not in text, f"{secret!r} is in the logs:\n{text}"
    assert json.dumps("27182818") not in text


def test_a_slow_gov_uk_pay_still_gets_an_answer_inside_the_turn(make_app, sandbox_tenants):
    """The fake sleeps past any budget for the account number 99999999: the resident still gets a
    useful reply (the payment page, the council's contact details) inside the turn's budget."""
    http = make_app(
        TOWNHALL_TENANTS_DIR=str(sandbox_tenants),
        TOWNHALL_TURN_BUDGET="1.0",
        TOWNHALL_SECRETS_FILE=str(REPO / "examples" / "demo-secrets.yaml"),
    )
    body = wire.build_request(
        PROJECTS["oxford"],
        "council_tax.pay_confirm",
        text="yes",
        session_id="ct-slow-0001",
        contexts={
            "council_tax-payment": {"payment_account": "99999999", "payment_pence": 5000, "payment_step": "confirm"}
        },
    )
    http.post(body, "oxford")  # settings read and imports: not what is measured
    started = time.monotonic()
    response = http.post(dict(body, responseId="again"), "oxford").json
    assert time.monotonic() - started < 1.5
    assert (
        "couldn't set up your payment" in response["fulfillmentText"] and "01632 960001" in response["fulfillmentText"]
    )
    assert "https://example.org/demo/oxford/council-tax/pay" in links(response)
