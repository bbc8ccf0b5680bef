"""``security.pii.scan``: which entity types remain in text that should hold none."""

from __future__ import annotations

import pytest

from config.settings import Settings
from security.pii.scan import FULL, PATTERNS, forget_new_words, get_scanner

pytestmark = pytest.mark.slow  # the real analyzers


@pytest.fixture(scope="module")
def scanner():
    return get_scanner(Settings(), ignore=("URL",))


CASES = [
    # (text, found by the patterns, found by the full analyzer)
    ("Write to maria.lopez@example.org today.", ["EMAIL_ADDRESS"], ["EMAIL_ADDRESS"]),
    ("Refund to GB82 WEST 1234 5698 7654 32 please.", ["IBAN_CODE"], ["IBAN_CODE"]),
    ("Card 4111 1111 1111 1111 was declined.", ["CREDIT_CARD"], ["CREDIT_CARD"]),
    ("Call me on 212-555-0143 after five.", ["PHONE_NUMBER"], ["PHONE_NUMBER"]),
    ("My name is Tomasz Wiśniewski and I want a loan.", ["PERSON"], ["PERSON"]),
    ("<PERSON_1> asked <PERSON_2> about <EMAIL_ADDRESS_1> and card ****.", [], []),
    ("Summarise the complaint in three sentences.", [], []),
    ("The provider compat:llama@http://llm.internal:8000/v1 timed out.", [], []),  # URL: not reported
]


@pytest.mark.parametrize(("text", "patterns", "full"), CASES)
def test_what_each_depth_finds(scanner, text, patterns, full):
    assert scanner.scan([text], PATTERNS) == [patterns]
    assert scanner.scan([text], FULL) == [full]


def test_a_name_only_the_ner_knows(scanner):
    text = "Yesterday Bartholomew Quigley-Fennimore phoned the branch."
    assert scanner.scan([text], PATTERNS) == [[]]
    assert scanner.scan([text], FULL) == [["PERSON"]]


def test_many_texts_at_once_keep_their_order(scanner):
    texts = ["nothing here", "", "ana@example.com", "  ", "nothing either"] * 20
    assert scanner.scan(texts) == [[], [], ["EMAIL_ADDRESS"], [], []] * 20
    with pytest.raises(TypeError):
        scanner.scan("one text")
    with pytest.raises(ValueError, match="unknown scan depth"):
        scanner.scan(["x"], "deep")


def test_the_tokenizer_forgets_new_words_past_a_limit(scanner):
    analyzer = scanner.analyzer(PATTERNS)
    scanner.scan(["warm"])
    nlp = analyzer.nlp_engine.nlp["en"]
    scanner.scan([f"case zq{i}x of branch {i * 7}" for i in range(200)])
    assert len(nlp.vocab.strings) > analyzer.nlp_engine._pf_words
    assert forget_new_words(analyzer, limit=100)
    assert analyzer.nlp_engine.nlp["en"] is not nlp
    assert scanner.scan(["ana@example.com"]) == [["EMAIL_ADDRESS"]]
    assert not forget_new_words(scanner.analyzer(FULL))  # the scrubber's pipeline is left alone
