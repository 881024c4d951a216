"""What the conversation has collected so far, carried in the ``report_problem-report`` context.

Dialogflow gives the context back on every turn, so the flow holds no instance memory. Context
parameters come from outside, so every value is checked as it is read. Their names differ from
the intents' parameter names (``category``, ``postcode``, ``email``, ``phone``, ``part``), which
Dialogflow writes into the contexts an intent affects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from townhall.contract import Context, OutputContext
from townhall.upstreams.notify import Contact

from .answers import Question
from .categories import Category

DATA = "report_problem-report"
LIFESPAN = 5  # turns the collected report survives a detour
STEP_LIFESPAN = 2
# Each step's context lets its own intents match; anything else typed reaches the fallback
# intent of the report_problem-report context, which is read as the answer to the step too.
STEP_CONTEXTS = {
    "category": "report_problem-category",
    "location": "report_problem-location",
    "contact": "report_problem-contact",
    "confirm": "report_problem-confirm",
}
STEPS = ("category", "question", "location", "details", "contact", "confirm", "done")
MAX_TEXT = 4000
SKIPPED = "none"


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    return value[:limit] if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class Flow:
    asked: str = "category"  # the step the last reply asked about
    category: Category | None = None
    group: str | None = None  # the group whose categories were offered
    questions: tuple[Question, ...] = ()  # still to ask
    answers: Mapping[str, Any] = field(default_factory=dict)  # attribute code -> value
    shown_answers: tuple[tuple[str, str], ...] = ()  # (question, answer) as the resident saw them
    place: Mapping[str, str] | None = None  # {"postcode"?, "text"}
    details: str | None = None
    contact: Contact | str | None = None  # a Contact, SKIPPED, or None (not asked yet)
    submitted: Mapping[str, Any] | None = None  # the once result, after sending

    # -- context <-> flow

    @classmethod
    def from_context(cls, context: Context | None) -> Flow | None:
        if context is None:
            return None
        p = context.parameters
        asked = p.get("step") if p.get("step") in STEPS else "category"
        questions = tuple(q for q in (Question.from_json(x) for x in p.get("questions") or [] if x) if q)
        answers = p.get("answers") if isinstance(p.get("answers"), Mapping) else {}
        answers = {
            str(k)[:100]: v
            for k, v in answers.items()
            if isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        }
        shown = tuple(
            (str(x[0])[:300], str(x[1])[:300])
            for x in p.get("shown_answers") or []
            if isinstance(x, (list, tuple)) and len(x) == 2
        )
        place = p.get("place")
        if isinstance(place, Mapping) and _text(place.get("text"), 300):
            place = {k: str(v)[:300] for k, v in place.items() if k in ("postcode", "text") and isinstance(v, str)}
        else:
            place = None
        reach = p.get("reach")
        contact = SKIPPED if reach == SKIPPED else Contact.from_json(reach)
        submitted = p.get("submitted") if isinstance(p.get("submitted"), Mapping) else None
        return cls(
            asked,
            Category.from_json(p.get("service")),
            _text(p.get("group"), 200),
            questions,
            answers,
            shown,
            place,
            _text(p.get("details")),
            contact,
            submitted,
        )

    def parameters(self) -> dict:
        p: dict[str, Any] = {"step": self.asked}
        if self.category:
            p["service"] = self.category.to_json()
        if self.group:
            p["group"] = self.group
        if self.questions:
            p["questions"] = [q.to_json() for q in self.questions]
        if self.answers:
            p["answers"] = dict(self.answers)
            p["shown_answers"] = [list(x) for x in self.shown_answers]
        if self.place:
            p["place"] = dict(self.place)
        if self.details:
            p["details"] = self.details
        if self.contact == SKIPPED:
            p["reach"] = SKIPPED
        elif isinstance(self.contact, Contact):
            p["reach"] = self.contact.to_json()
        if self.submitted:
            p["submitted"] = dict(self.submitted)
        return p

    def contexts(self) -> list[OutputContext]:
        """The data context, the context of the step asked (its intents can match) and the other
        steps' contexts cleared."""
        out = [OutputContext(DATA, LIFESPAN, self.parameters())]
        for step, name in STEP_CONTEXTS.items():
            out.append(OutputContext(name, STEP_LIFESPAN if step == self.asked else 0))
        return out

    # -- progress

    def next_step(self) -> str:
        """The first thing still missing, else the confirmation."""
        if self.category is None:
            return "category"
        if self.questions:
            return "question"
        if self.place is None:
            return "location"
        if self.details is None:
            return "details"
        if self.contact is None:
            return "contact"
        return "confirm"

    def with_(self, **changes: Any) -> Flow:
        return replace(self, **changes)

    def key(self, conversation: str) -> str:
        """The once-key of this report: the conversation and every confirmed detail."""
        contact = self.contact.address if isinstance(self.contact, Contact) else None
        detail = json.dumps(
            [
                self.category.tier if self.category else None,
                self.category.code if self.category else None,
                self.answers,
                self.place,
                self.details,
                contact,
            ],
            sort_keys=True,
            ensure_ascii=False,
        )
        return f"report_problem:{conversation}:{hashlib.sha256(detail.encode('utf-8')).hexdigest()}"
