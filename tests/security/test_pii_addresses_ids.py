"""Street addresses, bank accounts, passports, driver licences, IBANs and e-mail addresses:
(text, expected spans) tables on the real analyzer, with benign text that must stay untouched."""

from __future__ import annotations

import pytest

from security.pii.recognizers.registry import CONTEXT_FREE_SCORE, replaced_builtins
from security.pii.recognizers.street_address import (
    ADDRESS_SCORE,
    ASSEMBLED_SCORE,
    POSTCODE_TOWN_SCORE,
    UNIT_SCORE,
    StreetAddressRecognizer,
)


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
    "text, expected",
    [
        # US and Canada: number, street and type word, unit, town, state and ZIP
        ("Card was shipped to 350 Fifth Avenue, Suite 3300, New York, NY 10118 last week",
         "350 Fifth Avenue, Suite 3300, New York, NY 10118"),
        ("The wire came from 1600 Pennsylvania Avenue NW, Washington, DC 20500.",
         "1600 Pennsylvania Avenue NW, Washington, DC 20500"),
        ("Remit payment to PO Box 4500, Des Moines, IA 50306", "PO Box 4500, Des Moines, IA 50306"),
        ("Send the bill to Toronto, ON M5V 3L9", "Toronto, ON M5V 3L9"),
        ("Address:\nJohn Smith\n500 Oak Lane\nApt 12\nPortland, OR 97205",
         "500 Oak Lane\nApt 12\nPortland, OR 97205"),
        # UK and Australia: flats and floors before the street, postcode after the town
        ("Our client moved to Flat 3, 14 Queen's Road, Bristol BS8 1QU",
         "Flat 3, 14 Queen's Road, Bristol BS8 1QU"),
        ("The account holder's address is 2nd Floor, 25 Old Broad Street, London EC2N 1HQ.",
         "2nd Floor, 25 Old Broad Street, London EC2N 1HQ"),
        ("The client relocated to 3rd floor, 88 King William Street, London EC4N 7BN",
         "3rd floor, 88 King William Street, London EC4N 7BN"),
        ("Customer address:\n14 Queen Street\nEdinburgh\nEH2 1JX\nUnited Kingdom",
         "14 Queen Street\nEdinburgh\nEH2 1JX\nUnited Kingdom"),
        ("Customer lives at 42 Wallaby Way, Sydney NSW 2000", "42 Wallaby Way, Sydney NSW 2000"),
        # German-speaking: street with its ending or type word, then number, floor, postcode and town
        ("Registered office: Hauptstraße 5, 10115 Berlin, Germany", "Hauptstraße 5, 10115 Berlin, Germany"),
        ("Die Karte bitte an Berliner Straße 12, 2. OG, 60311 Frankfurt am Main.",
         "Berliner Straße 12, 2. OG, 60311 Frankfurt am Main"),
        ("The borrower resides at Unter den Linden 77, 10117 Berlin.", "Unter den Linden 77, 10117 Berlin"),
        ("Beneficiary address: Mariahilfer Straße 88/3/12, 1070 Wien, Austria",
         "Mariahilfer Straße 88/3/12, 1070 Wien, Austria"),
        ("Please mail the cheque to Postfach 12 34 56, 80333 München", "Postfach 12 34 56, 80333 München"),
        # French and Belgian: number before the type word, or the type word first; "bus" is a box number
        ("The branch is at 12 rue de Rivoli, 75001 Paris.", "12 rue de Rivoli, 75001 Paris"),
        ("Adresse du titulaire : 5, avenue des Champs-Élysées, 75008 Paris",
         "5, avenue des Champs-Élysées, 75008 Paris"),
        ("Please use Rue Neuve 12 bus 3, 1000 Bruxelles for the statements",
         "Rue Neuve 12 bus 3, 1000 Bruxelles"),
        # Italian, Spanish, Portuguese
        ("Mortgage property: Via Roma 3, 00184 Roma RM", "Via Roma 3, 00184 Roma RM"),
        ("Il cliente abita in Corso Buenos Aires 45, 20124 Milano", "Corso Buenos Aires 45, 20124 Milano"),
        ("The card holder's address is Calle Mayor 7, 3º izq., 28013 Madrid",
         "Calle Mayor 7, 3º izq., 28013 Madrid"),
        ("Transfer the deed for Carrer de Mallorca 401, 08013 Barcelona",
         "Carrer de Mallorca 401, 08013 Barcelona"),
        ("Morada: Rua Augusta 100, 1100-053 Lisboa", "Rua Augusta 100, 1100-053 Lisboa"),
        ("Our Lisbon office: Apartado 1234, 1000-001 Lisboa", "Apartado 1234, 1000-001 Lisboa"),
        # Dutch
        ("The new address is Keizersgracht 123, 1015 CJ Amsterdam.", "Keizersgracht 123, 1015 CJ Amsterdam"),
        ("He gave 1012 AB Amsterdam as his postcode and town", "1012 AB Amsterdam"),
        # Nordic: -gatan, -vej, gate, -tie; flat and floor numbers
        ("Our Swedish client is at Drottninggatan 5, SE-111 51 Stockholm",
         "Drottninggatan 5, SE-111 51 Stockholm"),
        ("Address on file: Storgatan 14 lgh 1102, 411 38 Göteborg", "Storgatan 14 lgh 1102, 411 38 Göteborg"),
        ("He asked us to write to Box 7830, 103 98 Stockholm", "Box 7830, 103 98 Stockholm"),
        ("Kunden bor på Nørregade 7, 2. th., 1165 København K", "Nørregade 7, 2. th., 1165 København K"),
        ("Send it to Karl Johans gate 22, 0159 Oslo", "Karl Johans gate 22, 0159 Oslo"),
        ("Postiosoite: Mannerheimintie 12 B 5, 00100 Helsinki", "Mannerheimintie 12 B 5, 00100 Helsinki"),
        # Polish, Hungarian, Baltic
        ("The borrower's address: ul. Marszałkowska 10/12 m. 5, 00-950 Warszawa",
         "ul. Marszałkowska 10/12 m. 5, 00-950 Warszawa"),
        ("Customer is at Rynek Główny 1, 31-042 Kraków", "Rynek Główny 1, 31-042 Kraków"),
        ("Számlázási cím: Andrássy út 12., 1061 Budapest", "Andrássy út 12., 1061 Budapest"),
        ("Kliendi aadress: Luite tee 87, 10115 Tallinn", "Luite tee 87, 10115 Tallinn"),
        # a street with no type word needs another piece (a postcode and town) or an address cue
        ("Lieferadresse:\nMax Mustermann\nMusterweg 3\n12345 Musterstadt", "Musterweg 3\n12345 Musterstadt"),
        ("Jay Pearce lives at Höfðagata 39, Keflavíkurflugvöllur", "Höfðagata 39, Keflavíkurflugvöllur"),
        ("Please post it to Golfskálinn 78.", "Golfskálinn 78"),
        # a letter's address block, quoted, with a house number before the street
        ("> Marta Palermo\n> 1072 Pohlstrasse 9\n> Suite 858\n> Börßum\n> Germany 74285",
         "1072 Pohlstrasse 9\n> Suite 858\n> Börßum\n> Germany 74285"),
        # ships and corners
        ("What is your address? it is USNV Vincent\nFPO AA 68422", "USNV Vincent\nFPO AA 68422"),
        ("Meet me at the corner of 5th Avenue and Main Street.", "the corner of 5th Avenue and Main Street"),
    ],
)
def test_street_addresses_in_each_locale_are_scrubbed_whole(scrubber, text, expected):
    assert spans(scrubber, text, "STREET_ADDRESS") == [expected]


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Postal address: 75001 Paris", ["75001 Paris"]),  # a postcode and town next to a context word
        ("We sold 12000 Units in Europe", []),  # the same shape, no context
        ("Top 10 Street Foods in Asia", []),
        ("Meet on the 3rd floor after lunch", []),  # a floor or unit alone is no address
        ("Summarise Unit 3 of the course", []),
        ("Read Chapter 12, Section 5 before Tuesday", []),  # capitalised words and a number: not a street
        ("Please post it to Chapter 12.", []),  # not even after a cue: "Chapter" is a dictionary word
        ("We sent a question to Golfskálinn 78 and then waited", []),  # a cue, but the sentence goes on
    ],
)
def test_weak_address_pieces_need_company_or_context(scrubber, text, expected):
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
        "Section 5 Road map for the migration",
        "Step 4 Street Fighter combos",
        "Upgrade to version 2.3 of the SDK",
        "Revenue grew 12% to 45,000 dollars in 2024",
        "The meeting is on 12 March 2024 at 10:30",
        "Install Windows 11 Pro on 25 laptops",
        "Compare the iPhone 15 Pro with the Galaxy S24",
        "Drive along Route 66 for 200 miles",
        "Take bus 3 to the office",
        "Write 5 Park Rules for kids",
        "The 2024 Paris Olympics had 10500 athletes",
        "Transfer 25000 Euros to savings",
        "Rank the 9 Supreme Court justices",
        "Phase 2 of Project Atlas starts in Q3",
        "Table 3 shows 1450 Responses",
        "Summarise the 1776 US Constitution",
        "Gate 12 closes at 9:45",
        "Check box 12 of your W-2",
        "Flat 20% discount on all items",
        "Art. 6 Abs. 1 lit. f GDPR",
        "Week 12 Sprint Review",
        "Mozart Symphony 40 in G minor",
        "Invoice INV-2024-0031 due 2 April",
        "BY COSMOSAOI#8888 ON DISCORD",
        "THERE IS. HE IS A 35-YEAR PROFESSIONAL",
        "21:09, 2005 Jun 25 (UTC)",
        "Vol. 44, No. 4",
    ],
)
def test_benign_text_holds_no_street_address(scrubber, text):
    assert scrubber.scrub(text).text == text


def address_scores(text: str) -> dict[str, float]:
    """The recognizer's own findings (no spaCy, no context words): {span: score}."""
    results = StreetAddressRecognizer().analyze(text, ["STREET_ADDRESS"])
    return {text[r.start : r.end]: r.score for r in results if r.score >= 0.2}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hauptstraße 5", {"Hauptstraße 5": ADDRESS_SCORE}),  # a type word: an address alone
        ("SE-114 55 Stockholm", {"SE-114 55 Stockholm": POSTCODE_TOWN_SCORE}),  # a postcode of its own shape
        ("Apt. 902", {"Apt. 902": UNIT_SCORE}),
        ("75001 Paris", {"75001 Paris": CONTEXT_FREE_SCORE}),  # digits and a word: only with a context word
        ("Golfskálinn 78", {}),  # no type word, no company, no cue
        ("Golfskálinn 78, 101 Reykjavík", {"Golfskálinn 78, 101 Reykjavík": ASSEMBLED_SCORE}),
        ("She lives at Golfskálinn 78.", {"Golfskálinn 78": ASSEMBLED_SCORE}),
        ("3rd floor", {}),
        ("Chapter 12, 75001 Paris", {"75001 Paris": CONTEXT_FREE_SCORE}),  # "Chapter 12" is no street
        ("The 1911 Encyclopedia", {}),  # a year is no postcode
    ],
)
def test_address_pieces_and_what_they_prove(text, expected):
    assert address_scores(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # a closing line of its own must end there, unless it holds the postcode
        ("12 Example Mews, Newtown NT1 2AB\nInvoice number: 31", ["12 Example Mews, Newtown NT1 2AB"]),
        ("Pfarrgasse 91\nMITTERLOBMING\nAustria 26759 after the concert",
         ["Pfarrgasse 91\nMITTERLOBMING\nAustria 26759"]),
        # on the street's own line the sentence may go on after the town
        ("He wrote from 760 Passauer Strasse 33, Salzburg last night", ["760 Passauer Strasse 33, Salzburg"]),
        # a sentence's full stop is not part of the address; an abbreviation's is
        ("It is at 3 Harbour Row, Fictionport. Open daily", ["3 Harbour Row, Fictionport"]),
        ("Our branch at 10 Downing St. opens at nine", ["10 Downing St."]),
        # a blank line ends the address, but for a postcode line
        ("1 Elm Street\nSpringfield\n\nDear Ms Smith,", ["1 Elm Street\nSpringfield"]),
    ],
)
def test_where_an_address_ends(text, expected):
    assert list(address_scores(text)) == expected


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
