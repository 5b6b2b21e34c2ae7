"""Payment card numbers: Luhn-valid, with a known issuer prefix."""

from __future__ import annotations

import re

from streamer.redaction.detector import PatternDetector
from streamer.redaction.patterns import JOINING
from streamer.redaction.spans import Span
from streamer.redaction.validators import digits_only, luhn

# Issuer prefixes: Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover 6011/64/65,
# Diners 30/36/38/39, JCB 35 (and its 15-digit 2131 and 1800), UnionPay 62, Maestro
# 50/56-69, Mir 2200-2204.
_ISSUER = re.compile(r"^(?:4|5[0-9]|2[2-7]|3[0456789]|6|2131\d{11}$|1800\d{11}$)")
# Maestro, whose numbers may be as short as 12 digits (ISO/IEC 7812): 50, 56-69.
_MAESTRO = re.compile(r"^(?:50|5[6-9]|6)")
# Unseparated, or grouped the way cards are printed: fours (the last group 3-4 digits),
# or 4-6-5 / 4-6-4 (Amex, Diners), with one kind of separator.
_GROUPS = re.compile(
    r"^(?:\d+|\d{4}([ -])\d{4}\1\d{4}(?:\1\d{4})?(?:\1\d{1,4})?|\d{4}([ -])\d{6}\2\d{4,5})$"
)

# The country and check digits of an IBAN written in groups (DE36 5673 ...).
_IBAN_HEAD = re.compile(r"(?<![\w-])[A-Za-z]{2}\d{2}[ -]$")


class CreditCardDetector(PatternDetector):
    """``CREDIT_CARD``: 13 to 19 digits, spaces or dashes between groups; 12-digit Maestro
    numbers with a card word nearby.

    A candidate counts only when its Luhn checksum holds, it starts with a known issuer
    prefix, and it is grouped the way cards are printed; card-length numbers that fail any of
    these (order numbers, ids) are left alone. Twelve digits is a card number only for
    Maestro, and so many other numbers have twelve digits that such a candidate needs a card
    word (``card``, ``cc``, ``debit``, ...) within the context window as well.
    """

    name = "credit_card"
    entity_type = "CREDIT_CARD"
    pattern = rf"(?<!{JOINING}|-)\d(?:[ -]?\d){{11,18}}(?!{JOINING}|-\d)"
    negative_context = (
        "order", "invoice", "tracking", "isbn", "serial", "iban",
        # product barcodes: one EAN-13 in about fourteen passes as a card
        "ean", "ean13", "gtin", "gtin13", "upc", "barcode",
    )  # fmt: skip
    context_words = ("card", "cards", "cc", "credit", "debit", "maestro", "payment")
    min_digits = 12
    #: Every span starts with four digits (``_GROUPS``), though not every match does.
    shape_pattern = rb"0000(?<![a0_-]0000)(?:[ -]?0){8,15}(?![a0_]|-0)"
    #: What a 12-digit Maestro number scores before context; without a card word it is
    #: dropped (validation lifts full-length cards to 1.0).
    score = 0.3
    context_boost = 0.4

    def first_start(self, text: str) -> int:
        # The shape pattern rules out texts without a card-shaped number; it does not tell
        # where the first match starts (a match that fails validation may start earlier).
        return min(super().first_start(text), 0)

    def validate(self, candidate: str) -> bool | None:
        digits = digits_only(candidate)
        if _GROUPS.match(candidate) is None or not luhn(digits):
            return False
        if len(digits) == 12:
            return None if _MAESTRO.match(digits) else False
        return 13 <= len(digits) <= 19 and _ISSUER.match(digits) is not None

    def score_candidate(self, text: str, start: int, end: int, context: str) -> float | None:
        score = super().score_candidate(text, start, end, context)
        if score is not None and score <= self.score:
            return None  # a 12-digit Maestro-like number without a card word nearby
        return score

    def find(self, text: str, context: str = "") -> list[Span]:
        first = self.first_start(text)
        if first < 0:
            return []
        spans = []
        for match in self._regex.finditer(text, first):
            start, end = match.span()
            score = self.score_candidate(text, start, end, context)
            # A number written after the card ran on into the candidate: the expiry or
            # the security code (4111 1111 1111 1111 05/27, 4111111111111111 123). The
            # card is the longest part before a space that scores; not in an IBAN, whose
            # groups of four after the country and check digits look the same.
            if score is None and _IBAN_HEAD.search(text, max(0, start - 5), start) is None:
                while score is None and (end := text.rfind(" ", start, end)) > start:
                    score = self.score_candidate(text, start, end, context)
            if score is not None:
                spans.append(Span(start, end, self.entity_type, score, self.name))
        return spans


class CardSecurityCodeDetector(PatternDetector):
    """``CREDIT_CARD_CVV``: the three or four digits of a card's CVV, CVC or CID next
    to such a word (``cvv 737``, ``CVC2: 0123``) or in such a field (``{"cvv": "123"}``).

    Card rules forbid keeping it after authorisation; its own entity type, because a
    policy masking ``CREDIT_CARD`` with ``keep_last: 4`` would show all of it.
    """

    name = "card_cvv"
    entity_type = "CREDIT_CARD_CVV"
    pattern = r"(?<![\w./:-])\d{3,4}(?![\w]|[./:-]\d)"
    context_words = (
        "cvv", "cvv2", "cvc", "cvc2", "csc", "cvn", "cav2", "card verification",
        "card_verification", "security code", "security_code", "securitycode",
    )  # fmt: skip
    context_required = True
    context_window = 20
    min_digits = 3
    score = 0.3
    context_boost = 0.6
