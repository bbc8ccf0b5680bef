"""Person names: census given names, lists, cues, completion of found names, and the
name-shaped words (products, places, plain English) that must stay untouched."""

from __future__ import annotations

import pytest

from security.pii import lexicon
from security.pii.name_spans import complete_names
from security.pii.results import Entity


def names(scrubber, text: str) -> list[str]:
    return [text[e.start : e.end] for e in scrubber.detect(text) if e.type == "PERSON"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("They had 6: Gaetane, Hannah, Anthony, Derek, Anna and Andrew.", ["Gaetane", "Hannah", "Anthony", "Derek", "Anna", "Andrew"]),
        ("our 3 founders: Kónya, Becker and Vasquez.", ["Kónya", "Becker", "Vasquez"]),
        ("Maybe it's under Elita B Desaulniers", ["Elita B Desaulniers"]),
        ("Ask Dr. Jennifer Holst DDS about it", ["Dr. Jennifer Holst DDS"]),
        ("My name is Aantje Mourik but everyone calls me Aantje", ["Aantje Mourik", "Aantje"]),
        ("I would like to remove my kid Lukas from the will.", ["Lukas"]),
        ("her maiden name is nyberg", ["nyberg"]),
        ("follow up with patricia desrosiers in a couple of months.", ["patricia desrosiers"]),
        ("Ubul: What a wife. Nicole: Remember me?", ["Ubul", "Nicole"]),
        ("Warrane, can I please speak to your boss?", ["Warrane"]),
        ("Maureen Thibault called about her loan", ["Maureen Thibault"]),
        ("Enrico shouted at Gary: stop!", ["Enrico", "Gary"]),
    ],
)
def test_names_are_found_whole(scrubber, text, expected):
    assert sorted(names(scrubber, text)) == sorted(expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "Translate the natural language description into a Google Sheets formula.",
        "Categorize the product into Electronics, Computers, Smart Home, or Arts & Crafts.",
        "Draft a headline for a campaign about our Green Mortgage with a 0.25% rate discount.",
        "Rewrite the terms for the Everyday Checking account in a friendlier tone.",
        "Compare the career overviews of the players in Major League Baseball.",
        "Solve the given Sudoku puzzle.",
        "Provide a Java solution to the following problem.",
        "Suggest some Audiobooks for First-Time Listeners.",
        "Will the May update grant users more Hope?",
        "Write a tweet: our branches close at 3 pm on Christmas Eve.",
        "Compare Black and White themes for the app.",
        "Compare Python, Java and Rust for the back end.",
        "I am planning a 7-day trip to Seattle. Can you make a plan?",
        "Input: the text. Output: a summary. Note: be brief.",
    ],
)
def test_name_shaped_words_stay_untouched(scrubber, text):
    assert scrubber.scrub(text).text == text


@pytest.mark.parametrize(
    "word, given, english",
    [
        ("Derek", True, False),
        ("Tiffany", True, True),  # WordNet lists some names; the census decides
        ("Will", False, True),  # a given name that is mainly a word
        ("June", False, True),
        ("Sheets", False, True),  # plural of an English word
        ("First-Time", False, True),
        ("Vasquez", False, False),
    ],
)
def test_lexicon(word, given, english):
    assert lexicon.is_given_name(word) is given
    assert lexicon.is_english_word(word) is english


def _person(text: str, part: str) -> Entity:
    start = text.index(part)
    return Entity(type="PERSON", start=start, end=start + len(part), score=0.8, recognizer="test")


@pytest.mark.parametrize(
    "text, found, expected",
    [
        ("Call Ryan P Costa now", "Ryan", ["Ryan P Costa"]),
        ("Maybe Hauta-aho is here", "Hauta", ["Hauta-aho"]),
        ("Ask Mrs. Kathrine Filemonsen DDS, please", "Kathrine Filemonsen", ["Mrs. Kathrine Filemonsen DDS"]),
        ("Call Lukas Ostermann today", "Ostermann", ["Lukas Ostermann"]),
        ("Compare Ostermann with the Rates page", "Ostermann", ["Ostermann"]),  # "Compare", "Rates" stay
        ("founders: Eklund, Michael and Hodge.", "Michael", ["Michael", "Eklund", "Hodge"]),
        ("Asya Godina met Asya's kid", "Asya Godina", ["Asya Godina", "Asya"]),
        ("Mary Green said green is fine", "Mary Green", ["Mary Green"]),  # a plain word repeats only capitalised
    ],
)
def test_complete_names(text, found, expected):
    completed = complete_names(text, [_person(text, found)])
    assert [text[e.start : e.end] for e in completed] == expected


def test_complete_names_leaves_other_types_and_clean_texts_alone():
    text = "Seattle is lovely"
    place = Entity(type="LOCATION", start=0, end=7, score=0.85, recognizer="test")
    assert complete_names(text, [place]) == [place]
    assert complete_names("nothing here", []) == []


def test_complete_names_respects_the_allow_list():
    text = "Derek met Derek"
    completed = complete_names(text, [_person(text, "Derek")], keep=lambda span: span != "Derek")
    assert len(completed) == 1
