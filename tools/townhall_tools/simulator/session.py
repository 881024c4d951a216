"""One simulated Dialogflow ES session against a running webhook (development and testing tool,
not a replacement for Dialogflow).

``Session.say(text)`` does what Dialogflow does with a query: input contexts, intent matching
(``nlu``), parameters, slot filling, output contexts, a real WebhookRequest POSTed over HTTP with
the tenant's session path and Basic credential, the webhook's output contexts, and follow-up
events (matched to the intent listening for them and sent to the webhook in the same query).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .contexts import Contexts
from .entities import LONDON
from .nlu import NLU, Intent, Parameter

MAX_FOLLOWUPS = 3  # follow-up events chained in one query
SLOT_ATTEMPTS = 3  # prompts for a missing required parameter before slot filling gives up
TIMEOUT = 5.0  # Dialogflow's webhook deadline
LANGUAGE_CONTEXT = "townhall-language"  # set by a reply that changes the conversation's language
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class WebhookFailed(Exception):
    """The webhook answered as Dialogflow would call "Webhook call failed"."""


@dataclass
class Result:
    """What one query came to."""

    text: str  # what the resident types ("" for an event)
    intent: str | None  # display name of the intent that answered (after follow-up events)
    confidence: float
    parameters: dict[str, Any]
    reply: str = ""
    quick_replies: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # follow-up events the webhook returned
    contexts: dict[str, int] = field(default_factory=dict)  # active after the query: name -> lifespan
    matched: str | None = None  # the intent the text matched (before follow-up events)
    slot_filling: bool = False  # a prompt for a missing required parameter
    error: str | None = None  # the webhook call failed (Dialogflow would say so in its logs)
    responses: list[dict] = field(default_factory=list)  # every WebhookResponse of the query, in order


@dataclass
class _Pending:
    intent: Intent
    parameters: dict[str, Any]
    originals: dict[str, Any]
    missing: Parameter
    attempts: int = 1


def _check_response(body: str) -> None:
    """Strict, as Dialogflow parses a WebhookResponse (when Google's types are installed)."""
    try:
        from google.cloud.dialogflow_v2.types import WebhookResponse
    except ImportError:  # pragma: no cover - tooling installs google-cloud-dialogflow
        return
    try:
        WebhookResponse.from_json(body)
    except Exception as e:  # noqa: BLE001 - any parse failure is "Webhook call failed"
        raise WebhookFailed(f"the webhook's answer is not a valid WebhookResponse: {e}") from e


def _other_languages(nlu: NLU) -> Callable[[str], NLU | None]:
    """The same agent in its other languages, each fitted once when first asked for."""
    fitted = {nlu.language: nlu}
    offered = tuple(getattr(getattr(nlu, "export", None), "languages", ()) or ())

    def nlu_for(language: str) -> NLU | None:
        if language not in offered:
            return None
        if language not in fitted:
            fitted[language] = NLU(nlu.export, language, nlu.threshold)
        return fitted[language]

    return nlu_for


class Session:
    def __init__(
        self,
        nlu: NLU,
        *,
        url: str,
        project: str,
        username: str,
        password: str,
        session_id: str | None = None,
        now: datetime | str | None = None,
        strict: bool = True,
        nlu_for: Callable[[str], NLU] | None = None,
    ):
        self.nlu = nlu
        # the agent's understanding in another of its languages: a reply setting the context
        # ``townhall-language`` (parameter ``language``) switches the session's query language
        self.nlu_for = nlu_for or _other_languages(nlu)
        self.url = url
        self.session = f"projects/{project}/agent/sessions/{session_id or uuid.uuid4()}"
        self.project = project
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.contexts = Contexts()
        self.strict = strict
        self.now = datetime.fromisoformat(now) if isinstance(now, str) else now
        self._pending: _Pending | None = None
        self._fallbacks = [i for i in nlu.intents if i.fallback]

    @property
    def language(self) -> str:
        return self.nlu.language

    def clock(self) -> datetime:
        return self.now or datetime.now(LONDON).replace(tzinfo=None)

    # -- queries -----------------------------------------------------------------------------------
    def say(self, text: str) -> Result:
        inputs = self.contexts.begin_query()
        now = self.clock()
        if self._pending is not None:
            return self._slot(text, now)
        understood = self.nlu.understand(text, inputs, now, inputs)
        intent = understood.intent or self._fallback(inputs)
        if intent is None:
            self.contexts.end_query()
            return Result(
                text, None, understood.confidence, {}, error="no intent matched and the agent has no fallback"
            )
        result = Result(text, intent.name, understood.confidence, understood.parameters, matched=intent.name)
        if understood.intent is not None and understood.missing:
            self._pending = _Pending(intent, understood.parameters, understood.originals, understood.missing[0])
            return self._prompt(result)
        return self._fulfil(result, intent, understood.parameters, understood.originals, text)

    def event(self, name: str, parameters: Mapping[str, Any] | None = None) -> Result:
        """A query by event (``WELCOME`` when a conversation opens)."""
        inputs = self.contexts.begin_query()
        intent = self._for_event(name, inputs)
        if intent is None:
            self.contexts.end_query()
            return Result("", None, 0.0, {}, error=f"no intent listens for event {name!r}")
        params = self._event_parameters(intent, name, parameters or {})
        return self._fulfil(Result("", intent.name, 1.0, params, matched=intent.name), intent, params, {}, "")

    # -- steps -------------------------------------------------------------------------------------
    def _fallback(self, active) -> Intent | None:
        usable = [i for i in self._fallbacks if i.can_match(active)]
        usable.sort(key=lambda i: -len(i.input_contexts))  # a context's own fallback first
        return usable[0] if usable else None

    def _for_event(self, name: str, active) -> Intent | None:
        usable = [i for i in self.nlu.intents if name in i.events and i.can_match(active)]
        usable.sort(key=lambda i: -len(i.input_contexts))
        return usable[0] if usable else None

    @staticmethod
    def _event_parameters(intent: Intent, event: str, given: Mapping[str, Any]) -> dict[str, Any]:
        values = {}
        for p in intent.parameters:
            key = p.value[len(f"#{event}.") :] if p.value.lower().startswith(f"#{event.lower()}.") else p.name
            values[p.name] = given.get(key, p.default or "")
        for k, v in given.items():
            values.setdefault(k, v)
        return values

    def _slot(self, text: str, now: datetime) -> Result:
        pending = self._pending
        assert pending is not None
        result = Result(text, pending.intent.name, 1.0, pending.parameters, matched=pending.intent.name)
        found = self.nlu.fill(pending.missing, text, now)
        if found is not None:
            value, original = found
            pending.parameters[pending.missing.name] = [value] if pending.missing.is_list else value
            pending.originals[pending.missing.name] = original
            missing = [
                p for p in pending.intent.parameters if p.required and pending.parameters.get(p.name) in ("", [], None)
            ]
            if not missing:
                self._pending = None
                return self._fulfil(result, pending.intent, pending.parameters, pending.originals, text)
            pending.missing, pending.attempts = missing[0], 1
        else:
            pending.attempts += 1
            if pending.attempts > SLOT_ATTEMPTS:
                self._pending = None
                self.contexts.end_query()
                result.reply = ""
                result.error = f"slot filling of {pending.missing.name!r} gave up after {SLOT_ATTEMPTS} prompts"
                return result
        return self._prompt(result)

    def _prompt(self, result: Result) -> Result:
        """Ask for the missing parameter: the webhook (webhookForSlotFilling) or the intent's prompt."""
        pending = self._pending
        assert pending is not None
        result.slot_filling = True
        result.parameters = dict(pending.parameters)
        if pending.intent.webhook_for_slot_filling:
            body = self._request(pending.intent, pending.parameters, result.text, result.confidence, complete=False)
            self._call(body, result)
        else:
            result.reply = pending.missing.prompts[0] if pending.missing.prompts else ""
        self.contexts.end_query()
        result.contexts = self.contexts.lifespans()
        return result

    def _fulfil(self, result: Result, intent: Intent, parameters: dict, originals: dict, text: str) -> Result:
        for hop in range(MAX_FOLLOWUPS + 1):
            self.contexts.apply_intent(intent.output_contexts, parameters, originals, intent.reset_contexts)
            result.intent, result.parameters = intent.name, dict(parameters)
            if not intent.webhook:
                result.reply = "\n".join(intent.speech)
                break
            event = self._call(self._request(intent, parameters, text, result.confidence), result)
            if result.error and not result.reply:
                result.reply = "\n".join(intent.speech)  # as Dialogflow: the intent's static answer
            if event is None or hop == MAX_FOLLOWUPS:
                break
            name, given = event
            result.events.append(name)
            following = self._for_event(name, self.contexts.active())
            if following is None:
                result.error = f"the webhook returned event {name!r} and no intent listens for it"
                break
            intent, parameters, originals = following, self._event_parameters(following, name, given), {}
        self.contexts.end_query()
        result.contexts = self.contexts.lifespans()
        return result

    # -- the webhook -------------------------------------------------------------------------------
    def _request(
        self, intent: Intent, parameters: Mapping[str, Any], text: str, confidence: float, complete: bool = True
    ) -> dict:
        query = {
            "queryText": text or intent.name,
            "parameters": dict(parameters),
            "allRequiredParamsPresent": complete,
            "fulfillmentText": "",
            "fulfillmentMessages": [{"text": {"text": [""]}}],
            "outputContexts": self.contexts.for_request(self.session),
            "intent": {
                "name": f"projects/{self.project}/agent/intents/{intent.id or uuid.uuid5(uuid.NAMESPACE_URL, intent.name)}",
                "displayName": intent.name,
            },
            "intentDetectionConfidence": confidence,
            "languageCode": self.language,
        }
        if intent.action:
            query["action"] = intent.action
        if intent.fallback:
            query["intent"]["isFallback"] = True
        return {
            "responseId": str(uuid.uuid4()),
            "session": self.session,
            "queryResult": query,
            "originalDetectIntentRequest": {"source": "townhall-simulator", "payload": {}},
        }

    def _switch_language(self, contexts: list) -> None:
        """A reply that sets ``townhall-language`` with ``language`` ("en", "cy") switches the
        query language (and classifier) of the next queries, as a client sending
        ``languageCode`` from it would."""
        for context in contexts:
            name = str(context.get("name", "")).rsplit("/", 1)[-1].lower()
            if name != LANGUAGE_CONTEXT or int(context.get("lifespanCount", 1) or 0) <= 0:
                continue
            wanted = str((context.get("parameters") or {}).get("language", "")).lower()
            if not wanted:
                continue
            switched = self.nlu_for(wanted) if wanted != self.nlu.language and self.nlu_for else None
            if switched is not None:  # a language the agent does not offer keeps the current one
                self.nlu = switched
                self._fallbacks = [i for i in self.nlu.intents if i.fallback]

    def _call(self, body: dict, result: Result) -> tuple[str, dict] | None:
        """POST the request; fill ``result``; the follow-up event (name, parameters) if any."""
        headers = {"Content-Type": "application/json", "Authorization": self.auth}
        if self.now is not None:
            headers["X-Townhall-Now"] = self.now.isoformat(timespec="seconds")
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=TIMEOUT) as response:
                raw = response.read().decode("utf-8")
            if self.strict:
                _check_response(raw)
            answer = json.loads(raw)
        except urllib.error.HTTPError as e:
            result.error = f"webhook answered {e.code}: {e.read()[:300].decode('utf-8', 'replace')}"
            return None
        except (urllib.error.URLError, OSError, ValueError, WebhookFailed) as e:
            result.error = f"webhook call failed: {e}"
            return None
        result.responses.append(answer)
        self.contexts.apply_webhook(self.session, answer.get("outputContexts") or [])
        self._switch_language(answer.get("outputContexts") or [])
        followup = answer.get("followupEventInput")
        if followup:
            return followup.get("name", ""), dict(followup.get("parameters") or {})
        result.reply = answer.get("fulfillmentText", "")
        result.quick_replies, result.links = [], []
        for message in answer.get("fulfillmentMessages") or []:
            if "quickReplies" in message:
                result.quick_replies += message["quickReplies"].get("quickReplies", [])
            for row in (message.get("payload") or {}).get("richContent", []):
                for item in row:
                    if item.get("type") == "button":
                        result.links.append((item.get("text", ""), item.get("link", "")))
        return None
