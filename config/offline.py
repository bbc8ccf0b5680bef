"""Process-wide switches that keep the offline path offline: no telemetry, no downloads.

Called first thing by ``launch.py``, the Streamlit entry point and the tests.
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DEEPEVAL_TELEMETRY_OPT_OUT": "YES",
    "DEEPEVAL_UPDATE_WARNING_OPT_OUT": "YES",
    "TRULENS_OTEL_TRACING": "1",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "LANGCHAIN_TRACING_V2": "false",
}


def apply_offline_env() -> None:
    """Set the offline/telemetry switches unless the user set them explicitly."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
