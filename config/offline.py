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


class _NoTorch:
    """A meta path finder that answers "not installed" for PyTorch (see ``keep_torch_out``)."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (kept out of this process)", name=name)
        return None


def keep_torch_out() -> bool:
    """For a process whose only models are spaCy's and Presidio's (an export from the shell): keep
    PyTorch from being imported, which Presidio's device probe, thinc and transformers otherwise do
    although no PII check uses it (about 400 MB of a 630 MB process): they all treat it as not
    installed. Returns whether it could: not when torch is already loaded. Anything that does
    need torch then fails loudly on import."""
    import sys

    if "torch" in sys.modules:
        return False
    os.environ.setdefault("PRESIDIO_DEVICE", "cpu")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # not "PyTorch was not found" on every start
    if not any(isinstance(finder, _NoTorch) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoTorch())
    return True
