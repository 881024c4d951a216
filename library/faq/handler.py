"""faq: answer the council's own questions from settings, in the resident's language.

The ``topic`` parameter (an entry id, from the faq-topic entity) picks the entry; without it, the
resident's words are matched against each entry's question and keywords.
"""

from __future__ import annotations

from townhall.contract import Link, Reply, Settings, Turn
from townhall.kit import fold, folded, has_phrase, localised, with_english

MAX_CHOICES = 10
STOPWORDS = folded(
    "a an the i my me we our you your is are am do does how what when where why which can could "
    "to for of in on at it be with about there please tell want know get ydw i fy sut beth pryd "
    "ble pam y yr ar am i o yn gyda mae oes whats hows wheres whens im ive id"
)


def _words(text: str) -> set[str]:
    return set(fold(text).split()) - STOPWORDS


def match(entries: list, text: str, language: str, threshold: float = 0.5) -> dict | None:
    """The entry whose question or keywords best cover the resident's words, if good enough."""
    said = fold(text)
    words = _words(text)
    best, best_score = None, 0.0
    for entry in entries:
        question = localised(entry["question"], language)
        if said == fold(question):
            return entry
        keywords = [k for lang in with_english(language) for k in (entry.get("keywords") or {}).get(lang, [])]
        if any(has_phrase(said, fold(k)) for k in keywords):
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
    text = [localised(entry["answer"], turn.language)]
    links = [Link(localised(link["title"], turn.language), link["url"]) for link in entry.get("links", [])]
    if links:
        text.append(t("more"))
    return Reply(text, links=links, quick_replies=[t("another")])


def questions(turn: Turn, settings: Settings, lead: list[str]) -> Reply:
    entries = settings.process["entries"][:MAX_CHOICES]
    return Reply(
        lead + [settings.texts("list_intro")], quick_replies=[localised(e["question"], turn.language) for e in entries]
    )


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
