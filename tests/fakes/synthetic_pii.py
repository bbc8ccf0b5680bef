"""Synthetic, valid-looking PII for leak tests (checksums correct, values fake)."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

FIRST = ["Maria", "Daniel", "Priya", "Thomas", "Aiko", "Fatima", "Lukas", "Grace", "Omar", "Elena", "Kwame", "Sofia"]
LAST = ["Gonzalez", "Okafor", "Raman", "Becker", "Tanaka", "Zahra", "Novak", "Whitfield", "Haddad", "Petrova", "Mensah"]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return digits + str((10 - total % 10) % 10)


def iban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


@dataclass
class PIISample:
    text: str
    name: str
    secrets: dict[str, str] = field(default_factory=dict)  # kind -> exact value as written


def make_samples(n: int, seed: int = 11) -> list[PIISample]:
    rng = random.Random(seed)
    samples = []
    for i in range(n):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        card = luhn_complete(rng.choice(["4", "51", "55", "6011"]), 16, rng)
        card_fmt = rng.choice([
            lambda c: " ".join(c[j:j + 4] for j in range(0, 16, 4)),
            lambda c: "-".join(c[j:j + 4] for j in range(0, 16, 4)),
            lambda c: c,
        ])(card)
        area = rng.choice([a for a in range(1, 900) if a != 666])
        ssn_raw = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        ssn = rng.choice([f"{ssn_raw[:3]}-{ssn_raw[3:5]}-{ssn_raw[5:]}", f"{ssn_raw[:3]} {ssn_raw[3:5]} {ssn_raw[5:]}"])
        if rng.random() < 0.5:
            acct = iban("GB", rng.choice(["WEST", "NWBK", "BARC"]) + "".join(rng.choice(string.digits) for _ in range(14)))
        else:
            acct = iban("DE", "".join(rng.choice(string.digits) for _ in range(18)))
        acct_fmt = rng.choice([acct, " ".join(acct[j:j + 4] for j in range(0, len(acct), 4))])
        email = f"{name.split()[0].lower()}.{name.split()[1].lower()}{rng.randint(1, 99)}@{rng.choice(['example.com', 'mail.example.org', 'bank-test.net'])}"
        a, b, c = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
        phone = rng.choice([
            f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"{a}.{b}.{c:04d}", f"+1 {a} {b} {c:04d}",
            f"+1-{a}-{b}-{c:04d}", f"{a}{b}{c:04d}", f"+44 20 7946 {rng.randint(0, 9999):04d}",
            f"020 7946 {rng.randint(0, 9999):04d}", f"07700 900{rng.randint(0, 999):03d}",
            f"+44 7700 900{rng.randint(0, 999):03d}", f"+49 30 {rng.randint(100000, 999999)}",
            f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            f"{a}-{b}-{c:04d} ext. {rng.randint(1, 999)}", f"({a}) {b}-{c:04d} x{rng.randint(1, 99)}",
        ])
        text = rng.choice([
            f"Hi, I'm {name}. My card {card_fmt} was charged twice. SSN {ssn}. Refund to {acct_fmt}. "
            f"Email {email} or call {phone}.",
            f"Please update the file for {name}: phone {phone}, e-mail {email}, social security number {ssn}, "
            f"IBAN {acct_fmt}, debit card {card_fmt}.",
            f"{name} ({email}, tel. {phone}) disputes a payment on card number {card_fmt}; "
            f"payout account {acct_fmt}; SSN: {ssn}.",
        ])
        samples.append(
            PIISample(text, name, {"card": card_fmt, "card_digits": card, "ssn": ssn, "iban": acct_fmt,
                                   "iban_compact": acct, "email": email, "phone": phone})
        )
    return samples
