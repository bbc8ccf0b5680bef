"""Sentences and windows: the pieces the semantic rules embed."""

from __future__ import annotations

import pytest

from security.injection.segments import chunks, sentences, windows, word_count


def texts(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[s:e] for s, e in spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        ("Line one\nLine two\n\n  Line three  ", ["Line one", "Line two", "Line three"]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("Pay $3.50 by 5 p.m. today", ["Pay $3.50 by 5 p.m.", "today"]),
        ("", []),
        ("   \n\n  ", []),
        ("no full stop at all", ["no full stop at all"]),
    ],
)
def test_sentences(text, expected):
    assert texts(text, sentences(text)) == expected


def test_windows_join_sentences_up_to_the_word_budget():
    text = "a b c. d e. f g h i. j."
    assert texts(text, windows(text, max_words=5)) == ["a b c. d e.", "f g h i. j."]


def test_a_long_sentence_is_cut_into_word_chunks():
    text = " ".join(f"w{i}" for i in range(25))
    pieces = texts(text, windows(text, max_words=10))
    assert [len(p.split()) for p in pieces] == [10, 10, 5]
    assert " ".join(pieces) == text


def test_windows_of_a_very_long_text_keep_its_start_and_end():
    text = " ".join(f"Sentence number {i} is here." for i in range(100))
    spans = windows(text, max_words=5, max_windows=6)
    assert len(spans) == 6
    assert text[spans[0][0] :].startswith("Sentence number 0 ")
    assert text[: spans[-1][1]].endswith("Sentence number 99 is here.")


def test_chunks_and_word_count_use_offsets_of_the_text():
    text = "  alpha beta   gamma delta epsilon  "
    assert word_count(text, (0, len(text))) == 5
    assert texts(text, chunks(text, (0, len(text)), 2)) == ["alpha beta", "gamma delta", "epsilon"]
