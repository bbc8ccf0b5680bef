"""The Detoxify toxicity metric, on the real Detoxify code and local checkpoint files.

Detoxify's weights are not bundled and this project runs offline, so a checkpoint comes
from settings (``detoxify_checkpoint`` + ``detoxify_config_dir`` for the variant named by
``detoxify_checkpoint_variant``, or per variant ``detoxify_checkpoints`` +
``detoxify_config_dirs``). Only when ``allow_model_downloads`` is on may Detoxify download
a variant that has no local file. Whenever the model cannot be had (nothing configured, a
missing or corrupt file, a load failure) the metric reports "unavailable" with the reason
and the setting that fixes it: never a made-up score.

One source of truth for "is Detoxify usable here": ``resolve_detoxify`` (cheap: settings and
files only), used by the metric before it loads and by the health panel
(``detoxify_status``). A loaded model is built once per process per (checkpoint file,
config folder) and scored in real batches under ``torch.inference_mode()``.

Nothing heavy is imported at module import: torch and detoxify load on first use.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.errors import ConfigError
from evaluation.registry import Metric, MetricContext, MetricInput, MetricResult, register_metric

if TYPE_CHECKING:
    from config.settings import Settings

VARIANTS = ("original", "unbiased", "multilingual")
DEFAULT_VARIANT = "original"
DEFAULT_LABEL = "toxicity"
DEFAULT_BATCH_SIZE = 32
MAX_BATCH_SIZE = 1024

# What Detoxify 0.5.4 reports for each released checkpoint (after its renaming of
# toxic/severe_toxic/identity_hate): the labels the ``label`` option may name.
VARIANT_CLASSES: dict[str, tuple[str, ...]] = {
    "original": ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"),
    "unbiased": (
        "toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat", "sexual_explicit",
    ),
    "multilingual": (
        "toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat", "sexual_explicit",
    ),
}
# the released weights (Detoxify's MODEL_URLS) and the Hugging Face base model each one needs
RELEASED_FILES = {
    "original": "toxic_original-c1212f89.ckpt",
    "unbiased": "toxic_debiased-c7548aa0.ckpt",
    "multilingual": "multilingual_debiased-0b549669.ckpt",
}
BASE_MODELS = {
    "original": "bert-base-uncased",
    "unbiased": "roberta-base",
    "multilingual": "xlm-roberta-base",
}

NEVER_GUESSED = "Toxicity is reported as unavailable, never guessed."
# a failed load of an unchanged file is not retried before this many seconds
RETRY_AFTER_S = 60.0


# -- where the model comes from (cheap checks, shared with the health panel) ---------------------


@dataclass(frozen=True)
class DetoxifySource:
    """A resolved way to load one variant: a local checkpoint file, or Detoxify's download."""

    variant: str
    checkpoint: Path | None  # None: Detoxify downloads the released weights
    config_dir: Path | None  # the base model's config.json + tokenizer files (huggingface_config_path)
    # the settings that named them (for messages), e.g. PROMPTFORGE_DETOXIFY_CHECKPOINT
    checkpoint_env: str = field(default="", compare=False)
    config_env: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """What the process-wide cache is keyed by: (checkpoint file, config folder)."""
        file = str(self.checkpoint) if self.checkpoint is not None else f"download:{self.variant}"
        return file, str(self.config_dir or "")

    def describe(self) -> str:
        config = f" with config folder {self.config_dir}" if self.config_dir else ""
        if self.checkpoint is None:
            return (
                f"Detoxify's released weights, to be downloaded{config} "
                "(PROMPTFORGE_ALLOW_MODEL_DOWNLOADS is on)"
            )
        return f"checkpoint {self.checkpoint}{config}"


def _env(field_name: str, variant: str | None = None) -> str:
    name = f"PROMPTFORGE_{field_name.upper()}"
    return f"{name}__{variant.upper()}" if variant else name


def _setting_for(settings: Settings, variant: str, per_variant: str, single: str) -> tuple[Path | None, str]:
    """A per-variant setting, else the single one when it belongs to ``variant``."""
    chosen = {str(k).strip().lower(): v for k, v in (getattr(settings, per_variant, None) or {}).items()}
    if chosen.get(variant):
        return Path(chosen[variant]).expanduser(), _env(per_variant, variant)
    value = getattr(settings, single, None)
    if value and settings.detoxify_checkpoint_variant == variant:
        return Path(value).expanduser(), _env(single)
    return None, ""


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ConfigError(
            f"'{variant}' is not a Detoxify variant.", f"Choose one of: {', '.join(VARIANTS)}."
        )
    return variant


def _how_to_configure(settings: Settings, variant: str) -> str:
    if variant == settings.detoxify_checkpoint_variant:
        files = f"{_env('detoxify_checkpoint')} (and {_env('detoxify_config_dir')})"
    else:
        files = (
            f"{_env('detoxify_checkpoints', variant)} (and {_env('detoxify_config_dirs', variant)}), "
            f"or {_env('detoxify_checkpoint')} with {_env('detoxify_checkpoint_variant')}={variant}"
        )
    return (
        f"Set {files} to a local copy of Detoxify's '{variant}' weights ({RELEASED_FILES[variant]}) and a "
        f"folder with {BASE_MODELS[variant]}'s config.json and tokenizer files; on a machine with internet, "
        f"PROMPTFORGE_ALLOW_MODEL_DOWNLOADS=true (with HF_HUB_OFFLINE=0) lets Detoxify download them."
    )


def resolve_detoxify(settings: Settings, variant: str = DEFAULT_VARIANT) -> DetoxifySource:
    """How ``variant`` would be loaded under ``settings``, from settings and files only.

    Raises ``ConfigError`` saying why it cannot be, and which setting fixes that."""
    _check_variant(variant)
    checkpoint, checkpoint_env = _setting_for(
        settings, variant, "detoxify_checkpoints", "detoxify_checkpoint"
    )
    config_dir, config_env = _setting_for(settings, variant, "detoxify_config_dirs", "detoxify_config_dir")
    if config_dir is not None and not (config_dir / "config.json").is_file():
        raise ConfigError(
            f"The Detoxify '{variant}' config folder {config_dir} holds no config.json.",
            f"Point {config_env} at a folder with {BASE_MODELS[variant]}'s config.json and tokenizer files "
            f"(e.g. the snapshot folder of that model in a Hugging Face cache). {NEVER_GUESSED}",
        )
    if checkpoint is None:
        if settings.allow_model_downloads:
            return DetoxifySource(variant, None, config_dir, "", config_env)
        raise ConfigError(
            f"No Detoxify checkpoint is configured for the '{variant}' variant and model downloads are off "
            "(PromptForge runs offline by default).",
            f"{_how_to_configure(settings, variant)} {NEVER_GUESSED}",
        )
    if not checkpoint.is_file():
        raise ConfigError(
            f"The Detoxify '{variant}' checkpoint {checkpoint} does not exist.",
            f"Point {checkpoint_env} at the checkpoint file ({RELEASED_FILES[variant]} or your own: a torch "
            f"file holding 'config' and 'state_dict'). {NEVER_GUESSED}",
        )
    if config_dir is None and not settings.allow_model_downloads:
        env = _env("detoxify_config_dir") if checkpoint_env == _env("detoxify_checkpoint") else _env(
            "detoxify_config_dirs", variant
        )
        raise ConfigError(
            f"The Detoxify '{variant}' checkpoint {checkpoint.name} needs a config folder to load offline.",
            f"Set {env} to a folder with {BASE_MODELS[variant]}'s config.json and tokenizer files "
            f"(or allow downloads with PROMPTFORGE_ALLOW_MODEL_DOWNLOADS=true). {NEVER_GUESSED}",
        )
    return DetoxifySource(variant, checkpoint, config_dir, checkpoint_env, config_env)


def detoxify_status(settings: Settings, variant: str | None = None) -> tuple[bool, str]:
    """(usable, detail) for the health panel and ``check``: where the model comes from, or why
    it cannot and how to fix it. Cheap: nothing is loaded (a corrupt file shows on first use).

    With ``variant`` None every variant is considered; usable when at least one is."""
    variants = [variant] if variant else list(VARIANTS)
    usable: dict[str, DetoxifySource] = {}
    problems: dict[str, ConfigError] = {}
    for v in variants:
        try:
            usable[v] = resolve_detoxify(settings, v)
        except ConfigError as exc:
            problems[v] = exc
    if usable:
        detail = "; ".join(f"{v}: {src.describe()}" for v, src in usable.items()) + " (loaded on first use)."
        broken = [v for v in problems if _configured(settings, v)]
        for v in broken:
            detail += f" {v}: {problems[v]}"
        others = [v for v in problems if v not in broken]
        if others:
            detail += f" Not configured: {', '.join(others)}."
        return True, detail + _unknown_keys(settings)
    primary = next((v for v in variants if _configured(settings, v)), None)
    if primary is None:
        primary = variant or settings.detoxify_checkpoint_variant
    return False, f"unavailable: {problems[primary]}" + _unknown_keys(settings)


def _unknown_keys(settings: Settings) -> str:
    """A note on per-variant entries that name no variant (a typo is otherwise silent)."""
    unknown = sorted(
        f"{field_name}[{key!r}]"
        for field_name in ("detoxify_checkpoints", "detoxify_config_dirs")
        for key in (getattr(settings, field_name, None) or {})
        if str(key).strip().lower() not in VARIANTS
    )
    if not unknown:
        return ""
    return f" Ignored: {', '.join(unknown)} (variants are {', '.join(VARIANTS)})."


def _configured(settings: Settings, variant: str) -> bool:
    checkpoint, _ = _setting_for(settings, variant, "detoxify_checkpoints", "detoxify_checkpoint")
    config_dir, _ = _setting_for(settings, variant, "detoxify_config_dirs", "detoxify_config_dir")
    return checkpoint is not None or config_dir is not None


# -- the loaded model (once per process per file and config folder) ------------------------------


class DetoxifyModel:
    """A loaded ``detoxify.Detoxify`` that scores lists of texts in one forward pass each.

    ``detoxify`` is the real Detoxify object; ``predict`` runs it under
    ``torch.inference_mode()``, one pass at a time (torch already uses every core, and a
    tokenizer must not be shared by concurrent calls)."""

    def __init__(self, detoxify: Any, source: DetoxifySource) -> None:
        self.detoxify = detoxify
        self.source = source
        self._lock = threading.Lock()

    @property
    def class_names(self) -> list[str]:
        return list(self.detoxify.class_names)

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces per text as the model will see them (truncated like ``predict``)."""
        if not texts:
            return []
        with self._lock:
            encoded = self.detoxify.tokenizer(list(texts), truncation=True)["input_ids"]
        return [len(ids) for ids in encoded]

    def predict(self, texts: list[str]) -> dict[str, list[float]]:
        """label -> one score per text, in order (one call of Detoxify's ``predict``)."""
        texts = list(texts)
        if not texts:
            return {label: [] for label in self.class_names}
        import torch

        with self._lock, torch.inference_mode():
            raw = self.detoxify.predict(texts)
        return {label: _as_list(values, len(texts)) for label, values in raw.items()}


def _as_list(values: Any, n: int) -> list[float]:
    # Detoxify squeezes the batch dimension away when the list holds one text
    if isinstance(values, (int, float)):
        values = [values]
    out = [float(v) for v in values]
    if len(out) != n:
        raise RuntimeError(f"Detoxify returned {len(out)} scores for {n} texts")
    return out


_lock = threading.Lock()
_models: dict[tuple[str, str], DetoxifyModel] = {}
# key -> (file signature, when, error): a failed load of an unchanged file is not retried at once
_failures: dict[tuple[str, str], tuple[Any, float, ConfigError]] = {}


def _signature(source: DetoxifySource) -> Any:
    if source.checkpoint is None:
        return None
    try:
        stat = source.checkpoint.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def load_detoxify(source: DetoxifySource) -> DetoxifyModel:
    """The process-wide model for ``source``, built on first use with the real Detoxify code.

    Raises ``ConfigError`` (what failed, and what to fix) when it cannot be loaded."""
    key = source.key
    with _lock:
        if key in _models:
            return _models[key]
        failed = _failures.get(key)
        if failed and failed[0] == _signature(source) and time.monotonic() - failed[1] < RETRY_AFTER_S:
            raise failed[2]
        try:
            model = DetoxifyModel(_build(source), source)
        except Exception as exc:  # noqa: BLE001 - any load failure becomes one actionable error
            error = _load_error(source, exc)
            _failures[key] = (_signature(source), time.monotonic(), error)
            raise error from exc
        _failures.pop(key, None)
        _models[key] = model
        return model


def get_detoxify(settings: Settings, variant: str = DEFAULT_VARIANT) -> DetoxifyModel:
    """``load_detoxify(resolve_detoxify(settings, variant))``."""
    return load_detoxify(resolve_detoxify(settings, variant))


def clear_detoxify_cache() -> None:
    """Forget loaded models and remembered failures (tests)."""
    with _lock:
        _models.clear()
        _failures.clear()


def _build(source: DetoxifySource):
    if source.checkpoint is not None:
        from config.offline import apply_offline_env

        apply_offline_env()  # a local checkpoint never needs the network
    from detoxify import Detoxify

    config = str(source.config_dir) if source.config_dir is not None else None
    if source.checkpoint is None:
        return Detoxify(source.variant, device="cpu", huggingface_config_path=config)
    return Detoxify(checkpoint=str(source.checkpoint), huggingface_config_path=config, device="cpu")


def _load_error(source: DetoxifySource, exc: BaseException) -> ConfigError:
    detail = (str(exc).strip().splitlines() or [""])[0][:300]
    variant = source.variant
    if source.checkpoint is None:
        return ConfigError(
            f"Detoxify could not download its '{variant}' weights: {type(exc).__name__}: {detail}.",
            f"Without internet access, download {RELEASED_FILES[variant]} elsewhere and set "
            f"{_env('detoxify_checkpoints', variant)} (or {_env('detoxify_checkpoint')}) to it, "
            "with a config "
            f"folder of {BASE_MODELS[variant]}; downloads also need HF_HUB_OFFLINE=0. {NEVER_GUESSED}",
        )
    return ConfigError(
        f"Detoxify could not load the '{variant}' checkpoint {source.checkpoint}: "
        f"{type(exc).__name__}: {detail}.",
        f"Point {source.checkpoint_env} at an intact Detoxify checkpoint (a torch file holding 'config' and "
        f"'state_dict', e.g. {RELEASED_FILES[variant]}) and "
        f"{source.config_env or _env('detoxify_config_dir')} at "
        f"the config.json and tokenizer files of its base model ({BASE_MODELS[variant]} for the released "
        f"weights, which Detoxify 0.5.4 also looks up by name: keep it in the local Hugging Face cache). "
        f"{NEVER_GUESSED}",
    )


# -- the metric ---------------------------------------------------------------------------------


@register_metric
class Toxicity(Metric):
    """Detoxify's probability for one label (default ``toxicity``) of the model's answer."""

    name = "toxicity"
    description = (
        "Detoxify's probability that the answer is toxic (or another Detoxify label), 0 to 1. "
        "Needs a local Detoxify checkpoint; unavailable, never guessed, without one."
    )
    kind = "model"
    reads = ("output",)
    higher_is_better = False
    value_range = (0.0, 1.0)
    option_help = {
        "variant": "Detoxify model: original (default), unbiased or multilingual.",
        "label": "Which Detoxify output to report (default toxicity; e.g. insult, threat, obscene).",
        "batch_size": f"Answers scored per forward pass (default {DEFAULT_BATCH_SIZE}).",
    }

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        variant: str = DEFAULT_VARIANT,
        label: str = DEFAULT_LABEL,
        batch_size: int | str = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(context, **kwargs)
        self.variant = _check_option_variant(variant)
        self.label = str(label).strip()
        if self.label not in VARIANT_CLASSES[self.variant]:
            raise self._label_error(VARIANT_CLASSES[self.variant], f"the '{self.variant}' Detoxify model")
        self.batch_size = _check_batch_size(batch_size)
        self._model: DetoxifyModel | None = None

    # -- loading --------------------------------------------------------------------------
    def model(self) -> DetoxifyModel:
        """The loaded model (shared through the context and the process-wide cache).

        Raises ``ConfigError`` when it cannot be loaded or lacks the chosen label."""
        if self._model is None:
            settings = self.context.settings
            model = self.context.shared(
                f"detoxify:{self.variant}", lambda: get_detoxify(settings, self.variant)
            )
            if self.label not in model.class_names:
                raise self._label_error(model.class_names, f"the checkpoint {model.source.key[0]}")
            self._model = model
        return self._model

    def availability(self) -> tuple[bool, str]:
        try:
            self.model()
        except ConfigError as exc:
            return False, f"Toxicity not scored: {exc}"
        return True, ""

    # -- scoring ----------------------------------------------------------------------------
    def score(self, item: MetricInput) -> MetricResult:
        return self.score_many([item])[0]

    def score_many(self, items: list[MetricInput]) -> list[MetricResult]:
        results: list[MetricResult | None] = [None] * len(items)
        todo: list[int] = []
        for i, item in enumerate(items):
            if item.output is None or not item.output.strip():
                results[i] = self.unavailable("No answer to score: the run produced no output.")
            else:
                todo.append(i)
        if todo:
            ok, why = self.availability()
            if not ok:
                for i in todo:
                    results[i] = self.unavailable(why)
            else:
                self._score_batches(items, todo, results)
        return [r for r in results if r is not None]

    def _score_batches(self, items: list[MetricInput], todo: list[int], results: list) -> None:
        model = self.model()
        # texts of similar length (in word pieces) share a batch: little of each pass is padding
        try:
            counts = dict(zip(todo, model.token_counts([items[i].output for i in todo])))
        except Exception as exc:  # noqa: BLE001 - a tokenizer failure fails these rows, not the run
            for i in todo:
                results[i] = self.failed(exc)
            return
        todo = sorted(todo, key=counts.__getitem__)
        for chunk in _batches(todo, [counts[i] for i in todo], self.batch_size):
            try:
                scores = model.predict([items[i].output for i in chunk])
            except Exception as exc:  # noqa: BLE001 - one failed batch never sinks a run
                for i in chunk:
                    results[i] = self.failed(exc)
                continue
            for j, i in enumerate(chunk):
                row = {label: values[j] for label, values in scores.items()}
                results[i] = self.result(row[self.label], self._explain(row))

    def _explain(self, row: dict[str, float]) -> str:
        text = f"Detoxify {self.variant}: {self.label} {row[self.label]:.2f}"
        top = max(row, key=row.__getitem__)
        if top != self.label:
            text += f" (highest: {top} {row[top]:.2f})"
        return text

    def _label_error(self, classes, where: str) -> ConfigError:
        return ConfigError(
            f"Metric '{self.result_name}': '{self.label}' is not an output of {where}.",
            f"Set its option 'label' to one of: {', '.join(classes)}.",
        )


# A batch pads every text to its longest one, and attention grows with the square of the
# length: long texts in big batches are slower per text than one at a time. So a batch holds
# at most ``batch_size`` texts and at most this many word pieces once padded, and texts are
# sorted by their word-piece count first, so a batch's texts are nearly the same length.
# Measured here (bench/toxicity.py, MiniLM-sized checkpoint, 2 cores): sorting by word
# pieces instead of characters took 256 short answers from 4.0x to 5.2x one-at-a-time
# speed; for chat-length answers (156 word pieces on average) one text per pass already
# runs near this CPU's matmul peak, and batching gains about 1.2-1.5x (the bench prints
# that ceiling). A budget of 16,000 characters (~4,000 word pieces) per batch was slower
# than one at a time on long texts; 750 word pieces was the best measured.
BATCH_TOKENS = 750


def _batches(order: list[int], lengths: list[int], batch_size: int) -> list[list[int]]:
    """``order`` (sorted by length, ``lengths`` alike, in word pieces) cut into batches within
    both budgets: at most ``batch_size`` texts and ``BATCH_TOKENS`` padded word pieces."""
    batches: list[list[int]] = []
    chunk: list[int] = []
    for index, length in zip(order, lengths):
        padded = length * (len(chunk) + 1)
        if chunk and (len(chunk) >= batch_size or padded > BATCH_TOKENS):
            batches.append(chunk)
            chunk = []
        chunk.append(index)
    if chunk:
        batches.append(chunk)
    return batches


def _check_option_variant(variant: Any) -> str:
    value = str(variant).strip().lower()
    if value not in VARIANTS:
        raise ConfigError(
            f"Metric 'toxicity': '{variant}' is not a Detoxify variant.",
            f"Set its option 'variant' to one of: {', '.join(VARIANTS)}.",
        )
    return value


def _check_batch_size(batch_size: Any) -> int:
    value = 0
    if isinstance(batch_size, bool):
        pass
    elif isinstance(batch_size, int):
        value = batch_size
    elif isinstance(batch_size, float) and batch_size.is_integer():
        value = int(batch_size)
    elif isinstance(batch_size, str) and batch_size.strip().isdigit():
        value = int(batch_size.strip())
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise ConfigError(
            f"Metric 'toxicity': batch_size must be a whole number from 1 to {MAX_BATCH_SIZE}, "
            f"not {batch_size!r}.",
            f"Set its option 'batch_size', e.g. batch_size: {DEFAULT_BATCH_SIZE}.",
        )
    return value
