"""Semantic injection rules on all-MiniLM-L6-v2 sentence embeddings, taught by the
project's own example libraries (``security/injection/library``), for attacks that no
pattern words the same way twice.

- ``SimilarToKnownAttack``: a window of the text reads like a known attack rather than
  like an ordinary request or document.
- ``InstructionInData`` (untrusted values only): a sentence of a pasted e-mail or
  document reads as a request to the assistant *and* does not belong to the text around
  it.

Each rule fits a logistic regression on the embedded libraries the first time it is
used (a few seconds; nothing is downloaded or stored) and reports, for every hit, the
library example it is closest to and how close. ``SimilarToKnownAttack`` also gives its
classifier the wording-independent cues of each piece (``security/injection/cues.py``)
beside the embedding, and is taught the varied attacks and the benign look-alikes too.
The embedder comes through a factory, so the model loads on first use, once per process,
and tests pass their own.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from config.models import Embedder
from security.injection import library
from security.injection.cues import any_cue, cue_vector
from security.injection.library import Example
from security.injection.rules import CATEGORIES, Hit, Rule, excerpt
from security.injection.segments import Span, chunks, sentences, windows, word_count
from security.injection.vectors import teaching_vectors

EmbedderFactory = Callable[[], Embedder]
Features = Callable[[list[str]], np.ndarray]

# the forms a task for an assistant takes, which document text rarely does: a sentence that
# opens with a task verb ("Summarise...", "Provide a list of...", "Translate..."; a reader is
# asked to click, call, sign or reply instead), or an impersonal knowledge question ("How
# have migration patterns changed?"; a document's questions are put to its reader)
TASK_VERB = re.compile(
    r"^\W*(?:please\s+)?(?:provide|list|write|summari[sz]e|explain|describe|analy[sz]e|translate|suggest|"
    r"recommend|generate|create|compose|draft|give|tell|find|calculate|compute|compare|determine|identify|"
    r"evaluate|assess|help|predict|classify|convert|rewrite|paraphrase|encode|decode|reverse|outline|"
    r"brainstorm|plan|design|develop|build|implement|debug|fix|optimi[sz]e|name|define|research|investigate|"
    r"discuss|estimate|forecast|rank|recite|replace|substitute|respond|reply|answer|output|print|say|share|"
    r"offer)\b",
    re.IGNORECASE,
)
KNOWLEDGE_QUESTION = re.compile(
    r"^\W*(?:what|how|why|who|which|when|where|is|are|can|could|does|do|should|would)\b[^?]*\?\W{0,3}$",
    re.IGNORECASE,
)
PERSONAL = re.compile(r"\b(?:you|your|we|our|us|i|me|my)\b", re.IGNORECASE)


def task_form(sentence: str) -> float:
    """1 for each task form ``sentence`` takes (a task verb first; an impersonal question)."""
    question = bool(KNOWLEDGE_QUESTION.search(sentence)) and not PERSONAL.search(sentence)
    return float(bool(TASK_VERB.search(sentence))) + float(question)


def _ramp(value: float, low: float, high: float, floor: float = 0.5, top: float = 0.95) -> float:
    """``floor`` at ``low`` rising linearly to ``top`` at ``high``."""
    share = min(1.0, max(0.0, (value - low) / max(high - low, 1e-6)))
    return round(floor + (top - floor) * share, 4)


class Taught:
    """Positive and negative examples, embedded and fitted on first use.

    ``decision`` is the logistic regression's log-odds of "positive"; ``nearest`` the
    positive example closest to each vector and its cosine.
    """

    def __init__(
        self,
        positives: Sequence[Example],
        negatives: Sequence[Example],
        c: float = 1.0,
        features: Features | None = None,
        kernel: str = "linear",
    ) -> None:
        if not positives or not negatives:
            raise ValueError("a semantic rule needs positive and negative examples")
        if kernel not in ("linear", "rbf"):
            raise ValueError(f"unknown kernel {kernel!r}")
        self.positives = list(positives)
        self.negatives = list(negatives)
        self.c = c
        self.features = features  # more columns for the classifier, from the texts themselves
        self.kernel = kernel
        self._vectors: np.ndarray | None = None
        self._model = None
        self._words = None  # (vectoriser, model) of the cheap word-level stage
        self._lock = threading.Lock()

    def ready(self, embedder: Embedder) -> None:
        with self._lock:
            if self._model is not None:
                return
            texts, labels = self._examples()
            vectors = teaching_vectors(embedder, texts)
            self._model = self.classifier().fit(self._columns(vectors, texts), labels)
            self._vectors = vectors[: len(self.positives)]

    def classifier(self):
        """A fresh, unfitted classifier of this kind (balanced class weights)."""
        if self.kernel == "rbf":
            from sklearn.svm import SVC

            return SVC(C=self.c, kernel="rbf", gamma="scale", class_weight="balanced")
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.c, class_weight="balanced", max_iter=5000)

    def _columns(self, vectors: np.ndarray, texts: list[str], features: np.ndarray | None = None) -> np.ndarray:
        if self.features is None:
            return vectors
        return np.c_[vectors, self.features(texts) if features is None else features]

    def decision(self, vectors: np.ndarray, texts: list[str], features: np.ndarray | None = None) -> np.ndarray:
        """The classifier's decision for the pieces ``texts``, embedded as ``vectors``: the
        log-odds of "positive" (linear), or the signed margin (rbf). ``features``: the texts'
        own columns when the caller has them already."""
        return self._model.decision_function(self._columns(vectors, texts, features))

    def _examples(self) -> tuple[list[str], np.ndarray]:
        texts = [e.text for e in self.positives + self.negatives]
        return texts, np.r_[np.ones(len(self.positives)), np.zeros(len(self.negatives))]

    def word_decision(self, texts: list[str]) -> np.ndarray:
        """The word-level stage's log-odds (a fraction of a millisecond per text); taught on
        first use, with no model."""
        with self._lock:
            if self._words is None:
                from sklearn.feature_extraction.text import TfidfVectorizer
                from sklearn.linear_model import LogisticRegression

                examples, labels = self._examples()
                words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
                fitted = LogisticRegression(C=10.0, class_weight="balanced", max_iter=5000)
                self._words = (words, fitted.fit(words.fit_transform(examples), labels))
        words, model = self._words
        return model.decision_function(words.transform(texts))

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        similarities = vectors @ self._vectors.T
        return similarities.argmax(axis=1), similarities.max(axis=1)


class SemanticRule(Rule):
    """Shared machinery: lazily built embedders, taught classifiers, batched matching.

    A rule has one or more members, each an embedder and a classifier taught on the same
    examples in that embedder's space; the rule's decision is the members' mean. The first
    member also names the closest example of every hit.
    """

    uses_model = True
    threshold: float = 0.0  # a piece scoring at least this is a hit...
    strong: float = 1.0  # ...weighing as much as a strong rule from here

    def __init__(
        self,
        name: str,
        category: str,
        description: str,
        weight: float,
        embedder: EmbedderFactory,
        taught: Taught,
        others: Sequence[tuple[EmbedderFactory, Taught]] = (),
    ) -> None:
        super().__init__(name, category, description, weight)
        self.members: list[tuple[EmbedderFactory, Taught]] = [(embedder, taught), *others]
        self._embedders: list[Embedder | None] = [None] * len(self.members)
        self._lock = threading.Lock()

    @property
    def taught(self) -> Taught:
        return self.members[0][1]

    def embedder_of(self, member: int) -> Embedder:
        with self._lock:
            if self._embedders[member] is None:
                self._embedders[member] = self.members[member][0]()
        embedder = self._embedders[member]
        self.members[member][1].ready(embedder)
        return embedder

    @property
    def embedder(self) -> Embedder:
        return self.embedder_of(0)

    def decision(self, pieces: list[str], vectors: Sequence[np.ndarray]) -> np.ndarray:
        """The members' mean decision for ``pieces``; ``vectors`` holds each member's embedding.
        Members taught with the same feature function share its columns, computed once."""
        shared: dict[Features, np.ndarray] = {}
        decisions = []
        for (_, taught), member_vectors in zip(self.members, vectors, strict=True):
            features = None
            if taught.features is not None:
                if taught.features not in shared:
                    shared[taught.features] = taught.features(pieces)
                features = shared[taught.features]
            decisions.append(taught.decision(member_vectors, pieces, features))
        return np.mean(decisions, axis=0)

    def match(self, text: str) -> list[Hit]:
        return self.match_many([text])[0]

    def pieces(self, text: str) -> list[Span]:
        """The spans of ``text`` to embed ([] skips the text)."""
        raise NotImplementedError

    def scores(self, text: str, spans: list[Span], vectors: Sequence[np.ndarray]) -> np.ndarray:
        """One score per piece (``vectors``: each member's embedding of the pieces); a piece
        scoring at least ``self.threshold`` is a hit."""
        raise NotImplementedError

    def prefilter_many(self, texts: Sequence[str], spans: list[list[Span]]) -> list[list[Span]]:
        """The pieces worth embedding, per text (all of them unless a rule has a cheaper first
        stage, which sees every piece of the batch at once)."""
        return spans

    def match_many(self, texts: Sequence[str]) -> list[list[Hit]]:
        """Hits per text; every piece of every text goes to the model in one batch."""
        spans = self.prefilter_many(texts, [self.pieces(text) for text in texts])
        flat = [text[s:e] for text, found in zip(texts, spans, strict=True) for s, e in found]
        if not flat:
            return [[] for _ in texts]
        # a piece met twice (a derived view leaves most windows as they were) is embedded once
        distinct = list(dict.fromkeys(flat))
        where = {piece: i for i, piece in enumerate(distinct)}
        rows = np.fromiter((where[piece] for piece in flat), dtype=np.intp, count=len(flat))
        # each model loads and teaches on first use
        vectors = [self.embedder_of(i).encode(distinct)[rows] for i in range(len(self.members))]
        out, at = [], 0
        for text, found in zip(texts, spans, strict=True):
            out.append(self._hits(text, found, [v[at : at + len(found)] for v in vectors]) if found else [])
            at += len(found)
        return out

    def _hits(self, text: str, spans: list[Span], vectors: list[np.ndarray]) -> list[Hit]:
        scores = self.scores(text, spans, vectors)
        firing = [i for i, score in enumerate(scores) if score >= self.threshold]
        if not firing:
            return []
        nearest, similarity = self.taught.nearest(vectors[0][firing])
        hits = []
        for i, best, close in zip(firing, nearest, similarity, strict=True):
            example = self.taught.positives[int(best)]
            hit = self.hit(text, *spans[i], weight=_ramp(float(scores[i]), self.threshold, self.strong))
            category = example.label if example.label in CATEGORIES else self.category
            hits.append(replace(hit, category=category, example=excerpt(example.text), similarity=round(float(close), 3)))
        return hits


# the libraries that teach the direct screen
DIRECT_ATTACKS = (library.ATTACKS, library.VARIED_ATTACKS, library.INJECTED_DOCUMENTS)
DIRECT_ORDINARY = (library.REQUESTS, library.DOCUMENTS, library.LOOKALIKES, library.CLEAN_DOCUMENTS)

# how much one cue counts beside the embedding's 384 columns (unit vectors): small, so that a
# cue alone moves the log-odds only as far as the teaching data says it should
CUE_SCALE = 0.3


def scaled_cues(texts: list[str]) -> np.ndarray:
    return np.stack([cue_vector(text) for text in texts]) * CUE_SCALE


class SimilarToKnownAttack(SemanticRule):
    """A window of the text reads like an attack in the library, not like an ordinary
    request, document or benign look-alike, flagged from ``threshold``.

    Each member (an embedding model; ``embedder`` and then ``others``) has its own
    classifier, an RBF support-vector machine over the window's embedding and its cues
    (``cues.py``); the rule's score is the members' mean margin. Models that read text
    differently (multilingual-e5-small and all-MiniLM-L6-v2) rarely err on the same benign
    window, so their mean keeps recall at fewer false positives than either alone.

    Embedding every window of every prompt would cost more than scrubbing it, so a cheap
    first stage picks the windows worth embedding: those whose word-level log-odds (word
    n-grams, taught by the same examples) reach ``word_gate``, or that show any cue. The
    gate is set for recall; the embedding classifiers decide.
    """

    def __init__(
        self,
        embedder: EmbedderFactory,
        attacks: Sequence[Example] | None = None,
        ordinary: Sequence[Example] | None = None,
        threshold: float = 0.0,
        strong: float = 1.5,
        extra_dir: Path | None = None,
        word_gate: float | None = -0.5,
        others: Sequence[EmbedderFactory] = (),
        kernel: str = "rbf",
        c: float = 10.0,
    ) -> None:
        if attacks is None:
            attacks = [e for name in DIRECT_ATTACKS for e in library.load(name, extra_dir)]
        if ordinary is None:
            ordinary = [e for name in DIRECT_ORDINARY for e in library.load(name, extra_dir)]

        def taught() -> Taught:
            return Taught(attacks, ordinary, c=c, features=scaled_cues, kernel=kernel)

        super().__init__(
            "similar_to_known_attack",
            "roleplay_jailbreak",
            "Reads like an attack in the project's own library and not like its ordinary texts or benign "
            "look-alikes (sentence embeddings and cues, support-vector machines).",
            0.95,
            embedder,
            taught(),
            [(other, taught()) for other in others],
        )
        self.threshold = threshold
        self.strong = strong
        self.word_gate = word_gate

    def pieces(self, text: str) -> list[Span]:
        return windows(text)

    def prefilter_many(self, texts: Sequence[str], spans: list[list[Span]]) -> list[list[Span]]:
        pieces = [text[s:e] for text, found in zip(texts, spans, strict=True) for s, e in found]
        if self.word_gate is None or not pieces:
            return spans
        odds = self.taught.word_decision(pieces)
        passed = iter([o >= self.word_gate or any_cue(piece) for piece, o in zip(pieces, odds, strict=True)])
        return [[span for span in found if next(passed)] for found in spans]

    def scores(self, text: str, spans: list[Span], vectors: Sequence[np.ndarray]) -> np.ndarray:
        return self.decision([text[start:end] for start, end in spans], vectors)


class InstructionInData(SemanticRule):
    """In an untrusted value, a sentence that reads as a request to the assistant.

    An indirect injection looks like an ordinary instruction ("write a script that...");
    what gives it away is where it stands: inside an e-mail or a document whose own
    sentences read like document text and share a topic. A sentence scores the
    classifier's log-odds of "request" (request library against document-text library),
    minus ``off_topic`` times its similarity to the rest of the value, plus ``task_bonus``
    for each task form it takes (``task_form``).
    """

    untrusted_only = True

    def __init__(
        self,
        embedder: EmbedderFactory,
        requests: Sequence[Example] | None = None,
        documents: Sequence[Example] | None = None,
        threshold: float = 0.4,
        strong: float = 2.5,
        off_topic: float = 8.0,
        task_bonus: float = 1.5,
        extra_dir: Path | None = None,
        min_words: int = 4,
        max_words: int = 40,
    ) -> None:
        super().__init__(
            "instruction_in_data",
            "instruction_override",
            "In an untrusted value (e-mail, document), a sentence that reads as a request to the assistant "
            "and not as part of the text around it.",
            0.9,
            embedder,
            Taught(
                requests if requests is not None else library.load(library.REQUESTS, extra_dir),
                documents if documents is not None else library.load(library.DOCUMENTS, extra_dir),
            ),
        )
        self.threshold = threshold
        self.strong = strong
        self.off_topic = off_topic
        self.task_bonus = task_bonus
        self.min_words = min_words
        self.max_words = max_words

    def pieces(self, text: str) -> list[Span]:
        return [
            chunk
            for span in sentences(text)
            if word_count(text, span) >= self.min_words
            for chunk in chunks(text, span, self.max_words)
        ]

    def scores(self, text: str, spans: list[Span], vectors: Sequence[np.ndarray]) -> np.ndarray:
        pieces = [text[start:end] for start, end in spans]
        decision = self.decision(pieces, vectors)
        vectors = vectors[0]
        total = vectors.sum(axis=0)
        rest = total[None, :] - vectors  # every other sentence of the value
        norms = np.linalg.norm(rest, axis=1)
        belonging = np.where(norms > 1e-6, (vectors * rest).sum(axis=1) / np.maximum(norms, 1e-6), 0.0)
        forms = np.array([task_form(text[start:end]) for start, end in spans])
        return decision - self.off_topic * belonging + self.task_bonus * forms
