"""Intent classification for the simulator: TF-IDF over words and character n-grams, nearest
training phrase by cosine similarity, a confidence threshold below which nothing matches (the
fallback). A development and testing tool, not Dialogflow's own matching.

How a text becomes features (the same for training phrases and for what the resident types):

1. entities are found (``entities.Extractor``: only the entity types some intent's parameters
   use) and each span is replaced by a token naming its entity (``@sys.date``, ``@faq-topic``);
   in training phrases the annotated spans are replaced likewise, so "[tomorrow]" and "next
   friday" look alike to the classifier;
2. the rest is folded (lower case, no accents, no punctuation) into words;
3. features: each word, each pair of neighbouring words, and the character 2- to 5-grams of each
   word with its boundaries (``<bin>``: "bins", "bin" and "binn" share most of theirs);
4. weights: sublinear term frequency times smoothed inverse document frequency, L2-normalised.

An intent's score blends the cosine similarity of the text with its nearest training phrase
(``NEAREST``) and with the centroid of all its phrases (the rest): the nearest phrase catches
close wordings, the centroid the words an intent uses across its phrases. Only intents that can
match now count (every input context active, priority not -1);
intents with input contexts, all active, get ``CONTEXT_BONUS`` (Dialogflow prefers them). The
best intent wins if its score reaches the threshold (``THRESHOLD``); otherwise the text falls back.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from .entities import EXTRACTED_SYSTEM, SUPPORTED_SYSTEM, Extractor, Match, words

THRESHOLD = 0.3
CONTEXT_BONUS = 0.1
NGRAMS = (2, 3, 4, 5)
VARIANTS = 2  # extra copies of a phrase with an annotated custom entity, its words swapped for synonyms
NEAREST = 0.7  # an intent's score: 0.7 x its nearest phrase + 0.3 x its centroid


class NluError(Exception):
    """The agent uses something the simulator cannot stand in for; the message names it."""


# -- the agent, as the simulator reads it ---------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    entity: str  # data type without "@": "sys.date", "faq-topic"
    value: str  # "$name", "#context.name", or a literal
    required: bool = False
    is_list: bool = False
    default: Any = ""
    prompts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phrase:
    parts: tuple[Mapping[str, Any], ...]

    @property
    def text(self) -> str:
        return "".join(p.get("text", "") for p in self.parts)


@dataclass
class Intent:
    id: str
    name: str
    input_contexts: tuple[str, ...] = ()
    output_contexts: tuple[tuple[str, int], ...] = ()
    reset_contexts: bool = False
    action: str = ""
    parameters: tuple[Parameter, ...] = ()
    events: tuple[str, ...] = ()
    fallback: bool = False
    webhook: bool = True
    webhook_for_slot_filling: bool = False
    priority: int = 500000
    speech: tuple[str, ...] = ()
    phrases: list[Phrase] = field(default_factory=list)

    @classmethod
    def from_export(cls, data: Mapping[str, Any], rows: list, language: str) -> "Intent":
        response = (data.get("responses") or [{}])[0]
        parameters = []
        for p in response.get("parameters", []):
            data_type = str(p.get("dataType", "")).lstrip("@")
            prompts = tuple(x.get("value", "") for x in p.get("prompts", []) if x.get("lang", language) == language)
            parameters.append(Parameter(p["name"], data_type, p.get("value") or f"${p['name']}",
                                        bool(p.get("required")), bool(p.get("isList")),
                                        p.get("defaultValue", ""), prompts))
        speech = []
        for m in response.get("messages", []):
            if m.get("lang") == language and str(m.get("type")) == "0":
                value = m.get("speech")
                speech += value if isinstance(value, list) else [value] if value else []
        return cls(
            id=data.get("id", ""),
            name=data["name"],
            input_contexts=tuple(str(c).lower() for c in data.get("contexts", [])),
            output_contexts=tuple((str(c["name"]).lower(), int(c.get("lifespan", 5)))
                                  for c in response.get("affectedContexts", [])),
            reset_contexts=bool(response.get("resetContexts")),
            action=response.get("action", ""),
            parameters=tuple(parameters),
            events=tuple(e["name"] for e in data.get("events", [])),
            fallback=bool(data.get("fallbackIntent")),
            webhook=bool(data.get("webhookUsed")),
            webhook_for_slot_filling=bool(data.get("webhookForSlotFilling")),
            priority=int(data.get("priority", 500000)),
            speech=tuple(s for s in speech if s),
            phrases=[Phrase(tuple(row.get("data", []))) for row in rows],
        )

    def can_match(self, active: Iterable[str]) -> bool:
        return self.priority >= 0 and set(self.input_contexts) <= set(active)


def read_export(export, language: str) -> tuple[list[Intent], dict[str, tuple[Mapping, list]]]:
    """(intents, custom entities) of an ``AgentExport`` in one language."""
    intents = [Intent.from_export(data, export.usersays(data["name"], language), language)
               for data in export.intents()]
    custom = {e["name"]: (e, export.entries(e["name"], language)) for e in export.entities()}
    unsupported = sorted({p.entity for i in intents for p in i.parameters
                          if p.entity.startswith("sys.") and p.entity not in SUPPORTED_SYSTEM})
    if unsupported:
        users = sorted({i.name for i in intents for p in i.parameters if p.entity in unsupported})
        raise NluError(f"the simulator does not handle system entities {', '.join('@' + u for u in unsupported)} "
                       f"(used by {', '.join(users)}); add them to townhall/simulator/entities.py")
    return intents, custom


# -- features --------------------------------------------------------------------------------------


def features(tokens: list[str]) -> dict[str, float]:
    counts: Counter = Counter()
    for i, token in enumerate(tokens):
        counts["w:" + token] += 1
        if i:
            counts["b:" + tokens[i - 1] + " " + token] += 1
        if token.startswith("@"):
            continue
        padded = f"<{token}>"
        for n in NGRAMS:
            for j in range(max(1, len(padded) - n + 1)):
                counts["c:" + padded[j:j + n]] += 1
    return {f: 1.0 + math.log(c) for f, c in counts.items()}


class Index:
    """TF-IDF vectors of the training phrases with an inverted index for fast cosine scores."""

    def __init__(self, examples: list[tuple[str, list[str]]]):
        self.labels = [label for label, _ in examples]
        raw = [features(tokens) for _, tokens in examples]
        df: Counter = Counter(f for vector in raw for f in vector)
        n = len(raw)
        self.idf = {f: math.log((1 + n) / (1 + d)) + 1.0 for f, d in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        centroids: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for i, vector in enumerate(raw):
            for f, w in self._normalised(vector).items():
                self.postings[f].append((i, w))
                centroids[self.labels[i]][f] += w
        self.centroid_postings: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for label, vector in centroids.items():
            norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
            for f, w in vector.items():
                self.centroid_postings[f].append((label, w / norm))

    def _normalised(self, vector: Mapping[str, float]) -> dict[str, float]:
        weighted = {f: w * self.idf[f] for f, w in vector.items() if f in self.idf}
        norm = math.sqrt(sum(w * w for w in weighted.values())) or 1.0
        return {f: w / norm for f, w in weighted.items()}

    def scores(self, tokens: list[str]) -> dict[str, float]:
        """label -> NEAREST x best phrase cosine + (1 - NEAREST) x centroid cosine."""
        by_phrase: dict[int, float] = defaultdict(float)
        by_centroid: dict[str, float] = defaultdict(float)
        for f, w in self._normalised(features(tokens)).items():
            for i, v in self.postings.get(f, ()):
                by_phrase[i] += w * v
            for label, v in self.centroid_postings.get(f, ()):
                by_centroid[label] += w * v
        nearest: dict[str, float] = {}
        for i, s in by_phrase.items():
            label = self.labels[i]
            if s > nearest.get(label, 0.0):
                nearest[label] = s
        return {label: NEAREST * nearest.get(label, 0.0) + (1 - NEAREST) * c for label, c in by_centroid.items()}


# -- understanding ---------------------------------------------------------------------------------


@dataclass
class Understanding:
    intent: Intent | None  # None: nothing reached the threshold (the fallback)
    confidence: float
    parameters: dict[str, Any]
    originals: dict[str, Any]
    matches: list[Match]
    missing: list[Parameter]  # required parameters not given (slot filling)


class NLU:
    """The simulator's understanding of one agent export in one language."""

    def __init__(self, export, language: str, threshold: float = THRESHOLD,
                 held_out: Mapping[str, set[int]] | None = None):
        self.language = language
        self.threshold = threshold
        self.intents, custom = read_export(export, language)
        self.by_name = {i.name: i for i in self.intents}
        wanted = {p.entity for i in self.intents for p in i.parameters}
        wanted |= {str(part.get("meta", "")).lstrip("@") for i in self.intents for ph in i.phrases
                   for part in ph.parts if part.get("meta")}
        self.extractor = Extractor(custom, language, wanted & (set(custom) | set(EXTRACTED_SYSTEM)))
        self.samples = {name: sorted({words(s) for e in entries for s in e.get("synonyms", [])[:4]} - {""})
                        for name, (definition, entries) in custom.items() if not definition.get("isRegexp")}
        examples = []
        for intent in self.intents:
            skip = (held_out or {}).get(intent.name, set())
            for k, phrase in enumerate(intent.phrases):
                if k not in skip:
                    examples += [(intent.name, tokens) for tokens in self.phrase_variants(phrase, k)]
        self.index = Index(examples)

    # text -> tokens
    def tokens(self, text: str, now: datetime | None = None) -> tuple[list[str], list[Match]]:
        matches = self.extractor.find(text, now or datetime.now())
        tokens, at = [], 0
        for m in matches:
            tokens += words(text[at:m.start]).split() + ["@" + m.entity] + words(m.original).split()
            at = m.end
        return tokens + words(text[at:]).split(), matches

    def phrase_tokens(self, phrase: Phrase, swap: int | None = None) -> list[str]:
        """A training phrase's tokens; with ``swap``, a custom entity's annotated words are replaced
        by one of the agent's own synonyms of it (as Dialogflow learns from entity values too)."""
        tokens = []
        for part in phrase.parts:
            meta = str(part.get("meta", "")).lstrip("@")
            if meta and meta != "sys.any":
                samples = self.samples.get(meta)
                said = samples[swap % len(samples)] if swap is not None and samples else part.get("text", "")
                tokens += ["@" + meta] + words(said).split()
            else:
                tokens += self.tokens(part.get("text", ""), datetime(2026, 1, 1))[0]
        return tokens

    def phrase_variants(self, phrase: Phrase, k: int) -> list[list[str]]:
        variants = [self.phrase_tokens(phrase)]
        if any(str(p.get("meta", "")).lstrip("@") in self.samples for p in phrase.parts):
            variants += [self.phrase_tokens(phrase, swap=k * VARIANTS + j) for j in range(VARIANTS)]
        return variants

    def scores(self, text: str, active: Iterable[str] = (), now: datetime | None = None) -> list[tuple[str, float]]:
        active = set(active)
        tokens, _ = self.tokens(text, now)
        best = self.index.scores(tokens)
        ranked = []
        for name, score in best.items():
            intent = self.by_name[name]
            if intent.can_match(active):
                bonus = CONTEXT_BONUS if intent.input_contexts else 0.0
                ranked.append((name, min(1.0, score + bonus)))
        return sorted(ranked, key=lambda x: (-x[1], x[0]))

    def understand(self, text: str, active: Iterable[str] = (), now: datetime | None = None,
                   contexts: Mapping[str, Mapping[str, Any]] | None = None) -> Understanding:
        now = now or datetime.now()
        ranked = self.scores(text, active, now)
        if not ranked or ranked[0][1] < self.threshold:
            confidence = ranked[0][1] if ranked else 0.0
            return Understanding(None, round(confidence, 4), {}, {}, [], [])
        intent = self.by_name[ranked[0][0]]
        parameters, originals, matches = self.parameters(intent, text, now, contexts or {})
        missing = [p for p in intent.parameters if p.required and parameters.get(p.name) in ("", [], None)]
        return Understanding(intent, round(ranked[0][1], 4), parameters, originals, matches, missing)

    # parameters
    def parameters(self, intent: Intent, text: str, now: datetime,
                   contexts: Mapping[str, Mapping[str, Any]]) -> tuple[dict, dict, list[Match]]:
        matches = self.extractor.find(text, now, {p.entity for p in intent.parameters})
        used: set[int] = set()
        values: dict[str, Any] = {}
        originals: dict[str, Any] = {}
        for p in intent.parameters:
            if p.value.startswith("#"):
                context, _, key = p.value[1:].partition(".")
                values[p.name] = (contexts.get(context.lower()) or {}).get(key, p.default or "")
                continue
            if not p.value.startswith("$"):
                values[p.name] = p.value
                continue
            if p.entity == "sys.any":
                found = self.any_value(intent, p, text)
                values[p.name], originals[p.name] = found, found
                continue
            hits = [(k, m) for k, m in enumerate(matches) if m.entity == p.entity and k not in used]
            if not hits:
                values[p.name] = [] if p.is_list else (p.default or "")
                continue
            if not p.is_list:
                hits = hits[:1]
            used.update(k for k, _ in hits)
            values[p.name] = [m.value for _, m in hits] if p.is_list else hits[0][1].value
            originals[p.name] = [m.original for _, m in hits] if p.is_list else hits[0][1].original
        return values, originals, matches

    def any_value(self, intent: Intent, parameter: Parameter, text: str) -> str:
        """``@sys.any``: the words between the fixed parts of the best-fitting training phrase."""
        said = words(text).split()
        best, fit = "", -1
        for phrase in intent.phrases:
            for k, part in enumerate(phrase.parts):
                if part.get("alias") != parameter.name:
                    continue
                before = words("".join(p.get("text", "") for p in phrase.parts[:k])).split()
                after = words("".join(p.get("text", "") for p in phrase.parts[k + 1:])).split()
                middle = said[len(before):len(said) - len(after)]
                if said[:len(before)] == before and (not after or said[-len(after):] == after) and middle:
                    if len(before) + len(after) > fit:
                        fit, best = len(before) + len(after), " ".join(middle)
        return best

    def fill(self, parameter: Parameter, text: str, now: datetime) -> tuple[Any, Any] | None:
        """A slot-filling answer: (value, original) for ``parameter`` in ``text``, or None."""
        if parameter.entity == "sys.any":
            stripped = text.strip()
            return (stripped, stripped) if stripped else None
        for m in self.extractor.find(text, now):
            if m.entity == parameter.entity:
                return m.value, m.original
        return None


# -- evaluation ------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    language: str
    total: int = 0
    correct: int = 0
    by_process: dict[str, list[int]] = field(default_factory=dict)  # process -> [correct, total]
    confused: Counter = field(default_factory=Counter)  # (expected, got) -> count
    misses: list[tuple[str, str, str | None, float]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def held_out_split(intents: list[Intent], holdout: float, seed: int, language: str) -> dict[str, set[int]]:
    """Deterministic: per intent, ``holdout`` of its phrases (at least one when it has 5 or more)."""
    split = {}
    for intent in intents:
        n = len(intent.phrases)
        if n < 5:
            continue
        order = list(range(n))
        random.Random(f"{seed}:{language}:{intent.name}").shuffle(order)
        split[intent.name] = set(order[:max(1, round(n * holdout))])
    return split


def evaluate(export, language: str, holdout: float = 0.2, seed: int = 1,
             threshold: float = THRESHOLD) -> Evaluation:
    """Train on the rest of each intent's phrases, classify the held-out ones (with the intent's
    input contexts active, as they would be in a conversation)."""
    intents, _ = read_export(export, language)
    split = held_out_split(intents, holdout, seed, language)
    nlu = NLU(export, language, threshold, held_out=split)
    result = Evaluation(language)
    when = datetime(2026, 12, 1, 10, 0)
    for intent in intents:
        for k in sorted(split.get(intent.name, ())):
            text = intent.phrases[k].text
            got = nlu.understand(text, intent.input_contexts, when)
            name = got.intent.name if got.intent else None
            process = intent.name.split(".", 1)[0]
            tally = result.by_process.setdefault(process, [0, 0])
            tally[1] += 1
            result.total += 1
            if name == intent.name:
                tally[0] += 1
                result.correct += 1
            else:
                result.confused[(intent.name, name or "(fallback)")] += 1
                result.misses.append((text, intent.name, name, got.confidence))
    return result


def process_of(name: str) -> str:
    return re.split(r"\.", name, maxsplit=1)[0]
