"""The simulator's understanding: entity extraction, intent classification, ``townhall nlu``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from support import REPO, TENANTS

from townhall.library import Library
from townhall_tools.agent.build import AgentExport, build_tenant
from townhall_tools.simulator.entities import Extractor
from townhall_tools.simulator.nlu import NLU, NluError, evaluate, read_export

TOWNHALL = str(Path(sys.executable).with_name("townhall"))
NOW = datetime(2026, 12, 1, 10, 0)  # a Tuesday


@pytest.fixture(scope="module")
def exports():
    library = Library.load(REPO / "library")
    return {t: build_tenant(t, TENANTS, library) for t in ("oxford", "cardiff")}


@pytest.fixture(scope="module")
def nlus(exports):
    """One classifier per tenant and language, fitted once for the module's tests."""
    fitted = {}

    def nlu(tenant: str, language: str) -> NLU:
        if (tenant, language) not in fitted:
            fitted[tenant, language] = NLU(exports[tenant], language)
        return fitted[tenant, language]

    return nlu


def extract(text: str, language: str = "en", custom=None) -> dict[str, list]:
    found: dict[str, list] = {}
    for m in Extractor(custom or {}, language).find(text, NOW):
        found.setdefault(m.entity, []).append(m.value)
    return found


POSTCODE = {"uk-postcode": ({"name": "uk-postcode", "isRegexp": True}, [{"value": "x", "synonyms": []}])}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my postcode is ox11bx", "OX1 1BX"),
        ("OX1 1BX please", "OX1 1BX"),
        ("it's cf10 4uw.", "CF10 4UW"),
        ("sw1a1aa", "SW1A 1AA"),
    ],
)
def test_postcodes_are_found_and_normalised(text, expected):
    assert extract(text, custom=POSTCODE)["uk-postcode"] == [expected]


def test_a_postcodes_digits_are_not_also_a_number():
    assert "sys.number" not in extract("OX1 1BX", custom=POSTCODE)


@pytest.mark.parametrize(
    ("text", "language", "day"),
    [
        ("when are you open tomorrow", "en", "2026-12-02"),
        ("what about today", "en", "2026-12-01"),
        ("is it collected on friday", "en", "2026-12-04"),
        ("next tuesday", "en", "2026-12-08"),
        ("on 25 december", "en", "2026-12-25"),
        ("december 24th", "en", "2026-12-24"),
        ("1st of january", "en", "2027-01-01"),
        ("24/12/2026", "en", "2026-12-24"),
        ("2027-01-04", "en", "2027-01-04"),
        ("ydych chi ar agor yfory", "cy", "2026-12-02"),
        ("dydd Gwener", "cy", "2026-12-04"),
        ("ar ddydd Sadwrn", "cy", "2026-12-05"),
        ("25 Rhagfyr", "cy", "2026-12-25"),
    ],
)
def test_dates(text, language, day):
    values = extract(text, language)["sys.date"]
    assert values == [f"{day}T12:00:00+00:00"]


def test_summer_dates_carry_the_london_offset():
    assert extract("2027-07-01")["sys.date"] == ["2027-07-01T12:00:00+01:00"]


def test_numbers_emails_and_phone_numbers():
    found = extract("I have 3 bins and two boxes, email me at a.resident@example.org or call 01632 960001")
    assert found["sys.number"] == [3, 2]
    assert found["sys.email"] == ["a.resident@example.org"]
    assert found["sys.phone-number"] == ["01632 960001"]
    assert extract("tri bag", "cy")["sys.number"] == [3]


def test_custom_entities_by_synonym_ignoring_case_accents_and_punctuation():
    custom = {
        "faq-topic": (
            {"name": "faq-topic", "isRegexp": False},
            [
                {"value": "garden-waste", "synonyms": ["garden waste", "green bin"]},
                {"value": "sign-up", "synonyms": ["How do I sign up for garden waste collections?"]},
            ],
        )
    }
    assert extract("Can I get a GREEN bin?", custom=custom)["faq-topic"] == ["garden-waste"]
    assert extract("how do i sign up for garden waste collections", custom=custom)["faq-topic"] == ["sign-up"]
    assert "faq-topic" not in extract("a greenbin", custom=custom)


def test_classification_of_library_phrases_and_fallback(nlus):
    nlu = nlus("oxford", "en")
    assert nlu.understand("when are you open", (), NOW).intent.name == "contact.opening_hours"
    assert nlu.understand("can i talk to a real person", (), NOW).intent.name == "contact.human"
    got = nlu.understand("how do I get rid of an old sofa", (), NOW)
    assert got.intent.name == "faq.ask" and got.parameters == {"topic": "bulky-waste"}
    for junk in ("asdfgh qwerty", "purple elephants dancing", "zzz"):
        assert nlu.understand(junk, (), NOW).intent is None, junk


def test_welsh_classification(nlus):
    nlu = nlus("cardiff", "cy")
    assert nlu.understand("beth yw eich oriau agor", (), NOW).intent.name == "contact.opening_hours"
    got = nlu.understand("ble galla i gael bagiau ailgylchu", (), NOW)
    assert got.intent.name == "faq.ask" and got.parameters["topic"] == "recycling-bags"


def test_intents_with_input_contexts_match_only_when_those_are_active(nlus):
    nlu = nlus("oxford", "en")
    intent = nlu.by_name["contact.human"]
    intent.input_contexts = ("waiting-for-callback",)  # as a follow-up intent would declare
    try:
        without = nlu.understand("speak to someone", (), NOW).intent
        assert without is None or without.name != "contact.human"
        assert nlu.understand("speak to someone", ("waiting-for-callback",), NOW).intent.name == "contact.human"
    finally:
        intent.input_contexts = ()


@pytest.mark.parametrize(
    ("tenant", "language", "context", "text", "intent"),
    [
        ("oxford", "en", "missed_bin-postcode", "OX14 5AB", "missed_bin.postcode"),
        ("oxford", "en", "polling_station-postcode", "EH1 1YJ", "polling_station.postcode"),
        ("oxford", "en", "council_tax-payment", "its 11223344", "council_tax.pay_details"),
        ("oxford", "en", "council_tax-payment", "£12.34", "council_tax.pay_details"),
        ("cardiff", "cy", "polling_station-postcode", "rhowch gynnig ar CF64 2AA", "polling_station.postcode"),
    ],
)
def test_an_answer_goes_to_the_intent_waiting_for_it(nlus, tenant, language, context, text, intent):
    assert nlus(tenant, language).understand(text, (context,), NOW).intent.name == intent


@pytest.mark.parametrize(
    ("context", "text", "intent"),
    [
        ("missed_bin-postcode", "what are your opening hours", "contact.opening_hours"),
        ("polling_station-address", "cancel", "welcome.cancel"),
        ("council_tax-payment", "can i speak to someone", "contact.human"),
    ],
)
def test_a_new_request_leaves_the_question_being_asked(nlus, context, text, intent):
    assert nlus("oxford", "en").understand(text, (context,), NOW).intent.name == intent


def test_the_digits_of_an_entity_do_not_count(nlus):
    nlu = nlus("oxford", "en")
    assert nlu.tokens("it's OX14 5AB", NOW)[0] == nlu.tokens("it's cf10 1ep", NOW)[0] == ["it's", "@uk-postcode"]
    assert nlu.tokens("pay £12.34", NOW)[0] == nlu.tokens("pay £5", NOW)[0] == ["pay", "@sys.number"]
    assert nlu.tokens("band d", NOW)[0] == ["@council-tax-band", "band", "d"]  # words, not digits, are kept


def test_without_scikit_learn_the_classifier_says_what_to_install(exports, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)
    with pytest.raises(NluError, match="needs scikit-learn .*requirements-dev.txt"):
        NLU(exports["oxford"], "en")


def test_an_unsupported_system_entity_fails_naming_it(exports):
    export = build_tenant("oxford", TENANTS, Library.load(REPO / "library"))
    export.files["intents/faq.ask.json"]["responses"][0]["parameters"][0]["dataType"] = "@sys.geo-city"
    with pytest.raises(NluError, match=r"@sys.geo-city \(used by faq.ask\)"):
        read_export(export, "en")


def test_the_evaluation_is_deterministic_and_counts_every_held_out_phrase(exports):
    first, again = evaluate(exports["cardiff"], "cy", seed=3), evaluate(exports["cardiff"], "cy", seed=3)
    assert (first.correct, first.total, first.confused) == (again.correct, again.total, again.confused)
    assert first.total == sum(t for _, t in first.by_process.values()) > 0
    assert first.correct + sum(first.confused.values()) == first.total


def run(*args, stdin=""):
    return subprocess.run([TOWNHALL, *args], cwd=REPO, input=stdin, capture_output=True, text=True, timeout=120)


def test_nlu_classify_writes_one_json_line_per_utterance():
    done = run(
        "nlu", "classify", "--tenant", "cardiff", "--lang", "cy", stdin="pryd ydych chi ar agor\n\nsdfsdf sdfsdf\n"
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["pryd ydych chi ar agor", "sdfsdf sdfsdf"]
    assert lines[0]["intent"] == "contact.opening_hours" and 0 < lines[0]["confidence"] <= 1
    assert lines[1]["intent"] is None and lines[1]["parameters"] == {}
    assert set(lines[0]) == {"text", "intent", "confidence", "parameters"}


def test_nlu_eval_reports_accuracy_per_process_and_confusions():
    done = run("nlu", "eval", "--tenant", "cardiff")
    assert done.returncode == 0, done.stderr
    assert "[en] top-1 accuracy" in done.stdout and "[cy] top-1 accuracy" in done.stdout
    assert "contact" in done.stdout and "held out 20%" in done.stdout


def test_nlu_bad_input():
    assert "no tenant file" in run("nlu", "eval", "--tenant", "nowhere").stderr
    wrong = run("nlu", "classify", "--tenant", "oxford", "--lang", "cy", stdin="helo\n")
    assert wrong.returncode == 1 and "offers en, not 'cy'" in wrong.stderr


# -- the held-out set (tests/heldout/) -------------------------------------------------------------

HELDOUT = REPO / "tests" / "heldout" / "residents.yaml"


def test_the_held_out_set_is_large_varied_and_bilingual():
    from townhall_tools.simulator.heldout import KINDS, load

    messages = load(HELDOUT)
    assert len(messages) >= 260
    assert sum(m.language == "cy" for m in messages) >= 80
    assert {(m.tenant, m.language) for m in messages} == {("oxford", "en"), ("cardiff", "en"), ("cardiff", "cy")}
    assert sum(m.kind != "plain" for m in messages) * 3 >= len(messages)
    assert {m.kind for m in messages} == set(KINDS)


def test_held_out_judging_drops_processes_the_agent_lacks():
    from townhall_tools.simulator.heldout import Message, judge

    planning = Message("oxford", "en", "planning permission", "out_of_scope", ("signpost",))
    assert judge(planning, None, {"contact"})  # no signpost process: only a fallback is right
    assert not judge(planning, "contact.details", {"contact"})
    assert judge(planning, "signpost.service", {"signpost"})
    assert not judge(planning, None, {"signpost"})
    bins = Message("oxford", "en", "bin day", "plain", ("bin_collection",), "bin_collection.next")
    assert judge(bins, "bin_collection.next", {"bin_collection"})
    assert not judge(bins, "bin_collection.postcode", {"bin_collection"})


def test_nlu_eval_heldout_reports_kinds_languages_and_misses(tmp_path):
    path = tmp_path / "set.yaml"
    path.write_text(
        "version: 1\ngroups:\n  - tenant: cardiff\n    lang: cy\n    messages:\n"
        '      - {kind: plain, expect: [contact], intent: contact.details, text: "Beth yw rhif ffôn y cyngor?"}\n'
        '      - {kind: out_of_scope, expect: [fallback], text: "zzqx vvbn"}\n'
        "  - tenant: oxford\n    lang: en\n    messages:\n"
        '      - {kind: typo, expect: [welcome], intent: welcome.hello, text: "wot r ur opening hrs"}\n',
        encoding="utf-8",
    )
    out = run("nlu", "eval", "--heldout", str(path), "--verbose")
    assert out.returncode == 0, out.stderr
    assert "3 messages" in out.stdout
    assert "cardiff    cy  100.0% (2/2)" in out.stdout
    assert "out of scope reaching fallback or signpost: 100.0% (1/1)" in out.stdout
    assert "oxford/en typo: 'wot r ur opening hrs': welcome.hello -> contact.opening_hours" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups:\n  - {tenant: oxford, lang: en, messages: [{text: hi, kind: nice, expect: [x]}]}\n")
    out = run("nlu", "eval", "--heldout", str(bad))
    assert out.returncode == 1 and "kind 'nice' is not one of" in out.stderr


# -- what the agent carries decides, as in Dialogflow ---------------------------------------------


def test_the_threshold_is_the_agents_ml_min_confidence(exports):
    import copy

    export = AgentExport(exports["oxford"].tenant, copy.deepcopy(exports["oxford"].files))
    usual = NLU(export, "en")
    assert usual.threshold == export.files["agent.json"]["mlMinConfidence"]
    said = "help"
    matched = usual.understand(said, (), NOW)
    assert matched.intent is not None and matched.confidence < 0.95
    export.files["agent.json"]["mlMinConfidence"] = 0.95
    strict = NLU(export, "en")
    assert strict.threshold == 0.95
    assert strict.understand(said, (), NOW).intent is None


def test_the_fallback_intents_phrases_are_negative_examples(exports):
    import copy

    export = AgentExport(exports["oxford"].tenant, copy.deepcopy(exports["oxford"].files))
    export.files["intents/fallback.unknown_usersays_en.json"] = [
        {"data": [{"text": text, "userDefined": False}], "lang": "en"}
        for text in ("what's the weather doing", "will it rain on saturday", "forecast for oxford", "is it sunny out")
    ]
    nlu = NLU(export, "en")
    assert nlu.understand("what's the weather forecast for saturday", (), NOW).intent is None
    assert nlu.understand("when is my bin day", (), NOW).intent.name == "bin_collection.next"


def test_a_catch_all_in_context_never_beats_a_clear_match_elsewhere(exports, nlus):
    from townhall_tools.simulator.nlu import is_catch_all

    intents = {i["name"]: i for k, i in exports["oxford"].files.items() if k.startswith("intents/") and "name" in i}
    assert intents["callback.answer"]["priority"] < 500000  # the builder lowers a catch-all's priority
    assert intents["callback.request"]["priority"] == 500000
    nlu = nlus("oxford", "en")
    assert is_catch_all(nlu.by_name["callback.answer"])
    active = nlu.by_name["callback.answer"].input_contexts
    assert nlu.understand("Jo Bloggs", active, NOW).intent.name == "callback.answer"
    assert nlu.understand("what are your opening hours", active, NOW).intent.name == "contact.opening_hours"


def test_a_reply_setting_townhall_language_switches_the_session(exports, nlus):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from townhall_tools.simulator.session import Session

    seen = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            query = body["queryResult"]
            seen.append((query["languageCode"], query["intent"]["displayName"]))
            answer = {"fulfillmentText": "ok"}
            if len(seen) == 1:
                answer["outputContexts"] = [
                    {
                        "name": f"{body['session']}/contexts/townhall-language",
                        "lifespanCount": 50,
                        "parameters": {"language": "cy"},
                    }
                ]
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        session = Session(
            nlus("cardiff", "en"),
            url=f"http://127.0.0.1:{server.server_address[1]}/",
            project="demo",
            username="cardiff",
            password="demo",
            now=NOW,
            nlu_for=lambda language: nlus("cardiff", language) if language in ("en", "cy") else None,
        )
        session.say("hello")
        assert session.language == "cy"
        result = session.say("pryd mae'r swyddfa ar agor")
        assert result.intent == "contact.opening_hours"
        assert seen[-1] == ("cy", "contact.opening_hours")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_when_the_webhook_cannot_be_reached_the_static_answer_is_shown(nlus):
    import socket

    from townhall_tools.simulator.session import Session

    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = Session(
        nlus("cardiff", "cy"), url=f"http://127.0.0.1:{port}/", project="demo", username="cardiff", password="x"
    )
    result = session.say("beth yw eich oriau agor")
    assert result.error and "01632 960002" in result.reply and "ffôn" in result.reply
