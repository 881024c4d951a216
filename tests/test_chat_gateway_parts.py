"""The chat gateway's parts without servers: reading what the webhook writes (wire.render) as the
widget's messages, the rate limit buckets, the tenant `chat` settings, production mode (no dev key,
no demo pages) through functions-framework's real loading path, and the docs that must follow the
gateway's outcomes and API."""

from __future__ import annotations

import re

import pytest
import yaml
from jsonschema import Draft202012Validator
from support import FUNCTIONS, REPO

from townhall import wire
from townhall.contract import Link, Reply
from townhall.gateway import detect
from townhall.gateway.council import tel
from townhall.gateway.limits import Buckets, parse_rate
from townhall.outcomes import ChatOutcome


def _result(reply: Reply) -> dict:
    """A QueryResult holding what the webhook rendered for ``reply``, as Dialogflow passes it on."""
    rendered = wire.render(reply, "projects/p/agent/sessions/s", "en")
    return {"fulfillmentText": rendered["fulfillmentText"], "fulfillmentMessages": rendered["fulfillmentMessages"]}


def test_what_the_webhook_writes_becomes_the_widgets_messages():
    reply = Reply(
        ["For 1 Demo Lane:", "Your bin goes out on Tuesday."],
        quick_replies=["Report a missed bin", "Something else"],
        links=[Link("Bins and recycling", "https://example.org/bins")],
    )
    messages = detect.messages(_result(reply), "en")
    assert messages == [
        {"type": "text", "text": "For 1 Demo Lane:", "lang": "en"},
        {"type": "text", "text": "Your bin goes out on Tuesday.", "lang": "en"},
        {
            "type": "quick_replies",
            "lang": "en",
            "options": [
                {"label": "Report a missed bin", "value": "Report a missed bin"},
                {"label": "Something else", "value": "Something else"},
            ],
        },  # the chips of the rich payload say the same: shown once
        {"type": "link", "lang": "en", "label": "Bins and recycling", "url": "https://example.org/bins"},
    ]


def test_static_answers_link_outs_cards_and_other_platforms():
    result = {
        "fulfillmentText": "Our offices are open 9 to 5.",
        "fulfillmentMessages": [
            {"platform": "FACEBOOK", "text": {"text": ["not for the web"]}},
            {"linkOutSuggestion": {"destinationName": "Opening hours", "uri": "https://example.org/hours"}},
            {
                "card": {
                    "title": "Bins",
                    "buttons": [{"text": "More", "postback": "https://example.org/bins"}, {"text": "Missed bin"}],
                }
            },
        ],
    }
    messages = detect.messages(result, "cy")
    assert messages[0] == {"type": "text", "text": "Our offices are open 9 to 5.", "lang": "cy"}
    assert {"type": "link", "lang": "cy", "label": "Opening hours", "url": "https://example.org/hours"} in messages
    assert {"type": "link", "lang": "cy", "label": "More", "url": "https://example.org/bins"} in messages
    assert messages[-1]["options"] == [{"label": "Missed bin", "value": "Missed bin"}]
    assert all("not for the web" not in str(m) for m in messages)


def test_detect_intent_request_bodies_parse_as_dialogflows_own_type():
    from google.cloud.dialogflow_v2 import DetectIntentRequest

    agent = detect.Agent("townhall-demo-cardiff", "europe-west2", "production")
    session = detect.session_path(agent, "ab" * 16)
    assert (
        session
        == "projects/townhall-demo-cardiff/locations/europe-west2/agent/environments/production/users/-/sessions/"
        + "ab" * 16
    )
    assert detect.endpoint_for(agent, None) == "https://europe-west2-dialogflow.googleapis.com"
    assert detect.endpoint_for(detect.Agent("p-roject"), None) == "https://dialogflow.googleapis.com"
    for body in (
        detect.request_body(text="bins", language="cy", switch_language=True, session=session),
        detect.request_body(event="WELCOME", language="en", session=session),
    ):
        parsed = DetectIntentRequest.from_json(__import__("json").dumps({"session": session, **body}))
        assert parsed.session == session


def test_the_language_the_webhook_switched_to():
    result = {
        "outputContexts": [
            {
                "name": "projects/p/agent/sessions/s/contexts/townhall-language",
                "lifespanCount": 5,
                "parameters": {"language": "cy"},
            }
        ]
    }
    assert detect.chosen_language(result, ("en", "cy")) == "cy"
    assert detect.chosen_language(result, ("en",)) is None
    # An answer that lies about its types switches nothing (and is no 503 without contact details).
    name = result["outputContexts"][0]["name"]
    for lying in (
        {"name": name, "lifespanCount": "abc", "parameters": {"language": "cy"}},
        {"name": name, "lifespanCount": [5], "parameters": {"language": "cy"}},
        {"name": name, "lifespanCount": 5, "parameters": ["cy"]},
        {"name": name, "lifespanCount": 0, "parameters": {"language": "cy"}},
    ):
        assert detect.chosen_language({"outputContexts": [lying]}, ("en", "cy")) is None, lying


@pytest.mark.parametrize(
    "name, value",
    [
        ("TOWNHALL_CHAT_PROXIES", "two"),
        ("TOWNHALL_CHAT_RATE_KEYS", "lots"),
        ("TOWNHALL_CHAT_RATE_KEYS", "0"),
        ("TOWNHALL_CHAT_IP_RATE", "120 a minute"),
        ("TOWNHALL_CHAT_BUDGET", "8s"),
    ],
)
def test_a_bad_setting_names_itself_and_the_form_it_takes(name, value):
    from townhall.gateway.app import Gateway

    env = {"TOWNHALL_SETTINGS_BACKEND": "files", "TOWNHALL_TENANTS_DIR": str(REPO / "infra" / "tenants"), name: value}
    with pytest.raises(ValueError, match=f"^{name}={value!r}: .*e[.]g[.] |^{name}={value!r}: give a number"):
        Gateway(env)


def test_token_buckets_refill_and_stay_bounded():
    now = [0.0]
    buckets = Buckets(2, 10.0, size=3, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(5.0)  # one request back every 5 s
    now[0] = 5.0
    assert buckets.take("a") == 0.0
    for key in "bcde":
        buckets.take(key)
    assert len(buckets) == 3
    assert parse_rate("20/60", "X") == (20, 60.0)
    with pytest.raises(ValueError, match="write N/S"):
        parse_rate("lots", "TOWNHALL_CHAT_IP_RATE")


def test_tel_numbers():
    assert tel("01632 960002") == "+441632960002"
    assert tel("+44 1632 960002") == "+441632960002"


def test_chat_settings_are_validated_with_clear_problems():
    from townhall.library import default_library
    from townhall.tenants import validate

    doc = yaml.safe_load((REPO / "infra" / "tenants" / "cardiff.yaml").read_text(encoding="utf-8"))
    assert validate(doc, default_library()) == []
    doc["chat"] = {"origins": ["https://cardiff.example.org/chat"], "privacy_url": {"en": "https://example.org/p"}}
    problems = [str(p) for p in validate(doc, default_library())]
    assert any(p.startswith("chat.origins[0]:") and "no path" in p for p in problems), problems
    assert "chat.privacy_url.cy: missing" in problems  # a Welsh council's notice in Welsh too


@pytest.fixture
def production(monkeypatch):
    """The chat function through create_app, configured as production is but with files settings."""
    from functions_framework import create_app

    from townhall.gateway import app as gateway_app

    for name in ("TOWNHALL_CHAT_DEV", "TOWNHALL_CHAT_SIGNING_SECRET", "TOWNHALL_DIALOGFLOW_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOWNHALL_SETTINGS_BACKEND", "files")
    monkeypatch.setenv("TOWNHALL_TENANTS_DIR", str(REPO / "infra" / "tenants"))
    gateway_app.reset()
    yield create_app("chat", str(FUNCTIONS / "main.py")).test_client()
    gateway_app.reset()


def test_production_serves_no_demo_pages_and_signs_nothing_without_its_key(production):
    assert production.get("/demo/cardiff").status_code == 404
    answer = production.post(
        "/v1/councils/cardiff/conversations", json={}, headers={"Origin": "https://cardiff.example.org"}
    )
    assert answer.status_code == 503 and answer.get_json()["error"] == "unavailable"
    own = production.post("/v1/councils/cardiff/conversations", json={}, headers={"Origin": "http://localhost"})
    assert own.status_code == 403  # its own origin is allowed only in development
    assert production.get("/widget/townhall-chat.js").status_code == 200


def test_the_api_document_is_openapi_3_1_with_valid_schemas():
    api = yaml.safe_load((REPO / "docs" / "chat-api.yaml").read_text(encoding="utf-8"))
    assert api["openapi"].startswith("3.1.")
    for schema in api["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    text = (REPO / "docs" / "chat-api.yaml").read_text(encoding="utf-8")
    for ref in set(re.findall(r'"#/components/(\w+)/(\w+)"', text)):
        assert ref[1] in api["components"][ref[0]], ref
    codes = set(api["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    assert codes <= {o.value for o in ChatOutcome}


def test_operations_guide_and_alerts_follow_the_chat_outcomes():
    guide = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = guide.split("## Chat gateway outcomes", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    assert set(rows) == {o.value for o in ChatOutcome}, "one row per ChatOutcome"
    alerts = (REPO / "infra" / "modules" / "platform" / "alerts.tf").read_text(encoding="utf-8")
    for outcome in ChatOutcome:
        _, status, severity, alert, meaning, todo = rows[outcome.value]
        assert (status, severity) == (str(outcome.status), outcome.severity), rows[outcome.value]
        assert meaning == outcome.meaning and todo
        if outcome.alert:
            block = alerts.split('"townhall_chat"', 1)[1]
            assert f'\\"{outcome.value}\\"' in block and outcome.alert == "chat_dialogflow", outcome


def test_the_bundle_carries_the_widget_and_the_gateways_texts_but_no_demo_page():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bundle", REPO / "infra" / "scripts" / "bundle.py")
    bundle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bundle)
    names = set(bundle.sources())
    for name in ("townhall-chat.js", "townhall-chat.css"):
        assert f"townhall/gateway/static/{name}" in names
    assert {"townhall/gateway/messages/en.yaml", "townhall/gateway/messages/cy.yaml"} <= names
    assert "townhall/gateway/app.py" in names and not any(n.endswith("demo.html") for n in names)


def test_live_chat_is_offered_only_while_staffed():
    """Cardiff's live chat has no hours of its own: the contact process's opening hours, bank
    holidays and closures decide; Oxford's has its own hours (Friday until 16:30)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from townhall.gateway.council import ChatSettings
    from townhall.library import default_library
    from townhall.settings import FilesBackend

    cache = ChatSettings(FilesBackend(REPO / "infra" / "tenants"), default_library())
    london = ZoneInfo("Europe/London")
    cardiff, oxford = cache.get("cardiff").chat, cache.get("oxford").chat
    assert cardiff.staffed(datetime(2026, 12, 21, 10, 0, tzinfo=london))  # a Monday morning
    assert not cardiff.staffed(datetime(2026, 12, 24, 10, 0, tzinfo=london))  # the council's closure
    assert not cardiff.staffed(datetime(2026, 12, 25, 10, 0, tzinfo=london))  # a bank holiday
    assert not cardiff.staffed(datetime(2026, 12, 20, 10, 0, tzinfo=london))  # a Sunday
    assert oxford.staffed(datetime(2026, 12, 18, 16, 0, tzinfo=london))
    assert not oxford.staffed(datetime(2026, 12, 18, 16, 45, tzinfo=london))  # after its own hours
    assert cardiff.callback and cardiff.phone == "01632 960002"


def test_the_gateway_never_imports_dialogflows_grpc_client():
    """detectIntent goes over REST: google-cloud-dialogflow (gRPC, about a second of imports) stays
    a tooling and test dependency."""
    import subprocess
    import sys

    code = (
        "import sys, main; from townhall.gateway import app, tokens, detect, council, limits; "
        "g = app.gateway(); tokens.issue(tokens.DEV_KEY, tokens.Conversation.new('oxford', 'en')); "
        "g.settings.get('oxford'); "
        "print(sorted(m for m in sys.modules if m.startswith(('google.cloud.dialogflow', 'grpc'))))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "TOWNHALL_CHAT_DEV": "1",
        "TOWNHALL_SETTINGS_BACKEND": "files",
        "TOWNHALL_TENANTS_DIR": str(REPO / "infra" / "tenants"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=FUNCTIONS, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_the_signing_key_keeps_its_last_good_value_and_leaves_a_failing_store_alone():
    """The production key is read through the tenant secrets' cache: after a failed read the last
    good key keeps signing and Secret Manager is not asked again at once (no request waits on it)."""
    from types import SimpleNamespace

    from townhall.gateway import tokens

    class Store:  # Secret Manager's client, as far as the key reader uses it
        def __init__(self):
            self.asked, self.fail = [], False

        def access_secret_version(self, name, timeout):
            self.asked.append(name)
            if self.fail:
                raise TimeoutError("Secret Manager is slow")
            return SimpleNamespace(payload=SimpleNamespace(data=b"a-demo-signing-key-for-this-test-only"))

    store = Store()
    env = {
        "TOWNHALL_CHAT_SIGNING_SECRET": "townhall-chat-signing-key",
        "TOWNHALL_SECRETS_PROJECT": "demo-platform",
        "TOWNHALL_SECRETS_TTL": "0",  # every call reads again, unless a read failed moments ago
    }
    key = tokens.signing_key_from_env(env, client=store)
    assert key() == b"a-demo-signing-key-for-this-test-only"
    assert store.asked == ["projects/demo-platform/secrets/townhall-chat-signing-key/versions/latest"]
    store.fail = True
    assert key() == key() == b"a-demo-signing-key-for-this-test-only"  # the last good value
    assert len(store.asked) == 2  # one failed read; the next call did not ask again
    failing = Store()
    failing.fail = True
    with pytest.raises(tokens.NoKey):  # never read: no key, and the gateway answers 503
        tokens.signing_key_from_env(env, client=failing)()
