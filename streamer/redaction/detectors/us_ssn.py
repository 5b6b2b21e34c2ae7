"""US taxpayer numbers: social security numbers and individual taxpayer numbers."""

from __future__ import annotations

from streamer.redaction.detector import PatternDetector
from streamer.redaction.validators import digits_only

# Numbers published as examples, never issued: people still write them as SSNs in tests
# and forms, so with an SSN word nearby they count; alone they are placeholders.
_EXAMPLES = frozenset({"123456789", "987654321", "078051120", "219099999"})


class UsSsnDetector(PatternDetector):
    """``US_SSN``: ``AAA-GG-SSSS`` with the issuing rules applied.

    Area 000, 666 and 9xx, group 00 and serial 0000 are never issued, nor are repeated
    digits. Dashes or spaces count on their own; a bare run of nine digits, and the
    published example numbers (``123-45-6789``, ``078-05-1120``), need a word such as
    "SSN" or "social security" nearby.
    """

    name = "us_ssn"
    entity_type = "US_SSN"
    pattern = r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ]?)(?!00)\d{2}\1(?!0000)\d{4}(?![\w]|-\d)"
    context_words = ("ssn", "ssns", "social", "security", "ss#", "ss", "tin", "taxpayer", "itin")
    negative_context = ("order", "invoice", "ref", "tracking", "serial", "part", "sku", "po")
    min_digits = 9
    shape_pattern = rb"000(?<![a0_-]000)([- ]?)00(?:\1)0000(?![a0_]|-0)"
    score = 0.85
    context_boost = 0.15

    def validate(self, candidate: str) -> bool | None:
        if len(set(digits_only(candidate))) == 1:
            return False
        return None

    def stands_alone(self, candidate: str) -> bool:
        return not _bare_or_example(candidate)


class UsItinDetector(PatternDetector):
    """``US_ITIN``: ``9AA-GG-SSSS``, the IRS's numbers for taxpayers without an SSN, whose
    group is 50-65, 70-88, 90-92 or 94-99. Dashes or spaces count on their own; a bare
    run of nine digits needs a word such as "ITIN" or "taxpayer" nearby."""

    name = "us_itin"
    entity_type = "US_ITIN"
    pattern = r"(?<![\w-])9\d\d([- ]?)(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9])\1\d{4}(?![\w]|-\d)"
    context_words = ("itin", "itins", "taxpayer", "tin", "tax", "irs", "w-7")
    negative_context = UsSsnDetector.negative_context
    min_digits = 9
    shape_pattern = UsSsnDetector.shape_pattern
    score = 0.85
    context_boost = 0.15

    def stands_alone(self, candidate: str) -> bool:
        return not candidate.isdigit()


def _bare_or_example(value: str) -> bool:
    return value.isdigit() or digits_only(value) in _EXAMPLES
