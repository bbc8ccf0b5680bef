"""SWIFT/BIC codes: bank, ISO country, location and optional branch, in context."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer

# ISO 3166-1 alpha-2 (plus XK, used by SWIFT for Kosovo)
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
    BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER
    ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID
    IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV
    LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR
    NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC
    VE VG VI VN VU WF WS YE YT ZA ZM ZW XK""".split()
)


def bic_valid(code: str) -> bool:
    """Shape of a BIC: 4 letters, a real country, 2 letters/digits, optional 3 more."""
    return (
        len(code) in (8, 11)
        and code[:4].isalpha()
        and code[4:6] in COUNTRIES
        and code[6:8].isalnum()
        and (len(code) == 8 or code[8:].isalnum())
    )


@register_recognizer
class SwiftCodeRecognizer(ConstantPatterns, PatternRecognizer):
    """Upper-case BICs with a valid country; without a context word ("SWIFT", "BIC") they
    score too low to scrub, since eight capitals can be an ordinary shouted word."""

    ENTITY = "SWIFT_CODE"
    PATTERNS = (Pattern("swift bic", r"(?<![\w])[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?![\w])", 0.1),)
    CONTEXT = ("swift", "bic", "bank identifier", "correspondent", "beneficiary bank", "wire")

    def invalidate_result(self, pattern_text: str) -> bool:
        """Presidio drops what this rejects; a valid shape keeps its score (context decides)."""
        return not bic_valid(pattern_text)
