"""The chat gateway over HTTP: the `chat` function served by the functions-framework CLI on a free
loopback port, asking the local Dialogflow stand-in (tools/townhall_tools/fakes/dialogflow.py),
which classifies with the offline simulator and calls the real webhook (the `served` fixture) with
the tenant's demo credential. Every answer is checked against docs/chat-api.yaml; every request the
gateway sends to Dialogflow, and every response the stand-in gives, parses strictly as Google's own
``DetectIntentRequest`` / ``DetectIntentResponse``.

Each test speaks from its own client address (``X-Forwarded-For``), so the per-address rate limit
of one test never touches another.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import jwt
import pytest
import requests
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from support import FUNCTIONS, REPO

from conftest import free_port, stop, wait_for_port

API = yaml.safe_load((REPO / "docs" / "chat-api.yaml").read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource("urn:chat-api", Resource.from_contents(API, default_specification=DRAFT202012))
DEMO_ORIGIN = "http://127.0.0.1:8081"
OXFORD_SITE, CARDIFF_SITE = "https://oxford.example.org", "https://cardiff.example.org"
SESSION_RATE, IP_RATE = 5, 30
BUDGET = 3.0
_addresses = itertools.count(1)


# -- the servers ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dialogflow(served, sandbox_tenants):
    """The detectIntent stand-in, calling the served webhook; Oxford's (English) and Cardiff's
    (Welsh, English) classifiers fitted before the tests start."""
    from townhall_tools.fakes.dialogflow import DialogflowServer

    with DialogflowServer(served.url, sandbox_tenants) as stand_in:
        fits = [
            threading.Thread(target=stand_in.state.warm, args=([pair],))
            for pair in (("oxford", "en"), ("cardiff", "cy"), ("cardiff", "en"))
        ]
        for fit in fits:
            fit.start()
        for fit in fits:
            fit.join(180)
        yield stand_in


@pytest.fixture(scope="module")
def gateway(dialogflow, sandbox_tenants, tmp_path_factory):
    log = tmp_path_factory.mktemp("chat") / "chat.log"
    port = free_port()
    env = {
        **os.environ,
        "TOWNHALL_SETTINGS_BACKEND": "files",
        "TOWNHALL_TENANTS_DIR": str(sandbox_tenants),
        "TOWNHALL_DIALOGFLOW_ENDPOINT": dialogflow.url,
        "TOWNHALL_CHAT_DEV": "1",
        "TOWNHALL_CHAT_SESSION_RATE": f"{SESSION_RATE}/60",
        "TOWNHALL_CHAT_IP_RATE": f"{IP_RATE}/60",
        "TOWNHALL_CHAT_BUDGET": str(BUDGET),
    }
    for name in ("TOWNHALL_CHAT_SIGNING_SECRET", "TOWNHALL_LIBRARY_DIR"):
        env.pop(name, None)
    command = [str(Path(sys.executable).with_name("functions-framework")), "--target", "chat"]
    command += ["--source", str(FUNCTIONS / "main.py"), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, proc, 30, log)
        yield Gateway(f"http://127.0.0.1:{port}", log)
    finally:
        stop(proc)


class Gateway:
    def __init__(self, url: str, log: Path):
        self.url = url
        self.log = log

    def browser(self, origin: str | None = DEMO_ORIGIN) -> Browser:
        return Browser(self.url, origin, f"10.0.{next(_addresses)}.1")

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]


# -- the API document --------------------------------------------------------------------------------------


def checked(method: str, template: str, answer: requests.Response) -> requests.Response:
    """The answer, after checking it against docs/chat-api.yaml: a documented status, its JSON body
    valid against the documented schema, its documented required headers present."""
    operation = API["paths"][template][method.lower()]
    documented = operation["responses"].get(str(answer.status_code))
    assert documented is not None, f"{method} {template} answered {answer.status_code}, not documented: {answer.text}"
    if "$ref" in documented:
        documented = API["components"]["responses"][documented["$ref"].rsplit("/", 1)[-1]]
    for name, header in (documented.get("headers") or {}).items():
        header = API["components"]["headers"][header["$ref"].rsplit("/", 1)[-1]] if "$ref" in header else header
        if header.get("required"):
            assert name in answer.headers, f"{method} {template} {answer.status_code} lacks {name}"
    content = documented.get("content") or {}
    if "application/json" in content:
        assert answer.headers["Content-Type"].startswith("application/json")
        schema = {"$ref": "urn:chat-api#" + _pointer(method, template, answer.status_code, documented)}
        problems = sorted(Draft202012Validator(schema, registry=REGISTRY).iter_errors(answer.json()), key=str)
        assert not problems, f"{method} {template} {answer.status_code}: {problems[0].message}\n{answer.text[:2000]}"
    elif not content:
        assert not answer.content or answer.status_code != 204
    return answer


def _pointer(method, template, status, documented) -> str:
    own = API["paths"][template][method.lower()]["responses"][str(status)]
    if "$ref" in own:
        return own["$ref"][1:] + "/content/application~1json/schema"
    escaped = template.replace("~", "~0").replace("/", "~1")
    return f"/paths/{escaped}/{method.lower()}/responses/{status}/content/application~1json/schema"


class Browser:
    """A web page on one origin, talking to the gateway from one client address."""

    def __init__(self, url: str, origin: str | None, address: str):
        self.url = url
        self.origin = origin
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = address
        if origin:
            self.http.headers["Origin"] = origin
        self.token: str | None = None

    def config(self, council: str, **kw) -> requests.Response:
        answer = self.http.get(f"{self.url}/v1/councils/{council}", timeout=10, **kw)
        return checked("GET", "/v1/councils/{council}", answer)

    def start(self, council: str, language: str | None = None) -> requests.Response:
        body = {"language": language} if language else {}
        answer = self.http.post(f"{self.url}/v1/councils/{council}/conversations", json=body, timeout=BUDGET + 10)
        checked("POST", "/v1/councils/{council}/conversations", answer)
        if answer.status_code == 201:
            self.token = answer.json()["token"]
        return answer

    def turn(self, body: dict, token: str | None = None, path: str = "turn") -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        answer = self.http.post(f"{self.url}/v1/conversations/{path}", json=body, headers=headers, timeout=BUDGET + 10)
        checked("POST", f"/v1/conversations/{path}", answer)
        if answer.status_code in (200, 201):
            self.token = answer.json()["token"]
        return answer

    def preflight(self, path: str, template: str) -> requests.Response:
        headers = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        }
        return checked("OPTIONS", template, self.http.options(f"{self.url}{path}", headers=headers, timeout=10))


def texts(answer: requests.Response) -> str:
    return "\n".join(m["text"] for m in answer.json()["messages"] if m["type"] == "text")


def kinds(answer: requests.Response) -> list[str]:
    return [m["type"] for m in answer.json()["messages"]]


def handoff(answer: requests.Response) -> dict:
    found = [m for m in answer.json()["messages"] if m["type"] == "handoff"]
    assert len(found) == 1, answer.json()
    return {a["kind"]: a for a in found[0]["actions"]}


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# -- the council, origins and preflights -------------------------------------------------------------------------


def test_council_settings_for_the_widget(gateway):
    answer = gateway.browser().config("cardiff")
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == DEMO_ORIGIN and answer.headers["Vary"] == "Origin"
    body = answer.json()
    assert body["name"] == {"en": "Cardiff Council", "cy": "Cyngor Caerdydd"} and body["languages"] == ["en", "cy"]
    assert body["privacy_url"]["cy"].startswith("https://") and body["max_length"] == 256
    nowhere = gateway.browser().config("nowhere")
    assert nowhere.json()["error"] == "unknown_council"
    assert nowhere.headers["Access-Control-Allow-Origin"] == DEMO_ORIGIN  # the widget says there is no chat


def test_another_councils_origin_is_refused(gateway):
    page = gateway.browser(OXFORD_SITE)
    assert page.config("oxford").status_code == 200
    for answer in (page.config("cardiff"), page.start("cardiff")):
        assert answer.status_code == 403 and answer.json()["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in answer.headers
    stranger = gateway.browser("https://evil.example.net").start("oxford")
    assert stranger.status_code == 403 and "Access-Control-Allow-Origin" not in stranger.headers
    assert gateway.browser(None).start("oxford").json()["error"] == "origin_not_allowed"  # no Origin: not a page


def test_preflight(gateway):
    allowed = gateway.browser(CARDIFF_SITE).preflight(
        "/v1/councils/cardiff/conversations", "/v1/councils/{council}/conversations"
    )
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == CARDIFF_SITE
    assert allowed.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert allowed.headers["Access-Control-Allow-Headers"] == "Content-Type, Authorization"
    refused = gateway.browser(OXFORD_SITE).preflight(
        "/v1/councils/cardiff/conversations", "/v1/councils/{council}/conversations"
    )
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    turn = gateway.browser(OXFORD_SITE).preflight("/v1/conversations/turn", "/v1/conversations/turn")
    assert turn.status_code == 204 and turn.headers["Access-Control-Allow-Origin"] == OXFORD_SITE


# -- tokens ----------------------------------------------------------------------------------------------------


def test_tampered_and_missing_tokens_are_refused(gateway):
    page = gateway.browser()
    assert page.start("oxford").status_code == 201
    head, payload, signature = page.token.split(".")
    other = jwt.utils.base64url_encode(json.dumps({**claims(page.token), "lang": "en", "sid": "0" * 32}).encode())
    elsewhere = jwt.encode({**claims(page.token), "aud": "nowhere"}, "x" * 32, algorithm="HS256")
    for token in (
        f"{head}.{other.decode()}.{signature}",
        f"{head}.{payload}.{signature[:-3]}abc",
        "not-a-token",  # too mangled to name a council
        elsewhere,  # names a council not served here
    ):
        answer = page.turn({"text": "hello"}, token=token)
        assert answer.status_code == 401 and answer.json()["error"] == "token_invalid", answer.text
        assert answer.headers["Access-Control-Allow-Origin"] == DEMO_ORIGIN, token  # the widget reads it, restarts
    missing = page.http.post(f"{page.url}/v1/conversations/turn", json={"text": "hello"}, timeout=10)
    assert checked("POST", "/v1/conversations/turn", missing).json()["error"] == "token_invalid"
    assert missing.headers["Access-Control-Allow-Origin"] == DEMO_ORIGIN


def test_expired_token(gateway):
    from townhall.gateway import tokens

    conversation = tokens.Conversation.new("oxford", "en")
    old = tokens.issue(tokens.DEV_KEY, conversation, ttl=60, now=time.time() - 3600)
    answer = gateway.browser().turn({"text": "hello"}, token=old)
    assert answer.status_code == 401 and answer.json()["error"] == "token_expired"
    assert answer.headers["Access-Control-Allow-Origin"] == DEMO_ORIGIN  # the widget can read it and start anew


def test_a_token_from_one_council_never_opens_another(gateway):
    from townhall.gateway import tokens

    page = gateway.browser(OXFORD_SITE)
    assert page.start("oxford").status_code == 201
    taken = gateway.browser(CARDIFF_SITE).turn({"text": "hello"}, token=page.token)  # to Cardiff's page
    assert taken.status_code == 403 and taken.json()["error"] == "origin_not_allowed"
    # Oxford's key, Cardiff's name: each council signs with its own key.
    forged = jwt.encode(
        {**claims(page.token), "aud": "cardiff"}, tokens.council_key(tokens.DEV_KEY, "oxford"), algorithm="HS256"
    )
    answer = gateway.browser(CARDIFF_SITE).turn({"text": "hello"}, token=forged)
    assert answer.status_code == 401 and answer.json()["error"] == "token_invalid"


def test_every_turn_refreshes_the_token_and_restart_starts_a_new_session(gateway):
    page = gateway.browser()
    first = page.start("oxford").json()
    assert first["expires_in"] == 1800 and first["language"] == "en"
    turn = page.turn({"event": "WELCOME"}).json()
    assert claims(turn["token"])["sid"] == claims(first["token"])["sid"]
    assert claims(turn["token"])["exp"] >= claims(first["token"])["exp"]
    restarted = page.turn({}, path="restart")
    assert restarted.status_code == 201 and claims(restarted.json()["token"])["sid"] != claims(first["token"])["sid"]
    assert claims(restarted.json()["token"])["aud"] == "oxford"


# -- limits ------------------------------------------------------------------------------------------------------


def test_rate_limit_per_conversation(gateway):
    page = gateway.browser()
    assert page.start("oxford").status_code == 201
    statuses = [page.turn({"event": "WELCOME"}).status_code for _ in range(SESSION_RATE + 1)]
    assert statuses == [200] * SESSION_RATE + [429]
    refused = page.turn({"event": "WELCOME"})
    assert refused.json()["error"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
    other = gateway.browser()  # another conversation is not held back
    assert other.start("oxford").status_code == 201 and other.turn({"event": "WELCOME"}).status_code == 200


def test_rate_limit_per_client_address(gateway):
    page = gateway.browser()
    statuses = [page.config("oxford").status_code for _ in range(IP_RATE + 1)]
    assert statuses == [200] * IP_RATE + [429]
    limited = page.config("oxford")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["Access-Control-Allow-Origin"] == DEMO_ORIGIN  # the widget says wait, not offline
    assert gateway.browser().config("oxford").status_code == 200  # another address is not


def test_over_long_empty_and_malformed_messages(gateway):
    page = gateway.browser()
    assert page.start("oxford").status_code == 201
    long = page.turn({"text": "x" * 257})
    assert long.status_code == 400 and long.json()["error"] == "too_long" and "256" in long.json()["message"]
    assert long.headers["Access-Control-Allow-Origin"] == DEMO_ORIGIN
    for body in ({"text": "   "}, {"text": "hi", "event": "WELCOME"}, {"event": "SOMETHING"}, {"text": 7}, {"mood": 1}):
        answer = page.turn(body)
        assert answer.status_code == 400 and answer.json()["error"] == "bad_request", (body, answer.text)
    assert page.turn({"text": "hello", "language": "cy"}).json()["error"] == "bad_request"  # Oxford speaks English
    broken = page.http.post(
        f"{page.url}/v1/conversations/turn",
        data=b'{"text": "hel',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {page.token}"},
        timeout=10,
    )
    assert checked("POST", "/v1/conversations/turn", broken).json()["error"] == "bad_request"
    assert broken.headers["Access-Control-Allow-Origin"] == DEMO_ORIGIN  # the page can read why


# -- Dialogflow failing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "outcome", "severity"),
    [
        ("demo-dialogflow-500", "dialogflow_failed", "WARNING"),
        ("demo-dialogflow-429", "dialogflow_failed", "WARNING"),
        ("demo-dialogflow-401", "dialogflow_refused", "ERROR"),
        ("demo-dialogflow-hang", "dialogflow_failed", "WARNING"),  # answered at the budget, not when it answers
        ("demo-dialogflow-drip", "dialogflow_failed", "WARNING"),  # a 200 whose body trickles past the budget
    ],
)
def test_dialogflow_failing_or_hanging_still_answers_with_contact_details(gateway, text, outcome, severity):
    page = gateway.browser()
    assert page.start("oxford").status_code == 201
    answer = page.turn({"text": text})
    assert answer.status_code == 200 and answer.json()["degraded"] is True
    assert "Sorry" in texts(answer) and "01632 960001" in texts(answer)
    assert handoff(answer)["phone"]["tel"] == "+441632960001"
    assert claims(answer.json()["token"])["sid"] == claims(page.token)["sid"]
    lines = [line for line in gateway.log_lines() if line.get("message") == "chat" and line.get("outcome") == outcome]
    assert lines and lines[-1]["severity"] == severity and lines[-1]["tenant"] == "oxford"
    if text.endswith(("hang", "drip")):  # the stand-in answers well in the end: only the budget made this degraded
        failed = [line for line in gateway.log_lines() if line.get("message", "").startswith("detectIntent failed")]
        assert failed[-1]["status_class"] == "timeout", failed[-1]


# -- conversations through the stand-in and the real webhook ----------------------------------------------------------


def test_a_full_journey_start_bins_question_quick_reply(gateway, dialogflow):
    page = gateway.browser()
    welcome = page.start("oxford")
    assert welcome.status_code == 201 and "Oxford City Council" in texts(welcome)
    assert "quick_replies" in kinds(welcome) and "degraded" not in welcome.json()
    asked = page.turn({"text": "when is my bin collected"})
    assert "postcode" in texts(asked)
    days = page.turn({"text": "OX1 2JD"})
    assert "For 1 Demo Lane, Oxford:" in texts(days) and "goes out on" in texts(days)
    options = next(m for m in days.json()["messages"] if m["type"] == "quick_replies")["options"]
    assert "Report a missed bin" in [o["value"] for o in options]
    assert any(m["type"] == "link" and m["url"].startswith("https://") for m in days.json()["messages"])
    chosen = page.turn({"quick_reply": "Report a missed bin"})
    assert chosen.status_code == 200 and "degraded" not in chosen.json()
    assert "bin" in texts(chosen).lower()


def test_welsh_and_a_person_to_talk_to(gateway):
    page = gateway.browser(CARDIFF_SITE)
    welcome = page.start("cardiff", "cy")
    assert welcome.json()["language"] == "cy" and "Cyngor Caerdydd" in texts(welcome)
    assert {m["lang"] for m in welcome.json()["messages"]} == {"cy"}
    person = page.turn({"text": "dw i eisiau siarad â pherson go iawn"})
    actions = handoff(person)
    assert actions["phone"]["tel"] == "+441632960002" and actions["callback"]["event"] == "CALLBACK"
    callback = page.turn({"event": "CALLBACK"})
    assert callback.status_code == 200 and "degraded" not in callback.json()


def test_the_resident_switches_language_in_the_widget(gateway):
    page = gateway.browser(CARDIFF_SITE)
    assert page.start("cardiff").json()["language"] == "en"
    switched = page.turn({"event": "WELCOME", "language": "cy"})
    assert switched.json()["language"] == "cy" and claims(switched.json()["token"])["lang"] == "cy"
    assert {m["lang"] for m in switched.json()["messages"]} == {"cy"} and "Cyngor Caerdydd" in texts(switched)
    again = page.turn({"text": "oriau agor"})
    assert again.json()["language"] == "cy" and {m["lang"] for m in again.json()["messages"]} == {"cy"}


def test_asking_the_bot_for_welsh_switches_the_conversation(gateway):
    page = gateway.browser(CARDIFF_SITE)
    assert page.start("cardiff", "en").status_code == 201
    asked = page.turn({"text": "can we talk in Welsh please"})
    assert asked.json()["language"] == "cy" and claims(asked.json()["token"])["lang"] == "cy"
    later = page.turn({"event": "WELCOME"})
    assert later.json()["language"] == "cy" and "Cyngor Caerdydd" in texts(later)


def test_detect_intent_requests_and_responses_are_dialogflows_own_types(gateway, dialogflow):
    from google.cloud.dialogflow_v2 import DetectIntentRequest, DetectIntentResponse

    page = gateway.browser()
    assert page.start("oxford").status_code == 201
    assert page.turn({"text": "what are your opening hours"}).status_code == 200
    sent = list(dialogflow.state.requests)
    assert sent
    for request in sent:
        parsed = DetectIntentRequest.from_json(json.dumps(request["body"]))  # strict: unknown fields fail
        assert parsed.query_input.text.text or parsed.query_input.event.name
        assert parsed.query_params.time_zone == "Europe/London"
        assert not request["authorization"]  # an overridden endpoint is called without credentials
        assert request["path"].startswith(
            ("projects/townhall-demo-oxford/agent/sessions/", "projects/townhall-demo-cardiff/")
        )
    for response in list(dialogflow.state.responses):
        DetectIntentResponse.from_json(json.dumps(response))


def test_nothing_a_resident_typed_is_logged(gateway):
    page = gateway.browser()
    assert page.start("oxford").status_code == 201
    secret = "Bartholomew Quixley of 12 Narrowgate"
    assert page.turn({"text": f"my name is {secret}, ring me on 07700 900123"}).status_code == 200
    assert page.turn({"text": "demo-dialogflow-500 " + secret}).status_code == 200
    written = gateway.log.read_text(encoding="utf-8")
    assert "Quixley" not in written and "Narrowgate" not in written and "07700 900123" not in written


# -- widget files and demo pages --------------------------------------------------------------------------------------


def test_widget_files_are_served_with_types_and_cache_headers(gateway):
    for name, kind in (("townhall-chat.js", "text/javascript"), ("townhall-chat.css", "text/css")):
        answer = checked("GET", "/widget/{file}", requests.get(f"{gateway.url}/widget/{name}", timeout=10))
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(kind)
        assert "max-age=" in answer.headers["Cache-Control"] and answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.content == (FUNCTIONS / "townhall" / "gateway" / "static" / name).read_bytes()
        again = requests.get(
            f"{gateway.url}/widget/{name}", headers={"If-None-Match": answer.headers["ETag"]}, timeout=10
        )
        assert checked("GET", "/widget/{file}", again).status_code == 304
    missing = requests.get(f"{gateway.url}/widget/../main.py", timeout=10)
    assert missing.status_code == 404


def test_demo_pages_embed_the_widget_as_a_council_would(gateway):
    page = checked("GET", "/demo/{council}", requests.get(f"{gateway.url}/demo/cardiff", timeout=10))
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<script src="/widget/townhall-chat.js" data-council="cardiff" defer></script>' in page.text
    assert "{{" not in page.text
    assert requests.get(f"{gateway.url}/demo/nowhere", timeout=10).status_code == 404


def test_unknown_paths_and_methods_answer_in_the_apis_own_error_codes(gateway):
    codes = set(API["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    for method, path in (("GET", "/v2/anything"), ("DELETE", "/v1/councils/oxford"), ("GET", "/v1/conversations/turn")):
        answer = requests.request(method, f"{gateway.url}{path}", headers={"Origin": DEMO_ORIGIN}, timeout=10)
        assert answer.status_code in (404, 405) and answer.json()["error"] in codes, (method, path, answer.text)
        assert set(answer.json()) == {"error", "message"}


def _raw(gateway, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes as they are (a body no HTTP client would send) and read the answer's status,
    headers and body."""
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body[: int(headers.get("content-length", len(body)))]


@pytest.mark.parametrize(
    "start, body",
    [
        ("POST /v1/councils/oxford/conversations", b"zz\r\nabc\r\n"),  # a chunk size that is not hex
        ("POST /v1/councils/oxford/conversations", b'5\r\n{"la'),  # a chunk cut short
        ("POST /v1/conversations/turn", b"zz\r\nabc\r\n"),  # refused (no token) before the body
        ("PUT /v1/councils/oxford/conversations", b"zz\r\nabc\r\n"),  # refused (method) before the body
        ("POST /v1/councils/oxford/conversations", b"ffffff\r\n" + b"x" * 70000),  # far over the limit
    ],
)
def test_broken_bodies_are_a_json_4xx_never_a_500(gateway, start, body):
    head = f"{start} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {DEMO_ORIGIN}\r\nContent-Type: application/json\r\n"
    status, headers, answer = _raw(gateway, (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + body)
    assert 400 <= status < 500, (status, answer)
    assert headers["content-type"] == "application/json" and set(json.loads(answer)) == {"error", "message"}


def test_a_body_shorter_than_its_length_is_refused_without_keeping_a_thread(gateway):
    head = f"POST /v1/councils/oxford/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {DEMO_ORIGIN}\r\n"
    head += "Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
    status, headers, answer = _raw(gateway, head.encode() + b'{"language"')
    assert status == 400 and json.loads(answer)["error"] == "bad_request", answer
    assert "Content-Length 40" in json.loads(answer)["message"]
