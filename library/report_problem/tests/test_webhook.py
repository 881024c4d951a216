"""report_problem through the served webhook over HTTP: Dialogflow repeating a turn sends nothing twice."""

from __future__ import annotations

import uuid

import requests
from support import PROJECTS

from townhall import wire
from townhall_tools.conversations import Contexts, reply_text


class Session:
    def __init__(self, http, tenant="oxford", language="en"):
        self.http, self.tenant, self.language = http, tenant, language
        self.id = f"report-{uuid.uuid4().hex[:16]}"
        self.contexts = Contexts()

    def body(self, intent, text, **parameters):
        body = wire.build_request(
            PROJECTS[self.tenant],
            intent,
            parameters=parameters,
            text=text,
            language_code=self.language,
            session_id=self.id,
        )
        body["queryResult"]["outputContexts"] = self.contexts.for_request(body["session"])
        return body

    def send(self, body):
        answer = self.http.post(body, self.tenant)
        assert answer.status == 200, answer.json
        self.contexts.after(answer.json)
        return answer.json

    def say(self, intent, text, **parameters):
        return self.send(self.body(intent, text, **parameters))


def posts(served_fakes, marker):
    found = requests.get(f"{served_fakes.url}/open311/_received", timeout=5).json()["requests"]
    return [p for p in found if marker in p["fields"].get("description", "")]


def test_a_repeated_confirmation_sends_one_report_and_one_message(http, served_fakes):
    marker = uuid.uuid4().hex
    chat = Session(http)
    chat.say("report_problem.report", "theres a pothole on my road", category="pothole")
    chat.say("report_problem.location", "Iffley Road by the Co-op")
    chat.say("report_problem.answer", f"A deep pothole in the bus lane {marker}")
    chat.say("report_problem.contact", "demo.resident@example.org", email="demo.resident@example.org")
    confirm = chat.body("report_problem.confirm", "Yes, send it")
    first = reply_text(chat.send(confirm))
    second = reply_text(chat.send(confirm))  # Dialogflow calling the webhook again with the same request
    [post] = posts(served_fakes, marker)
    reference = post["service_request_id"]
    assert post["council"] == "oxfordshire" and reference.startswith("OCC-")
    assert f"Your reference is {reference}." in first and f"Your reference is {reference}." in second
    sent = requests.get(f"{served_fakes.url}/notify/_received", timeout=5).json()["notifications"]
    assert [n["reference"] for n in sent].count(reference) == 1


def test_contact_details_and_descriptions_stay_out_of_the_logs(http, served, served_fakes):
    marker = f"zebracrossing{uuid.uuid4().hex[:8]}"
    chat = Session(http, "cardiff")
    chat.say("report_problem.report", "dog mess", category="dog fouling")
    chat.say("report_problem.location", "Outside 7 Heol Eglwys Fair, CF10 1EP", postcode="CF10 1EP")
    chat.say("report_problem.answer", f"Dog mess all over the path {marker}")
    chat.say("report_problem.contact", "07700 900246", phone="07700 900246")
    assert "Your reference is CAR-" in reply_text(chat.say("report_problem.confirm", "Yes, send it"))
    log = served.log.read_text(encoding="utf-8")
    for secret in (marker, "900246", "Eglwys Fair", "CF10 1EP"):
        assert secret not in log, secret
