"""Street addresses, bank accounts, passports, driver licences, IBANs and e-mail addresses:
(text, expected spans) tables on the real analyzer, with benign text that must stay untouched."""

from __future__ import annotations

import pytest

from security.pii.recognizers.registry import replaced_builtins


def spans(scrubber, text: str, entity_type: str) -> list[str]:
    return [text[e.start : e.end] for e in scrubber.detect(text) if e.type == entity_type]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("I live at 1234 Elm Street, Apt 5, Springfield, IL 62704 now", ["1234 Elm Street, Apt 5, Springfield, IL 62704"]),
        ("Send it to 221B Baker Street, London NW1 6XE.", ["221B Baker Street, London NW1 6XE"]),
        ("Ship to 742 Evergreen Terrace", ["742 Evergreen Terrace"]),
        ("Our branch at 10 Downing St. opens at nine", ["10 Downing St."]),
        ("Mail the form to PO Box 1234, thanks", ["PO Box 1234"]),
        ("Mail the form to P.O. Box 77", ["P.O. Box 77"]),
        ("PSC 0413, Box 8144\nAPO AA 42323", ["PSC 0413, Box 8144\nAPO AA 42323"]),
        ("She moved to Rua do Arenque 1634 last year", ["Rua do Arenque 1634"]),
        ("Deliver to Hauptstraße 5 in Berlin", ["Hauptstraße 5"]),
        ("The door code for Suite 838 is on the note", ["Suite 838"]),
        ("My postcode is SW1A 1AA", ["SW1A 1AA"]),
        ("zip code 90210", ["90210"]),
    ],
)
def test_street_addresses(scrubber, text, expected):
    assert spans(scrubber, text, "STREET_ADDRESS") == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "Top 10 Street Foods in Asia",
        "Read chapter 3 Road to Damascus",
        "Ship 25000 units to the Denver office",
        "Revenue was 12345 dollars in 2024",
        "The home loan of 25000 at 3.5% over 30 years",
        "Open a suite of 3 products for small businesses",
        "I am planning a 7-day trip to Seattle.",
    ],
)
def test_benign_text_holds_no_street_address(scrubber, text):
    assert scrubber.scrub(text).text == text


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("The account number is 12345678901", ["12345678901"]),
        ("Wire to acct 0123-4567-89 today", ["0123-4567-89"]),
        ("Savings a/c 00012345678 was closed", ["00012345678"]),
        ("Deposit into checking 987654321", ["987654321"]),
    ],
)
def test_bank_account_numbers_in_context(scrubber, text, expected):
    assert spans(scrubber, text, "US_BANK_NUMBER") == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "Check order 12345678 before Friday",  # Presidio's "check" context
        "We have 12,345,678 accounts",
        "The new account opened on 2024-03-01 with 250000",
        "Save 12345678 in the bank's archive",  # "save" and "bank" are not account words here
        "Invoice 123456789 is due",
    ],
)
def test_numbers_without_an_account_word_are_not_accounts(scrubber, text):
    assert spans(scrubber, text, "US_BANK_NUMBER") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Passport number 123456789", ["123456789"]),
        ("passport: C01X00T47", ["C01X00T47"]),
        ("UK passport 925076473 expires soon", ["925076473"]),
        ("Her passport no. is AB1234567", ["AB1234567"]),
    ],
)
def test_passport_numbers_in_context(scrubber, text, expected):
    assert spans(scrubber, text, "US_PASSPORT") == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "Invoice 123456789 is due",
        "Reference ABC12345 for your order",
        "Passport renewals take 6 weeks in 2024",
    ],
)
def test_no_passport_without_context_or_shape(scrubber, text):
    assert spans(scrubber, text, "US_PASSPORT") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("my driver's license number is 2270-66-1551", ["2270-66-1551"]),
        ("Driver licence: D1234567", ["D1234567"]),
        ("My driver's license number is F162823540116", ["F162823540116"]),
        ("UK driving licence MORGA753116SM9IJ", ["MORGA753116SM9IJ"]),
    ],
)
def test_driver_licences_in_context(scrubber, text, expected):
    assert spans(scrubber, text, "US_DRIVER_LICENSE") == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "Applicant 536-90-4399 approved",  # "applicant" holds "lic": not a licence word
        "My license expires on 2024-03-01",
        "Order D1234567 shipped",
        "The software license costs $1,200,000 per year",  # a licence fee is an amount
    ],
)
def test_no_driver_licence_without_context(scrubber, text):
    assert spans(scrubber, text, "US_DRIVER_LICENSE") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Pay into GB82 WEST 1234 5698 7654 32", ["GB82 WEST 1234 5698 7654 32"]),
        ("IBAN DE89370400440532013000 for the refund", ["DE89370400440532013000"]),
        ("Send to FR14 2004 1010 0505 0001 3M02 606 today", ["FR14 2004 1010 0505 0001 3M02 606"]),
        ("Wrong check digits: GB83 WEST 1234 5698 7654 32", []),  # mod-97 fails
        ("Model GB82 is on sale", []),
    ],
)
def test_iban_mod97(scrubber, text, expected):
    assert spans(scrubber, text, "IBAN_CODE") == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Write to ana.lima@example.com", ["ana.lima@example.com"]),
        ("Contact: j.smith+loans@bank.co.uk today", ["j.smith+loans@bank.co.uk"]),
        ("Two: a@example.org and b@example.net", ["a@example.org", "b@example.net"]),
        ("Follow @promptforge on social media", []),
        ("Use the format name at domain dot com", []),
        ("The file is report@v2 in the archive", []),
    ],
)
def test_email_addresses(scrubber, text, expected):
    assert spans(scrubber, text, "EMAIL_ADDRESS") == expected


def test_new_recognizers_supersede_presidio_builtins():
    assert {"UsBankRecognizer", "UsPassportRecognizer", "UsLicenseRecognizer"} <= replaced_builtins()
