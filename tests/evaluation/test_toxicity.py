"""The Detoxify toxicity metric on real Detoxify code and a small checkpoint built locally.

The checkpoints (tests/fakes/detoxify_checkpoint.py) have the released format and go through
Detoxify's own loading and ``predict``; their scores are deterministic but say nothing about
toxicity, so these tests check plumbing (loading, batching, labels, flags, "unavailable"),
never what is toxic.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import Settings
from evaluation import toxicity
from evaluation.registry import MetricContext, MetricInput
from evaluation.toxicity import (
    VARIANT_CLASSES,
    VARIANTS,
    Toxicity,
    detoxify_status,
    get_detoxify,
    resolve_detoxify,
)
from tests.fakes.detoxify_checkpoint import build_checkpoint

pytestmark = pytest.mark.slow

TEXTS = [
    "Thanks, your card replacement is on its way.",
    "You are an idiot and nobody should listen to you.",
    "The fee for an international transfer is 2%.",
    "ok",
    "I will find you and you will regret this.",
    "Please read the attached terms before signing the mortgage offer, especially section 4.",
    "Stupid question, stupid answer.",
    "Le virement a été effectué hier.",
    "Have a nice day!",
    "What a load of garbage this bank is.",
]
LONG = "Your balance is 1,204.55 EUR. " * 150  # longer than BERT's 512 tokens: Detoxify truncates
NO_DETOXIFY = dict(
    detoxify_checkpoint=None,
    detoxify_config_dir=None,
    detoxify_checkpoints={},
    detoxify_config_dirs={},
    allow_model_downloads=False,
)


def make_settings(tmp_path: Path, **detoxify) -> Settings:
    """Settings whose Detoxify fields are exactly ``detoxify`` (nothing from the environment)."""
    return Settings(data_dir=tmp_path, **{**NO_DETOXIFY, **detoxify})


def items(outputs) -> list[MetricInput]:
    return [MetricInput(input="prompt", output=o) for o in outputs]


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """variant -> (checkpoint file, config folder), built once per test session."""
    folder = tmp_path_factory.mktemp("detoxify")
    return {v: build_checkpoint(folder, v) for v in VARIANTS}


@pytest.fixture
def settings(tmp_path, checkpoints) -> Settings:
    checkpoint, config_dir = checkpoints["original"]
    return make_settings(tmp_path, detoxify_checkpoint=checkpoint, detoxify_config_dir=config_dir)


@pytest.fixture
def predict_calls(settings, monkeypatch):
    """The sizes of the lists passed to the real Detoxify ``predict`` (spied on, still called)."""
    import torch

    model = get_detoxify(settings, "original")
    real = model.detoxify.predict
    calls: list[int] = []

    def spy(texts):
        assert isinstance(texts, list)
        assert torch.is_inference_mode_enabled()
        calls.append(len(texts))
        return real(texts)

    monkeypatch.setattr(model.detoxify, "predict", spy)
    return calls


# -- scoring --------------------------------------------------------------------------------


def test_scores_are_probabilities_that_vary_by_text(settings):
    results = Toxicity(MetricContext(settings)).score_many(items(TEXTS))
    assert [r.status for r in results] == ["ok"] * len(TEXTS)
    values = [r.value for r in results]
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in values)
    assert len({round(v, 6) for v in values}) == len(TEXTS)  # a real model, not a constant
    assert all(r.name == "toxicity" and r.higher_is_better is False for r in results)
    assert results[0].explanation.startswith("Detoxify original: toxicity ")


def test_reported_value_is_detoxifys_own_score_for_the_label(settings):
    model = get_detoxify(settings, "original")
    direct = model.detoxify.predict(TEXTS[:4])
    got = Toxicity(MetricContext(settings), label="insult").score_many(items(TEXTS[:4]))
    assert [r.value for r in got] == pytest.approx(direct["insult"], abs=1e-6)


def test_batched_scores_equal_one_at_a_time(settings):
    texts = [*TEXTS, LONG]  # texts of very different lengths share a padded batch
    batched = Toxicity(MetricContext(settings), batch_size=4).score_many(items(texts))
    single = Toxicity(MetricContext(settings), batch_size=1)
    one_by_one = [single.score_many(items([t]))[0] for t in texts]
    assert all(r.status == "ok" for r in batched + one_by_one)
    assert [r.value for r in batched] == pytest.approx([r.value for r in one_by_one], abs=1e-4)
    assert single.score(MetricInput("p", TEXTS[1])).value == pytest.approx(batched[1].value, abs=1e-4)


@pytest.mark.parametrize(("n", "batch_size"), [(70, 32), (64, 32), (5, 32), (11, 3), (1, 1)])
def test_a_batch_of_n_makes_ceil_n_over_batch_size_predict_calls(settings, predict_calls, n, batch_size):
    outputs = [TEXTS[i % len(TEXTS)] for i in range(n)]
    results = Toxicity(MetricContext(settings), batch_size=batch_size).score_many(items(outputs))
    assert len(predict_calls) == math.ceil(n / batch_size)
    assert sum(predict_calls) == n and max(predict_calls) <= batch_size
    assert all(r.status == "ok" for r in results)


def test_batches_group_texts_by_word_pieces_within_the_padded_budget(settings, monkeypatch):
    model = get_detoxify(settings, "original")
    real = model.detoxify.predict
    batches: list[list[str]] = []
    monkeypatch.setattr(model.detoxify, "predict", lambda texts: batches.append(list(texts)) or real(texts))
    medium = "Your transfer of 250 EUR to account ending 4411 was completed this morning. " * 3
    outputs = [LONG, TEXTS[3], medium, TEXTS[0], LONG, TEXTS[5], medium, TEXTS[1]] * 3
    results = Toxicity(MetricContext(settings), batch_size=32).score_many(items(outputs))
    assert all(r.status == "ok" for r in results)
    assert sorted(t for b in batches for t in b) == sorted(outputs)  # each text scored exactly once
    for batch in batches:
        pieces = model.token_counts(batch)
        assert pieces == sorted(pieces)  # short ones together, long ones together
        assert len(batch) == 1 or max(pieces) * len(batch) <= toxicity.BATCH_TOKENS
    # the 512-piece texts go alone (one would fill the budget), the short ones share a pass
    assert sum(1 for b in batches if b == [LONG]) == 6
    assert max(len(b) for b in batches) >= 12
    # the order of results is the order of the rows, whatever the batching
    alone = Toxicity(MetricContext(settings), batch_size=1).score_many(items(outputs[:4]))
    assert [r.value for r in results[:4]] == pytest.approx([r.value for r in alone], abs=1e-4)


def test_rows_without_output_are_unavailable_and_never_sent(settings, predict_calls):
    outputs = [TEXTS[0], None, TEXTS[1], "   ", "", TEXTS[2]]
    results = Toxicity(MetricContext(settings)).score_many(items(outputs))
    assert [r.status for r in results] == ["ok", "unavailable", "ok", "unavailable", "unavailable", "ok"]
    assert all(r.value is None and "no output" in r.explanation for r in results if r.status != "ok")
    assert predict_calls == [3]
    # order is kept: each scored row has its own text's score
    alone = Toxicity(MetricContext(settings)).score_many(items([TEXTS[1]]))[0].value
    assert results[2].value == pytest.approx(alone, abs=1e-4)


def test_no_rows_or_only_empty_rows_call_nothing(settings, predict_calls):
    assert Toxicity(MetricContext(settings)).score_many([]) == []
    assert [r.status for r in Toxicity(MetricContext(settings)).score_many(items([None]))] == ["unavailable"]
    assert predict_calls == []


def test_flags_above_and_below_thresholds(settings):
    values = [r.value for r in Toxicity(MetricContext(settings)).score_many(items(TEXTS))]
    cut = sorted(values)[len(values) // 2]
    above = Toxicity(MetricContext(settings), flag_above=cut).score_many(items(TEXTS))
    assert [r.flagged for r in above] == [v > cut for v in values]
    assert 0 < sum(r.flagged for r in above) < len(TEXTS)
    below = Toxicity(MetricContext(settings), flag_below=cut).score_many(items(TEXTS))
    assert [r.flagged for r in below] == [v < cut for v in values]
    unscored = Toxicity(MetricContext(settings), flag_above=-1.0).score_many(items([None]))
    assert unscored[0].flagged is False


# -- loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_loads_from_its_own_settings_with_its_classes(tmp_path, checkpoints, variant):
    checkpoint, config_dir = checkpoints[variant]
    settings = make_settings(
        tmp_path, detoxify_checkpoints={variant: checkpoint}, detoxify_config_dirs={variant: config_dir}
    )
    model = get_detoxify(settings, variant)
    assert model.class_names == list(VARIANT_CLASSES[variant])  # Detoxify's renaming applied
    last = VARIANT_CLASSES[variant][-1]
    results = Toxicity(MetricContext(settings), variant=variant, label=last).score_many(items(TEXTS[:3]))
    assert [r.status for r in results] == ["ok"] * 3
    assert all(0.0 <= r.value <= 1.0 for r in results)
    assert results[0].explanation.startswith(f"Detoxify {variant}: {last} ")
    ok, detail = detoxify_status(settings)
    assert ok and f"{variant}: checkpoint {checkpoint}" in detail


def test_single_checkpoint_serves_the_variant_it_declares(tmp_path, checkpoints):
    checkpoint, config_dir = checkpoints["unbiased"]
    settings = make_settings(
        tmp_path, detoxify_checkpoint=checkpoint, detoxify_config_dir=config_dir,
        detoxify_checkpoint_variant="unbiased",
    )
    assert resolve_detoxify(settings, "unbiased").checkpoint == checkpoint
    with pytest.raises(ConfigError, match="PROMPTFORGE_DETOXIFY_CHECKPOINTS__ORIGINAL"):
        resolve_detoxify(settings, "original")
    result = Toxicity(MetricContext(settings), variant="unbiased", label="sexual_explicit").score(
        MetricInput("p", TEXTS[0])
    )
    assert result.status == "ok"


def test_the_model_is_built_once_per_process_per_file_and_config(
    settings, checkpoints, tmp_path, monkeypatch
):
    toxicity.clear_detoxify_cache()
    built = []
    real_build = toxicity._build
    monkeypatch.setattr(toxicity, "_build", lambda source: built.append(source.key) or real_build(source))
    first = Toxicity(MetricContext(settings)).model()
    other_settings = make_settings(
        tmp_path,
        detoxify_checkpoint=settings.detoxify_checkpoint,
        detoxify_config_dir=settings.detoxify_config_dir,
    )
    second = Toxicity(MetricContext(other_settings), label="threat").model()
    assert first is second and len(built) == 1
    checkpoint, config_dir = checkpoints["unbiased"]
    Toxicity(
        MetricContext(make_settings(tmp_path, detoxify_checkpoint=checkpoint, detoxify_config_dir=config_dir))
    ).model()
    assert len(built) == 2


# -- options ---------------------------------------------------------------------------------


def test_label_must_be_one_of_the_variants_classes(settings):
    with pytest.raises(ConfigError) as err:
        Toxicity(MetricContext(settings), label="rudeness")
    assert "rudeness" in err.value.message and "insult" in err.value.hint and "'label'" in err.value.hint
    with pytest.raises(ConfigError, match="sexual_explicit"):
        Toxicity(MetricContext(settings), label="sexual_explicit")  # an unbiased label, not an original one
    unbiased = Toxicity(MetricContext(settings), variant="unbiased", label="sexual_explicit")
    assert unbiased.label == "sexual_explicit"


def test_label_is_checked_against_the_loaded_checkpoints_classes(tmp_path, checkpoints):
    # the "unbiased" setting points at a checkpoint with the original classes: no sexual_explicit
    checkpoint, config_dir = checkpoints["original"]
    settings = make_settings(
        tmp_path, detoxify_checkpoints={"unbiased": checkpoint}, detoxify_config_dirs={"unbiased": config_dir}
    )
    metric = Toxicity(MetricContext(settings), variant="unbiased", label="sexual_explicit")
    with pytest.raises(ConfigError, match="is not an output of the checkpoint"):
        metric.model()
    result = metric.score_many(items([TEXTS[0]]))[0]
    assert result.status == "unavailable" and result.value is None
    assert "sexual_explicit" in result.explanation and "toxicity, severe_toxicity" in result.explanation
    ok = Toxicity(MetricContext(settings), variant="unbiased", label="toxicity").score_many(items([TEXTS[0]]))
    assert ok[0].status == "ok"


@pytest.mark.parametrize(
    "options",
    [
        {"variant": "small"}, {"batch_size": 0}, {"batch_size": "many"}, {"batch_size": True},
        {"batch_size": 2.5}, {"device": "cuda"},
    ],
)
def test_bad_options_raise_config_errors_with_a_fix(settings, options):
    with pytest.raises(ConfigError) as err:
        Toxicity(MetricContext(settings), **options)
    assert err.value.hint


def test_options_from_a_metric_set(settings):
    from evaluation.metric_sets import MetricSet

    metric_set = MetricSet.from_list(
        [
            {
                "metric": "toxicity",
                "name": "insult",
                "options": {"label": "insult", "batch_size": "16", "variant": "Original"},
            }
        ]
    )
    (metric,) = metric_set.build(MetricContext(settings))
    assert isinstance(metric, Toxicity)
    assert (metric.variant, metric.label, metric.batch_size) == ("original", "insult", 16)
    assert metric.score(MetricInput("p", TEXTS[0])).name == "insult"
    described = Toxicity.describe()
    assert described["kind"] == "model" and set(described["options"]) == {"variant", "label", "batch_size"}
    assert described["reads"] == ["output"] and described["higher_is_better"] is False


# -- unavailable, never guessed ----------------------------------------------------------------


def _assert_unavailable(settings, reason: str, fix: str) -> None:
    results = Toxicity(MetricContext(settings)).score_many(items(TEXTS[:3] + [None]))
    assert [r.status for r in results] == ["unavailable"] * 4
    assert all(r.value is None and not r.flagged for r in results)
    for r in results[:3]:
        assert reason in r.explanation and fix in r.explanation, r.explanation


def test_unavailable_when_nothing_is_configured(tmp_path):
    settings = make_settings(tmp_path)
    _assert_unavailable(settings, "No Detoxify checkpoint is configured", "PROMPTFORGE_DETOXIFY_CHECKPOINT")
    ok, detail = detoxify_status(settings)
    assert not ok and "PROMPTFORGE_DETOXIFY_CHECKPOINT" in detail and "never guessed" in detail


def test_unavailable_when_the_file_is_missing(tmp_path, checkpoints):
    settings = make_settings(
        tmp_path, detoxify_checkpoint=tmp_path / "gone.ckpt", detoxify_config_dir=checkpoints["original"][1]
    )
    _assert_unavailable(settings, "gone.ckpt does not exist", "Point PROMPTFORGE_DETOXIFY_CHECKPOINT at")


def test_unavailable_when_the_config_folder_is_missing(tmp_path, checkpoints):
    settings = make_settings(tmp_path, detoxify_checkpoint=checkpoints["original"][0])
    _assert_unavailable(settings, "needs a config folder", "PROMPTFORGE_DETOXIFY_CONFIG_DIR")
    settings = make_settings(
        tmp_path, detoxify_checkpoint=checkpoints["original"][0], detoxify_config_dir=tmp_path
    )
    _assert_unavailable(settings, "holds no config.json", "PROMPTFORGE_DETOXIFY_CONFIG_DIR")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "not_a_checkpoint"])
def test_unavailable_when_the_file_is_corrupt(tmp_path, checkpoints, damage):
    import torch

    good, config_dir = checkpoints["original"]
    bad = tmp_path / f"{damage}.ckpt"
    if damage == "garbage":
        bad.write_bytes(b"this is not a torch file\x00\x01" * 100)
    elif damage == "truncated":  # an interrupted copy
        with good.open("rb") as fh:
            bad.write_bytes(fh.read(1_000_000))
    else:
        torch.save({"state_dict": {}}, bad)  # a torch file without Detoxify's config
    settings = make_settings(tmp_path, detoxify_checkpoint=bad, detoxify_config_dir=config_dir)
    _assert_unavailable(
        settings, "Detoxify could not load", "Point PROMPTFORGE_DETOXIFY_CHECKPOINT at an intact"
    )
    ok, _ = detoxify_status(settings)
    assert ok  # the cheap check sees a file; the failure shows on first use, as above


def test_a_failed_load_is_not_retried_at_once_but_a_replaced_file_is(tmp_path, checkpoints, monkeypatch):
    import shutil

    good, config_dir = checkpoints["original"]
    path = tmp_path / "model.ckpt"
    path.write_bytes(b"junk")
    settings = make_settings(tmp_path, detoxify_checkpoint=path, detoxify_config_dir=config_dir)
    builds = []
    real_build = toxicity._build
    monkeypatch.setattr(toxicity, "_build", lambda source: builds.append(1) or real_build(source))
    for _ in range(3):
        assert Toxicity(MetricContext(settings)).score_many(items([TEXTS[0]]))[0].status == "unavailable"
    assert len(builds) == 1
    shutil.copyfile(good, path)  # the operator puts the right file in place
    assert Toxicity(MetricContext(settings)).score_many(items([TEXTS[0]]))[0].status == "ok"
    assert len(builds) == 2


def test_downloads_only_when_allowed(tmp_path):
    settings = make_settings(tmp_path, allow_model_downloads=True)
    source = resolve_detoxify(settings, "multilingual")
    assert source.checkpoint is None and source.variant == "multilingual"
    ok, detail = detoxify_status(settings)
    assert ok and "to be downloaded" in detail
    with pytest.raises(ConfigError, match="model downloads are off"):
        resolve_detoxify(make_settings(tmp_path), "multilingual")


def test_health_panel_uses_the_metrics_check(tmp_path, checkpoints):
    from execution.health import _detoxify

    nothing = make_settings(tmp_path)
    component = _detoxify(nothing)
    assert not component.available
    reason = Toxicity(MetricContext(nothing)).score_many(items(["x"]))[0].explanation
    assert component.detail.removeprefix("unavailable: ") in reason
    checkpoint, config_dir = checkpoints["original"]
    configured = _detoxify(
        make_settings(tmp_path, detoxify_checkpoint=checkpoint, detoxify_config_dir=config_dir)
    )
    assert configured.available and checkpoint.name in configured.detail
    missing = _detoxify(make_settings(tmp_path, detoxify_checkpoints={"unbiased": tmp_path / "nope.ckpt"}))
    assert not missing.available and "PROMPTFORGE_DETOXIFY_CHECKPOINTS__UNBIASED" in missing.detail
