"""The shared GOV.UK Notify client, contact checks and confirmation helper, against the local fake."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests

from townhall.contract import Deadline
from townhall.sideeffects import FilesSideEffects
from townhall.upstream import Upstream, UpstreamError
from townhall.upstreams import notify
from townhall.yamlio import load_yaml
from townhall_tools.fakes import notify as fake
from townhall_tools.testing import REPO, sandbox_upstream

OXFORD_EMAIL = "aaaaaaaa-1111-4111-8111-000000000001"
OXFORD_SMS = "aaaaaaaa-1111-4111-8111-000000000002"
PERSONALISATION = {"council": "Oxford City Council", "summary": "graffiti", "reference": "OXF-1"}


@pytest.fixture
def upstream(tmp_path):
    return sandbox_upstream("oxford", tmp_path)


def settings(served_fakes, **extra):
    return {
        "base_url": f"{served_fakes.url}/notify",
        "api_key_secret": "notify-api-key",
        "email_template_id": OXFORD_EMAIL,
        "sms_template_id": OXFORD_SMS,
        **extra,
    }


def sent_to(served_fakes, reference: str) -> list[dict]:
    found = requests.get(f"{served_fakes.url}/notify/_received", timeout=5).json()["notifications"]
    return [n for n in found if n["reference"] == reference]


def with_key(key: str) -> Upstream:
    return Upstream("oxford", secrets=lambda name: key if name == "notify-api-key" else None)


# -- keys and tokens --------------------------------------------------------------------------------


def test_the_demo_keys_open_the_fake_services():
    secrets = load_yaml(REPO / "examples" / "demo-secrets.yaml")
    for tenant, values in secrets.items():
        service_id, secret = notify.split_key(values["notify-api-key"])
        assert fake.SERVICES[service_id]["secret"] == secret, tenant


def test_keys_are_sliced_as_the_python_client_does():
    key = "my_key-" + "a" * 8 + "-1111-4111-8111-111111111111-" + "b" * 8 + "-2222-4222-8222-222222222222"
    assert notify.split_key(key) == ("aaaaaaaa-1111-4111-8111-111111111111", "bbbbbbbb-2222-4222-8222-222222222222")
    for bad in ("", "not-a-key", key[:-1], key.replace("-2222-4222", "x2222-4222")):
        with pytest.raises(UpstreamError) as e:
            notify.split_key(bad)
        assert e.value.kind == "unconfigured" and "key_name" in str(e.value)


def test_the_token_is_hs256_with_iss_and_iat():
    secret = "22222222-2222-4222-8222-222222222222"
    value = notify.token("11111111-1111-4111-8111-111111111111", secret, issued_at=1_700_000_000)
    assert jwt.get_unverified_header(value) == {"typ": "JWT", "alg": "HS256"}
    claims = jwt.decode(value, secret, algorithms=["HS256"], options={"verify_iat": False})
    assert claims == {"iss": "11111111-1111-4111-8111-111111111111", "iat": 1_700_000_000}


# -- contact details --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "channel", "address", "display"),
    [
        ("resident@example.org", "email", "resident@example.org", "resident@example.org"),
        (
            "my email is Jo.Bloggs+bins@Example.ORG.",
            "email",
            "Jo.Bloggs+bins@example.org",
            "Jo.Bloggs+bins@example.org",
        ),
        ("07700 900123", "sms", "07700900123", "07700 900123"),
        ("text me on +44 7700 900123 please", "sms", "07700900123", "07700 900123"),
        ("(07700) 900-123", "sms", "07700900123", "07700 900123"),
        ("447700900123", "sms", "07700900123", "07700 900123"),
        ("0044 7700 900123", "sms", "07700900123", "07700 900123"),
    ],
)
def test_contacts_are_found_and_normalised(text, channel, address, display):
    assert notify.parse_contact(text) == notify.Contact(channel, address, display)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("jo@example", "email"),
        ("jo@@example.org", "email"),
        ("@example.org", "email"),
        ("jo@exa mple.org", "email"),
        ("jo..b@example.org", "email"),
        ("jo@-example.org", "email"),
        ("jo@example.c", "email"),
        ("01632 960001", "landline"),
        ("020 7946 0000", "landline"),
        ("07700 9001", "phone"),
        ("077009001234567", "phone"),
        ("+33 6 12 34 56 78", "phone"),
        ("07623 123456", "phone"),
        ("", "neither"),
        ("no thanks", "neither"),
        ("flat 12", "neither"),
    ],
)
def test_what_is_wrong_with_a_contact_is_said(text, reason):
    with pytest.raises(notify.InvalidContact) as e:
        notify.parse_contact(text)
    assert e.value.reason == reason


def test_a_contact_from_a_context_is_checked_again():
    good = notify.parse_contact("07700 900123")
    assert notify.Contact.from_json(good.to_json()) == good
    assert notify.Contact.from_json({"channel": "email", "address": "07700 900123"}) is None
    assert notify.Contact.from_json({"channel": "sms", "address": "not a number"}) is None
    assert notify.Contact.from_json("07700900123") is None


# -- the client against the fake -------------------------------------------------------------------


def test_email_and_sms_are_sent(served_fakes, upstream):
    client = notify.Client(upstream, settings(served_fakes))
    reference = f"ref-{uuid.uuid4().hex[:12]}"
    email = client.send_email(
        "resident@example.org", OXFORD_EMAIL, Deadline.after(3), personalisation=PERSONALISATION, reference=reference
    )
    assert email["reference"] == reference and email["template"]["id"] == OXFORD_EMAIL
    assert email["content"]["subject"] == "Your report to Oxford City Council"
    assert "Your reference is OXF-1." in email["content"]["body"]
    sms = client.send_sms(
        "07700900123", OXFORD_SMS, Deadline.after(3), personalisation=PERSONALISATION, reference=reference
    )
    assert sms["content"]["from_number"] and "graffiti" in sms["content"]["body"]
    assert {n["type"] for n in sent_to(served_fakes, reference)} == {"email", "sms"}
    assert client.notification(email["id"], Deadline.after(3))["status"] == "delivered"


def test_simulated_failures_show_in_the_status(served_fakes, upstream):
    client = notify.Client(upstream, settings(served_fakes))
    sent = client.send_email(
        "temp-fail@simulator.notify", OXFORD_EMAIL, Deadline.after(3), personalisation=PERSONALISATION
    )
    assert client.notification(sent["id"], Deadline.after(3))["status"] == "temporary-failure"
    sent = client.send_sms("07700900002", OXFORD_SMS, Deadline.after(3), personalisation=PERSONALISATION)
    assert client.notification(sent["id"], Deadline.after(3))["status"] == "permanent-failure"
    with pytest.raises(notify.NotifyError) as e:
        client.notification(str(uuid.uuid4()), Deadline.after(3))
    assert e.value.status == 404 and e.value.types == ("NoResultFound",)


@pytest.mark.parametrize(
    ("call", "status", "kind"),
    [
        (
            lambda c: c.send_email("not-an-address", OXFORD_EMAIL, Deadline.after(3), personalisation=PERSONALISATION),
            400,
            "ValidationError",
        ),
        (
            lambda c: c.send_sms("01632960001", OXFORD_SMS, Deadline.after(3), personalisation=PERSONALISATION),
            400,
            "ValidationError",
        ),
        (
            lambda c: c.send_email(
                "a@example.org", str(uuid.uuid4()), Deadline.after(3), personalisation=PERSONALISATION
            ),
            400,
            "BadRequestError",
        ),
        (
            lambda c: c.send_email("a@example.org", OXFORD_SMS, Deadline.after(3), personalisation=PERSONALISATION),
            400,
            "BadRequestError",
        ),
        (
            lambda c: c.send_email("a@example.org", OXFORD_EMAIL, Deadline.after(3), personalisation={"council": "x"}),
            400,
            "BadRequestError",
        ),
        (
            lambda c: c.send_email(
                "rate-limited@example.org", OXFORD_EMAIL, Deadline.after(3), personalisation=PERSONALISATION
            ),
            429,
            "RateLimitError",
        ),
        (
            lambda c: c.send_sms("07700900500", OXFORD_SMS, Deadline.after(3), personalisation=PERSONALISATION),
            500,
            "Exception",
        ),
    ],
)
def test_documented_errors(served_fakes, upstream, call, status, kind):
    with pytest.raises(notify.NotifyError) as e:
        call(notify.Client(upstream, settings(served_fakes)))
    assert e.value.kind == "status" and e.value.status == status and e.value.types == (kind,)


def test_a_missing_personalisation_is_named(served_fakes, upstream):
    with pytest.raises(notify.NotifyError) as e:
        notify.Client(upstream, settings(served_fakes)).send_email(
            "a@example.org", OXFORD_EMAIL, Deadline.after(3), personalisation={"council": "x"}
        )
    assert e.value.errors == (("BadRequestError", "Missing personalisation: reference, summary"),)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "demo-11111111-1111-4111-8111-111111111111-99999999-9999-4999-8999-999999999999",
            "Invalid token: API key not found",
        ),
        (
            "demo-99999999-9999-4999-8999-999999999999-22222222-2222-4222-8222-222222222222",
            "Invalid token: service not found",
        ),
    ],
)
def test_auth_errors(served_fakes, key, message):
    with pytest.raises(notify.NotifyError) as e:
        notify.Client(with_key(key), settings(served_fakes)).send_email(
            "a@example.org", OXFORD_EMAIL, Deadline.after(3), personalisation=PERSONALISATION
        )
    assert e.value.status == 403 and e.value.errors == (("AuthError", message),)


def test_the_fake_checks_the_clock_and_the_scheme(served_fakes):
    url = f"{served_fakes.url}/notify/v2/notifications/email"
    body = {"email_address": "a@example.org", "template_id": OXFORD_EMAIL, "personalisation": PERSONALISATION}
    service_id, secret = notify.split_key(
        load_yaml(REPO / "examples" / "demo-secrets.yaml")["oxford"]["notify-api-key"]
    )
    stale = notify.token(service_id, secret, issued_at=time.time() - 90)
    r = requests.post(url, json=body, headers={"Authorization": f"Bearer {stale}"}, timeout=5)
    assert r.status_code == 403 and r.json()["errors"][0]["message"].startswith("Error: Your system clock")
    r = requests.post(url, json=body, timeout=5)
    assert r.status_code == 401 and r.json() == {
        "status_code": 401,
        "errors": [{"error": "AuthError", "message": "Unauthorized: authentication token must be provided"}],
    }
    r = requests.post(url, json=body, headers={"Authorization": f"Basic {stale}"}, timeout=5)
    assert r.status_code == 401 and "bearer" in r.json()["errors"][0]["message"]
    fresh = notify.token(service_id, secret)
    r = requests.post(url, json={"template_id": OXFORD_EMAIL}, headers={"Authorization": f"Bearer {fresh}"}, timeout=5)
    assert r.status_code == 400 and r.json()["errors"] == [
        {"error": "ValidationError", "message": "email_address is a required property"}
    ]


def test_a_slow_notify_is_cut_off_inside_the_deadline(served_fakes, upstream):
    started = time.monotonic()
    with pytest.raises(UpstreamError) as e:
        notify.Client(upstream, settings(served_fakes)).send_email(
            "slow@example.org", OXFORD_EMAIL, Deadline.after(0.6), personalisation=PERSONALISATION
        )
    assert e.value.kind == "timeout" and time.monotonic() - started < 1.0


# -- confirm ----------------------------------------------------------------------------------------


def test_confirm_sends_once_per_reference_and_address(served_fakes, upstream):
    reference = f"OXF-{uuid.uuid4().hex[:8]}"
    contact = notify.parse_contact("resident@example.org")
    results = [
        notify.confirm(
            upstream,
            settings(served_fakes),
            contact,
            {**PERSONALISATION, "reference": reference},
            reference,
            Deadline.after(3),
        )
        for _ in range(2)
    ]
    assert results[0] == results[1] and results[0].sent and results[0].channel == "email"
    [sent] = sent_to(served_fakes, reference)
    assert sent["id"] == results[0].notification_id and sent["template_id"] == OXFORD_EMAIL
    sms = notify.confirm(
        upstream,
        settings(served_fakes),
        "07700 900123",
        {**PERSONALISATION, "reference": reference},
        reference,
        Deadline.after(3),
    )
    assert sms.sent and sms.channel == "sms"
    assert [n["to"] for n in sent_to(served_fakes, reference)] == ["resident@example.org", "07700900123"]


def test_confirm_never_raises_for_notify_problems(served_fakes, upstream):
    s = settings(served_fakes)
    failed = notify.confirm(upstream, s, "fail-500@example.org", PERSONALISATION, "OXF-2", Deadline.after(3))
    assert failed == notify.Confirmation(False, "email", problem="status", status=500)
    assert notify.confirm(
        upstream, {**s, "sms_template_id": None}, "07700900123", PERSONALISATION, "OXF-3", Deadline.after(3)
    ) == notify.Confirmation(False, "sms", problem="no_template")
    assert (
        notify.confirm(upstream, None, "a@example.org", PERSONALISATION, "OXF-4", Deadline.after(3)).problem
        == "unconfigured"
    )
    assert (
        notify.confirm(upstream, s, "01632 960001", PERSONALISATION, "OXF-5", Deadline.after(3)).problem
        == "invalid_landline"
    )
    assert (
        notify.confirm(
            upstream,
            {**s, "api_key_secret": "nothing-here"},
            "a@example.org",
            PERSONALISATION,
            "OXF-6",
            Deadline.after(3),
        ).problem
        == "unconfigured"
    )
    assert (
        notify.confirm(upstream, s, "slow@example.org", PERSONALISATION, "OXF-7", Deadline.after(0.5)).problem
        == "unknown"  # sent, but the answer never came: it may arrive, so it is never sent again
    )


def test_a_failed_confirmation_can_be_tried_again(served_fakes, tmp_path):
    """Nothing is remembered for a failure: the next turn sends it."""
    reference = f"OXF-{uuid.uuid4().hex[:8]}"
    s = settings(served_fakes)
    no_secrets = Upstream("oxford", secrets=lambda name: None, side_effects=FilesSideEffects(tmp_path))
    broken = notify.confirm(no_secrets, s, "a@example.org", PERSONALISATION, reference, Deadline.after(3))
    assert not broken.sent and not sent_to(served_fakes, reference)
    again = notify.confirm(
        sandbox_upstream("oxford", tmp_path), s, "a@example.org", PERSONALISATION, reference, Deadline.after(3)
    )
    assert again.sent and len(sent_to(served_fakes, reference)) == 1


def test_references_are_told_from_personal_data():
    for reference in ("OXF-1001", "1234567890", "tok-12", "2026-12-01-0001"):
        assert not notify.looks_personal(reference), reference
    for text in ("a@example.org", "07700 900123", "call 01632 960001", "+44 7700 900123"):
        assert notify.looks_personal(text), text


@pytest.mark.parametrize("reference", ["resident@example.org", "07700 900123", "x" * 1001])
def test_personal_data_never_goes_in_the_reference(reference, upstream):
    with pytest.raises(ValueError):
        notify.confirm(
            upstream,
            {"api_key_secret": "notify-api-key", "email_template_id": OXFORD_EMAIL},
            "a@example.org",
            PERSONALISATION,
            reference,
            Deadline.after(1),
        )


def test_contacts_are_never_logged(served_fakes, upstream, captured_logs):
    notify.confirm(
        upstream, settings(served_fakes), "logcheck@example.org", PERSONALISATION, "OXF-8", Deadline.after(3)
    )
    notify.confirm(upstream, settings(served_fakes), "07700 900777", PERSONALISATION, "OXF-8", Deadline.after(3))
    notify.confirm(
        upstream, settings(served_fakes), "fail-500@example.org", PERSONALISATION, "OXF-8", Deadline.after(3)
    )
    text = captured_logs.text()
    assert '"upstream call"' in text
    assert "logcheck" not in text and "900777" not in text and "fail-500" not in text


def test_channels_follow_the_templates():
    assert notify.channels(None) == ()
    assert notify.channels({"email_template_id": OXFORD_EMAIL}) == ("email",)
    assert notify.channels({"email_template_id": OXFORD_EMAIL, "sms_template_id": OXFORD_SMS}) == ("email", "sms")


def test_processes_refer_to_the_one_settings_schema():
    from jsonschema import Draft202012Validator

    from townhall.library import default_library, schema_registry

    fragment = json.loads(Path(notify.__file__).with_name("settings.schema.json").read_text())
    validator = Draft202012Validator(fragment)
    assert validator.is_valid(
        {
            "base_url": "https://api.notifications.service.gov.uk",
            "api_key_secret": "notify-api-key",
            "sms_template_id": OXFORD_SMS,
        }
    )
    assert not validator.is_valid(
        {"base_url": "https://api.notifications.service.gov.uk", "api_key_secret": "notify-api-key"}
    )  # no template at all
    assert schema_registry().contents(fragment["$id"]) == fragment
    users = [p for p in default_library().processes.values() if "notify" in p.schema.get("properties", {})]
    assert {"missed_bin", "report_problem"} <= {p.id for p in users}
    for process in users:
        assert process.schema["properties"]["notify"]["$ref"] == fragment["$id"], (
            f"library/{process.id}/schema.json: refer to functions/townhall/upstreams/notify/settings.schema.json "
            f'with {{"$ref": "{fragment["$id"]}"}}'
        )


def test_a_message_whose_answer_came_late_is_found_by_reference_and_never_sent_twice(served_fakes, tmp_path):
    """Notify accepts the message but answers after the turn's deadline: the resident confirms
    again twice; the message is looked up by its reference, never sent again."""
    from townhall_tools.fakes import notify as fake

    reference = f"OXF-{uuid.uuid4().hex[:8]}"
    s, up = settings(served_fakes), sandbox_upstream("oxford", tmp_path)
    first = notify.confirm(up, s, "slow@example.org", PERSONALISATION, reference, Deadline.after(0.8))
    assert (first.sent, first.problem) == (False, "unknown")
    time.sleep(fake.SLOW_SECONDS - 0.5)  # the fake finishes its slow send
    for _ in range(2):
        again = notify.confirm(up, s, "slow@example.org", PERSONALISATION, reference, Deadline.after(3))
        assert again.sent and again.notification_id
    sent = [n for n in sent_to(served_fakes, reference)]
    assert len(sent) == 1 and sent[0]["id"] == again.notification_id
