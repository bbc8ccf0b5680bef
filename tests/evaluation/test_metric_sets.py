"""Metric sets: YAML round trip, validation, thresholds and gates."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from evaluation import MetricInput, MetricSet
from evaluation.stats import mean_interval, proportion_interval
from evaluation.summary import gates_passed, summarize

YAML = """
prompt: complaint-summary@v2
metrics:
  - metric: latency_s
    flag_above: 2
    max_mean: 1.5
  - pii_leaked_output
  - metric: total_tokens
    name: tokens
    min_pass_rate: 0.9
    flag_above: 500
"""


def test_yaml_round_trip_keeps_names_thresholds_and_gates():
    metric_set = MetricSet.from_yaml(YAML)
    assert [s.result_name for s in metric_set.specs] == ["latency_s", "pii_leaked_output", "tokens"]
    again = MetricSet.from_yaml(metric_set.to_yaml({"prompt": "x"}))
    assert again == metric_set
    assert again.spec("tokens").gates == {"min_pass_rate": 0.9}
    assert again.spec("latency_s").flag_above == 2.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics: [", "not valid YAML at line"),
        ("metrics: {a: 1}", "list of metrics"),
        ("- flag_above: 2", "needs a 'metric'"),
        ("- metric: latency_s\n  flag_above: high", "must be a number"),
        ("- metric: latency_s\n  colour: red", "unknown key"),
        ("- metric: latency_s\n  min_pass_rate: 2", "between 0 and 1"),
        ("- metric: latency_s\n  options: [1]", "options must be a mapping"),
    ],
)
def test_bad_metric_set_yaml_says_what_to_fix(text, message):
    with pytest.raises(ConfigError, match=message):
        MetricSet.from_yaml(text)


def test_unknown_and_repeated_metrics_are_refused():
    with pytest.raises(ConfigError, match="Unknown metric.*no_such_metric"):
        MetricSet.from_list(["latency_s", "no_such_metric"]).build()
    with pytest.raises(ConfigError, match="more than once"):
        MetricSet.from_list(["latency_s", "latency_s"]).build()
    MetricSet.from_list(["latency_s", {"metric": "latency_s", "name": "latency_again"}]).build()


def test_a_set_threshold_overrides_the_default_and_an_unset_one_keeps_it():
    default, custom = MetricSet.from_list(
        ["pii_leaked_output", {"metric": "pii_leaked_output", "name": "pii2", "flag_above": 3}]
    ).build()
    assert default.flag_above == 0.0 and custom.flag_above == 3.0
    item = MetricInput("", "x", signals={"pii_out_count": 2.0})
    assert default.score(item).flagged and not custom.score(item).flagged
    assert custom.score(item).name == "pii2"


def test_only_picks_named_specs_and_adds_defaults_for_others():
    metric_set = MetricSet.from_yaml(YAML).only(["tokens", "cost_usd"])
    assert [s.result_name for s in metric_set.specs] == ["tokens", "cost_usd"]


def _stats(n, mean, values_sq, flagged=0, mn=0.0, mx=1.0):
    return {"n": n, "mean": mean, "sum_sq": values_sq, "min": mn, "max": mx, "unavailable": 0, "errors": 0,
            "flagged": flagged, "higher_is_better": True}


def test_summary_means_intervals_pass_rates_and_gates():
    import numpy as np
    from scipy import stats

    values = np.array([0.2, 0.4, 0.9, 0.7, 0.5])
    metric_set = MetricSet.from_list(
        [{"metric": "latency_s", "min_mean": 0.6}, {"metric": "total_tokens", "flag_above": 10, "min_pass_rate": 0.5}]
    )
    summaries = summarize(
        metric_set,
        {
            "latency_s": _stats(5, values.mean(), float((values**2).sum())),
            "total_tokens": _stats(4, 8.0, 300.0, flagged=1),
        },
    )
    latency, tokens = summaries
    low, high = stats.t.interval(0.95, 4, loc=values.mean(), scale=stats.sem(values))
    assert latency.ci_low == pytest.approx(low) and latency.ci_high == pytest.approx(high)
    assert latency.pass_rate is None
    assert tokens.pass_rate == 0.75
    [mean_gate] = latency.gates
    assert mean_gate.passed is False and mean_gate.actual == pytest.approx(0.54)
    [rate_gate] = tokens.gates
    assert rate_gate.passed is True
    assert not gates_passed(summaries)


def test_a_gate_with_nothing_scored_fails_and_a_simulated_one_is_not_judged():
    metric_set = MetricSet.from_list([{"metric": "latency_s", "min_mean": 0.5}, {"metric": "cost_usd", "max_mean": 1}])
    empty = {**_stats(0, None, None), "unavailable": 3}
    [latency, cost] = summarize(metric_set, {"latency_s": empty, "cost_usd [simulated]": _stats(3, 5.0, 80.0)})
    assert latency.gates[0].passed is False and "no scored rows" in latency.gates[0].note
    assert cost.simulated and cost.gates[0].passed is None
    assert not gates_passed([latency, cost]) and gates_passed([cost])


def test_a_mean_interval_stays_within_what_the_metric_can_score():
    """Two leaks in 1,000 rows: the t-interval reaches below 0, a count cannot."""
    metric_set = MetricSet.from_list([{"metric": "pii_leaked_output"}, {"metric": "answer_relevance"}])
    leaks = _stats(1000, 0.002, 2.0)
    relevance = _stats(3, 0.97, 0.98**2 + 0.99**2 + 0.94**2)  # t with 2 degrees of freedom: wide
    raw_leaks, raw_relevance = mean_interval(1000, 0.002, 2.0), mean_interval(3, 0.97, relevance["sum_sq"])
    assert raw_leaks[0] < 0 and raw_relevance[1] > 1  # what the unbounded interval says
    leaked, relevant = summarize(metric_set, {"pii_leaked_output": leaks, "answer_relevance": relevance})
    assert leaked.ci_low == 0.0 and leaked.ci_high == pytest.approx(raw_leaks[1])
    assert relevant.ci_high == 1.0 and relevant.ci_low == pytest.approx(raw_relevance[0])


def test_interval_edge_cases():
    assert mean_interval(1, 0.5, 0.25) == (None, None)
    assert proportion_interval(0, 0) == (None, None)
    low, high = proportion_interval(10, 10)
    assert high == pytest.approx(1.0) and 0.6 < low < 0.8
