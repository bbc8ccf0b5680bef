"""Importing this module registers the built-in metrics (through ``register_metric``)."""

import evaluation.assertions  # noqa: F401
import evaluation.deepeval_metrics  # noqa: F401  (DeepEval itself loads on first use)
import evaluation.signals  # noqa: F401
import evaluation.similarity  # noqa: F401
import evaluation.toxicity  # noqa: F401  (Detoxify loads on first use)
from evaluation.signals import DEFAULT_METRICS

# what an evaluation run scores when its prompt has no metric set of its own
DEFAULT_EVAL_METRICS = [*DEFAULT_METRICS, "answer_relevance", "semantic_similarity", "toxicity"]
