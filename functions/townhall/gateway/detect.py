"""Dialogflow ES detectIntent over REST: the request the gateway sends and the response it reads.

Beside ``townhall/wire.py`` (the WebhookRequest and WebhookResponse), this is the one other module
that knows Dialogflow's wire format: the detectIntent call the residents' chat makes on a council's
agent. It reads in a ``QueryResult`` exactly what the webhook writes (``wire.render``): ``text``
messages, ``quickReplies``, and the ``payload`` whose ``richContent`` holds ``button`` items (links)
and ``chips`` (choices); and what an agent's own static answers may hold besides: ``fulfillmentText``,
``linkOutSuggestion`` and ``card`` messages. Messages for another platform (``platform`` set) are
skipped, as the web widget is the default platform.

    POST {endpoint}/v2/projects/{project}[/locations/{location}]/agent/sessions/{session}:detectIntent
    POST {endpoint}/v2/projects/{project}[/locations/{location}]/agent/environments/{env}/users/-/sessions/{session}:detectIntent

The endpoint is ``https://dialogflow.googleapis.com`` (``https://{location}-dialogflow.googleapis.com``
for a regional agent), or ``TOWNHALL_DIALOGFLOW_ENDPOINT`` (local stand-in and tests, called
without credentials). The call goes through ``townhall.upstream.Http``: one total deadline, a
bounded answer, a circuit breaker per council, every failure logged with host and status class.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..contract import Deadline
from ..upstream import Http, UpstreamError
from ..wire import SESSION

DEFAULT_ENDPOINT = "https://dialogflow.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/dialogflow")
TIME_ZONE = "Europe/London"
LANGUAGE_CONTEXT = "townhall-language"  # the language process's context: {"language": "cy"}
LANGUAGE_LIFESPAN = 50
MAX_ANSWER = 256 * 1024


class Agent(NamedTuple):
    project: str
    location: str | None = None
    environment: str | None = None


def session_path(agent: Agent, session: str) -> str:
    base = f"projects/{agent.project}"
    if agent.location and agent.location != "global":
        base += f"/locations/{agent.location}"
    if agent.environment:
        path = f"{base}/agent/environments/{agent.environment}/users/-/sessions/{session}"
    else:
        path = f"{base}/agent/sessions/{session}"
    if not SESSION.match(path):  # the same session forms the webhook accepts
        raise ValueError(f"not a Dialogflow ES session path: {path}")
    return path


def endpoint_for(agent: Agent, override: str | None) -> str:
    if override:
        return override.rstrip("/")
    if agent.location and agent.location != "global":
        return f"https://{agent.location}-dialogflow.googleapis.com"
    return DEFAULT_ENDPOINT


def request_body(
    *, text: str | None = None, event: str | None = None, language: str, switch_language: bool = False, session: str
) -> dict:
    """A DetectIntentRequest's JSON (without ``session``, which is in the URL)."""
    if (text is None) == (event is None):
        raise ValueError("a query is a text or an event")
    query = (
        {"text": {"text": text, "languageCode": language}}
        if text is not None
        else {"event": {"name": event, "languageCode": language}}
    )
    params: dict[str, Any] = {"timeZone": TIME_ZONE}
    if switch_language:  # the resident chose a language in the widget: the webhook replies in it
        params["contexts"] = [
            {
                "name": f"{session}/contexts/{LANGUAGE_CONTEXT}",
                "lifespanCount": LANGUAGE_LIFESPAN,
                "parameters": {"language": language},
            }
        ]
    return {"queryInput": query, "queryParams": params}


class Credentials:
    """Google credentials (``google.auth.default``) with a cached access token, refreshed under a
    lock before it expires; ``None`` (anonymous) when the endpoint is overridden."""

    def __init__(self, anonymous: bool):
        self.anonymous = anonymous
        self._credentials = None
        self._lock = threading.Lock()

    def header(self) -> dict:
        if self.anonymous:
            return {}
        credentials = self._credentials
        if credentials is None or not credentials.valid:
            with self._lock:
                credentials = self._refreshed()
        return {"Authorization": f"Bearer {credentials.token}"}

    def _refreshed(self):
        import google.auth  # imported on the first real call only
        import google.auth.transport.urllib3
        import urllib3

        if self._credentials is None:
            self._credentials, _ = google.auth.default(scopes=list(SCOPES))
        if not self._credentials.valid:
            http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=2.0), retries=False)
            self._credentials.refresh(google.auth.transport.urllib3.Request(http))
        return self._credentials


class DetectIntent:
    def __init__(self, http: Http, endpoint: str | None = None):
        self.http = http
        self.override = endpoint
        self.credentials = Credentials(anonymous=bool(endpoint))

    def __call__(self, tenant: str, agent: Agent, session: str, body: Mapping[str, Any], deadline: Deadline) -> dict:
        """The DetectIntentResponse's JSON; ``UpstreamError`` on any failure."""
        url = f"{endpoint_for(agent, self.override)}/v2/{session}:detectIntent"
        try:
            headers = self.credentials.header()
        except Exception as e:  # no default credentials, metadata server unreachable
            raise UpstreamError("unconfigured", f"no Google credentials: {type(e).__name__}", sent=False) from None
        response = self.http.for_tenant(tenant).post_json(
            url, body, deadline=deadline, headers=headers, ok=(200,), max_body=MAX_ANSWER
        )
        answer = response.json()
        if not isinstance(answer, dict) or not isinstance(answer.get("queryResult"), dict):
            raise UpstreamError("malformed", "detectIntent answered without a queryResult", response.status)
        return answer


# -- reading the QueryResult ---------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str) and v.strip()] if isinstance(value, list) else []


def _link(label: Any, url: Any, lang: str) -> dict | None:
    if isinstance(label, str) and label.strip() and isinstance(url, str) and url.startswith(("https://", "http://")):
        return {"type": "link", "lang": lang, "label": label, "url": url}
    return None


def _choices(options: list[str], lang: str) -> dict:
    return {"type": "quick_replies", "lang": lang, "options": [{"label": o, "value": o} for o in options]}


def messages(result: Mapping[str, Any], lang: str) -> list[dict]:
    """The QueryResult's messages in the widget's compact forms, in order."""
    out: list[dict] = []
    choices_given = had_text = False
    raw = result.get("fulfillmentMessages")
    for message in raw if isinstance(raw, list) else []:
        if not isinstance(message, dict) or message.get("platform") not in (None, "", "PLATFORM_UNSPECIFIED"):
            continue
        if isinstance(message.get("text"), dict):
            had_text = True
            out += [{"type": "text", "text": t, "lang": lang} for t in _strings(message["text"].get("text"))]
        elif isinstance(message.get("quickReplies"), dict):
            options = _strings(message["quickReplies"].get("quickReplies"))
            if options and not choices_given:
                out.append(_choices(options, lang))
                choices_given = True
        elif isinstance(message.get("payload"), dict):
            rows = message["payload"].get("richContent")
            for row in rows if isinstance(rows, list) else []:
                for item in row if isinstance(row, list) else []:
                    if not isinstance(item, dict):
                        continue
                    if item.get("type") == "button":
                        found = _link(item.get("text"), item.get("link"), lang)
                        if found:
                            out.append(found)
                    elif item.get("type") == "chips" and not choices_given:
                        options = [o.get("text") for o in item.get("options") or [] if isinstance(o, dict)]
                        options = _strings(options)
                        if options:
                            out.append(_choices(options, lang))
                            choices_given = True
        elif isinstance(message.get("linkOutSuggestion"), dict):
            found = _link(
                message["linkOutSuggestion"].get("destinationName"), message["linkOutSuggestion"].get("uri"), lang
            )
            if found:
                out.append(found)
        elif isinstance(message.get("card"), dict):
            card = message["card"]
            out += [
                {"type": "text", "text": t, "lang": lang} for t in _strings([card.get("title"), card.get("subtitle")])
            ]
            postbacks = []
            for button in card.get("buttons") or []:
                if not isinstance(button, dict):
                    continue
                found = _link(button.get("text"), button.get("postback"), lang)
                if found:
                    out.append(found)
                elif isinstance(button.get("text"), str) and button["text"].strip():
                    postbacks.append(button["text"])
            if postbacks and not choices_given:
                out.append(_choices(postbacks, lang))
                choices_given = True
    if not had_text:  # an agent's static answer may hold only fulfillmentText
        text = result.get("fulfillmentText")
        if isinstance(text, str) and text.strip():
            out[:0] = [{"type": "text", "text": t, "lang": lang} for t in text.split("\n\n") if t.strip()]
    return out


def intent_name(result: Mapping[str, Any]) -> str:
    intent = result.get("intent")
    name = intent.get("displayName") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else ""


def is_fallback(result: Mapping[str, Any]) -> bool:
    intent = result.get("intent")
    return bool(isinstance(intent, dict) and intent.get("isFallback")) or intent_name(result).startswith("fallback.")


def chosen_language(result: Mapping[str, Any], offered: tuple[str, ...]) -> str | None:
    """The language the webhook switched the conversation to (its ``townhall-language`` output
    context), if the council offers it."""
    contexts = result.get("outputContexts")
    for context in contexts if isinstance(contexts, list) else []:
        if not isinstance(context, dict):
            continue
        name = str(context.get("name", "")).rsplit("/", 1)[-1].lower()
        if name != LANGUAGE_CONTEXT:
            continue
        try:  # an answer that lies about its types is not a language switch (nor a 503)
            alive = int(context.get("lifespanCount", 1) or 0) > 0
        except (TypeError, ValueError):
            alive = False
        parameters = context.get("parameters")
        wanted = parameters.get("language") if alive and isinstance(parameters, dict) else None
        if isinstance(wanted, str) and wanted in offered:
            return wanted
    return None
