"""Is this value plain text? One check for every entry point (templates, variables, scrubbing)."""

from __future__ import annotations

import re

from config.errors import InputError

# C0 control characters other than tab, newline, vertical tab, form feed, carriage return
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
MAX_CONTROL_SHARE = 0.05


def check_text(text: object, label: str = "The text") -> str:
    """``text`` as a plain str (spaCy rejects str subclasses) unless it looks binary: ``InputError``."""
    if not isinstance(text, str):
        raise InputError(
            f"{label} is not text (got {type(text).__name__}).",
            "Pass a decoded string; upload binary files through a parser first.",
        )
    controls = len(_CONTROL.findall(text))
    if "\x00" in text or controls > MAX_CONTROL_SHARE * len(text):
        raise InputError(
            f"{label} looks like binary data (NUL or control characters).",
            "Paste plain text, or decode the file with the right encoding first.",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"{label} holds invalid Unicode (lone surrogates).",
            "Re-decode the source as UTF-8 and try again.",
        ) from None
    return text if type(text) is str else str.__str__(text)
