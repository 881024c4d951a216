"""faq: answer the council's own questions from settings, in the resident's language.

The ``topic`` parameter (an entry id, from the faq-topic entity) picks the entry; without it, the
resident's words are matched against each entry's question and keywords.
"""

from __future__ import annotations

import re

from townhall.contract import Link, Reply, Settings, Turn

MAX_CHOICES = 10
STOPWORDS = frozenset(
    "a an the i my me we our you your is are am do does how what when where why which can could "
    "to for of in on at it be with about there please tell want know get ydw i fy sut beth pryd "
    "ble pam y yr ar am i o yn gyda mae oes".split()
)


def _pick(text: dict, language: str) -> str:
    return text.get(language) or text["en"]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS}


def match(entries: list, text: str, language: str, threshold: float = 0.5) -> dict | None:
    """The entry whose question or keywords best cover the resident's words, if good enough."""
    said = text.strip().lower()
    words = _words(text)
    best, best_score = None, 0.0
    for entry in entries:
        question = _pick(entry["question"], language)
        if said == question.strip().lower():
            return entry
        keywords = (entry.get("keywords") or {}).get(language, []) + (entry.get("keywords") or {}).get("en", [])
        if any(re.search(rf"\b{re.escape(k.lower())}\b", said) for k in keywords):
            score = 1.0
        elif words:
            target = _words(question)
            shared = len(words & target)
            # Jaccard similarity, or most of what the resident said being in the question ("parking").
            score = max(shared / len(words | target), 0.6 * shared / len(words)) if target else 0.0
        else:
            score = 0.0
        if score > best_score:
            best, best_score = entry, score
    return best if best_score >= threshold else None


def answer(entry: dict, turn: Turn, settings: Settings) -> Reply:
    t = settings.texts
    text = [_pick(entry["answer"], turn.language)]
    links = [Link(_pick(link["title"], turn.language), link["url"]) for link in entry.get("links", [])]
    if links:
        text.append(t("more"))
    return Reply(text, links=links, quick_replies=[t("another")])


def questions(turn: Turn, settings: Settings, lead: list[str]) -> Reply:
    entries = settings.process["entries"][:MAX_CHOICES]
    return Reply(lead + [settings.texts("list_intro")],
                 quick_replies=[_pick(e["question"], turn.language) for e in entries])


def handle(turn: Turn, settings: Settings) -> Reply:
    entries = settings.process["entries"]
    if turn.action == "ask":
        topic = turn.param("topic")
        entry = next((e for e in entries if e["id"] == topic), None) if isinstance(topic, str) else None
        entry = entry or match(entries, turn.query_text, turn.language)
        if entry:
            return answer(entry, turn, settings)
        return questions(turn, settings, [settings.texts("not_found")])
    return questions(turn, settings, [])
