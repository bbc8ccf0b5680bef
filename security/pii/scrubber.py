"""The Scrubber: detect PII with Presidio and replace it as the policy says; fail closed."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from config.errors import PromptForgeError, ScrubbingError
from config.settings import PIIPolicy
from security.pii.engine import LANGUAGE, get_analyzer
from security.pii.pseudonyms import PseudonymMap
from security.pii.replacement import Anonymize, apply_policy
from security.pii.results import Entity, ScrubResult
from security.pii.selection import analysis_threshold, select
from security.text import check_text

logger = logging.getLogger(__name__)

def _fail_closed(exc: Exception) -> ScrubbingError:
    """The error that stops the pipeline; it never carries text or the original message.

    The log names the exception type and where it was raised (frames only: the original
    message may quote the text).
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-4:]))
    logger.error("PII scrubbing failed with %s at %s; nothing was sent", type(exc).__name__, where)
    if isinstance(exc, PromptForgeError):  # e.g. the model is missing: its own hint applies
        cause, hint = exc.message, exc.hint
    else:
        cause, hint = f"an internal {type(exc).__name__}", ""
    return ScrubbingError(
        f"PII scrubbing failed ({cause}), so the prompt was not sent.",
        hint
        or "Nothing left this machine. Try again; if it keeps failing, check the spaCy model "
        "(PROMPTFORGE_SPACY_MODEL_PATH) and the server log, or ask an administrator.",
    )


class Scrubber:
    """Replaces the PII that ``policy`` names in prompts and outputs.

    ``analyzer`` defaults to the process-wide Presidio analyzer; ``anonymize`` writes
    the replacements (default: ``apply_policy``). Either can be injected.
    """

    def __init__(
        self,
        policy: PIIPolicy,
        analyzer: AnalyzerEngine | None = None,
        anonymize: Anonymize = apply_policy,
        batch_size: int = 64,
    ) -> None:
        self.policy = policy
        self._analyzer = analyzer
        self._anonymize = anonymize
        self.batch_size = batch_size

    @property
    def analyzer(self) -> AnalyzerEngine:
        if self._analyzer is None:
            self._analyzer = get_analyzer()
        return self._analyzer

    def detect(self, text: str) -> list[Entity]:
        """The PII spans the policy would scrub, without replacing them."""
        text = check_text(text)
        try:
            return select(text, self._analyze(text), self.policy) if text else []
        except Exception as exc:  # noqa: BLE001  fail closed on anything
            raise _fail_closed(exc) from None

    def scrub(self, text: str, pseudonyms: PseudonymMap | None = None) -> ScrubResult:
        """``text`` with its PII replaced; ``pseudonyms`` keeps placeholders stable across calls."""
        return self.scrub_many([text], [pseudonyms])[0]

    def scrub_many(
        self,
        texts: Sequence[str],
        pseudonyms: Sequence[PseudonymMap | None] | None = None,
    ) -> list[ScrubResult]:
        """Scrub many texts, running spaCy over them in batches. One failure fails all."""
        if isinstance(texts, str | bytes):
            raise TypeError("scrub_many takes a list of texts; use scrub for one text")
        maps = list(pseudonyms) if pseudonyms is not None else [None] * len(texts)
        if len(maps) != len(texts):
            raise ValueError("pseudonyms must have one entry (or None) per text")
        label = "The text" if len(texts) == 1 else "Text #{}"
        texts = [check_text(text, label.format(i)) for i, text in enumerate(texts, 1)]
        try:
            return [
                self._replace(text, select(text, results, self.policy), pmap)
                for text, results, pmap in zip(texts, self._analyze_many(texts), maps, strict=True)
            ]
        except Exception as exc:  # noqa: BLE001  fail closed on anything
            raise _fail_closed(exc) from None

    def _replace(self, text: str, entities: list[Entity], pseudonyms: PseudonymMap | None) -> ScrubResult:
        if not entities:
            return ScrubResult(text=text, entities=[])
        scrubbed, placed = self._anonymize(
            text, entities, self.policy, PseudonymMap() if pseudonyms is None else pseudonyms
        )
        return ScrubResult(text=scrubbed, entities=placed)

    def _analyze(self, text: str, nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        return self.analyzer.analyze(
            text=text,
            language=LANGUAGE,
            entities=list(self.policy.entities) or None,
            score_threshold=analysis_threshold(self.policy),
            nlp_artifacts=nlp_artifacts,
        )

    def _analyze_many(self, texts: Sequence[str]) -> Iterator[list[RecognizerResult]]:
        """Analyzer results per text; spaCy runs over the non-empty texts with ``nlp.pipe``."""
        filled = [text for text in texts if text]
        if len(filled) <= 1:  # one text: the analyzer runs spaCy itself
            artifacts: Iterator[tuple[str, NlpArtifacts | None]] = iter([(text, None) for text in filled])
        else:
            artifacts = self.analyzer.nlp_engine.process_batch(
                filled, language=LANGUAGE, batch_size=self.batch_size
            )
        for text in texts:
            if not text:
                yield []
                continue
            _, nlp_artifacts = next(artifacts)
            yield self._analyze(text, nlp_artifacts)
