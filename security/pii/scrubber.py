"""The Scrubber: detect PII with Presidio and replace it as the policy says; fail closed."""

from __future__ import annotations

from collections.abc import Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerResult

from config.settings import PIIPolicy
from security.pii.analysis import AnalysisParams, analyze_many
from security.pii.engine import get_analyzer
from security.pii.failure import fail_closed
from security.pii.parallel import AnalysisPool, Pending
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
            return select(text, self.begin([text]).analysis()[0], self.policy) if text else []
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
        if pseudonyms is not None and len(pseudonyms) != len(texts):
            raise ValueError("pseudonyms must have one entry (or None) per text")
        return self.begin(texts).finish(pseudonyms)

    def begin(self, texts: Sequence[str]) -> ScrubJob:
        """Start scrubbing ``texts``: with a pool, its workers start analysing them now.
        ``finish`` completes the job; until then the caller is free to do other work."""
        if isinstance(texts, str | bytes):
            raise TypeError("begin takes a list of texts")
        label = "The text" if len(texts) == 1 else "Text #{}"
        texts = [check_text(text, label.format(i)) for i, text in enumerate(texts, 1)]
        params = AnalysisParams.for_policy(self.policy, self.batch_size)
        try:
            pending = self.pool.submit(texts, params) if self.pool is not None else None
        except Exception as exc:  # noqa: BLE001  fail closed on anything
            raise fail_closed(exc) from None
        return ScrubJob(self, texts, params, pending)

    def _replace(self, text: str, entities: list[Entity], pseudonyms: PseudonymMap | None) -> ScrubResult:
        if not entities:
            return ScrubResult(text=text, entities=[])
        scrubbed, placed = self._anonymize(
            text, entities, self.policy, PseudonymMap() if pseudonyms is None else pseudonyms
        )
        return ScrubResult(text=scrubbed, entities=placed)


class ScrubJob:
    """Texts being scrubbed: their analysis may be under way in the pool's workers."""

    def __init__(
        self, scrubber: Scrubber, texts: list[str], params: AnalysisParams, pending: Pending | None = None
    ) -> None:
        self.texts = texts
        self._scrubber, self._params, self._pending = scrubber, params, pending

    def analysis(self) -> list[list[RecognizerResult]]:
        """Analyzer results per text, in order (what the workers did not start is done here)."""

        def local(part: Sequence[str]) -> list[list[RecognizerResult]]:
            return analyze_many(self._scrubber.analyzer, part, self._params)

        return self._pending.result(local) if self._pending is not None else local(self.texts)

    def finish(self, pseudonyms: Sequence[PseudonymMap | None] | None = None) -> list[ScrubResult]:
        """The scrubbed texts; ``pseudonyms`` has one map (or None) per text. One failure fails all."""
        maps = list(pseudonyms) if pseudonyms is not None else [None] * len(self.texts)
        if len(maps) != len(self.texts):
            raise ValueError("pseudonyms must have one entry (or None) per text")
        scrubber = self._scrubber
        try:
            return [
                scrubber._replace(text, select(text, results, scrubber.policy), pmap)
                for text, results, pmap in zip(self.texts, self.analysis(), maps, strict=True)
            ]
        except Exception as exc:  # noqa: BLE001  fail closed on anything
            raise fail_closed(exc) from None

    def cancel(self) -> None:
        """Abandon the job: queued analysis the workers have not started is withdrawn."""
        if self._pending is not None:
            self._pending.cancel()
