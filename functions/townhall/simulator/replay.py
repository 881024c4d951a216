"""Replay the library's scripted conversations through the simulator: free text in, replies out
(development and testing tool, not a replacement for Dialogflow).

For each turn: the simulator classifies ``say`` (it must match ``intent``), extracts parameters
(they must include the turn's ``parameters``, compared in normalised form), carries contexts as
Dialogflow would, follows follow-up events, and the webhook's reply is checked against
``expect``. A failure names the file, the turn, what was expected and what came.

Conversation files: ``library/<process>/conversations/<name>.yaml`` (see docs/simulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from ..yamlio import load_yaml
from .entities import postcode
from .session import Result, Session

LANGUAGE_KEYS = {"en", "cy"}


class ConversationError(Exception):
    """A conversation file is malformed; the message names the file and the fix."""


@dataclass(frozen=True)
class Step:
    say: str
    intent: str
    parameters: Mapping[str, Any]
    expect: Mapping[str, Any]


@dataclass(frozen=True)
class Conversation:
    path: Path
    process: str
    description: str
    tenants: tuple[str, ...] | None  # None: every example tenant that switches the process on
    language: str
    now: str | None
    turns: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return f"{self.process}/{self.path.stem}"


EXPECT_KEYS = {"says", "not_says", "quick_replies", "contexts", "event"}


def _strings(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ConversationError(f"{where}: must be a string or a list of strings")


def load_conversation(path: Path) -> Conversation:
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("turns"), list) or not doc["turns"]:
        raise ConversationError(f"{path}: must be a mapping with a non-empty list 'turns'")
    language = doc.get("language", "en")
    if language not in LANGUAGE_KEYS:
        raise ConversationError(f"{path}: language {language!r}: use en or cy")
    tenants = doc.get("tenants")
    if tenants is not None:
        tenants = tuple(_strings(tenants, f"{path}: tenants"))
    turns = []
    for i, t in enumerate(doc["turns"], 1):
        where = f"{path}: turn {i}"
        if not isinstance(t, dict) or not isinstance(t.get("say"), str) or not isinstance(t.get("intent"), str):
            raise ConversationError(f"{where}: needs 'say' (text) and 'intent' (display name)")
        expect = t.get("expect") or {}
        if not isinstance(expect, dict) or set(expect) - EXPECT_KEYS:
            raise ConversationError(f"{where}: expect may hold only {', '.join(sorted(EXPECT_KEYS))}")
        parameters = t.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ConversationError(f"{where}: parameters must be a mapping")
        turns.append(Step(t["say"], t["intent"], parameters, expect))
    now = doc.get("now")
    if now is not None:
        try:
            datetime.fromisoformat(str(now))
        except ValueError:
            raise ConversationError(f"{path}: now {now!r}: write an ISO local time, 2026-12-01T10:00:00") from None
    return Conversation(path, path.parent.parent.name, str(doc.get("description", "")), tenants, language,
                        str(now) if now is not None else None, tuple(turns))


def load_all(library_root: Path) -> list[Conversation]:
    return [load_conversation(p) for p in sorted(Path(library_root).glob("*/conversations/*.yaml"))]


# -- checking --------------------------------------------------------------------------------------


def normalised(value: Any) -> Any:
    """Parameters compared as values: dates by their day, postcodes by their normal form."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 10 and text[:4].isdigit() and text[4] == "-" and text[7] == "-":
            return text[:10]  # "2026-12-02T12:00:00+00:00" and "2026-12-02" are the same day
        code = postcode(text)
        return code if code else text.casefold()
    return value


def check_turn(step: Step, result: Result, council: str) -> list[str]:
    problems = []
    if result.matched != step.intent:
        problems.append(f"matched {result.matched or '(nothing)'} (confidence {result.confidence:.2f}), "
                        f"expected {step.intent}")
        return problems
    for name, value in step.parameters.items():
        got = result.parameters.get(name, "")
        if normalised(got) != normalised(value):
            problems.append(f"parameter {name}: extracted {got!r}, expected {value!r}")
    if result.error:
        problems.append(result.error)
        return problems
    reply = result.reply.casefold()
    expect = step.expect

    def fill(text: str) -> str:
        return text.replace("{council}", council)

    for text in _strings(expect.get("says", []), "says"):
        if fill(text).casefold() not in reply:
            problems.append(f"reply lacks {fill(text)!r}: {result.reply!r}")
    for text in _strings(expect.get("not_says", []), "not_says"):
        if fill(text).casefold() in reply:
            problems.append(f"reply says {fill(text)!r}: {result.reply!r}")
    offered = [q.casefold() for q in result.quick_replies]
    for text in _strings(expect.get("quick_replies", []), "quick_replies"):
        if not any(fill(text).casefold() in q for q in offered):
            problems.append(f"no quick reply {fill(text)!r} among {result.quick_replies}")
    for name in _strings(expect.get("contexts", []), "contexts"):
        if name.lower() not in result.contexts:
            problems.append(f"context {name!r} not active after the turn (active: {sorted(result.contexts)})")
    if "event" in expect and expect["event"] not in result.events:
        problems.append(f"the webhook returned events {result.events}, expected {expect['event']!r}")
    return problems


def replay(conversation: Conversation, session: Session, council: str) -> list[str]:
    """Every problem, each naming the file and turn; the replay stops at the first failing turn."""
    for i, step in enumerate(conversation.turns, 1):
        result = session.say(step.say)
        problems = check_turn(step, result, council)
        if problems:
            return [f"{conversation.path}: turn {i} ({step.say!r}): {p}" for p in problems]
    return []
