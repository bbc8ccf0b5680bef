"""The metric registry and plugin discovery (a folder of files, entry points)."""

from __future__ import annotations

import sys
import textwrap

import pytest

from config.errors import ConfigError
from config.settings import Settings
from evaluation import MetricContext, MetricInput, MetricSet, metric_function, register_metric, registered_metrics
from evaluation.plugins import plugin_errors, reset_for_tests
from evaluation.registry import Metric, unregister_metric

PLUGIN = '''
from evaluation import Metric, register_metric

@register_metric
class {cls}(Metric):
    name = "{name}"
    description = "Counts question marks in the answer."
    reads = ("output",)
    higher_is_better = False
    value_range = (0.0, None)

    def score(self, item):
        return self.result(float((item.output or "").count("?")) * {factor})
'''


@pytest.fixture
def plugin_dir(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    reset_for_tests()
    yield folder
    for name in ("question_marks", "broken_one", "fn_metric", "ep_metric"):
        unregister_metric(name)
    reset_for_tests()


def _settings(folder) -> Settings:
    return Settings(metric_plugins_dir=folder)


def test_builtins_are_registered_with_their_description():
    metrics = registered_metrics(Settings(metric_plugins_dir=None))
    assert {"pii_leaked_output", "latency_s", "cost_usd"} <= set(metrics)
    info = metrics["latency_s"].describe()
    assert info["kind"] == "signal" and info["reads"] == ["signals"] and info["higher_is_better"] is False
    assert info["range"] == "0 or more"


def test_a_file_dropped_in_the_plugin_folder_appears_and_scores(plugin_dir):
    settings = _settings(plugin_dir)
    assert "question_marks" not in registered_metrics(settings)
    (plugin_dir / "qm.py").write_text(PLUGIN.format(cls="QM", name="question_marks", factor=1))
    metrics = registered_metrics(settings)
    assert "question_marks" in metrics
    [metric] = MetricSet.from_list(["question_marks"]).build(MetricContext(settings))
    [result] = metric.score_many([MetricInput(input="q", output="Why? How?")])
    assert result.value == 2.0 and result.status == "ok"


def test_a_changed_plugin_file_is_reloaded(plugin_dir):
    settings = _settings(plugin_dir)
    path = plugin_dir / "qm.py"
    path.write_text(PLUGIN.format(cls="QM", name="question_marks", factor=1))
    registered_metrics(settings)
    path.write_text(PLUGIN.format(cls="QM", name="question_marks", factor=10))
    import os

    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    [metric] = MetricSet.from_list(["question_marks"]).build(MetricContext(settings))
    assert metric.score(MetricInput(input="", output="?")).value == 10.0


def test_a_broken_plugin_is_reported_and_does_not_hide_the_others(plugin_dir):
    settings = _settings(plugin_dir)
    (plugin_dir / "bad.py").write_text("import nonexistent_module_xyz\n")
    (plugin_dir / "qm.py").write_text(PLUGIN.format(cls="QM", name="question_marks", factor=1))
    (plugin_dir / "_private.py").write_text("raise RuntimeError('never imported')\n")
    metrics = registered_metrics(settings)
    assert "question_marks" in metrics and "latency_s" in metrics
    errors = plugin_errors()
    assert any(k.endswith("bad.py") and "nonexistent_module_xyz" in v for k, v in errors.items())
    assert not any(k.endswith("_private.py") for k in errors)


def test_a_function_registers_as_a_metric(plugin_dir):
    (plugin_dir / "fn.py").write_text(textwrap.dedent('''
        from evaluation import metric_function

        @metric_function("fn_metric", description="1 when the answer mentions a fee", reads=("output",))
        def mentions_fee(item):
            if item.output is None:
                return None
            return float("fee" in item.output.lower()), "looked for 'fee'"
    '''))
    settings = _settings(plugin_dir)
    [metric] = MetricSet.from_list([{"metric": "fn_metric", "flag_below": 1}]).build(MetricContext(settings))
    yes, no, missing = metric.score_many(
        [MetricInput("", "A fee applies."), MetricInput("", "Free."), MetricInput("", None)]
    )
    assert (yes.value, yes.flagged, yes.explanation) == (1.0, False, "looked for 'fee'")
    assert (no.value, no.flagged) == (0.0, True)
    assert missing.status == "unavailable" and missing.value is None


def test_entry_point_plugins_are_loaded(plugin_dir, tmp_path, monkeypatch):
    site = tmp_path / "site"
    package = site / "pf_ep_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN.format(cls="EP", name="ep_metric", factor=1))
    dist = site / "pf_ep_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pf-ep-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[promptforge.metrics]\nep = pf_ep_plugin:EP\n")
    monkeypatch.syspath_prepend(str(site))
    try:
        assert "ep_metric" in registered_metrics(_settings(plugin_dir))
    finally:
        sys.modules.pop("pf_ep_plugin", None)


def test_a_second_class_cannot_take_a_registered_name():
    with pytest.raises(ValueError, match="taken"):

        @register_metric
        class Impostor(Metric):
            name = "latency_s"
            description = "x"
            reads = ("output",)
            higher_is_better = True


def test_a_metric_without_a_description_is_refused():
    with pytest.raises(ValueError, match="description"):

        @register_metric
        class NoDescription(Metric):
            name = "no_description_metric"
            reads = ("output",)
            higher_is_better = True


def test_unknown_options_are_refused_with_the_metric_name():
    with pytest.raises(ConfigError, match="latency_s.*colour"):
        MetricSet.from_list([{"metric": "latency_s", "options": {"colour": "red"}}]).build()


def test_a_failing_metric_gives_an_error_result_not_an_exception(plugin_dir):
    @metric_function("broken_one", description="always fails")
    def broken(item):
        raise RuntimeError("boom")

    [metric] = MetricSet.from_list(["broken_one"]).build(MetricContext(_settings(plugin_dir)))
    [result] = metric.score_many([MetricInput("", "x")])
    assert result.status == "error" and "boom" in result.explanation and result.value is None
