"""Intent classification for the simulator: a multinomial logistic regression over TF-IDF
features of words and character n-grams, Dialogflow's preference for intents whose input contexts
are active, and a confidence threshold below which nothing matches (the fallback). A development
and testing tool, not Dialogflow's own matching.

How a text becomes features (the same for training phrases and for what the resident types):

1. entities are found (``entities.Extractor``: only the entity types some intent's parameters
   use) and each span is replaced by a token naming its entity (``@sys.date``, ``@faq-topic``)
   followed by its words without digits: in training phrases the annotated spans likewise, so
   "[tomorrow]" and "next friday" look alike, and a postcode, account number or amount is only
   ``@uk-postcode``, ``@council-tax-account``, ``@sys.number`` whatever its value;
2. the rest is folded (lower case, no accents, no punctuation) into words;
3. features: each word, each pair of neighbouring words, and the character 2- to 5-grams of each
   word with its boundaries (``<bin>``: "bins", "bin" and "binn" share most of theirs);
4. weights: sublinear term frequency times smoothed inverse document frequency, L2-normalised.

The classifier is a multinomial logistic regression (L2-regularised, ``C``) fitted with
scikit-learn (a development requirement; the webhook never imports it) on every training phrase
of the agent in the language (``Classifier``). It learns how much each feature tells one intent
from the others, so words many intents share ("my", "bin", "council") weigh little and a short
phrase is decided by its one telling word; a text is then scored with one weight row per feature
it has, well under a millisecond.

Contexts, as Dialogflow treats them: only intents that can match now take part (every input
context active, priority not -1); those with input contexts, all active, get ``CONTEXT_BONUS``
added to their score (multiplying their odds by about 7), so an answer to the question just
asked (a bare postcode, "the first one", "yes") goes to the intent waiting for it, while a new
request that plainly belongs elsewhere still goes there. The confidence is the softmax of the
scores over the intents taking part; the best intent wins if its confidence reaches the
threshold (``THRESHOLD``); otherwise the text falls back.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .entities import EXTRACTED_SYSTEM, SUPPORTED_SYSTEM, Extractor, Match, words

THRESHOLD = 0.3  # Dialogflow's default; an agent's own is its agent.json "mlMinConfidence"
LOW_PRIORITY = 500000  # Dialogflow's "Normal"; a catch-all below it never outranks a clear match
CLEAR = 0.5  # a match is clear when, without any context bonus, its confidence reaches this
CONTEXT_BONUS = 2.0  # added to the score (log-odds) of an intent whose input contexts are all active
C = 30.0  # inverse strength of the L2 regularisation of the logistic regression
TOLERANCE = (
    1e-3  # of the fit's optimiser (L-BFGS): looser than scikit-learn's default, as accurate here and twice as fast
)
MAX_ITER = 1000
NGRAMS = (2, 3, 4, 5)
VARIANTS = 2  # extra copies of a phrase with an annotated custom entity, its words swapped for synonyms
DIGITS = re.compile(r"\d")


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
    def from_export(cls, data: Mapping[str, Any], rows: list, language: str) -> Intent:
        response = (data.get("responses") or [{}])[0]
        parameters = []
        for p in response.get("parameters", []):
            data_type = str(p.get("dataType", "")).lstrip("@")
            prompts = tuple(x.get("value", "") for x in p.get("prompts", []) if x.get("lang", language) == language)
            parameters.append(
                Parameter(
                    p["name"],
                    data_type,
                    p.get("value") or f"${p['name']}",
                    bool(p.get("required")),
                    bool(p.get("isList")),
                    p.get("defaultValue", ""),
                    prompts,
                )
            )
        speech = []
        for m in response.get("messages", []):
            if m.get("lang") == language and str(m.get("type")) == "0":
                value = m.get("speech")
                speech += value if isinstance(value, list) else [value] if value else []
        return cls(
            id=data.get("id", ""),
            name=data["name"],
            input_contexts=tuple(str(c).lower() for c in data.get("contexts", [])),
            output_contexts=tuple(
                (str(c["name"]).lower(), int(c.get("lifespan", 5))) for c in response.get("affectedContexts", [])
            ),
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


def agent_threshold(export) -> float:
    """The agent's classification threshold: ``mlMinConfidence`` of its agent.json (Dialogflow's
    default 0.3 when it has none)."""
    agent = getattr(export, "files", {}).get("agent.json") or {}
    value = agent.get("mlMinConfidence", THRESHOLD)
    try:
        return float(value)
    except (TypeError, ValueError) as e:
        raise NluError(f"agent.json: mlMinConfidence {value!r} is not a number between 0 and 1") from e


def is_catch_all(intent: Intent) -> bool:
    """An intent with input contexts that takes whatever is typed there: a priority below normal
    (the agent builder gives one to an intent trained mostly on ``@sys.any``)."""
    return bool(intent.input_contexts) and 0 <= intent.priority < LOW_PRIORITY


def read_export(export, language: str) -> tuple[list[Intent], dict[str, tuple[Mapping, list]]]:
    """(intents, custom entities) of an ``AgentExport`` in one language."""
    intents = [Intent.from_export(data, export.usersays(data["name"], language), language) for data in export.intents()]
    custom = {e["name"]: (e, export.entries(e["name"], language)) for e in export.entities()}
    unsupported = sorted(
        {
            p.entity
            for i in intents
            for p in i.parameters
            if p.entity.startswith("sys.") and p.entity not in SUPPORTED_SYSTEM
        }
    )
    if unsupported:
        users = sorted({i.name for i in intents for p in i.parameters if p.entity in unsupported})
        raise NluError(
            f"the simulator does not handle system entities {', '.join('@' + u for u in unsupported)} "
            f"(used by {', '.join(users)}); add them to townhall/simulator/entities.py"
        )
    return intents, custom


# -- features --------------------------------------------------------------------------------------


def features(tokens: list[str]) -> dict[str, float]:
    """Sublinear term frequencies of a text's features: its words, pairs of neighbouring words and
    the character 2- to 5-grams of each word with its boundaries (not of entity tokens)."""
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
                counts["c:" + padded[j : j + n]] += 1
    return {f: 1.0 + math.log(c) for f, c in counts.items()}


class Classifier:
    """Multinomial logistic regression over L2-normalised TF-IDF vectors of the training phrases.

    scikit-learn fits it (imported only here); a text is then scored with the learned weights
    directly, one row per feature it has. ``logits`` are the per-intent scores before the softmax.
    """

    def __init__(self, examples: list[tuple[str, list[str]]], c: float = C):
        np, csr_matrix, LogisticRegression, threadpool_limits = scikit_learn()
        self._np = np
        raw = [features(tokens) for _, tokens in examples]
        df: Counter = Counter(f for vector in raw for f in vector)
        n = len(raw)
        self.vocabulary = {f: j for j, f in enumerate(sorted(df))}
        self.idf = [math.log((1 + n) / (1 + df[f])) + 1.0 for f in sorted(df)]
        self.labels = sorted({label for label, _ in examples})
        if len(self.labels) < 2:  # nothing to tell apart: every text scores the same
            self.weights = np.zeros((len(self.vocabulary), len(self.labels)))
            self.bias = np.zeros(len(self.labels))
            return
        rows, cols, values = [], [], []
        for i, vector in enumerate(raw):
            indices, weights = self._weighted(vector)
            rows += [i] * len(indices)
            cols += indices
            values += weights
        matrix = csr_matrix((values, (rows, cols)), shape=(n, len(self.vocabulary)))
        # One thread: the data are small, and BLAS threads competing for a shared machine are slower.
        with threadpool_limits(1):
            model = LogisticRegression(C=c, tol=TOLERANCE, max_iter=MAX_ITER).fit(
                matrix, [label for label, _ in examples]
            )
        order = [list(model.classes_).index(label) for label in self.labels]
        self.weights = np.ascontiguousarray(model.coef_.T[:, order])
        self.bias = model.intercept_[order]

    def _weighted(self, vector: Mapping[str, float]) -> tuple[list[int], list[float]]:
        """Indices and TF-IDF weights (L2-normalised) of the known features of a vector."""
        indices, weights = [], []
        for f, w in vector.items():
            j = self.vocabulary.get(f)
            if j is not None:
                indices.append(j)
                weights.append(w * self.idf[j])
        norm = math.sqrt(sum(w * w for w in weights)) or 1.0
        return indices, [w / norm for w in weights]

    def logits(self, tokens: list[str]):
        """One score per label (``self.labels``), as a numpy array."""
        indices, weights = self._weighted(features(tokens))
        if not indices:
            return self.bias.copy()
        return self._np.asarray(weights) @ self.weights[indices] + self.bias


def scikit_learn():
    """numpy, scipy's ``csr_matrix``, ``LogisticRegression`` and ``threadpool_limits``; NluError
    saying what to install when they are missing."""
    try:
        import numpy
        from scipy.sparse import csr_matrix
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits
    except ImportError as e:  # not a runtime requirement: the webhook never needs it
        raise NluError(
            f"the simulator's classifier needs scikit-learn ({e.name} is missing): "
            "install requirements-dev.txt, as make test does"
        ) from e
    return numpy, csr_matrix, LogisticRegression, threadpool_limits


def entity_tokens(entity: str, said: str) -> list[str]:
    """An entity span as tokens: its entity's name, then its words without digits (the words of
    "next friday" or "green bin" say something; the digits of a postcode or an amount do not)."""
    return ["@" + entity] + [w for w in words(said).split() if not DIGITS.search(w)]


def _softmax(scores: list[tuple[str, float]]) -> list[tuple[str, float]]:
    top = max(score for _, score in scores)
    odds = [(name, math.exp(score - top)) for name, score in scores]
    total = sum(o for _, o in odds)
    return sorted(((name, o / total) for name, o in odds), key=lambda x: (-x[1], x[0]))


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

    def __init__(
        self,
        export,
        language: str,
        threshold: float | None = None,
        held_out: Mapping[str, set[int]] | None = None,
    ):
        self.language = language
        self.export = export
        self.threshold = agent_threshold(export) if threshold is None else threshold
        self.intents, custom = read_export(export, language)
        self.by_name = {i.name: i for i in self.intents}
        wanted = {p.entity for i in self.intents for p in i.parameters}
        wanted |= {
            str(part.get("meta", "")).lstrip("@")
            for i in self.intents
            for ph in i.phrases
            for part in ph.parts
            if part.get("meta")
        }
        self.extractor = Extractor(custom, language, wanted & (set(custom) | set(EXTRACTED_SYSTEM)))
        self.samples = {
            name: sorted({words(s) for e in entries for s in e.get("synonyms", [])[:4]} - {""})
            for name, (definition, entries) in custom.items()
            if not definition.get("isRegexp")
        }
        examples = []
        for intent in self.intents:
            skip = (held_out or {}).get(intent.name, set())
            for k, phrase in enumerate(intent.phrases):
                if k not in skip:
                    examples += [(intent.name, tokens) for tokens in self.phrase_variants(phrase, k)]
        self.classifier = Classifier(examples)

    # text -> tokens
    def tokens(self, text: str, now: datetime | None = None) -> tuple[list[str], list[Match]]:
        matches = self.extractor.find(text, now or datetime.now())
        tokens, at = [], 0
        for m in matches:
            tokens += words(text[at : m.start]).split() + entity_tokens(m.entity, m.original)
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
                tokens += entity_tokens(meta, said)
            else:
                tokens += self.tokens(part.get("text", ""), datetime(2026, 1, 1))[0]
        return tokens

    def phrase_variants(self, phrase: Phrase, k: int) -> list[list[str]]:
        variants = [self.phrase_tokens(phrase)]
        if any(str(p.get("meta", "")).lstrip("@") in self.samples for p in phrase.parts):
            variants += [self.phrase_tokens(phrase, swap=k * VARIANTS + j) for j in range(VARIANTS)]
        return variants

    def scores(self, text: str, active: Iterable[str] = (), now: datetime | None = None) -> list[tuple[str, float]]:
        """(intent, confidence) of every intent that can match now, best first."""
        active = set(active)
        tokens, _ = self.tokens(text, now)
        logits = self.classifier.logits(tokens)
        plain, taking_part = [], []
        for k, name in enumerate(self.classifier.labels):
            intent = self.by_name[name]
            if intent.can_match(active):
                plain.append((name, float(logits[k])))
                taking_part.append((name, float(logits[k]) + (CONTEXT_BONUS if intent.input_contexts else 0.0)))
        if not taking_part:
            return []
        ranked = _softmax(taking_part)
        if is_catch_all(self.by_name[ranked[0][0]]):
            # A catch-all in context never beats a clear match elsewhere: when, weighed without
            # any context bonus, another process's intent is clearly the best, that one is used.
            best, confidence = _softmax(plain)[0]
            if best.split(".")[0] != ranked[0][0].split(".")[0] and confidence >= CLEAR:
                return _softmax(plain)
        return ranked

    def understand(
        self,
        text: str,
        active: Iterable[str] = (),
        now: datetime | None = None,
        contexts: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Understanding:
        now = now or datetime.now()
        ranked = self.scores(text, active, now)
        if not ranked or ranked[0][1] < self.threshold or self.by_name[ranked[0][0]].fallback:
            # below the threshold, or most like a fallback intent's phrases (negative examples,
            # as Dialogflow reads them): the text falls back
            confidence = ranked[0][1] if ranked else 0.0
            return Understanding(None, round(confidence, 4), {}, {}, [], [])
        intent = self.by_name[ranked[0][0]]
        parameters, originals, matches = self.parameters(intent, text, now, contexts or {})
        missing = [p for p in intent.parameters if p.required and parameters.get(p.name) in ("", [], None)]
        return Understanding(intent, round(ranked[0][1], 4), parameters, originals, matches, missing)

    # parameters
    def parameters(
        self, intent: Intent, text: str, now: datetime, contexts: Mapping[str, Mapping[str, Any]]
    ) -> tuple[dict, dict, list[Match]]:
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
                after = words("".join(p.get("text", "") for p in phrase.parts[k + 1 :])).split()
                middle = said[len(before) : len(said) - len(after)]
                if said[: len(before)] == before and (not after or said[-len(after) :] == after) and middle:
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
        split[intent.name] = set(order[: max(1, round(n * holdout))])
    return split


def evaluate(export, language: str, holdout: float = 0.2, seed: int = 1, threshold: float | None = None) -> Evaluation:
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
