"""The Scrubber: detect PII with Presidio and replace it as the policy says; fail closed."""

from __future__ import annotations

from collections.abc import Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerResult

from config.settings import PIIPolicy
from security.pii.analysis import AnalysisParams, analyze_many
from security.pii.engine import get_analyzer
from security.pii.failure import fail_closed
from security.pii.parallel import AnalysisPool
from security.pii.pseudonyms import PseudonymMap
from security.pii.replacement import Anonymize, apply_policy
from security.pii.results import Entity, ScrubResult
from security.pii.selection import select
from security.text import check_text


class Scrubber:
    """Replaces the PII that ``policy`` names in prompts and outputs.

    ``analyzer`` defaults to the process-wide Presidio analyzer; ``anonymize`` writes
    the replacements (default: ``apply_policy``). Either can be injected. With a
    ``pool``, large batches are analysed partly in its worker processes (same model,
    same recognizers); selection and replacement always happen here.
    """

    def __init__(
        self,
        policy: PIIPolicy,
        analyzer: AnalyzerEngine | None = None,
        anonymize: Anonymize = apply_policy,
        batch_size: int = 64,
        pool: AnalysisPool | None = None,
    ) -> None:
        self.policy = policy
        self._analyzer = analyzer
        self._anonymize = anonymize
        self.batch_size = batch_size
        self.pool = pool

    @property
    def analyzer(self) -> AnalyzerEngine:
        if self._analyzer is None:
            self._analyzer = get_analyzer()
        return self._analyzer

    def warm_up(self, wait: bool = True) -> bool:
        """Load the analyzer and start the pool's workers now, not on the first large
        batch; with ``wait``, until they are ready. Returns whether workers are ready."""
        self.analyzer  # noqa: B018
        return self.pool.start(wait=wait) if self.pool is not None else False

    def detect(self, text: str) -> list[Entity]:
        """The PII spans the policy would scrub, without replacing them."""
        text = check_text(text)
        try:
            return select(text, self._analyze_many([text])[0], self.policy) if text else []
        except Exception as exc:  # noqa: BLE001  fail closed on anything
            raise fail_closed(exc) from None

    def scrub(self, text: str, pseudonyms: PseudonymMap | None = None) -> ScrubResult:
        """``text`` with its PII replaced; ``pseudonyms`` keeps placeholders stable across calls."""
        return self.scrub_many([text], [pseudonyms])[0]

    def scrub_many(
        self,
        texts: Sequence[str],
        pseudonyms: Sequence[PseudonymMap | None] | None = None,
    ) -> list[ScrubResult]:
        """Scrub many texts, running spaCy over them in batches (large ones shared with the
        pool's workers). One failure fails all."""
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
            raise fail_closed(exc) from None

    def _replace(self, text: str, entities: list[Entity], pseudonyms: PseudonymMap | None) -> ScrubResult:
        if not entities:
            return ScrubResult(text=text, entities=[])
        scrubbed, placed = self._anonymize(
            text, entities, self.policy, PseudonymMap() if pseudonyms is None else pseudonyms
        )
        return ScrubResult(text=scrubbed, entities=placed)

    def _analyze_many(self, texts: Sequence[str]) -> list[list[RecognizerResult]]:
        """Analyzer results per text, in order; shared with the pool's workers when it has any."""
        params = AnalysisParams.for_policy(self.policy, self.batch_size)

        def local(part: Sequence[str]) -> list[list[RecognizerResult]]:
            return analyze_many(self.analyzer, part, params)

        return self.pool.analyze(texts, params, local) if self.pool is not None else local(texts)
