"""The process contract: what a handler receives and what it returns.

A process handler is a pure function ``handle(turn, settings) -> Reply``. It never sees Flask,
Firestore or Dialogflow's wire format: ``townhall.wire`` turns a WebhookRequest into a ``Turn`` and
a ``Reply`` into a WebhookResponse. Everything here is plain, immutable data.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

CONTEXT_NAME = re.compile(r"^[a-z0-9_-]{1,100}$")
EVENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,150}$")


@dataclass(frozen=True)
class Context:
    """An input context of the turn (an active Dialogflow context), by its short name."""

    name: str
    lifespan: int
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Deadline:
    """The time a handler has left in this turn (monotonic clock)."""

    expires_at: float

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)


class Turn(NamedTuple):
    """One resident turn, parsed and checked (immutable; built on every turn, so a named tuple).

    ``parameters`` holds only the values the resident gave: Dialogflow's ``""`` (not yet collected)
    and ``null`` are left out. ``intent`` is the full display name (``contact.opening_hours``),
    ``action`` the part after the process prefix (``opening_hours``).
    """

    intent: str
    action: str
    parameters: Mapping[str, Any]
    contexts: Mapping[str, Context]
    language: str
    query_text: str
    now: datetime
    deadline: Deadline
    all_required_params_present: bool = True
    conversation: str = ""  # an opaque, stable id of the conversation (a hash of the session)

    def param(self, name: str, default: Any = None) -> Any:
        return self.parameters.get(name, default)

    def context(self, name: str) -> Context | None:
        return self.contexts.get(name)


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class OutputContext:
    """A context to set (lifespan > 0) or clear (lifespan 0) after this turn, by short name."""

    name: str
    lifespan: int
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not CONTEXT_NAME.match(self.name):
            raise ValueError(f"context name {self.name!r} must match {CONTEXT_NAME.pattern}")
        if not 0 <= self.lifespan <= 100:
            raise ValueError(f"context lifespan {self.lifespan} must be 0..100")


@dataclass(frozen=True)
class Event:
    """A follow-up event: Dialogflow matches the intent listening for it and ignores the text."""

    name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not EVENT_NAME.match(self.name):
            raise ValueError(f"event name {self.name!r} must match {EVENT_NAME.pattern}")


@dataclass(frozen=True)
class Reply:
    """What a handler returns: text paragraphs, choices, links, contexts and an optional event."""

    text: tuple[str, ...]
    quick_replies: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    contexts: tuple[OutputContext, ...] = ()
    event: Event | None = None

    def __init__(self, text, quick_replies=(), links=(), contexts=(), event=None):
        fields = self.__dict__  # frozen: set once, here (quicker than object.__setattr__ each)
        fields["text"] = text = (text,) if isinstance(text, str) else tuple(text)
        fields["quick_replies"] = tuple(quick_replies)
        fields["links"] = tuple(links)
        fields["contexts"] = tuple(contexts)
        fields["event"] = event
        if not text and event is None:
            raise ValueError("a reply needs some text or a follow-up event")


@dataclass(frozen=True)
class Contact:
    phone: str | None = None
    email: str | None = None
    web_form: str | None = None
    website: str | None = None


@dataclass(frozen=True)
class Service:
    """A process the council has switched on, as offered to residents (a quick-reply label)."""

    process: str
    label: str


@dataclass(frozen=True)
class Council:
    """The tenant's core settings a handler may use, with labels in the turn's language.

    ``gss_code`` is the council's ONS local authority code (``E07000178``), to tell whether a
    postcode's area is the council's own.
    """

    id: str
    name: str
    contact: Contact
    languages: tuple[str, ...]
    services: tuple[Service, ...]
    gss_code: str = ""

    def offers(self, process: str) -> bool:
        return any(s.process == process for s in self.services)


class Texts:
    """A process's user-facing replies in one language (English where a key is missing)."""

    def __init__(self, language: str, messages: Mapping[str, str], english: Mapping[str, str]):
        self.language = language
        self._messages = messages
        self._english = english

    def __call__(self, key: str, **values: Any) -> str:
        template = self._messages.get(key)
        if template is None:
            template = self._english.get(key)
        if template is None:
            raise KeyError(f"no message {key!r} in English or {self.language!r}")
        return template.format(**values) if values else template

    def __contains__(self, key: str) -> bool:
        return key in self._messages or key in self._english


@dataclass(frozen=True)
class Settings:
    """What a handler gets besides the turn: the council, its own settings and its own texts.

    ``prepared`` is what the process's optional ``prepare(settings)`` made of them: work that
    depends on the settings alone, done once per settings load and language, not on every turn.
    ``upstream`` (a ``townhall.upstream.Upstream``) is given to processes whose manifest says
    ``upstream: true``: HTTP with deadlines, the tenant's secrets and once-only side effects.
    """

    council: Council
    process: Mapping[str, Any]
    texts: Texts
    prepared: Any = None
    upstream: Any = None


Handler = Callable[[Turn, Settings], Reply]
