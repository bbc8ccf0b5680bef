"""Cutting a text into the pieces the semantic rules embed: sentences and windows of them.

Offsets always refer to the text given, so a hit can point at (and excerpt) its piece.
"""

from __future__ import annotations

import re

# a sentence ends at . ! ? (with closing quotes/brackets) before white space, or at a line break
_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+|\s*\n\s*")
_WORD = re.compile(r"\S+")

Span = tuple[int, int]


def sentences(text: str) -> list[Span]:
    """The sentences (and lines) of ``text`` as (start, end), blank ones left out."""
    spans, start = [], 0
    for m in _BREAK.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    out = []
    for s, e in spans:
        piece = text[s:e]
        if piece.strip():
            out.append((s + len(piece) - len(piece.lstrip()), e - len(piece) + len(piece.rstrip())))
    return out


def chunks(text: str, span: Span, max_words: int) -> list[Span]:
    """``span`` cut into pieces of at most ``max_words`` words."""
    words = [m.span() for m in _WORD.finditer(text, span[0], span[1])]
    return [(words[i][0], words[min(i + max_words, len(words)) - 1][1]) for i in range(0, len(words), max_words)]


def word_count(text: str, span: Span) -> int:
    return sum(1 for _ in _WORD.finditer(text, span[0], span[1]))


def windows(text: str, max_words: int = 60, max_windows: int = 12) -> list[Span]:
    """Runs of whole sentences of at most ``max_words`` words (a longer sentence is cut).

    A text with more than ``max_windows`` windows keeps its first two thirds and last
    third of that budget: jailbreaks set up their persona at the start and ask for
    agreement at the end.
    """
    pieces = [chunk for span in sentences(text) for chunk in chunks(text, span, max_words)]
    out: list[Span] = []
    count = 0
    for start, end in pieces:
        n = word_count(text, (start, end))
        if out and count + n <= max_words:
            out[-1] = (out[-1][0], end)
            count += n
        else:
            out.append((start, end))
            count = n
    if len(out) > max_windows:
        head = (2 * max_windows) // 3
        out = out[:head] + out[len(out) - (max_windows - head):]
    return out
