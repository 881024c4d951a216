"""Contexts with lifespans, as Dialogflow ES keeps them for a session (simulator; development and
testing tool).

- A context set with lifespan N is active for the next N queries of the session.
- Each query: the contexts active at its start are its input contexts (only intents whose input
  contexts are all among them can match); each of them then loses one from its lifespan.
- The matched intent's output contexts are then set with their lifespans (its ``resetContexts``
  first clears everything), carrying the query's parameters and their ``.original`` forms.
- The WebhookRequest lists every context still held, with its remaining lifespan: a context in
  its last query is listed with 0, then dropped.
- The webhook's ``outputContexts`` replace contexts of the same name (lifespan and parameters);
  lifespan 0 removes one.
- A follow-up event is part of the same query: lifespans are not decremented again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Held:
    lifespan: int
    parameters: dict[str, Any] = field(default_factory=dict)


class Contexts:
    def __init__(self) -> None:
        self._held: dict[str, Held] = {}

    def active(self) -> dict[str, dict[str, Any]]:
        """Active contexts by name (lifespan > 0) with their parameters."""
        return {name: dict(h.parameters) for name, h in sorted(self._held.items()) if h.lifespan > 0}

    def lifespans(self) -> dict[str, int]:
        return {name: h.lifespan for name, h in sorted(self._held.items()) if h.lifespan > 0}

    def begin_query(self) -> dict[str, dict[str, Any]]:
        """The query's input contexts; every held context then loses one turn of life."""
        inputs = self.active()
        for held in self._held.values():
            held.lifespan -= 1
        self._held = {n: h for n, h in self._held.items() if h.lifespan >= 0}
        return inputs

    def clear(self) -> None:
        self._held.clear()

    def set(self, name: str, lifespan: int, parameters: Mapping[str, Any] | None = None, merge: bool = False) -> None:
        name = name.lower()
        if lifespan <= 0:
            self._held.pop(name, None)
            return
        params = dict(self._held[name].parameters) if merge and name in self._held else {}
        params.update(parameters or {})
        self._held[name] = Held(int(lifespan), params)

    def apply_intent(
        self,
        outputs: Iterable[tuple[str, int]],
        parameters: Mapping[str, Any],
        originals: Mapping[str, Any],
        reset: bool,
    ) -> None:
        if reset:
            self.clear()
        values = dict(parameters)
        values.update({f"{k}.original": v for k, v in originals.items()})
        for name, lifespan in outputs:
            self.set(name, lifespan, values, merge=True)

    def apply_webhook(self, session: str, contexts: Iterable[Mapping[str, Any]]) -> None:
        prefix = session + "/contexts/"
        for c in contexts:
            name = str(c.get("name", ""))
            if name.startswith(prefix):
                self.set(name[len(prefix) :], int(c.get("lifespanCount", 0) or 0), c.get("parameters") or {})

    def for_request(self, session: str) -> list[dict[str, Any]]:
        """``queryResult.outputContexts`` of a WebhookRequest; contexts in their last query then go."""
        listed = [
            {"name": f"{session}/contexts/{name}", "lifespanCount": h.lifespan, "parameters": dict(h.parameters)}
            for name, h in sorted(self._held.items())
        ]
        return listed

    def end_query(self) -> None:
        self._held = {n: h for n, h in self._held.items() if h.lifespan > 0}
