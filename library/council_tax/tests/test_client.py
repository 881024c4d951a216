"""client.py against the GOV.UK Pay fake served over loopback HTTP: every answer the contract has."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import requests

from townhall.contract import Deadline
from townhall.upstream import Http, UpstreamError

KEY = "demo-test-pay-key"
_references = itertools.count(10000001)


@pytest.fixture
def pay(served_fakes):
    return f"{served_fakes.url}/pay"


@pytest.fixture
def client(ct, pay):
    return ct.client.PayClient(Http(), pay, KEY)


def body(ct, **changes):
    values = dict(
        amount=12050,
        reference=str(next(_references)),
        description="Council tax payment",
        return_url="https://example.org/demo/paid?chat_payment=abc",
        language="en",
        metadata={"chat_payment": "abc"},
    )
    values.update(changes)
    return ct.client.payment_body(**values)


def raw(pay, data, *, key=KEY, headers=None, path="/v1/payments"):
    """A request as any client might send it, to see the fake's checks that our client never trips."""
    h = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {}), **(headers or {})}
    payload = data if isinstance(data, (bytes, str)) else json.dumps(data)
    return requests.post(pay + path, data=payload, headers=h, timeout=5)


def received(pay, reference):
    return [
        r
        for r in requests.get(f"{pay}/_fake/requests", timeout=5).json()
        if isinstance(r["body"], dict) and r["body"].get("reference") == reference
    ]


def test_create_a_payment(ct, client, pay):
    sent = body(ct, language="cy")
    payment = client.create(sent, idempotency_key="k-" + sent["reference"], deadline=Deadline.after(3))
    assert payment.status == "created" and payment.finished is False
    assert payment.next_url.startswith(pay + "/secure/")
    page = requests.get(payment.next_url, timeout=5)
    assert page.status_code == 200 and "demo payment page" in page.text and "£120.50" in page.text
    assert client.get(payment.payment_id, deadline=Deadline.after(3)).status == "started"
    [record] = received(pay, sent["reference"])
    assert record["body"] == sent and record["status"] == 201 and record["idempotency_key"] == "k-" + sent["reference"]


def test_the_201_answer_has_the_documented_shape(ct, pay):
    sent = body(ct)
    r = raw(pay, sent)
    assert r.status_code == 201 and r.headers["Location"].endswith("/v1/payments/" + r.json()["payment_id"])
    data = r.json()
    assert {k: data[k] for k in ("amount", "description", "reference", "language", "return_url", "metadata")} == {
        k: sent[k] for k in ("amount", "description", "reference", "language", "return_url", "metadata")
    }
    assert data["state"] == {"status": "created", "finished": False}
    assert set(data["_links"]) == {"self", "next_url", "next_url_post", "events", "refunds", "cancel"}
    assert data["authorisation_mode"] == "web" and data["refund_summary"]["status"] == "pending"
    assert len(data["payment_id"]) == 26 and data["created_date"].endswith("Z")


def test_idempotency_same_body_same_payment_other_body_409(ct, client, pay):
    sent = body(ct)
    key = "idem-" + sent["reference"]
    first = client.create(sent, idempotency_key=key, deadline=Deadline.after(3))
    again = raw(pay, sent, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["payment_id"] == first.payment_id
    assert client.create(sent, idempotency_key=key, deadline=Deadline.after(3)) == first
    other = raw(pay, {**sent, "amount": sent["amount"] + 1}, headers={"Idempotency-Key": key})
    assert other.status_code == 409 and other.json()["code"] == "P0191"
    assert raw(pay, sent, headers={"Idempotency-Key": "not valid!"}).json()["code"] == "P0102"
    assert len([r for r in received(pay, sent["reference"]) if r["status"] == 201]) == 1


def test_a_wrong_key_is_401_with_no_body(ct, pay):
    client = ct.client.PayClient(Http(), pay, "not-a-demo-key")
    with pytest.raises(UpstreamError) as e:
        client.create(body(ct), idempotency_key="k401", deadline=Deadline.after(3))
    assert (e.value.kind, e.value.status, e.value.body) == ("status", 401, None)
    assert raw(pay, body(ct), key=None).status_code == 401
    assert requests.get(f"{pay}/v1/payments/abc", timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        (lambda b: b.pop("amount"), 400, "P0101", "amount"),
        (lambda b: b.pop("return_url"), 400, "P0101", "return_url"),
        (lambda b: b.update(amount=29), 422, "P0102", "amount"),
        (lambda b: b.update(amount=10_000_001), 422, "P0102", "amount"),
        (lambda b: b.update(amount=120.5), 422, "P0102", "amount"),
        (lambda b: b.update(reference="x" * 256), 422, "P0102", "reference"),
        (lambda b: b.update(reference="see https://example.org"), 422, "P0102", "reference"),
        (lambda b: b.update(description="d" * 256), 422, "P0102", "description"),
        (lambda b: b.update(return_url="https://example.org/" + "x" * 2000), 422, "P0102", "return_url"),
        (lambda b: b.update(return_url="not a url"), 422, "P0102", "return_url"),
        (lambda b: b.update(language="fr"), 422, "P0102", "language"),
        (lambda b: b.update(metadata={}), 422, "P0102", "metadata"),
        (lambda b: b.update(metadata={"k" * 31: "v"}), 422, "P0102", "metadata"),
        (lambda b: b.update(return_url="http://example.org/paid"), 400, "P0920", None),
        (lambda b: b.update(description="a <b>"), 400, "P0920", None),
        (lambda b: b.update(reference='12"34'), 400, "P0920", None),
        (lambda b: b.update(description="pipe | here"), 400, "P0920", None),
    ],
)
def test_invalid_bodies_get_the_documented_errors(ct, pay, change, status, code, field):
    sent = body(ct)
    change(sent)
    r = raw(pay, sent)
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert r.json().get("field") == field and r.json()["description"]


def test_the_firewall_and_bad_json(pay, ct):
    sent = json.dumps(body(ct))
    assert raw(pay, sent, headers={"Content-Type": "text/plain"}).json()["code"] == "P0920"
    assert raw(pay, "", headers={}).json()["code"] == "P0920"
    assert raw(pay, sent, headers={"Accept": "text/html"}).json()["code"] == "P0920"
    r = raw(pay, "{not json")
    assert (r.status_code, r.json()["code"]) == (400, "P0197")


@pytest.mark.parametrize(
    ("amount", "status", "code"), [(99999, 500, "P0198"), (99998, 503, "P0999"), (99997, 429, "P0900")]
)
def test_magic_amounts_fail_as_pay_does(ct, client, amount, status, code):
    with pytest.raises(UpstreamError) as e:
        client.create(body(ct, amount=amount), idempotency_key=f"magic-{amount}", deadline=Deadline.after(3))
    assert (e.value.kind, e.value.status) == ("status", status)
    assert ct.client.error_code(e.value) == code and e.value.retryable == (status >= 500 or status == 429)


def test_a_malformed_answer_is_malformed(ct, client):
    with pytest.raises(UpstreamError) as e:
        client.create(body(ct, amount=99996), idempotency_key="malformed", deadline=Deadline.after(3))
    assert e.value.kind == "malformed"


def test_a_slow_pay_is_cut_off_inside_the_deadline(ct, client):
    started = time.monotonic()
    with pytest.raises(UpstreamError) as e:
        client.create(body(ct, reference="99999999"), idempotency_key="slow", deadline=Deadline.after(0.5))
    assert e.value.kind == "timeout" and time.monotonic() - started < 1.5


def test_status_through_the_payment_journey(ct, client, pay):
    paid = client.create(body(ct), idempotency_key="journey-paid", deadline=Deadline.after(3))
    token = paid.next_url.rsplit("/", 1)[1]
    back = requests.post(
        f"{pay}/secure", data={"chargeTokenId": token, "decision": "pay"}, allow_redirects=False, timeout=5
    )
    assert back.status_code == 303 and back.headers["Location"].startswith("https://example.org/demo/paid")
    now = client.get(paid.payment_id, deadline=Deadline.after(3))
    assert (now.status, now.finished, now.next_url) == ("success", True, None)
    assert requests.get(paid.next_url, timeout=5).status_code == 404  # a used link

    cancelled = client.create(body(ct), idempotency_key="journey-cancel", deadline=Deadline.after(3))
    requests.post(
        f"{pay}/secure",
        data={"chargeTokenId": cancelled.next_url.rsplit("/", 1)[1], "decision": "cancel"},
        allow_redirects=False,
        timeout=5,
    )
    assert client.get(cancelled.payment_id, deadline=Deadline.after(3)).code == "P0030"

    expired = client.create(body(ct), idempotency_key="journey-expire", deadline=Deadline.after(3))
    requests.post(f"{pay}/_fake/payments/{expired.payment_id}/expire", timeout=5)
    late = client.get(expired.payment_id, deadline=Deadline.after(3))
    assert (late.status, late.finished, late.code) == ("failed", True, "P0020")


def test_cancel_and_unknown_payments(ct, client, pay):
    payment = client.create(body(ct), idempotency_key="cancel-me", deadline=Deadline.after(3))
    auth = {"Authorization": f"Bearer {KEY}"}
    assert requests.post(f"{pay}/v1/payments/{payment.payment_id}/cancel", headers=auth, timeout=5).status_code == 204
    again = requests.post(f"{pay}/v1/payments/{payment.payment_id}/cancel", headers=auth, timeout=5)
    assert (again.status_code, again.json()["code"]) == (409, "P0502")
    with pytest.raises(UpstreamError) as e:
        client.get("nosuchpayment", deadline=Deadline.after(3))
    assert e.value.status == 404 and ct.client.error_code(e.value) == "P0200"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 29}, "amount"),
        ({"amount": 10_000_001}, "amount"),
        ({"amount": 100.0}, "amount"),
        ({"amount": True}, "amount"),
        ({"reference": ""}, "reference"),
        ({"reference": "r" * 256}, "reference"),
        ({"reference": "www.example.org"}, "reference"),
        ({"reference": "a|b"}, "reference"),
        ({"description": "d" * 256}, "description"),
        ({"return_url": "http://example.org/"}, "return_url"),
        ({"language": "de"}, "language"),
        ({"metadata": {f"k{i}": "v" for i in range(16)}}, "metadata"),
        ({"metadata": {"k": "v" * 101}}, "metadata"),
    ],
)
def test_the_client_refuses_to_send_what_pay_would_refuse(ct, change, field):
    with pytest.raises(ValueError, match=field):
        body(ct, **change)


def test_the_client_checks_the_idempotency_key_and_payment_id(ct, client):
    with pytest.raises(ValueError, match="idempotency_key"):
        client.create(body(ct), idempotency_key="no spaces", deadline=Deadline.after(1))
    with pytest.raises(ValueError, match="payment_id"):
        client.get("../secure", deadline=Deadline.after(1))
