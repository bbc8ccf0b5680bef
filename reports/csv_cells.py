"""CSV cells as every export writes them.

* A number or flag: full precision, ``true``/``false``; never "nan" or "inf" (an empty cell).
* Text that a spreadsheet would read as a formula (starting with ``= + - @``, a tab or a
  carriage return) gets a leading apostrophe, so opening the file runs nothing.
"""

from __future__ import annotations

import json
import math
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A number or flag as a CSV cell: empty for None, NaN and inf; full precision otherwise
    (anything else is text, see ``text_cell``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return text_cell(value)
        if not math.isfinite(number):
            return ""
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    return text_cell(value)


def text_cell(value: Any) -> str:
    """Text as a CSV cell, neutralised against spreadsheet formula injection (anything that is
    not a string is written as JSON first)."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unguard(text: str) -> str:
    """A text cell as it was before ``text_cell`` guarded it (for readers of an export)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
