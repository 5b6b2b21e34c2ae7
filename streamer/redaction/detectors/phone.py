"""Phone numbers, found by a candidate pattern and validated with ``phonenumbers``."""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers

from streamer.redaction.detector import PatternDetector, word_pattern
from streamer.redaction.spans import Span
from streamer.redaction.validators import count_digits, luhn

_CONTEXT = (
    "phone", "telephone", "tel", "mobile", "cell", "cellphone", "call", "called", "calling",
    "fax", "contact", "whatsapp", "sms", "text", "txt", "dial", "number", "ph", "mob",
    "landline", "reach", "ring", "hotline", "telefon", "téléphone", "desk", "office",
    "message", "messages", "texted", "voicemail", "answer", "answering", "unreachable",
    "ringing",
)  # fmt: skip
_NEGATIVE = (
    "order", "invoice", "ref", "reference", "tracking", "serial", "part", "sku", "isbn",
    "version", "build", "po", "ticket", "case", "id", "account", "acct", "iban", "card",
    "ssn", "passport", "license", "licence", "routing", "zip", "postcode", "amount",
)  # fmt: skip

#: The shortest national numbers (six digits: Greenland, the Faroe Islands, ...).
MIN_DIGITS = 6

# Shapes that are something else: dates, dotted quads (IPv4), US social security numbers.
_NOT_A_PHONE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|(?:\d{1,3}\.){3}\d{1,3}|\d{3}-\d{2}-\d{4})$"
)
_PHONE_SHAPE = re.compile(
    r"^(?:(?:\+|00)\d[\d\s().-]{6,}"
    r"|\(0?\d{2,5}\)\s?\d{2,4}[ .-]?\d{2,8}|\d{3}([.-])\d{3}\1\d{4}|0\d{2,5}[ /-]\d{3,8})$"
)
_LEADING_ZERO = re.compile(r"^\(?0")
_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d{1,6}$")
# The national trunk prefix some write after the country code: +41 (0)61 ..., +44 (0)20 ...
_TRUNK_PREFIX = re.compile(r"^(\+\d{1,3})\s*\(0\)\s*")
# A country code written in brackets: (+358) 181004186
_PAREN_COUNTRY = re.compile(r"^\(\+(\d{1,3})\)")
#: Words that make a bare run of digits right after them a phone number, whatever its plan.
_PHONE_LABELS = (
    "phone", "telephone", "tel", "mobile", "cell", "cellphone", "call", "fax", "whatsapp",
    "sms", "dial", "landline", "hotline", "telefon", "t\u00e9l\u00e9phone", "ph", "mob",
)  # fmt: skip
_LABEL_WINDOW = 24
#: Candidates whose score is remembered (it depends on the candidate and the regions only).
_SCORE_CACHE_ENTRIES = 4096
# Digit groups as people write phone numbers, in any country's plan.
_GROUPED_DIGITS = re.compile(r"^\+?\(?\d{1,5}\)?(?:[ .-]?\(?\d{1,8}\)?){1,6}$")


class PhoneDetector(PatternDetector):
    """``PHONE_NUMBER`` in national and international formats, with extensions.

    A candidate counts when ``phonenumbers`` finds it valid: with its own country code
    (``+44 ...``, ``0049 ...``) or, failing that, in one of ``regions`` in order. One
    that is only possible (right length, unassigned area code) counts when written in a
    phone shape: ``+1 398-555-0103``, ``(398) 555-0103``, ``398-555-0103``,
    ``08892 63166``. A bare run of digits (no ``+``, brackets or separators) counts only
    when valid, and then at ``bare_score``, unless a phone word is nearby; a word such as
    "order" or "invoice" just before a number rules it out. Dates, dotted quads and
    social security numbers never count.
    Other numbers written in digit groups (``04.15.68.30.65``, ``652 912 515``), from
    plans outside ``regions``, and bare possible ones count only with a phone word nearby
    (``grouped_score``), and so do six-digit numbers in groups (``84 23 30``: Greenland,
    the Faroe Islands); ``+41 (0)61 ...`` is read without the ``(0)``. A number may
    follow a comma or full stop (``Fax,+44 20 ...``), but not one after a digit.
    """

    name = "phone"
    entity_type = "PHONE_NUMBER"
    pattern = (
        r"(?<![\w+/:-])(?<!\d[.,])"  # a comma or full stop ends a number only after one
        r"(?:(?:\+|\b00|\b011)[ .-]?|\(\+\d{1,3}\)[ .-]?)?"  # +44, 0049, (+358)
        r"(?:\(\d{1,5}\)[ .-]?\d{1,12}|\d{1,15})"
        r"(?:(?:[ .-]|\s?/\s?){0,2}\(\d{1,5}\)[ .-]?\d{1,12}|(?:[ .-]|\s?/\s?){1,2}\d{1,10}){0,6}"
        r"(?:\s*(?:ext\.?|extension|x|\#)\s*\d{1,6})?"
        r"(?![\w+]|[.,/:-]\d)"
    )
    flags = re.IGNORECASE
    context_words = _CONTEXT
    negative_context = _NEGATIVE
    min_digits = MIN_DIGITS
    score = 0.7
    possible_score = 0.55
    bare_score = 0.5
    #: A number neither valid nor possible in the default regions, written in groups:
    #: below the default threshold alone, a phone word nearby lifts it over.
    grouped_score = 0.25
    context_boost = 0.3

    def __init__(self, regions: Sequence[str] = ("US", "GB", "DE"), **overrides: object) -> None:
        super().__init__(**overrides)
        self.regions = tuple(region.upper() for region in regions)
        self._labels = word_pattern(_PHONE_LABELS)
        self._scores: dict[str, float | None] = {}
        self._trunk_zero_regions = frozenset(
            region
            for region in self.regions
            if (metadata := phonenumbers.PhoneMetadata.metadata_for_region(region)) is not None
            and metadata.national_prefix == "0"
        )
        unknown = [r for r in self.regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            from streamer.redaction.exceptions import PolicyError

            raise PolicyError(
                f"default_regions holds unknown region codes {unknown}; use ISO 3166 "
                "alpha-2 codes such as US, GB, DE"
            )

    def _verdict(self, candidate: str) -> str | None:
        """``"valid"``, ``"possible"`` (right length for its country) or ``None``."""
        international = candidate.startswith("+")
        verdict = None
        for region in (None,) if international else self.regions:
            if region in self._trunk_zero_regions and not _LEADING_ZERO.match(candidate):
                # In these regions a national number is written with its leading 0; without
                # it, "555-0132" would pass as a local number.
                continue
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return "valid"
            if verdict is None and phonenumbers.is_possible_number(number):
                verdict = "possible"
        return verdict

    def base_score(self, candidate: str) -> float | None:
        # Parsing is the costly part, and a stream repeats its customers' numbers.
        scores = self._scores
        if candidate in scores:
            return scores[candidate]
        if len(scores) >= _SCORE_CACHE_ENTRIES:
            scores.clear()
        score = scores[candidate] = self._base_score(candidate)
        return score

    def _base_score(self, candidate: str) -> float | None:
        number = _EXTENSION.sub("", candidate)
        digits = count_digits(number)
        if not MIN_DIGITS <= digits <= 15 or _NOT_A_PHONE.match(number):
            return None
        if digits < 7:  # six-digit plans (Greenland, Faroes, ...): in groups, near a phone word
            grouped = not number.isdigit() and _GROUPED_DIGITS.match(number) is not None
            return self.grouped_score if grouped else None
        if candidate[0] in "+(":  # +41 (0)61 ..., (+358) ...
            candidate = _PAREN_COUNTRY.sub(r"+\1", _TRUNK_PREFIX.sub(r"\1 ", candidate))
        verdict = self._verdict(candidate)
        if verdict == "valid":
            return self.score  # a phone word nearby is what makes it certain
        # A number the numbering plan has not assigned still counts when it is written
        # the way phone numbers are: +country code, (area code), or 3-3-4 groups.
        if verdict == "possible" and _PHONE_SHAPE.match(number) is not None:
            return self.possible_score
        if (verdict == "possible" and number.isdigit()) or (
            not number.isdigit() and _GROUPED_DIGITS.match(number) is not None
        ):
            return self.grouped_score  # counts only with a phone word nearby
        return None

    def _split_merged(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Numbers inside a candidate that ran two numbers together (``555-0132 555-0199``)."""
        found = []
        for region in self.regions:
            for match in phonenumbers.PhoneNumberMatcher(
                text[start:end], region, leniency=phonenumbers.Leniency.VALID
            ):
                found.append((start + match.start, start + match.end))
            if found:
                break
        return found

    def find(self, text: str, context: str = "") -> list[Span]:
        spans = []
        for match in self._regex.finditer(text):
            start, end = match.span()
            value = match.group()
            digits = count_digits(_EXTENSION.sub("", value))
            if digits < MIN_DIGITS:
                continue
            pieces = [(start, end)]
            if digits > 15:
                if not _may_hold_two_numbers(value):
                    continue
                pieces = self._split_merged(text, start, end)
            for piece_start, piece_end in pieces:
                score = self.score_candidate(text, piece_start, piece_end, context)
                piece = text[piece_start:piece_end]
                if score is None:
                    if self._labelled_bare_number(text, piece_start, piece, context):
                        spans.append(
                            Span(
                                piece_start, piece_end, self.entity_type, self.bare_score, self.name
                            )
                        )
                    continue
                if piece.isdigit() and score < 1.0:
                    # A bare digit run may be an order number: it counts when valid (not
                    # only possible), at a lower score, or with a phone word nearby.
                    context_lifted = (
                        score > self.grouped_score and self.base_score(piece) == self.grouped_score
                    )
                    if score < self.score and not context_lifted:
                        continue
                    score = self.bare_score
                if score <= self.grouped_score:
                    continue  # grouped digits from another plan, with no phone word nearby
                spans.append(Span(piece_start, piece_end, self.entity_type, score, self.name))
        return spans

    def _labelled_bare_number(self, text: str, start: int, piece: str, context: str) -> bool:
        """A bare run of 7 to 12 digits right after a phone word (``Phone: 67213657``,
        ``call me at 49849120``): a number of a plan outside the default regions."""
        if not (piece.isdigit() and 7 <= len(piece) <= 12) or self._labels is None:
            return False
        before = self._before(text, start, _LABEL_WINDOW, "")
        if self._negative is not None and self._negative.search(
            self._before(text, start, self.negative_window, context)
        ):
            return False
        return self._labels.search(before) is not None or bool(
            context and self._labels.search(context.lower())
        )


def _may_hold_two_numbers(value: str) -> bool:
    """Whether a too-long candidate could be two phone numbers side by side, rather than a
    card number or another single long number."""
    if " " not in value.strip():
        return False
    return not luhn(value)
