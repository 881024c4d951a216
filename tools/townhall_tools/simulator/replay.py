"""Replay the library's scripted conversations through the simulator: free text in, replies out
(development and testing tool, not a replacement for Dialogflow).

The files and their format belong to ``townhall_tools.conversations`` (one loader). Where its own
replay sends each turn's ``intent`` straight to the webhook, this one types ``say``: the simulator
must match ``intent`` from the text, extract at least the turn's ``parameters`` (compared in
normalised form), carry contexts and follow follow-up events as Dialogflow would; then the
webhook's reply is checked against ``expect`` with ``townhall_tools.conversations.check``. Every failure
names the file, the turn, what was expected and what came.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from townhall.postcodes import normalise as postcode

from .. import conversations
from .session import Result, Session


def normalised(value: Any) -> Any:
    """Parameters compared as values: numbers as numbers, dates by their day, postcodes by their
    standard form, other text ignoring case."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    text = str(value).strip()
    if len(text) >= 10 and text[:4].isdigit() and text[4] == "-" and text[7] == "-":
        return text[:10]  # "2026-12-02T12:00:00+00:00" and "2026-12-02" are the same day
    return postcode(text) or text.casefold()


def check_turn(step: conversations.Step, result: Result, council: str) -> list[str]:
    if result.matched != step.intent:
        return [
            f"the simulator matched {result.matched or '(nothing)'} (confidence {result.confidence:.2f}), "
            f"expected {step.intent}"
        ]
    problems = []
    for name, value in step.parameters.items():
        got = result.parameters.get(name, "")
        if normalised(got) != normalised(value):
            problems.append(f"parameter {name!r}: extracted {got!r}, expected {value!r}")
    if result.error:
        return problems + [result.error]
    if not result.responses:
        return problems + ["the webhook was not called"]
    # an expected event is checked on the answer that returned it, as townhall_tools.conversations does
    response = result.responses[0] if "event" in step.expect else result.responses[-1]
    active = SimpleNamespace(active=result.contexts)
    return problems + conversations.check(step.expect, response, active, council)


def replay(conversation: conversations.Conversation, session: Session, council: str) -> list[str]:
    """Every problem, each naming the file and turn; the replay stops at the first failing turn."""
    for number, step in enumerate(conversation.steps, 1):
        result = session.say(step.say)
        problems = check_turn(step, result, council)
        if problems:
            return [f"{conversation.path}: turn {number} ({step.say!r} -> {step.intent}): {p}" for p in problems]
    return []
