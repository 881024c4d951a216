"""The chat gateway: the residents' front door (docs/chat-api.yaml is its API, docs/architecture.md
"The residents' path" its design).

    a request                                        refused as
    -> route (path, method)                          404 / 405 (JSON)
    -> rate limit per client IP                      429 rate_limited, Retry-After
    -> council: from the path, or the token's claim  404 unknown_council, 401 token_invalid
    -> Origin on the council's chat.origins          403 origin_not_allowed (no CORS headers)
    -> token checked with the council's key          401 token_invalid / token_expired
    -> rate limit per conversation                   429 rate_limited
    -> body checked (one of text/quick_reply/event)  400 bad_request / too_long
    -> detectIntent on the council's agent           a failure: 200 degraded (apology, contacts, handoff)
    -> messages in the widget's forms, a fresh token 200 / 201

Every refusal but origin_not_allowed is readable by the page that asked (``_readable``), so the
widget can say what was wrong instead of seeing a network error.

Stateless: the conversation is the signed token and Dialogflow's session; the only instance memory
is the settings cache (bounded, shared design with the webhook), the rate limit buckets (an LRU of
at most TOWNHALL_CHAT_RATE_KEYS keys each) and the widget files (a few KiB, read once). Every
request writes one ``chat`` log line with its ``ChatOutcome``; nothing a resident typed is logged.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import threading
import time
import traceback
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from .. import logs
from ..contract import Deadline
from ..library import default_library
from ..outcomes import ChatOutcome, UnreadableBody
from ..replies import how_to_reach
from ..settings import TENANT_ID, IndexUnavailable, Unavailable
from ..upstream import Http, TurnFailures, UpstreamError, watching
from ..webhook import BoundedBody
from ..yamlio import load_yaml
from . import detect, tokens
from .council import CALLBACK_EVENT, LOCAL_ORIGIN, Chat, ChatSettings, tel
from .limits import Limits, retry_after

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
DEMO_PAGE = HERE / "demo.html"
LONDON = ZoneInfo("Europe/London")
MAX_LENGTH = 256  # characters a resident's message may have
MAX_BODY = 4096  # bytes of a request body
EVENTS = frozenset({"WELCOME", CALLBACK_EVENT})  # events the widget may send
INTENT_NAME = re.compile(r"^[A-Za-z0-9_]{1,60}\.[A-Za-z0-9_.]{1,100}$")
JSON = {"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
CORS_METHODS = "GET, POST"
CORS_HEADERS = "Content-Type, Authorization"
ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".json": "application/json",
}
ASSET_CACHE = "public, max-age=86400, stale-while-revalidate=604800"
ROUTES = {
    re.compile(r"^/v1/councils/(?P<council>[^/]{1,64})$"): ("config", "GET"),
    re.compile(r"^/v1/councils/(?P<council>[^/]{1,64})/conversations$"): ("start", "POST"),
    re.compile(r"^/v1/conversations/turn$"): ("turn", "POST"),
    re.compile(r"^/v1/conversations/restart$"): ("restart", "POST"),
    re.compile(r"^/widget/(?P<name>[A-Za-z0-9_.-]{1,80})$"): ("asset", "GET"),
    re.compile(r"^/demo/(?P<council>[^/]{1,64})/?$"): ("demo", "GET"),
}


class Refused(Exception):
    """A request not served: answered ``outcome.status`` with ``{"error", "message"}``."""

    def __init__(self, outcome: ChatOutcome, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.headers = dict(headers or {})


@cache
def texts(language: str) -> Mapping[str, str]:
    return load_yaml(HERE / "messages" / f"{language if language in ('en', 'cy') else 'en'}.yaml")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r}: give a number of seconds") from None


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r}: give a whole number, e.g. {default}") from None


class Gateway:
    """One per process, built from the environment on first use."""

    def __init__(self, env: Mapping[str, str] = os.environ):
        library = default_library()
        self.settings = ChatSettings.from_env(library, env)
        self.limits = Limits.from_env(env)
        self.key = tokens.signing_key_from_env(env)
        self.detect = detect.DetectIntent(Http(), env.get("TOWNHALL_DIALOGFLOW_ENDPOINT") or None)
        self.budget = _seconds(env, "TOWNHALL_CHAT_BUDGET", 8.0)  # Dialogflow waits up to 5 s for the webhook
        self.ttl = int(_seconds(env, "TOWNHALL_CHAT_TOKEN_TTL", tokens.TTL))
        self.proxies = _count(env, "TOWNHALL_CHAT_PROXIES", 0)  # proxies in front of Google's front end
        self.dev = env.get("TOWNHALL_CHAT_DEV") == "1"  # local only: dev key, demo pages, own origin
        self._assets: dict[str, tuple[bytes, str]] = {}
        self._assets_lock = threading.Lock()

    # -- HTTP --------------------------------------------------------------------------------------
    def handle(self, request) -> tuple[bytes, int, dict]:
        started = time.monotonic()
        line: dict[str, Any] = {"tenant": None, "intent": None}
        origin = request.headers.get("Origin")
        reader = BoundedBody(request, MAX_BODY)  # bounded in size and time, as the webhook's
        try:
            status, body, headers, outcome = self._route(request, reader, origin, line, started)
        except Refused as refused:
            outcome, status = refused.outcome, refused.outcome.status
            code = "bad_request" if outcome is ChatOutcome.METHOD_NOT_ALLOWED else outcome.value  # the API's codes
            body = orjson.dumps({"error": code, "message": refused.message})
            headers = {**JSON, **refused.headers, **self._cors(_readable(origin, outcome))}
        except Exception:  # the last net: a JSON 503, never a stack trace
            logs.event("ERROR", "unexpected error in the chat gateway\n" + traceback.format_exc())
            outcome, status = ChatOutcome.UNAVAILABLE, 503
            body = orjson.dumps({"error": "unavailable", "message": "the chat service has a problem: try again soon"})
            headers = {**JSON, **self._cors(_readable(origin, outcome))}
        finally:
            reader.release()  # nothing reads a refused or broken body after the answer
        logs.event(
            outcome.severity,
            "chat",
            tenant=line["tenant"],
            intent=line["intent"],
            outcome=outcome.value,
            status=status,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
            **logs.trace_field(request.headers.get("X-Cloud-Trace-Context")),
        )
        return body, status, headers

    def _route(self, request, reader: BoundedBody, origin: str | None, line: dict, started: float):
        path, method = request.path, request.method
        name, allowed, found = _match(path)
        if method == "OPTIONS" and name not in ("asset", "demo"):
            return self._preflight(name, found, origin, request, line)
        if method != allowed and not (method == "HEAD" and allowed == "GET"):
            raise Refused(ChatOutcome.METHOD_NOT_ALLOWED, f"use {allowed}", {"Allow": allowed})
        if name == "asset":
            return self._asset(found["name"], request)
        if name == "demo":
            return self._demo(found["council"], line)
        wait = self.limits.ip.take(_client(request, self.proxies))
        if wait:
            raise Refused(
                ChatOutcome.RATE_LIMITED, "too many requests: wait and try again", {"Retry-After": retry_after(wait)}
            )
        if name == "config":
            council, chat = self._council(found["council"], line)
            cors = self._origin(chat, origin, request, required=False)
            return 200, orjson.dumps(self._config(council, chat)), {**JSON, **self._cors(cors)}, ChatOutcome.OK
        if name == "start":
            council, chat = self._council(found["council"], line)
            cors = self._origin(chat, origin, request)
            body = _body(reader, request)
            language = _language(body, council)
            conversation = tokens.Conversation.new(council.id, language)
            return self._answer(201, council, chat, conversation, {"event": "WELCOME"}, False, cors, line, started)
        token = tokens.bearer(request.headers.get("Authorization"))
        if token is None:
            raise Refused(ChatOutcome.TOKEN_INVALID, "send the conversation's token: Authorization: Bearer <token>")
        try:
            claimed = tokens.claimed_council(token)
        except tokens.TokenError as e:
            raise Refused(ChatOutcome(e.code), e.message) from None
        council, chat = self._council(claimed, line, from_token=True)
        cors = self._origin(chat, origin, request)
        try:
            conversation = tokens.verify(self._master(), token, council.id)
        except tokens.TokenError as e:
            raise Refused(ChatOutcome(e.code), e.message) from None
        body = _body(reader, request)
        if name == "restart":
            language = _language(body, council, conversation.language)
            fresh = tokens.Conversation.new(council.id, language)
            return self._answer(201, council, chat, fresh, {"event": "WELCOME"}, False, cors, line, started)
        query = _query(body)
        wait = self.limits.session.take(f"{council.id}/{conversation.session}")
        if wait:
            raise Refused(
                ChatOutcome.RATE_LIMITED,
                "too many messages in this conversation: wait a moment and try again",
                {"Retry-After": retry_after(wait)},
            )
        language = conversation.language
        switched = False
        if "language" in body:
            wanted = _language(body, council)
            switched, language = wanted != language, wanted
        conversation = tokens.Conversation(council.id, conversation.session, language)
        return self._answer(200, council, chat, conversation, query, switched, cors, line, started)

    # -- the parts -------------------------------------------------------------------------------------
    def _master(self) -> bytes:
        try:
            return self.key()
        except tokens.NoKey as e:
            logs.event("ERROR", f"chat gateway: {e}")
            raise Refused(ChatOutcome.UNAVAILABLE, "the chat service is not available: try again later") from None

    def _council(self, council_id: str, line: dict, from_token: bool = False):
        if not TENANT_ID.match(council_id):
            if from_token:
                raise Refused(ChatOutcome.TOKEN_INVALID, "the conversation token names no council")
            raise Refused(ChatOutcome.UNKNOWN_COUNCIL, "no council by that id: use the id the council gave you")
        try:  # the tenant index first: a name no tenant has costs no settings read
            known = self.settings.credential(council_id) is not None
        except IndexUnavailable:
            known = True  # no index yet: the settings read below decides
        if not known:
            if from_token:
                raise Refused(ChatOutcome.TOKEN_INVALID, "the conversation token is not for a council served here")
            raise Refused(ChatOutcome.UNKNOWN_COUNCIL, f"no council {council_id!r} offers chat here")
        try:
            loaded = self.settings.get(council_id)
        except (Unavailable, IndexUnavailable):
            raise Refused(ChatOutcome.UNAVAILABLE, "the council's chat is not available: try again later") from None
        chat = getattr(loaded, "chat", None)
        if loaded.tenant is None and loaded.problems:  # invalid settings: logged by the cache, nothing served
            raise Refused(ChatOutcome.UNAVAILABLE, "the council's chat is not available: try again later")
        if loaded.tenant is None or chat is None:  # no such council, or it has no chat settings
            if from_token:
                raise Refused(ChatOutcome.TOKEN_INVALID, "the conversation token is not for a council served here")
            raise Refused(ChatOutcome.UNKNOWN_COUNCIL, f"no council {council_id!r} offers chat here")
        line["tenant"] = council_id
        return loaded.tenant, chat

    def _origin(self, chat: Chat, origin: str | None, request, required: bool = True) -> str | None:
        """The origin the answer may name in Access-Control-Allow-Origin; refuses any other."""
        if origin is None or origin == "null":
            if required:
                raise Refused(ChatOutcome.ORIGIN_NOT_ALLOWED, "this API answers web pages on the council's own sites")
            return None
        if origin in chat.origins or (self.dev and LOCAL_ORIGIN.match(origin) and origin == _own_origin(request)):
            return origin
        raise Refused(ChatOutcome.ORIGIN_NOT_ALLOWED, f"the council does not allow chat from {origin[:100]}")

    @staticmethod
    def _cors(origin: str | None) -> dict:
        if origin is None:
            return {"Vary": "Origin"}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    def _preflight(self, name: str, found, origin: str | None, request, line: dict):
        if origin is None:
            raise Refused(ChatOutcome.ORIGIN_NOT_ALLOWED, "a preflight names its Origin")
        if "council" in found.groupdict():
            _, chat = self._council(found["council"], line)
            self._origin(chat, origin, request)
        # A preflight of /v1/conversations/* names no council and carries no token: it is allowed
        # for any origin; the request itself is then checked against the token's council.
        headers = {
            **self._cors(origin),
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
        }
        return 204, b"", headers, ChatOutcome.PREFLIGHT

    def _config(self, council, chat: Chat) -> dict:
        return {
            "council": council.id,
            "name": {language: council.names.get(language, council.name) for language in council.languages},
            "languages": list(council.languages),
            "default_language": council.languages[0],
            "brand_colour": chat.brand_colour,
            "privacy_url": {
                language: chat.privacy_url.get(language, chat.privacy_url.get("en")) for language in council.languages
            },
            "max_length": MAX_LENGTH,
        }

    def _answer(self, status, council, chat, conversation, query, switched, cors, line, started):
        master = self._master()  # before asking Dialogflow: no key, no conversation
        session = detect.session_path(chat.agent, conversation.session)
        language = conversation.language
        body = detect.request_body(
            text=query.get("text"),
            event=query.get("event"),
            language=language,
            switch_language=switched,
            session=session,
        )
        deadline = Deadline(started + self.budget)
        outcome, degraded = ChatOutcome.OK, False
        with logs.sensitive(query.get("text") or ""):
            try:
                with watching(TurnFailures(tenant=council.id, process="chat")):
                    answer = self.detect(council.id, chat.agent, session, body, deadline)
            except UpstreamError as e:
                outcome = ChatOutcome.DIALOGFLOW_REFUSED if e.permanent else ChatOutcome.DIALOGFLOW_FAILED
                logs.event(
                    outcome.severity,
                    f"detectIntent failed: {e.kind}",
                    tenant=council.id,
                    outcome=outcome.value,
                    status_class=e.status_class,
                    status=e.status,
                )
                messages, degraded = self._sorry(council, chat, language), True
        if not degraded:
            result = answer["queryResult"]
            intent = detect.intent_name(result)
            line["intent"] = intent if INTENT_NAME.match(intent) else ("(none)" if not intent else "(unrecognised)")
            chosen = detect.chosen_language(result, council.languages)
            if chosen and chosen != language:  # the resident asked the bot for the other language
                language = chosen
                conversation = tokens.Conversation(council.id, conversation.session, language)
            messages = detect.messages(result, language)
            if not messages:
                messages, degraded = self._sorry(council, chat, language), True
                outcome = ChatOutcome.DIALOGFLOW_FAILED
            elif intent == "contact.human" or detect.is_fallback(result) or query.get("event") == CALLBACK_EVENT:
                handoff = self._handoff(chat, language)
                if handoff:
                    messages.append(handoff)
        token = tokens.issue(master, conversation, self.ttl)  # signed once, in the language answered
        reply = {"token": token, "expires_in": self.ttl, "language": language, "messages": messages}
        if status == 201:
            reply["max_length"] = MAX_LENGTH
        if degraded:
            reply["degraded"] = True
        return status, orjson.dumps(reply), {**JSON, **self._cors(cors)}, outcome

    def _sorry(self, council, chat: Chat, language: str) -> list[dict]:
        t = texts(language)
        reach, links = how_to_reach(council.council(language), language)
        messages = [
            {"type": "text", "text": t["sorry"], "lang": language},
            {"type": "text", "text": reach, "lang": language},
        ]
        messages += [{"type": "link", "lang": language, "label": link.title, "url": link.url} for link in links]
        handoff = self._handoff(chat, language)
        if handoff:
            messages.append(handoff)
        return messages

    def _handoff(self, chat: Chat, language: str) -> dict | None:
        t = texts(language)
        actions = []
        if chat.live_chat_url and chat.staffed(datetime.now(LONDON)):
            actions.append({"kind": "live_chat", "label": t["live_chat"], "url": chat.live_chat_url})
        if chat.phone:
            actions.append({"kind": "phone", "label": t["phone"].format(phone=chat.phone), "tel": tel(chat.phone)})
        if chat.callback:
            actions.append({"kind": "callback", "label": t["callback"], "event": CALLBACK_EVENT})
        return {"type": "handoff", "lang": language, "actions": actions} if actions else None

    # -- files ---------------------------------------------------------------------------------------
    def _asset(self, name: str, request):
        kind = ASSET_TYPES.get(Path(name).suffix)
        held = self._assets.get(name)
        if held is None and kind is not None:
            path = STATIC / name
            if path.is_file() and path.resolve().parent == STATIC:
                with self._assets_lock:
                    if len(self._assets) < 64:  # the widget's few files, read once
                        data = path.read_bytes()
                        held = self._assets[name] = (data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')
        if held is None:
            raise Refused(ChatOutcome.UNKNOWN_COUNCIL, f"no widget file {name}")
        data, etag = held
        headers = {
            "Content-Type": kind,
            "Cache-Control": ASSET_CACHE,
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if etag in (request.headers.get("If-None-Match") or ""):
            return 304, b"", headers, ChatOutcome.ASSET
        return 200, (b"" if request.method == "HEAD" else data), headers, ChatOutcome.ASSET

    def _demo(self, council_id: str, line: dict):
        if not self.dev or not DEMO_PAGE.is_file():  # never in production: the bundle has no demo page
            raise Refused(ChatOutcome.UNKNOWN_COUNCIL, "no demo pages here (local development only)")
        council, _ = self._council(council_id, line)
        page = DEMO_PAGE.read_text(encoding="utf-8")
        values = {"council": council.id, "council_name": html.escape(council.name), "lang": council.languages[0]}
        for key, value in values.items():
            page = page.replace("{{" + key + "}}", value)
        headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
        return 200, page.encode("utf-8"), headers, ChatOutcome.ASSET


# -- request helpers -----------------------------------------------------------------------------------


def _match(path: str):
    for pattern, (name, allowed) in ROUTES.items():
        found = pattern.match(path)
        if found:
            return name, allowed, found
    raise Refused(ChatOutcome.UNKNOWN_COUNCIL, f"nothing at {path[:100]}: see docs/chat-api.yaml")


def _client(request, proxies: int) -> str:
    """The client's address: the ``X-Forwarded-For`` entry added by the last trusted proxy (the
    last entry, which Google's front end appends and a client cannot forge; with
    ``TOWNHALL_CHAT_PROXIES=n`` more proxies in front, such as a load balancer, the entry n before
    it), else the socket's peer."""
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        entries = [e.strip() for e in forwarded.split(",") if e.strip()]
        if entries:
            return entries[max(0, len(entries) - 1 - proxies)][:64]
    return request.remote_addr or "unknown"


def _readable(origin: str | None, outcome: ChatOutcome) -> str | None:
    """The origin a refusal names in Access-Control-Allow-Origin: the page that asked, so the widget
    can tell the resident what was wrong (rate limited, start again, no chat for this council),
    unless its origin is what was refused. A refusal says only what was wrong, and every page on
    a council's allow-list passed that check before anything about the council was read."""
    if origin in (None, "null") or outcome is ChatOutcome.ORIGIN_NOT_ALLOWED:
        return None
    return origin


def _own_origin(request) -> str:
    return f"{request.scheme}://{request.host}"


def _body(reader: BoundedBody, request) -> dict:
    media = (request.mimetype or "").lower()
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise Refused(ChatOutcome.BAD_REQUEST, f"the body is over {MAX_BODY} bytes")
    try:
        raw = reader()
    except UnreadableBody as e:  # broken chunking, a body shorter than its length, a stalled client
        raise Refused(ChatOutcome.BAD_REQUEST, str(e)) from None
    if len(raw) > MAX_BODY:
        raise Refused(ChatOutcome.BAD_REQUEST, f"the body is over {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    if media != "application/json":
        raise Refused(ChatOutcome.BAD_REQUEST, "send JSON with Content-Type: application/json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Refused(ChatOutcome.BAD_REQUEST, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Refused(ChatOutcome.BAD_REQUEST, "the body must be a JSON object")
    return body


def _language(body: dict, council, default: str | None = None) -> str:
    wanted = body.get("language", default or council.languages[0])
    if wanted not in council.languages:
        raise Refused(
            ChatOutcome.BAD_REQUEST,
            f"language must be one of {', '.join(council.languages)} for this council",
        )
    return wanted


def _query(body: dict) -> dict:
    given = [k for k in ("text", "quick_reply", "event") if k in body]
    unknown = sorted(set(body) - {"text", "quick_reply", "event", "language"})
    if unknown:
        raise Refused(ChatOutcome.BAD_REQUEST, f"unknown field {unknown[0]!r}: send text, quick_reply or event")
    if len(given) != 1:
        raise Refused(ChatOutcome.BAD_REQUEST, "send exactly one of text, quick_reply or event")
    key, value = given[0], body[given[0]]
    if key == "event":
        if value not in EVENTS:
            raise Refused(ChatOutcome.BAD_REQUEST, f"event must be one of {', '.join(sorted(EVENTS))}")
        return {"event": value}
    if not isinstance(value, str) or not value.strip():
        raise Refused(ChatOutcome.BAD_REQUEST, f"{key} must be a message that is not empty")
    if len(value) > MAX_LENGTH:
        raise Refused(
            ChatOutcome.TOO_LONG,
            f"messages can be at most {MAX_LENGTH} characters: this one has {len(value)}",
        )
    return {"text": value.strip()}


_gateway: Gateway | None = None
_lock = threading.Lock()


def gateway() -> Gateway:
    global _gateway
    if _gateway is None:
        with _lock:
            if _gateway is None:
                _gateway = Gateway()
    return _gateway


def reset() -> None:
    """Forget the process-wide gateway (tests change the environment between apps)."""
    global _gateway
    _gateway = None


def handle_http(request) -> tuple[bytes, int, dict]:
    """Flask adapter: a functions-framework request in, a (body, status, headers) tuple out."""
    try:
        current = gateway()
    except Exception:
        logs.event("CRITICAL", "the chat gateway cannot start\n" + traceback.format_exc())
        body = orjson.dumps({"error": "unavailable", "message": "the chat service is not available: try again later"})
        return body, 503, dict(JSON)
    return current.handle(request)
