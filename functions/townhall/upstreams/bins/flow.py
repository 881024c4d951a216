"""The steps both bin processes take before they can answer: postcode, then address, then the answer.

    flow = AddressFlow("bin_collection", turn, settings, answer)   # answer(property, carry) -> Reply
    return flow.start({"bin": "garden"})    # the process's main intent
    return flow.postcode()                  # its intent for a postcode typed when asked
    return flow.address()                   # its intent for an address chosen from the picker

Contexts, named after the process: ``<process>-postcode`` (asked for a postcode, lifespan 2),
``<process>-address`` (showing the picker: the postcode, its properties and the page, lifespan 3)
and ``<process>-property`` (the chosen property, lifespan 5, so a later question does not ask
again). ``carry`` is what the process collected before (e.g. which bin), kept through the steps
and handed to ``answer``. A property chosen in the other bin process (``PROPERTY_CONTEXTS``) is
used too: a resident who has just asked for their bin day is not asked for their address again
to report a missed bin.

A postcode with one property skips the picker; several are offered ``PAGE`` at a time with "more
addresses" and "my address isn't listed". What the resident answers is read by the handler kit's
picker (``townhall.kit.pick``): an address tapped or typed in part, "the second one", "yr ail",
"I'm at number 12", "flat 3", "more", "my address isn't there", "dim un o'r rhain". The process's
own words (``more_words``, ``not_listed_words``, ``address_filler``) are read besides the kit's.
The process's messages must hold the keys in ``MESSAGES`` (tests/test_bins_schema.py checks
every process that uses this flow).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from townhall.contract import OutputContext, Reply, Settings, Turn
from townhall.kit import fold, localised, pick, postcode_said, with_english
from townhall.kit import postcode as postcode_in
from townhall.postcodes import normalise
from townhall.replies import how_to_reach
from townhall.upstream import UpstreamError

from . import KINDS, Property, addresses

PAGE = 8
MAX_CHOICES = 100
PROPERTY_CONTEXTS = ("bin_collection-property", "missed_bin-property")
MESSAGES = (
    "ask_postcode",
    "bad_postcode",
    "no_addresses",
    "choose_address",
    "more_addresses",
    "not_listed",
    "not_listed_reply",
    "address_unclear",
    "lookup_failed",
    "more_words",
    "not_listed_words",
    "address_filler",
)
Answer = Callable[[Property, Mapping[str, Any]], Reply]


def phrases(text: str) -> set[str]:
    """A message holding comma-separated phrases, as a set of folded phrases."""
    return {fold(part) for part in text.split(",") if fold(part)}


def labels(choices: list[Property]) -> list[str]:
    """What the picker shows: each address, without the town when they all end with the same one."""
    shown = [p.address for p in choices]
    towns = {a.rsplit(", ", 1)[-1] for a in shown if ", " in a}
    if len(towns) == 1 and all(", " in a for a in shown):
        shown = [a.rsplit(", ", 1)[0] for a in shown]
    return shown


class AddressFlow:
    def __init__(self, process: str, turn: Turn, settings: Settings, answer: Answer):
        self.process = process
        self.turn = turn
        self.settings = settings
        self.t = settings.texts
        self.answer = answer

    # -- contexts --------------------------------------------------------------------------------

    def _name(self, what: str) -> str:
        return f"{self.process}-{what}"

    def known_property(self) -> Property | None:
        for name in (self._name("property"), *PROPERTY_CONTEXTS):
            context = self.turn.context(name)
            prop = Property.from_context(context.parameters) if context else None
            if prop is not None:
                return prop
        return None

    def _carry(self, what: str) -> dict:
        context = self.turn.context(self._name(what))
        carried = context.parameters.get("carry") if context else None
        return dict(carried) if isinstance(carried, Mapping) else {}

    def _asking_postcode(self, carry: Mapping[str, Any]) -> OutputContext:
        return OutputContext(self._name("postcode"), 2, {"carry": dict(carry)})

    def _done_with_steps(self) -> tuple[OutputContext, ...]:
        return (OutputContext(self._name("postcode"), 0), OutputContext(self._name("address"), 0))

    # -- replies ---------------------------------------------------------------------------------

    def _failed(self, key: str, contexts: tuple[OutputContext, ...], **values: Any) -> Reply:
        reach, links = how_to_reach(self.settings.council, self.turn.language)
        return Reply([self.t(key, **values), reach], links=links, contexts=contexts)

    def ask_postcode(self, carry: Mapping[str, Any], lead: tuple[str, ...] = ()) -> Reply:
        return Reply([*lead, self.t("ask_postcode")], contexts=(self._asking_postcode(carry),))

    def finish(self, prop: Property, carry: Mapping[str, Any]) -> Reply:
        """The process's answer for a property, which is remembered for the next questions."""
        reply = self.answer(prop, carry)
        remembered = OutputContext(self._name("property"), 5, prop.to_context())
        return replace(reply, contexts=(*self._done_with_steps(), remembered, *reply.contexts))

    def _picker(
        self,
        postcode: str,
        choices: list[Property],
        carry: Mapping[str, Any],
        start: int,
        shown: list[int] | None = None,
    ) -> Reply:
        """A page of the addresses, or those ``shown`` when the resident's words fit several."""
        names = labels(choices)
        if shown is None:
            shown = list(range(len(choices)))[start : start + PAGE]
            text = self.t("choose_address", first=start + 1, last=start + len(shown), total=len(choices))
            more = len(choices) > PAGE
        else:
            text, more = self.t("address_unclear"), False
        options = [names[i] for i in shown] + ([self.t("more_addresses")] if more else []) + [self.t("not_listed")]
        context = OutputContext(
            self._name("address"),
            3,
            {
                "postcode": postcode,
                "page": start,
                "shown": shown,
                "carry": dict(carry),
                "choices": [{k: v for k, v in p.to_context().items() if k != "postcode"} for p in choices],
            },
        )
        return Reply([text], quick_replies=options, contexts=(OutputContext(self._name("postcode"), 0), context))

    # -- steps -----------------------------------------------------------------------------------

    def start(self, carry: Mapping[str, Any], postcode: str | None = None) -> Reply:
        """The main intent: a postcode in the turn (or ``postcode``, one given earlier), else the
        property already known, else ask."""
        found, given = postcode_said(self.turn)
        postcode = found or normalise(postcode)
        known = self.known_property()
        if postcode and (known is None or known.postcode != postcode):
            return self.lookup(postcode, carry)
        if known is not None:
            return self.finish(known, carry)
        if given:
            return self.ask_postcode(carry, (self.t("bad_postcode"),))
        return self.ask_postcode(carry)

    def postcode(self) -> Reply:
        """A postcode typed when asked for one."""
        carry = self._carry("postcode")
        postcode = postcode_in(self.turn)
        if postcode is None:
            return self.ask_postcode(carry, (self.t("bad_postcode"),))
        return self.lookup(postcode, carry)

    def lookup(self, postcode: str, carry: Mapping[str, Any]) -> Reply:
        s = self.settings.process
        try:
            found = addresses(s.get("addresses"), s["source"], postcode, self.settings.upstream, self.turn.deadline)[
                :MAX_CHOICES
            ]
        except UpstreamError:
            return self._failed("lookup_failed", (self._asking_postcode(carry),))
        if not found:
            return Reply([self.t("no_addresses", postcode=postcode)], contexts=(self._asking_postcode(carry),))
        if len(found) == 1:
            return self.finish(found[0], carry)
        return self._picker(postcode, found, carry, 0)

    def address(self) -> Reply:
        """An address chosen (or typed) from the picker, "more addresses" or "not listed"."""
        context = self.turn.context(self._name("address"))
        params = context.parameters if context else {}
        postcode = normalise(params.get("postcode"))
        choices = (
            [
                Property.from_context({**c, "postcode": postcode})
                for c in params.get("choices") or []
                if isinstance(c, Mapping)
            ]
            if postcode
            else []
        )
        carry = self._carry("address")
        if not postcode or not choices or None in choices:
            return self.start(carry)  # the picker has gone: start again from what was typed
        page = params.get("page")
        start = int(page) if isinstance(page, (int, float)) and 0 <= page < len(choices) else 0
        on_screen = params.get("shown")
        if not (
            isinstance(on_screen, list)
            and on_screen
            and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(choices) for i in on_screen)
        ):
            on_screen = list(range(len(choices)))[start : start + PAGE]
        said = fold(self.turn.query_text)
        picked = pick(self.turn.query_text, labels(choices), shown=on_screen, filler=phrases(self.t("address_filler")))
        if picked.none or said in phrases(self.t("not_listed_words")) | phrases(self.t("not_listed")):
            reach, links = how_to_reach(self.settings.council, self.turn.language)
            return Reply(
                [self.t("not_listed_reply"), reach],
                links=links,
                contexts=(OutputContext(self._name("address"), 0), self._asking_postcode(carry)),
            )
        if picked.more or said in phrases(self.t("more_words")) | phrases(self.t("more_addresses")):
            return self._picker(postcode, choices, carry, start + PAGE if start + PAGE < len(choices) else 0)
        typed = postcode_in(self.turn)
        if typed and typed != postcode:
            return self.lookup(typed, carry)  # a different postcode instead of an address
        if picked.index is not None:
            return self.finish(choices[picked.index], carry)
        if not picked.candidates:  # nothing fits: the same page again, saying so
            return replace(self._picker(postcode, choices, carry, start), text=(self.t("address_unclear"),))
        return self._picker(postcode, choices, carry, start, shown=list(picked.candidates[:PAGE]))


def bin_name(settings: Settings, kind: str, language: str) -> str:
    """A bin's name as the council calls it, in the resident's language (else English)."""
    return localised(settings.process["bins"][kind]["name"], language)


def bin_asked(turn: Turn, bins: Mapping[str, Any]) -> str | None:
    """Which of the council's bins the resident means: its name or words (the longest found in
    what they typed, in their language or English), else the bin-type entity's value."""
    said = f" {fold(turn.query_text)} "
    best, best_length = None, 0
    for kind, spec in bins.items():
        synonyms = spec.get("words") or {}
        for language in with_english(turn.language):
            for phrase in [spec["name"].get(language), *(synonyms.get(language) or [])]:
                normal = fold(phrase)
                if normal and f" {normal} " in said and len(normal) > best_length:
                    best, best_length = kind, len(normal)
    if best is not None:
        return best
    value = turn.param("bin")
    return value if value in KINDS else None
