"""Scripted conversations: the library's end-to-end tests, written as YAML beside each process.

    # library/<process>/conversations/<name>.yaml
    description: Resident asks when the council is open
    tenants: [oxford, cardiff]        # optional; default: every example tenant enabling the process
    language: en                      # en | cy (default en); one language per conversation
    now: "2026-12-01T10:00:00"        # optional London wall-clock time for the webhook
    turns:
      - say: "when r u open"          # what the resident types (the simulator classifies it)
        intent: contact.opening_hours # what Dialogflow matches (the webhook replay sends it)
        parameters: {}                # optional: what Dialogflow extracts from the text
        expect:                       # all optional; case-insensitive substring checks
          says: ["open", "{council}"] # {council} is the tenant's name in that language
          not_says: ["sorry"]
          quick_replies: ["Opening hours"]
          contexts: ["contact-followup"]  # active (lifespan > 0) after the turn
          event: SOME_EVENT               # the follow-up event the webhook returned
          sent: 0                         # nothing reached any upstream fake during this turn
          # or per upstream: sent: {open311: 1, notify: 0, pay: 0} (those named are checked)

``tests/test_conversations.py`` replays every conversation through the webhook over HTTP, carrying
output contexts between turns as Dialogflow does; the offline simulator replays the same files from
the free text. ``now`` reaches the webhook as the ``X-Townhall-Now`` header, which a server honours
only with ``TOWNHALL_DEV_CLOCK=1`` (development and tests).

``sent`` counts what the upstream fakes accepted during the turn (``received``: Open311 reports
stored, Notify notifications sent, GOV.UK Pay payments created), read from the fakes' own records
before and after the turn: ``sent: 0`` says the turn had no side effect at all; ``sent: {open311:
1}`` says exactly one report went. Both replays check it (the simulator's through ``SentCheck``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from townhall.library import Library, LibraryError, compile_schema
from townhall.yamlio import load_yaml

_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["description", "turns"],
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string", "minLength": 3},
        "tenants": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "language": {"enum": ["en", "cy"]},
        "now": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$"},
        "turns": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["say", "intent"],
                "additionalProperties": False,
                "properties": {
                    "say": {"type": "string", "minLength": 1},
                    "intent": {"type": "string", "pattern": r"^[a-z0-9_]+\.[a-z0-9_.]+$"},
                    "parameters": {"type": "object"},
                    "expect": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "says": _STRINGS,
                            "not_says": _STRINGS,
                            "quick_replies": _STRINGS,
                            "contexts": _STRINGS,
                            "event": {"type": "string"},
                            "sent": {
                                "oneOf": [
                                    {"type": "integer", "minimum": 0},
                                    {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "minProperties": 1,
                                        "properties": {
                                            name: {"type": "integer", "minimum": 0}
                                            for name in ("open311", "notify", "pay")
                                        },
                                    },
                                ]
                            },
                        },
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Step:
    say: str
    intent: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Conversation:
    path: Path
    process: str
    description: str
    language: str
    steps: tuple[Step, ...]
    tenants: tuple[str, ...] | None = None  # None: every example tenant that enables the process
    now: str | None = None

    @property
    def name(self) -> str:
        return f"{self.process}/{self.path.stem}"


_validator = None


def load(path: Path, process: str) -> Conversation:
    global _validator
    if _validator is None:
        _validator = compile_schema(SCHEMA)
    doc = load_yaml(path)
    errors = sorted(_validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "(top)"
        raise LibraryError(f"{path}: {where}: {errors[0].message}")
    steps = tuple(Step(t["say"], t["intent"], t.get("parameters", {}), t.get("expect", {})) for t in doc["turns"])
    tenants = tuple(doc["tenants"]) if "tenants" in doc else None
    return Conversation(path, process, doc["description"], doc.get("language", "en"), steps, tenants, doc.get("now"))


def load_all(library: Library) -> list[Conversation]:
    """Every conversation of every process, sorted by process and file name."""
    found = []
    for process in sorted(library.processes.values(), key=lambda p: p.id):
        for path in sorted((process.folder / "conversations").glob("*.yaml")):
            found.append(load(path, process.id))
    return found


def cases(library: Library, tenants: Mapping[str, Mapping[str, Any]]) -> list[tuple[Conversation, str]]:
    """(conversation, tenant id) pairs to replay: the tenants named, or every example tenant that
    enables the process and offers the conversation's language."""
    pairs = []
    for conversation in load_all(library):
        names = conversation.tenants or tuple(sorted(tenants))
        for tenant_id in names:
            doc = tenants.get(tenant_id)
            if doc is None:
                raise LibraryError(f"{conversation.path}: tenants: no example tenant {tenant_id!r}")
            enabled = conversation.process in (doc.get("processes") or {})
            if conversation.tenants is None and (not enabled or conversation.language not in doc["languages"]):
                continue
            pairs.append((conversation, tenant_id))
    return pairs


def event_intents(library: Library) -> dict[str, str]:
    """Event name -> the intent listening for it (what Dialogflow matches on a follow-up event)."""
    found = {}
    for process in library.processes.values():
        for intent in process.manifest.get("intents", []):
            for event in intent.get("events", []) or []:
                found[event] = intent["name"]
    return found


class Contexts:
    """Active contexts as Dialogflow keeps them: lifespans count down per turn, outputs replace."""

    def __init__(self) -> None:
        self.active: dict[str, tuple[int, dict]] = {}

    def for_request(self, session: str) -> list[dict]:
        return [
            {"name": f"{session}/contexts/{name}", "lifespanCount": life, "parameters": params}
            for name, (life, params) in sorted(self.active.items())
        ]

    def after(self, response: Mapping[str, Any]) -> None:
        self.active = {n: (life - 1, p) for n, (life, p) in self.active.items() if life > 1}
        for context in response.get("outputContexts", []):
            name = context["name"].rsplit("/contexts/", 1)[1]
            life = int(context.get("lifespanCount", 0))
            if life > 0:
                self.active[name] = (life, dict(context.get("parameters", {})))
            else:
                self.active.pop(name, None)


def reply_text(response: Mapping[str, Any]) -> str:
    parts = [response.get("fulfillmentText", "")]
    for message in response.get("fulfillmentMessages", []):
        parts += message.get("text", {}).get("text", [])
    return "\n".join(parts)


def quick_replies(response: Mapping[str, Any]) -> list[str]:
    found = []
    for message in response.get("fulfillmentMessages", []):
        found += message.get("quickReplies", {}).get("quickReplies", [])
    return found


def check(expect: Mapping[str, Any], response: Mapping[str, Any], contexts: Contexts, council: str) -> list[str]:
    """What in ``expect`` the response (and the contexts after it) fails; empty when all holds."""
    problems = []
    text = reply_text(response).casefold()

    def fill(s: str) -> str:
        return s.replace("{council}", council).casefold()

    for s in expect.get("says", []):
        if fill(s) not in text:
            problems.append(f"reply does not say {fill(s)!r}")
    for s in expect.get("not_says", []):
        if fill(s) in text:
            problems.append(f"reply says {fill(s)!r}")
    offered = [q.casefold() for q in quick_replies(response)]
    for s in expect.get("quick_replies", []):
        if fill(s) not in offered:
            problems.append(f"quick reply {fill(s)!r} not offered (offered: {offered})")
    for name in expect.get("contexts", []):
        if name not in contexts.active:
            problems.append(f"context {name!r} not active (active: {sorted(contexts.active)})")
    if "event" in expect:
        got = (response.get("followupEventInput") or {}).get("name")
        if got != expect["event"]:
            problems.append(f"follow-up event {got!r}, expected {expect['event']!r}")
    if problems:
        problems.append(f"the reply was: {reply_text(response)[:600]!r}")
    return problems


# -- side effects: what the upstream fakes received ---------------------------------------------

# upstream -> (the fake's record of what it received, how many side effects that record holds)
UPSTREAMS: dict[str, tuple[str, Callable[[Any], int]]] = {
    "open311": ("/open311/_received", lambda doc: len(doc["requests"])),
    "notify": ("/notify/_received", lambda doc: len(doc["notifications"])),
    "pay": (
        "/pay/_fake/requests",
        lambda doc: sum(1 for r in doc if r["method"] == "POST" and r["path"].rstrip("/").endswith("/payments")),
    ),
}
Received = Callable[[], Mapping[str, int]]  # () -> side effects so far, by upstream


def received(fakes_url: str) -> dict[str, int]:
    """Side effects the fakes served at ``fakes_url`` have accepted so far, by upstream."""
    import json

    counts = {}
    for name, (path, count) in UPSTREAMS.items():
        with urlopen(fakes_url.rstrip("/") + path, timeout=10) as answer:  # noqa: S310 - loopback fakes
            counts[name] = count(json.loads(answer.read()))
    return counts


def check_sent(expected: int | Mapping[str, int], before: Mapping[str, int], after: Mapping[str, int]) -> list[str]:
    """What the turn's ``sent`` expectation fails, given the counts before and after it."""
    during = {name: after[name] - before[name] for name in UPSTREAMS}
    if isinstance(expected, int):
        total = sum(during.values())
        return (
            [] if total == expected else [f"{total} side effect(s) sent during the turn, expected {expected}: {during}"]
        )
    return [
        f"{during[name]} sent to {name} during the turn, expected {want}"
        for name, want in expected.items()
        if during[name] != want
    ]


class SentCheck:
    """A session (anything with ``say(text)``) that checks each turn's ``sent`` expectation, in the
    conversation's order, against ``received``; ``failures`` collects what failed."""

    def __init__(self, session: Any, conversation: Conversation, received: Received):
        self.session, self.conversation, self.received = session, conversation, received
        self.turn = 0
        self.failures: list[str] = []

    def say(self, text: str) -> Any:
        step = self.conversation.steps[self.turn] if self.turn < len(self.conversation.steps) else None
        self.turn += 1
        if step is None or "sent" not in step.expect:
            return self.session.say(text)
        before = self.received()
        result = self.session.say(text)
        for problem in check_sent(step.expect["sent"], before, self.received()):
            self.failures.append(
                f"{self.conversation.path}: turn {self.turn} ({step.say!r} -> {step.intent}): {problem}"
            )
        return result


Send = Callable[[dict, "str | None"], dict]  # (WebhookRequest, now) -> WebhookResponse


def replay(
    conversation: Conversation,
    project: str,
    council: str,
    send: Send,
    events: Mapping[str, str],
    session_id: str,
    received: Received | None = None,
) -> list[str]:
    """Play the conversation's intents and parameters through ``send``, as Dialogflow would.

    Returns the failures, each naming the file and turn. A follow-up event in a response is
    followed (the listening intent is sent with the event's parameters) before checking.
    ``received`` counts the fakes' side effects, for turns that ``expect`` what was ``sent``.
    """
    from townhall import wire

    contexts = Contexts()
    for number, step in enumerate(conversation.steps, 1):
        intent, parameters, text = step.intent, dict(step.parameters), step.say
        response: dict = {}
        counting = "sent" in step.expect
        if counting and received is None:
            return [f"{conversation.path}: turn {number}: expects what was sent, but the replay cannot count it"]
        before = received() if counting and received else {}
        for _ in range(3):  # a turn and at most two follow-up events
            body = wire.build_request(
                project,
                intent,
                parameters=parameters,
                text=text,
                language_code=conversation.language,
                session_id=session_id,
            )
            body["queryResult"]["outputContexts"] = contexts.for_request(body["session"])
            response = send(body, conversation.now)
            contexts.after(response)
            event = response.get("followupEventInput")
            if not event or "event" in step.expect:
                break
            intent = events.get(event["name"])
            if intent is None:
                return [f"{conversation.path}: turn {number}: no intent listens for event {event['name']!r}"]
            parameters, text = dict(event.get("parameters", {})), event["name"]
        failures = check(step.expect, response, contexts, council)
        if counting and received:
            failures = check_sent(step.expect["sent"], before, received()) + failures
        if failures:
            return [f"{conversation.path}: turn {number} ({step.say!r} -> {step.intent}): {f}" for f in failures]
    return []
