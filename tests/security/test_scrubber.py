"""Scrubber behaviour: policies, pseudonyms, allow-list, thresholds, batching, failing closed."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from config.errors import ConfigError, InputError, ScrubbingError
from config.settings import PIIPolicy
from security.pii import Entity, PseudonymMap, Scrubber, ScrubResult
from security.pii.recognizers.nhs import nhs_valid
from security.pii.selection import resolve_overlaps

CARD = "4111 1111 1111 1111"
TEXT = f"Maria Gonzalez paid with card {CARD}; call her on 212-555-0143."


def assert_offsets_consistent(original: str, result: ScrubResult) -> None:
    """Every entity's replacement sits at out_start:out_end; the rest of the text is unchanged."""
    rebuilt, cursor = [], 0
    for e in result.entities:
        assert result.text[e.out_start : e.out_end] == e.replacement
        rebuilt += [original[cursor : e.start], e.replacement]
        cursor = e.end
    rebuilt.append(original[cursor:])
    assert "".join(rebuilt) == result.text


@pytest.mark.slow
def test_tag_policy(make_scrubber):
    result = make_scrubber(default_action="tag").scrub(TEXT)
    assert result.text == "<PERSON> paid with card <CREDIT_CARD>; call her on <PHONE_NUMBER>."
    assert result.counts_by_type() == {"PERSON": 1, "CREDIT_CARD": 1, "PHONE_NUMBER": 1}
    assert_offsets_consistent(TEXT, result)


@pytest.mark.slow
def test_mask_policy_keeps_length(make_scrubber):
    result = make_scrubber(default_action="tag", actions={"CREDIT_CARD": "mask"}, mask_char="#").scrub(TEXT)
    assert "#" * len(CARD) in result.text and CARD not in result.text
    card = next(e for e in result.entities if e.type == "CREDIT_CARD")
    assert card.replacement == "#" * (card.end - card.start)
    assert_offsets_consistent(TEXT, result)


@pytest.mark.slow
def test_pseudonyms_number_in_reading_order(scrubber):
    text = "Maria Gonzalez wrote to Thomas Becker, then Maria Gonzalez called again."
    result = scrubber.scrub(text)
    assert result.text == "<PERSON_1> wrote to <PERSON_2>, then <PERSON_1> called again."
    assert_offsets_consistent(text, result)


@pytest.mark.slow
def test_pseudonyms_are_stable_across_texts_sharing_a_map(scrubber):
    pseudonyms = PseudonymMap()
    first = scrubber.scrub("Send the statement to Maria Gonzalez at 212-555-0143.", pseudonyms)
    second = scrubber.scrub(
        "Reply: Maria  Gonzalez on (212) 555 0143 confirmed; Thomas Becker cc.", pseudonyms
    )
    assert "<PERSON_1>" in first.text and "<PHONE_NUMBER_1>" in first.text
    assert "<PERSON_1>" in second.text and "<PHONE_NUMBER_1>" in second.text
    assert "<PERSON_2>" in second.text
    fresh = scrubber.scrub("Thomas Becker cc.")
    assert fresh.text == "<PERSON_1> cc."


def test_pseudonym_map_never_reveals_or_serialises_values():
    pseudonyms = PseudonymMap()
    assert pseudonyms.placeholder("PERSON", "Maria  Gonzalez") == "<PERSON_1>"
    assert pseudonyms.placeholder("PERSON", "maria gonzalez") == "<PERSON_1>"
    assert pseudonyms.placeholder("PHONE_NUMBER", "212-555-0143") == "<PHONE_NUMBER_1>"
    assert pseudonyms.placeholder("PHONE_NUMBER", "(212) 555 0143") == "<PHONE_NUMBER_1>"
    assert "Maria" not in repr(pseudonyms) and "Gonzalez" not in str(vars(pseudonyms))
    for serialise in (pickle.dumps, copy.deepcopy, copy.copy):
        with pytest.raises(TypeError):
            serialise(pseudonyms)


@pytest.mark.slow
def test_allow_list_is_case_insensitive(make_scrubber):
    text = "Maria Gonzalez asked about Visa fees."
    assert "Maria Gonzalez" not in make_scrubber().scrub(text).text
    kept = make_scrubber(allow_list=["maria gonzalez"]).scrub(text)
    assert "Maria Gonzalez" in kept.text


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "Summarise this customer message for the relationship manager.",
        "Translate the letter below into French.",
        "Dear team, please review the attached statement.",
        "Reply politely, as JSON.",
    ],
)
def test_prompt_vocabulary_is_not_mistaken_for_names(make_scrubber, text):
    assert make_scrubber().scrub(text).text == text


@pytest.mark.slow
def test_builtin_allow_list_only_spares_whole_words_and_can_be_turned_off(make_scrubber):
    text = "Summarise this customer message for Maria Gonzalez."
    scrubbed = make_scrubber().scrub(text)
    assert scrubbed.text.startswith("Summarise") and "Maria Gonzalez" not in scrubbed.text
    # a detection that is only an instruction verb is spared by the built-in list alone
    from presidio_analyzer import RecognizerResult

    from security.pii.selection import select

    verb = [RecognizerResult("PERSON", 0, 9, 0.85)]
    assert select(text, verb, make_scrubber().policy) == []
    assert [text[e.start : e.end] for e in select(text, verb, make_scrubber(builtin_allow_list=False).policy)] == [
        "Summarise"
    ]


@pytest.mark.slow
def test_thresholds_and_entity_filter(make_scrubber):
    text = "Ring 2125550143 about card 4111111111111111"
    assert {e.type for e in make_scrubber().detect(text)} >= {"PHONE_NUMBER", "CREDIT_CARD"}
    # the bare ten-digit phone scores 0.4: a stricter threshold for phones drops it
    strict = make_scrubber(thresholds={"PHONE_NUMBER": 0.9})
    assert {e.type for e in strict.detect(text)} == {"CREDIT_CARD"}
    only_cards = make_scrubber(entities=["CREDIT_CARD"])
    assert [e.type for e in only_cards.scrub(TEXT).entities] == ["CREDIT_CARD"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "Remind branch staff that the ATM upgrade starts next Monday at 3 pm.",
        "Translate the notice into German and French before 1 March 2027.",
        "Summarise our results for the first 30 days of the quarter.",
    ],
)
def test_dates_and_languages_alone_are_not_scrubbed(make_scrubber, text):
    assert make_scrubber().scrub(text).text == text


@pytest.mark.slow
def test_types_not_personal_alone_are_scrubbed_when_named_or_not_skipped(make_scrubber):
    text = "Call Maria Gonzalez in Seattle next Monday."
    default = make_scrubber().scrub(text)
    assert {e.type for e in default.entities} == {"PERSON"} and "Seattle next Monday" in default.text
    named = make_scrubber(entities=["PERSON", "DATE_TIME"]).scrub(text)
    assert {e.type for e in named.entities} == {"PERSON", "DATE_TIME"} and "Seattle" in named.text
    everything = make_scrubber(not_personal_alone=[]).scrub(text)
    assert {e.type for e in everything.entities} == {"PERSON", "LOCATION", "DATE_TIME"}
    places_kept_out = make_scrubber(not_personal_alone=["DATE_TIME", "NRP"]).scrub(text)
    assert {e.type for e in places_kept_out.entities} == {"PERSON", "LOCATION"}


@pytest.mark.slow
def test_scrub_many_equals_scrub_per_text(scrubber):
    texts = [TEXT, "", "Nothing personal here.", "Ana Lima: ana@example.com, +44 20 7946 0958", TEXT]
    maps_a = [PseudonymMap() for _ in texts]
    maps_b = [PseudonymMap() for _ in texts]
    batch = scrubber.scrub_many(texts, maps_a)
    single = [scrubber.scrub(t, m) for t, m in zip(texts, maps_b)]
    assert [r.to_dict() for r in batch] == [r.to_dict() for r in single]
    assert batch[1] == ScrubResult("", [])


@pytest.mark.slow
def test_result_is_json_safe_and_holds_no_original_value(scrubber):
    result = scrubber.scrub(TEXT)
    dumped = json.dumps(result.to_dict())
    for value in ("Maria", "Gonzalez", "4111", "555-0143"):
        assert value not in dumped
    entity = result.entities[0]
    assert set(entity.to_dict()) == {
        "type",
        "start",
        "end",
        "score",
        "replacement",
        "out_start",
        "out_end",
        "recognizer",
    }


@pytest.mark.slow
def test_detect_reports_original_offsets_only(scrubber):
    entities = scrubber.detect(TEXT)
    assert [TEXT[e.start : e.end] for e in entities if e.type == "CREDIT_CARD"] == [CARD]
    assert all(e.replacement is None and e.out_start is None for e in entities)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "You can reach our US desk at 212-555-0148 or (415) 555-0199.",
            "You can reach our US desk at <PHONE_NUMBER_1> or <PHONE_NUMBER_2>.",
        ),
        (
            "You can reach our US desk at 212-555-0148 or 415-555-0199.",
            "You can reach our US desk at <PHONE_NUMBER_1> or <PHONE_NUMBER_2>.",
        ),
        ("Ring 415-555-0105 or 312-555-0106.", "Ring <PHONE_NUMBER_1> or <PHONE_NUMBER_2>."),
        ("The number is 212-555-0148.", "The number is <PHONE_NUMBER_1>."),
        ("Call 212 555 0148 today.", "Call <PHONE_NUMBER_1> today."),
        ("Toll free 1-212-555-0148", "Toll free <PHONE_NUMBER_1>"),
        ("The patient's phone is 212-555-0148.", "The patient's phone is <PHONE_NUMBER_1>."),
    ],
)
def test_us_phone_numbers_that_pass_the_nhs_checksum_stay_phone_numbers(scrubber, text, expected):
    # one ten-digit number in eleven passes the NHS check: these all do
    assert all(nhs_valid(n) for n in ("2125550148", "4155550199", "4155550105", "3125550106"))
    assert scrubber.scrub(text).text == expected


@pytest.mark.slow
def test_model_answer_with_us_phone_numbers_is_scrubbed_as_phone_numbers(scrubber):
    pseudonyms = PseudonymMap()  # input and output of one run share the map
    prompt = scrubber.scrub("Which number do I call, 212-555-0148?", pseudonyms)
    answer = scrubber.scrub("You can reach our US desk at 212-555-0148 or 415-555-0199.", pseudonyms)
    assert prompt.text == "Which number do I call, <PHONE_NUMBER_1>?"
    assert answer.text == "You can reach our US desk at <PHONE_NUMBER_1> or <PHONE_NUMBER_2>."
    assert answer.counts_by_type() == {"PHONE_NUMBER": 2}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NHS number 943 476 5919", "NHS number <UK_NHS_1>"),
        ("His NHS no. is 9434765919.", "His NHS no. is <UK_NHS_1>."),
        ("NHS: 943-476-5919", "NHS: <UK_NHS_1>"),
        ("Patient 943 476 5919 was seen today.", "Patient <UK_NHS_1> was seen today."),
        ("National health service number: 401 023 2137.", "National health service number: <UK_NHS_1>."),
        # the label decides even with a phone word in the window, and each number keeps its own type
        (
            "Her NHS number is 943 476 5919 and her phone is 212-555-0148.",
            "Her NHS number is <UK_NHS_1> and her phone is <PHONE_NUMBER_1>.",
        ),
        # a US number that passes the check is an NHS number when labelled as one
        ("Patient NHS number: 212 555 0148", "Patient NHS number: <UK_NHS_1>"),
    ],
)
def test_nhs_numbers_with_nhs_context_stay_nhs(scrubber, text, expected):
    assert scrubber.scrub(text).text == expected


class Exploding:
    """An analyzer that fails the way a broken model or recognizer would."""

    def analyze(self, text, **kwargs):
        raise RuntimeError(f"boom while reading {text}")

    class nlp_engine:
        @staticmethod
        def process_batch(texts, **kwargs):
            raise RuntimeError("boom in spaCy")


@pytest.mark.parametrize("call", ["scrub", "scrub_many", "detect"])
def test_analysis_failure_fails_closed_without_text_in_the_message(call):
    scrubber = Scrubber(PIIPolicy(), analyzer=Exploding())
    secret = "Maria Gonzalez 212-555-0143"
    with pytest.raises(ScrubbingError) as info:
        if call == "scrub_many":
            scrubber.scrub_many([secret, secret])
        else:
            getattr(scrubber, call)(secret)
    message = str(info.value)
    assert "not sent" in message and "Maria" not in message and "boom" not in message
    assert info.value.__cause__ is None  # the original message may hold text: not chained


@pytest.mark.slow
def test_anonymizer_failure_fails_closed(analyzer):
    def broken(text, entities, policy, pseudonyms):
        raise ValueError(text)

    with pytest.raises(ScrubbingError, match="not sent"):
        Scrubber(PIIPolicy(), analyzer=analyzer, anonymize=broken).scrub(TEXT)


@pytest.mark.parametrize(
    "value, reason",
    [
        (b"Maria 212-555-0143", "not text"),
        (None, "not text"),
        ("abc\x00def", "binary"),
        ("\x01\x02\x03\x04 ab", "binary"),
    ],
)
def test_non_text_or_binary_input_is_an_input_error(value, reason):
    scrubber = Scrubber(PIIPolicy(), analyzer=Exploding())
    with pytest.raises(InputError, match=reason):
        scrubber.scrub(value)
    with pytest.raises(InputError, match=reason):
        scrubber.scrub_many(["fine", value])


def test_a_missing_model_fails_closed_with_its_own_hint(monkeypatch):
    from security.pii import scrubber as module

    def missing(settings=None):
        raise ConfigError("The spaCy model for PII scrubbing is not installed.", "Install it.")

    monkeypatch.setattr(module, "get_analyzer", missing)
    with pytest.raises(ScrubbingError) as info:
        Scrubber(PIIPolicy()).scrub("Maria")
    assert "not installed" in info.value.message and "not sent" in info.value.message
    assert info.value.hint == "Install it."


def test_text_with_tabs_and_newlines_is_fine():
    scrubber = Scrubber(PIIPolicy(), analyzer=Exploding())
    assert scrubber.scrub("").text == ""
    with pytest.raises(ScrubbingError):  # accepted as text, then reaches the (exploding) analyzer
        scrubber.scrub("line one\n\tline two\r\n")


def test_overlaps_highest_score_then_longest_and_no_piece_left_in_clear():
    text = "call 212-555-0143 ext. 45 tomorrow"
    phone = Entity("PHONE_NUMBER", 5, 25, 0.6, recognizer="p")
    date = Entity("DATE_TIME", 23, 34, 0.85, recognizer="n")
    inner = Entity("DATE_TIME", 13, 17, 0.45, recognizer="n")
    resolved = resolve_overlaps(text, [phone, date, inner])
    assert [(e.type, text[e.start : e.end]) for e in resolved] == [
        ("PHONE_NUMBER", "212-555-0143 ext."),
        ("DATE_TIME", "45 tomorrow"),
    ]
    same = resolve_overlaps(text, [Entity("X", 5, 10, 0.5), Entity("X", 8, 17, 0.9)])
    assert [(e.start, e.end, e.score) for e in same] == [(5, 17, 0.9)]
    tie = resolve_overlaps(text, [Entity("A", 5, 10, 0.5), Entity("B", 5, 17, 0.5)])
    assert [e.type for e in tie] == ["B"]
    wrapped = "Email ana@example.com"
    resolved = resolve_overlaps(wrapped, [Entity("PERSON", 0, 21, 0.85), Entity("EMAIL_ADDRESS", 6, 21, 1.0)])
    assert [(e.type, e.start) for e in resolved] == [("EMAIL_ADDRESS", 6)]


@pytest.mark.slow
def test_no_scrubbed_value_survives_in_output(scrubber):
    from tests.fakes.synthetic_pii import make_samples

    samples = make_samples(40, seed=3)
    results = scrubber.scrub_many([s.text for s in samples])
    leaks = [kind for s, r in zip(samples, results) for kind, value in s.secrets.items() if value in r.text]
    assert leaks == []
