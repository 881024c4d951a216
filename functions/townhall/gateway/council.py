"""A council as the chat gateway serves it: the tenant's ``chat`` settings, compiled once per
settings load (beside the compiled ``Tenant``, in the same bounded settings cache the webhook uses).

Handoff to a person (``handoff``), from the council's settings:

- ``live_chat``: ``chat.live_chat.url``, offered only while it is staffed: by ``chat.live_chat.hours``
  if given, else the contact process's own live chat hours, else the council's opening hours; with
  the contact process's bank holidays and closures (its ``prepare``d timetable: the same logic the
  ``contact.human`` intent answers with). A council without the contact process and without hours
  has its link offered at all times.
- ``phone``: the core ``contact.phone``.
- ``callback``: when the council has the ``callback`` process on (the widget sends the
  ``CALLBACK`` event, which starts it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..settings import Loaded, SettingsCache
from ..tenants import Tenant
from .detect import Agent

CALLBACK_EVENT = "CALLBACK"
LOCAL_ORIGIN = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class Chat:
    origins: frozenset[str]
    brand_colour: str | None
    privacy_url: Mapping[str, str]
    agent: Agent
    live_chat_url: str | None
    staffed: Callable[[datetime], bool]
    phone: str | None
    callback: bool


@dataclass(frozen=True)
class ChatLoaded(Loaded):
    """``Loaded`` with the council's chat settings (None: the council has no chat)."""

    chat: Chat | None = None


def tel(phone: str) -> str:
    """A UK number as an E.164 ``tel:`` value: ``01632 960002`` -> ``+441632960002``."""
    digits = re.sub(r"[^0-9+]", "", phone)
    if digits.startswith("+"):
        return digits
    if digits.startswith("0"):
        return "+44" + digits[1:]
    return digits


def _always(_now: datetime) -> bool:
    return True


def _staffed(tenant: Tenant, live: Mapping[str, Any]) -> Callable[[datetime], bool]:
    served = tenant.served.get("en", {}).get("contact")
    prepared = getattr(getattr(served, "settings", None), "prepared", None)
    hours = getattr(prepared, "hours", None)  # the contact process's timetable, with its closures
    if hours is None:
        return _always
    if live.get("hours"):
        timetable = type(hours)(live["hours"], None, hours.closures)  # contact's Hours class, its closures
    else:
        timetable = getattr(prepared, "chat", None) or hours
    return lambda now: timetable.status(now).open_now


def compile_chat(doc: Mapping[str, Any], tenant: Tenant) -> Chat | None:
    chat = doc.get("chat")
    if not isinstance(chat, Mapping):
        return None
    live = chat.get("live_chat") or {}
    dialogflow = doc.get("dialogflow") or {}
    return Chat(
        origins=frozenset(o.rstrip("/") for o in chat.get("origins") or ()),
        brand_colour=chat.get("brand_colour"),
        privacy_url=dict(chat.get("privacy_url") or {}),
        agent=Agent(dialogflow["project"], dialogflow.get("location"), chat.get("environment")),
        live_chat_url=live.get("url"),
        staffed=_staffed(tenant, live) if live.get("url") else _always,
        phone=tenant.contact.phone,
        callback="callback" in tenant.served.get("en", {}),
    )


class ChatSettings(SettingsCache):
    """The settings cache, its tenants compiled with their chat settings too."""

    def load(self, tenant_id: str, doc: Mapping[str, Any] | None) -> Loaded:
        loaded = super().load(tenant_id, doc)
        if loaded.tenant is None or doc is None:
            return loaded
        return ChatLoaded(tenant=loaded.tenant, chat=compile_chat(doc, loaded.tenant))
