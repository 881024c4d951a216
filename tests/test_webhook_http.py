"""The webhook over real HTTP, served by the functions-framework CLI (files backend, example tenants)."""

from __future__ import annotations

import copy
import json
import socket
from urllib.parse import urlparse

import pytest
from support import PROJECTS, auth_for, basic

from townhall import wire

OXFORD = PROJECTS["oxford"]
CARDIFF = PROJECTS["cardiff"]


def request(intent="contact.opening_hours", project=OXFORD, **kw):
    return wire.build_request(project, intent, **kw)


# -- HTTP surface -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_only_post_is_allowed(http, method):
    answer = http.raw(b"{}", {"Content-Type": "application/json", **auth_for("oxford")}, method=method)
    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"
    assert answer.json == {"error": "use POST"}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_only_json_bodies_are_accepted(http, content_type):
    headers = auth_for("oxford")
    if content_type:
        headers["Content-Type"] = content_type
    answer = http.raw(json.dumps(request()).encode(), headers)
    assert answer.status == 415
    assert "application/json" in answer.json["error"]


def test_json_with_charset_is_accepted(http):
    answer = http.raw(
        json.dumps(request()).encode(), {"Content-Type": "application/json; charset=utf-8", **auth_for("oxford")}
    )
    assert answer.status == 200


def test_oversized_body_gets_413_before_parsing(http):
    body = request(text="x" * (300 * 1024))
    answer = http.post(body)
    assert answer.status == 413


def post_chunked(served, chunks) -> bytes:
    """POST the chunks with Transfer-Encoding: chunked and no Content-Length; the raw answer."""
    url = urlparse(served.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(
            (
                f"POST / HTTP/1.1\r\nHost: {url.hostname}\r\nContent-Type: application/json\r\n"
                f"Authorization: {basic('oxford', 'townhall-dev-oxford')}\r\nTransfer-Encoding: chunked\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
        )
        try:
            for chunk in chunks:
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before taking it all
        data = b""
        while True:
            part = s.recv(65536)
            if not part:
                return data
            data += part


def test_oversized_chunked_body_without_length_gets_413(served):
    """No Content-Length: the body is read up to the limit, never further."""
    chunk = b"{" + b" " * (64 * 1024)
    data = post_chunked(served, [chunk] * 6)  # 384 KiB in all
    status, headers, body, rest = one_answer(data)
    assert status == 413, data[:200]
    assert headers["content-type"] == "application/json" and "256" in json.loads(body)["error"]
    assert rest == b""


def one_answer(data: bytes) -> tuple[int, dict, bytes, bytes]:
    """The status, headers (lower-case names) and body of the first answer in ``data``, and the
    bytes after it (an empty string when the server answered once)."""
    head, _, after = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", len(after)))
    return status, headers, after[:length], after[length:]


def send_raw(served, head: str, body: bytes, hang_up: bool = True) -> bytes:
    """Send a request head and body bytes as given (framing and all), stop sending, read every
    byte the server answers until it closes."""
    url = urlparse(served.url)
    with socket.create_connection((url.hostname, url.port), timeout=15) as s:
        s.sendall(head.encode() + b"\r\n\r\n" + body)
        if hang_up:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                return data
            if not part:
                return data
            data += part


def head_for(method="POST", media="application/json", credential=True, framing="Transfer-Encoding: chunked"):
    lines = [f"{method} / HTTP/1.1", "Host: 127.0.0.1", "Connection: close", framing]
    if media:
        lines.append(f"Content-Type: {media}")
    if credential:
        lines.append(f"Authorization: {basic('oxford', 'townhall-dev-oxford')}")
    return "\r\n".join(lines)


BROKEN_CHUNKS = {
    "bad size": b"zz\r\n{}\r\n0\r\n\r\n",
    "short chunk": b'40\r\n{"a": 1}',  # 64 bytes announced, 8 sent, then the client stops
    "no terminator": b"2\r\n{}XX0\r\n\r\n",
}


@pytest.mark.parametrize("broken", BROKEN_CHUNKS.values(), ids=BROKEN_CHUNKS.keys())
@pytest.mark.parametrize(
    "path, head, expected",
    [
        ("not POST", head_for(method="PUT"), 405),
        ("not JSON", head_for(media="text/plain"), 415),
        ("no credential", head_for(credential=False), 400),
        ("served", head_for(), 400),
    ],
)
def test_a_broken_chunked_body_gets_a_short_json_answer_on_every_path(served, path, head, expected, broken):
    """Whether the webhook reads the body or refuses the request first, a broken chunked body
    never makes a 500, an HTML page, a traceback or a second answer."""
    tracebacks = served.log.read_text(encoding="utf-8").count("Traceback")
    status, headers, body, rest = one_answer(send_raw(served, head, broken))
    assert status == expected, (path, status, body)
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    if expected == 400:
        assert "could not be read" in error
    assert rest == b""
    assert served.log.read_text(encoding="utf-8").count("Traceback") == tracebacks


def test_a_body_shorter_than_its_content_length_gets_400(served):
    status, headers, body, _ = one_answer(
        send_raw(served, head_for(framing="Content-Length: 500"), b'{"session": "proj')
    )
    assert status == 400 and headers["content-type"] == "application/json"
    assert "could not be read" in json.loads(body)["error"]


@pytest.mark.parametrize("method, media", [("POST", "application/json"), ("PUT", "application/json")])
def test_a_body_over_the_limit_by_its_length_is_refused_unread(served, method, media):
    """Content-Length over the limit: 413 (or 405 first) as JSON, the body never read whole."""
    head = head_for(method=method, media=media, framing=f"Content-Length: {50 * 1024 * 1024}")
    status, headers, body, rest = one_answer(send_raw(served, head, b"{" + b" " * 300_000, hang_up=False))
    assert status == (413 if method == "POST" else 405)
    assert headers["content-type"] == "application/json" and json.loads(body)["error"]
    assert rest == b""


def test_a_chunked_request_without_length_is_served(served):
    """Transfer-Encoding: chunked, no Content-Length: read up to the limit and answered."""
    body = json.dumps(request()).encode()
    data = post_chunked(served, [body[:100], body[100:]])
    head, _, reply = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data[:200]
    assert b"Our opening hours are" in reply


# -- authentication and tenant -----------------------------------------------------------------


def test_missing_credentials_get_401_with_challenge(http):
    answer = http.post(request(), tenant=None)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize(
    "header",
    [
        basic("oxford", "wrong-password"),
        basic("nosuchcouncil", "townhall-dev-oxford"),
        basic("oxford", ""),
        "Basic not-base64!!",
        "Bearer abc.def.ghi",
        "Basic " + "b3hmb3Jk",  # "oxford" without a colon
    ],
)
def test_wrong_credentials_get_401(http, header):
    answer = http.post(request(), tenant=None, headers={"Authorization": header})
    assert answer.status == 401
    assert "WWW-Authenticate" in answer.headers
    assert "oxford" not in answer.body.decode() and "cardiff" not in answer.body.decode()


def test_unknown_tenant_and_wrong_password_look_the_same(http):
    unknown = http.post(request(), tenant=None, headers={"Authorization": basic("nosuch", "x")})
    wrong = http.post(request(), tenant=None, headers={"Authorization": basic("oxford", "x")})
    assert unknown.status == wrong.status == 401
    assert unknown.body == wrong.body


def test_a_credential_never_opens_another_tenant(http):
    # Cardiff's valid credential on Oxford's agent's session.
    answer = http.post(request(project=OXFORD), tenant="cardiff")
    assert answer.status == 403
    # An unknown project gets the same answer, revealing nothing about which tenants exist.
    unknown = http.post(request(project="some-other-project"), tenant="cardiff")
    assert unknown.status == 403
    assert answer.body == unknown.body
    assert "oxford" not in answer.body.decode()


def test_payload_never_chooses_the_tenant(http):
    body = request(project=CARDIFF, intent="welcome.hello")
    body["originalDetectIntentRequest"]["payload"] = {"tenant": "oxford", "project": OXFORD}
    answer = http.post(body, tenant="cardiff")
    assert answer.status == 200
    assert "Cardiff Council" in answer.json["fulfillmentText"]
    assert http.post(body, tenant="oxford").status == 403


# -- request checking ---------------------------------------------------------------------------


def _mutate(path, value):
    body = request()
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    "path,value,field",
    [
        (["session"], KeyError, "session"),
        (["session"], 42, "session"),
        (["session"], "projects/townhall-demo-oxford/agents/x/sessions/1", "session"),
        (["session"], "projects/townhall-demo-oxford/agent/sessions/", "session"),
        (["session"], "projects/townhall-demo-oxford/agent/sessions/a/b", "session"),
        (["queryResult"], KeyError, "queryResult"),
        (["queryResult"], [], "queryResult"),
        (["queryResult", "intent"], KeyError, "queryResult.intent"),
        (["queryResult", "intent"], "contact.details", "queryResult.intent"),
        (["queryResult", "intent", "displayName"], None, "queryResult.intent.displayName"),
        (["queryResult", "intent", "displayName"], ["x"], "queryResult.intent.displayName"),
        (["queryResult", "parameters"], "postcode", "queryResult.parameters"),
        (["queryResult", "languageCode"], KeyError, "queryResult.languageCode"),
        (["queryResult", "languageCode"], 1, "queryResult.languageCode"),
        (["queryResult", "queryText"], {"t": 1}, "queryResult.queryText"),
        (["queryResult", "outputContexts"], {}, "queryResult.outputContexts"),
        (["queryResult", "outputContexts"], [1], "queryResult.outputContexts[0]"),
        (["queryResult", "outputContexts"], [{"name": 5}], "queryResult.outputContexts[0].name"),
        (["queryResult", "allRequiredParamsPresent"], "yes", "queryResult.allRequiredParamsPresent"),
        (
            ["queryResult", "outputContexts"],
            [{"name": "x", "lifespanCount": True}],
            "queryResult.outputContexts[0].lifespanCount",
        ),
        (
            ["queryResult", "outputContexts"],
            [{"name": "x", "parameters": []}],
            "queryResult.outputContexts[0].parameters",
        ),
    ],
)
def test_malformed_requests_get_400_naming_the_field(http, path, value, field):
    answer = http.post(_mutate(path, value))
    assert answer.status == 400, answer.json
    assert answer.json["error"].startswith(field + ":"), answer.json


@pytest.mark.parametrize(
    "path,value,error",
    [
        (["session"], KeyError, "session: is missing"),
        (["queryResult", "intent", "displayName"], KeyError, "queryResult.intent.displayName: is missing"),
        (["queryResult", "languageCode"], 1, "queryResult.languageCode: must be a string"),
        (["queryResult", "outputContexts"], {}, "queryResult.outputContexts: must be a list"),
    ],
)
def test_a_400_says_what_is_wrong_in_plain_words(http, path, value, error):
    answer = http.post(_mutate(path, value))
    assert (answer.status, answer.json) == (400, {"error": error})


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b"[1,2]", b"null", b'"text"', b"NaN", b'{"session": NaN}', b"\xff\xfe", b"[" * 5000 + b"]" * 5000],
)
def test_non_json_or_non_object_bodies_get_400(http, data):
    answer = http.raw(data, {"Content-Type": "application/json", **auth_for("oxford")})
    assert answer.status == 400, answer.body
    assert set(answer.json) == {"error"}


def test_unknown_fields_are_ignored(http):
    body = request()
    body["alternativeQueryResults"] = [{"queryText": "x"}]  # sent by V2beta1 agents
    body["queryResult"]["somethingNew"] = {"a": 1}
    assert http.post(body).status == 200


@pytest.mark.parametrize(
    "session",
    [
        "projects/townhall-demo-oxford/agent/sessions/abc-123",
        "projects/townhall-demo-oxford/agent/environments/draft/users/-/sessions/abc-123",
        "projects/townhall-demo-oxford/locations/europe-west2/agent/sessions/abc-123",
        "projects/townhall-demo-oxford/locations/europe-west2/agent/environments/live/users/u1/sessions/s1",
    ],
)
def test_every_session_form_is_served_and_contexts_sit_under_it(http, session):
    body = request(intent="fallback.unknown")
    body["session"] = session
    answer = http.post(body)
    assert answer.status == 200
    names = [c["name"] for c in answer.json["outputContexts"]]
    assert names == [f"{session}/contexts/fallback-misses"]


# -- replies ---------------------------------------------------------------------------------------


def test_welcome_names_the_council_and_offers_quick_replies(http):
    data = http.turn("oxford", "welcome.hello")
    assert "Oxford City Council" in data["fulfillmentText"]
    kinds = [next(iter(m)) for m in data["fulfillmentMessages"]]
    assert kinds.count("quickReplies") == 1 and kinds.count("payload") == 1
    quick = next(m["quickReplies"]["quickReplies"] for m in data["fulfillmentMessages"] if "quickReplies" in m)
    assert "Contact the council" in quick
    chips = next(m["payload"]["richContent"] for m in data["fulfillmentMessages"] if "payload" in m)
    assert {"text": "Contact the council"} in chips[0][-1]["options"]


def test_replies_in_welsh_when_the_council_offers_it(http):
    welsh = http.turn("cardiff", "welcome.hello", language_code="cy")
    assert "Cyngor Caerdydd" in welsh["fulfillmentText"]
    assert "Cysylltu â'r cyngor" in welsh["fulfillmentText"]
    regional = http.turn("cardiff", "welcome.hello", language_code="cy-GB")
    assert regional["fulfillmentText"] == welsh["fulfillmentText"]


def test_english_when_the_council_does_not_offer_the_language(http):
    data = http.turn("oxford", "welcome.hello", language_code="cy")
    assert "Hello" in data["fulfillmentText"]
    data = http.turn("cardiff", "welcome.hello", language_code="fr")
    assert "Hello" in data["fulfillmentText"]


def test_unknown_intent_gets_a_helpful_reply(http):
    for intent in ["nosuch.process", "contact.nosuch", "", "Default Fallback Intent"]:
        data = http.turn("oxford", intent)
        text = data["fulfillmentText"]
        assert "I can help with: Contact the council, Common questions" in text
        assert "01632 960001" in text


def test_links_are_rich_content_buttons(http):
    data = http.turn("oxford", "faq.ask", parameters={"topic": "bulky-waste"})
    rich = next(m["payload"]["richContent"] for m in data["fulfillmentMessages"] if "payload" in m)
    buttons = [item for item in rich[0] if item["type"] == "button"]
    assert buttons[0]["link"] == "https://example.org/demo/oxford/bulky-waste"


def test_each_turn_logs_one_structured_line(served, http):
    trace = "0af7651916cd43dd8448eb211c80319c"
    body = request(intent="contact.details", session_id="log-check-session")
    http.post(body, headers={"X-Cloud-Trace-Context": f"{trace}/1;o=1"})
    turns = [
        line
        for line in served.log_lines()
        if line.get("message") == "turn" and line.get("logging.googleapis.com/trace", "").endswith(trace)
    ]
    assert len(turns) == 1
    line = turns[0]
    assert line["severity"] == "INFO"
    assert line["tenant"] == "oxford" and line["intent"] == "contact.details"
    assert line["outcome"] == "ok" and line["status"] == 200
    assert isinstance(line["latency_ms"], (int, float))


def test_the_example_request_file_works(http):
    from support import REPO

    body = json.loads((REPO / "examples" / "request.json").read_text())
    answer = http.post(copy.deepcopy(body))
    assert answer.status == 200
    assert "opening hours" in answer.json["fulfillmentText"]


def test_a_body_that_stops_arriving_is_refused_and_frees_its_thread(served):
    """The client announces 500 bytes, sends 20 and waits without closing: the webhook stops
    waiting for the rest (it does not hold a server thread for as long as the client likes)."""
    status, headers, body, _ = one_answer(
        send_raw(served, head_for(framing="Content-Length: 500"), b'{"session": "projects', hang_up=False)
    )
    assert status == 400 and headers["content-type"] == "application/json"
    assert "could not be read" in json.loads(body)["error"]
