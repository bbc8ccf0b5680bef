"""Recognizer tables: (text, expected spans) per entity type, with negatives."""

from __future__ import annotations

import pytest

from security.pii.recognizers.card import CardNumberRecognizer, known_issuer, luhn_valid
from security.pii.recognizers.nhs import nhs_valid
from security.pii.recognizers.phone import PhoneNumberRecognizer
from security.pii.recognizers.routing import aba_valid
from security.pii.recognizers.ssn import SsnRecognizer
from security.pii.recognizers.swift import bic_valid

BENIGN_BANKING = [
    "Summarise the APR change for the Q3 newsletter",
    "Transfer $2,500.00 within one business day",
    "Call volume rose 12% in 2024",
    "Revenue grew from 1,234,567 to 2,345,678 between 2019-2024",
    "Rate 4.25% effective 2024-03-01, reference 12.03.2024",
    "Please call us about invoice 2024-0113",
    "The loan of 250000 at 3.5% over 30 years",
    "Version 2.16.0 released on 01/02/2024",
    "EUR 1.234.567,89 was booked on 31.03.2025",
    "We processed 12,345 calls and 987,654 messages in 2023",
    "Contact centre KPIs: 95.5% answered within 20 seconds",
    "Call us between 09:00-17:30 about the USD 25,000,000 facility",
]


def spans(scrubber, text: str, entity_type: str) -> list[str]:
    return [text[e.start : e.end] for e in scrubber.detect(text) if e.type == entity_type]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Call me on (212) 555-0143 today.", "(212) 555-0143"),
        ("My number is 212-555-0143.", "212-555-0143"),
        ("Reach her at 212.555.0143", "212.555.0143"),
        ("Please call 2125550143 after lunch.", "2125550143"),
        ("Mobile: +1 212 555 0143", "+1 212 555 0143"),
        ("Toll free 1-800-555-0199", "1-800-555-0199"),
        ("London office +44 20 7946 0958", "+44 20 7946 0958"),
        ("Phone 020 7946 0958 for the branch", "020 7946 0958"),
        ("Text 07700 900123 when you land", "07700 900123"),
        ("Her mobile is +44 7700 900123.", "+44 7700 900123"),
        ("Berlin desk: +49 30 901820", "+49 30 901820"),
        ("Paris: +33 1 23 45 67 89", "+33 1 23 45 67 89"),
        ("Dial 0049 30 901820 from abroad", "0049 30 901820"),
        ("From Spain dial 00 44 20 7946 0958", "00 44 20 7946 0958"),
        ("Phone 212-555-0143 x123 for support", "212-555-0143 x123"),
        ("Call 212-555-0143 ext. 45", "212-555-0143 ext. 45"),
        ("Call (212) 555-0143 extension 9", "(212) 555-0143 extension 9"),
        ("Fax: 0496 46 46 70", "0496 46 46 70"),
        ("Office 416 60 039", "416 60 039"),
        ("416 60 039 office", "416 60 039"),
        ("Mobile: 03.93.92.16.85", "03.93.92.16.85"),
        ("Desk: +41 (0)85 806 98 67", "+41 (0)85 806 98 67"),
    ],
)
def test_phone_formats_are_detected_whole(scrubber, text, expected):
    assert spans(scrubber, text, "PHONE_NUMBER") == [expected]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Charge 4111 1111 1111 1111 today", "4111 1111 1111 1111"),
        ("Card 4111-1111-1111-1111 expired", "4111-1111-1111-1111"),
        ("PAN 4111111111111111 on file", "4111111111111111"),
        ("Mastercard 5500 0000 0000 0004", "5500 0000 0000 0004"),
        ("Amex 3782 822463 10005", "3782 822463 10005"),
        ("Discover 6011000990139424", "6011000990139424"),
        ("Mastercard 2-series 2223003122003222", "2223003122003222"),
        ("Maestro card 6759649826438453", "6759649826438453"),
        ("What is the limit for card 584528792610?", "584528792610"),
    ],
)
def test_card_numbers(scrubber, text, expected):
    assert spans(scrubber, text, "CREDIT_CARD") == [expected]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("SSN 219-09-9999", "219-09-9999"),
        ("Applicant 536-90-4399 approved", "536-90-4399"),
        ("social security number: 536 90 4399", "536 90 4399"),
        ("My SSN is 219099999", "219099999"),
    ],
)
def test_us_ssn(scrubber, text, expected):
    assert spans(scrubber, text, "US_SSN") == [expected]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "SSN 000-12-3456",  # area 000 is never issued
        "SSN 666-12-3456",
        "SSN 912-34-5678",  # 9xx are ITINs, not SSNs
        "SSN 123-00-4567",  # group 00
        "SSN 123-45-0000",  # serial 0000
        "Applicant 219099999 approved",  # nine bare digits need a context word
    ],
)
def test_ssn_out_of_range_or_without_context_is_not_an_ssn(scrubber, text):
    assert spans(scrubber, text, "US_SSN") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Pay into GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32"),
        ("IBAN GB82WEST12345698765432", "GB82WEST12345698765432"),
        ("Refund DE89 3704 0044 0532 0130 00 now", "DE89 3704 0044 0532 0130 00"),
    ],
)
def test_iban(scrubber, text, expected):
    assert spans(scrubber, text, "IBAN_CODE") == [expected]


@pytest.mark.slow
def test_iban_with_a_wrong_check_digit_is_not_an_iban(scrubber):
    assert spans(scrubber, "IBAN GB83 WEST 1234 5698 7654 32", "IBAN_CODE") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Write to ana.lima@example.com", "ana.lima@example.com"),
        ("cc: j_o-hn+bank@mail.example.co.uk, thanks", "j_o-hn+bank@mail.example.co.uk"),
    ],
)
def test_email(scrubber, text, expected):
    assert spans(scrubber, text, "EMAIL_ADDRESS") == [expected]


@pytest.mark.slow
@pytest.mark.parametrize("text", BENIGN_BANKING)
def test_benign_banking_prompts_hold_no_phone_card_or_ssn(scrubber, text):
    found = {e.type for e in scrubber.detect(text)}
    assert not found & {"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"}, found


# fast: the recognizers' own logic, without spaCy (so without context words)


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-12",
        "12.03.2024",
        "2019-2024",
        "2024-0113",
        "$2,500.00",
        "12%",
        "1,234,567",
        "3.14159",
        "v2.16.0",
    ],
)
def test_phone_patterns_reject_dates_amounts_and_versions(text):
    assert PhoneNumberRecognizer().analyze(f"x {text} y", ["PHONE_NUMBER"]) == []


def test_luhn_and_issuers():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert known_issuer("4111111111111111") and known_issuer("378282246310005")
    assert not known_issuer("584528792610")  # 12-digit Maestro: needs context


def test_card_with_bad_checksum_is_dropped():
    assert CardNumberRecognizer().analyze("card 4111 1111 1111 1112", ["CREDIT_CARD"]) == []


def test_recognizers_build_with_no_arguments():
    for cls in (PhoneNumberRecognizer, CardNumberRecognizer, SsnRecognizer):
        assert cls().supported_entities


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Summarise Q3 2026 results for the board.", []),
        ("Migrate SWIFT MT103 messages to ISO 20022 by November.", []),
        ("Ask Maria Gonzalez about the Q3 2026 figures.", ["Maria Gonzalez"]),
    ],
)
def test_spans_with_digits_are_never_person_names(scrubber, text, names):
    assert [text[e.start : e.end] for e in scrubber.detect(text) if e.type == "PERSON"] == names


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("021000021", True), ("011000015", True), ("121000248", True), ("026009593", True),
     ("021000022", False), ("121000249", False), ("991000021", False), ("12100024", False)],
)
def test_aba_checksum_and_prefix(digits, valid):
    assert aba_valid(digits) is valid


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("9434765919", True), ("4010232137", True), ("2125550148", True), ("4155550199", True),
     ("9434765918", False), ("2125550147", False), ("4155550198", False), ("943476591", False)],
)
def test_nhs_checksum(digits, valid):
    assert nhs_valid(digits) is valid


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NHS number 943 476 5919", ["943 476 5919"]),
        ("nhs no: 9434765919", ["9434765919"]),
        ("The reference 9434765919 is on file.", ["9434765919"]),  # checksum alone, no phone shape
        ("NHS number 943 476 5918", []),  # the checksum fails
        ("Call 212-555-0148 or (415) 555-0199.", []),  # phone shapes win the checksum-valid digits
        ("Toll free 1-212-555-0148", []),
    ],
)
def test_nhs_numbers(scrubber, text, expected):
    assert spans(scrubber, text, "UK_NHS") == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wire it to routing number 021000021 today.", ["021000021"]),
        ("ABA 011000015, account ending 4321.", ["011000015"]),
        ("Our bank's RTN is 121000248.", ["121000248"]),
        ("The order id is 121000248.", []),  # a valid checksum alone is one number in ten
        ("Routing number 021000022 has a typo.", []),  # the checksum fails
    ],
)
def test_routing_numbers_in_context(scrubber, text, expected):
    assert spans(scrubber, text, "US_ROUTING_NUMBER") == expected


@pytest.mark.parametrize(
    ("code", "valid"),
    [("DEUTDEFF", True), ("DEUTDEFF500", True), ("CHASUS33", True), ("NWBKGB2LXXX", True),
     ("APPROVED", False), ("DEUTXXFF", False), ("DEUTDEF", False), ("DEUTDEFF50", False)],
)
def test_bic_shape_and_country(code, valid):
    assert bic_valid(code) is valid


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beneficiary bank SWIFT: DEUTDEFF500.", ["DEUTDEFF500"]),
        ("Please use BIC CHASUS33 for the correspondent.", ["CHASUS33"]),
        ("SWIFT code NWBKGB2LXXX, sort code 60-16-13.", ["NWBKGB2LXXX"]),
        ("CUSTOMER APPROVED THE REQUEST", []),  # shouted words, no context
        ("Migrate SWIFT MT103 messages to ISO 20022.", []),
    ],
)
def test_swift_codes_in_context(scrubber, text, expected):
    assert spans(scrubber, text, "SWIFT_CODE") == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Her date of birth is 03/05/1980.", ["03/05/1980"]),
        ("She was born on 5 March 1980 in a small town.", ["5 March 1980"]),
        ("DOB: 1980-03-05", ["1980-03-05"]),
        ("Birthday: July 4th, 1976", ["July 4th, 1976"]),
        ("The payment is due 03/05/2027.", []),
        ("Rates change on 1 March 2027 for all savers.", []),
    ],
)
def test_dates_of_birth_need_birth_context(scrubber, text, expected):
    assert spans(scrubber, text, "DATE_OF_BIRTH") == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Please send the statement to Tomomi Nishiyama.", ["Tomomi Nishiyama"]),  # spaCy says ORG
        ("Billing address: Sophie Lang\n    3482 Via Franscini", ["Sophie Lang"]),
        ("My name is Rubija", ["Rubija"]),  # one word: only after a naming cue
        ("Wire funds to Deutsche Bank today.", []),  # an organisation word
        ("Becker Capital Partners reported earnings.", []),
        ("Compare Visa and Mastercard chargeback timelines.", []),  # a capitalised verb is no first name
        ("Pick one of News & Buzz, Music, Sports or Travel.", []),  # a list, not a name
        ("Explain the role of the OCC and the FDIC to a new analyst.", []),
    ],
)
def test_name_shaped_organisations_are_read_as_names(scrubber, text, names):
    assert spans(scrubber, text, "PERSON") == names


@pytest.mark.slow
def test_reading_organisations_as_names_can_be_turned_off(make_scrubber):
    text = "Please send the statement to Tomomi Nishiyama."
    assert "Tomomi Nishiyama" not in make_scrubber().scrub(text).text
    assert "Tomomi Nishiyama" in make_scrubber(names_from_organisations=False).scrub(text).text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("My name is Siiri", ["Siiri"]),
        ("Hello, my name is Ana Lima and I need help.", ["Ana Lima"]),
        ("Dear Ubul,\nthanks for the call.", ["Ubul"]),
        ("Kind regards,\nTomomi", ["Tomomi"]),
        ("Applicant name: Rubija Hadžić", ["Rubija Hadžić"]),
        ("Dear Sir, please find the statement attached.", []),
        ("Hi all, the branch meeting moved to Friday.", []),
        ("My name is not important here.", []),
        ("Fill in the Name: field before you submit.", []),
    ],
)
def test_names_after_cues(scrubber, text, names):
    assert spans(scrubber, text, "PERSON") == names
