"""Phone numbers, found by a candidate pattern and validated with ``phonenumbers``."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence

import phonenumbers

from streamer.redaction.detector import PatternDetector, word_pattern
from streamer.redaction.patterns import JOINING as _JOINS
from streamer.redaction.spans import Span
from streamer.redaction.validators import count_digits, luhn

_CONTEXT = (
    "phone", "telephone", "tel", "mobile", "cell", "cellphone", "call", "called", "calling",
    "fax", "contact", "whatsapp", "sms", "text", "txt", "dial", "number", "ph", "mob",
    "landline", "reach", "ring", "hotline", "telefon", "téléphone", "desk", "office",
    "message", "messages", "texted", "voicemail", "answer", "answering", "unreachable",
    "ringing", "reachable", "msisdn",
    # French, Spanish, Portuguese, Italian, German, Dutch: the national numbers of plans
    # outside the default regions are grouped digits, which count only with one of these
    "tél", "portable", "joindre", "appeler", "appelez", "rappeler", "numéro", "fixe",
    "teléfono", "telefono", "móvil", "movil", "celular", "llamar", "llámame", "llamame",
    "llame", "número", "numero", "fijo", "telefone", "ligar", "cellulare", "chiamare",
    "chiamami", "telefonnummer", "handy", "handynummer", "rufnummer", "mobilnummer",
    "anrufen", "erreichbar", "festnetz", "mobil", "nummer", "telefoon", "telefoonnummer",
    "mobiel", "bellen",
    # Japanese, Chinese, Korean: phone, mobile, contact
    "電話", "携帯", "連絡先", "电话", "手机", "联系方式", "전화", "휴대폰", "연락처",
)  # fmt: skip
_NEGATIVE = (
    "order", "invoice", "ref", "reference", "tracking", "serial", "part", "sku", "isbn",
    "version", "build", "po", "ticket", "case", "id", "account", "acct", "iban", "card",
    "ssn", "passport", "license", "licence", "routing", "zip", "postcode", "amount", "upc",
    "ean", "gtin", "barcode", "aba", "rtn",
    "commande", "facture", "pedido", "factura", "bestellung", "rechnung", "ordine", "fattura",
)  # fmt: skip

#: The end of an access log's request line: the status and size after it
#: (``"GET /a HTTP/1.1" 200 5123``) are not a phone number (lower-cased text before one).
_AFTER_REQUEST_LINE = re.compile(r"http/\d(?:\.\d)?\"?\s+$")

#: The shortest national numbers (six digits: Greenland, the Faroe Islands, ...).
MIN_DIGITS = 6

# Shapes that are something else: dates, dotted quads (IPv4), US social security numbers,
# decimal numbers (1234.56, 40.712776, 0.127758; not 555.0132, a local number in 3-4
# groups).
_NOT_A_PHONE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|(?:\d{1,3}\.){3}\d{1,3}|\d{3}-\d{2}-\d{4}|(?!\d{3}\.\d{4}$)(?:[1-9]\d*|0)\.\d+)$"
)
#: Whole candidates that are never a phone number, wherever they stand: fewer than six
#: digits, six digits alone, or a shape of ``_NOT_A_PHONE`` (these hold no extension
#: mark, so they are their own number). One C-level check instead of the scoring steps.
_NEVER_A_PHONE = re.compile(
    r"\D*(?:\d\D*){0,5}|\d{6}"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|(?:\d{1,3}\.){3}\d{1,3}|\d{3}-\d{2}-\d{4}|(?!\d{3}\.\d{4}$)(?:[1-9]\d*|0)\.\d+"
)
_PHONE_SHAPE = re.compile(
    r"^(?:(?:\+|00)\d[\d\s().-]{6,}"
    r"|\(0?\d{2,5}\)\s?\d{2,4}[ .-]?\d{2,8}|\d{3}([.-])\d{3}\1\d{4}|0\d{2,5}[ /-]\d{3,8})$"
)
_LEADING_ZERO = re.compile(r"^\(?0")
_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d{1,6}$")
#: A character every extension holds ("ext", "extension", "x" or "#"): without one,
#: ``_EXTENSION`` cannot match and the candidate need not be searched.
_EXTENSION_MARKS = frozenset("xX#")
# The national trunk prefix some write after the country code: +41 (0)61 ..., +44 (0)20 ...
_TRUNK_PREFIX = re.compile(r"^(\+\d{1,3})\s*\(0\)\s*")
# A country code written in brackets: (+358) 181004186
_PAREN_COUNTRY = re.compile(r"^\(\+(\d{1,3})\)")
#: Words that make a bare run of digits right after them a phone number, whatever its plan.
_PHONE_LABELS = (
    "phone", "telephone", "tel", "mobile", "cell", "cellphone", "call", "fax", "whatsapp",
    "sms", "dial", "landline", "hotline", "telefon", "t\u00e9l\u00e9phone", "ph", "mob",
    "msisdn", "t\u00e9l", "portable", "tel\u00e9fono", "telefono", "m\u00f3vil", "movil",
    "celular", "telefone", "cellulare", "handy", "mobil", "telefoon", "mobiel", "appelez",
    "appeler", "ll\u00e1mame", "llamame", "chiamami", "anrufen",
)  # fmt: skip
_LABEL_WINDOW = 24
#: ``phonenumbers`` verdicts remembered (a stream repeats its customers' numbers).
_VERDICT_CACHE_ENTRIES = 8192
# Digit groups as people write phone numbers, in any country's plan.
_GROUPED_DIGITS = re.compile(r"^\+?\(?\d{1,5}\)?(?:[ .-]?\(?\d{1,8}\)?){1,6}$")
# The parts of ``PhoneDetector.pattern``.
# A comma, full stop or colon ends a number only after one (a colon after a label starts
# one: ``tel:+1...``, ``phone:415...``; after a digit it is a time or an address part).
_BOUNDARY = rf"(?<!{_JOINS}|[+/-])(?<!\d[.,:])"
_PREFIX = r"(?:(?:\+|\b00|\b011)[ .-]?|\(\+\d{1,3}\)[ .-]?)?"  # +44, 0049, (+358)
_NUMBER = r"(?:\(\d{1,5}\)[ .-]?\d{1,12}|\d{1,15})"
_GROUPS = (
    r"(?:(?:[ .-]|\s?/\s?){0,2}\(\d{1,5}\)[ .-]?\d{1,12}|(?:[ .-]|\s?/\s?){1,2}\d{1,10}){0,6}"
    r"(?:\s*(?:ext\.?|extension|x|\#)\s*\d{1,6})?"
)
_END = rf"(?!{_JOINS}|\+|[.,/:-]\d)"
_ASCII_END = r"(?![\w+]|[.,/:-]\d)"


def _starting_with(first: str, start: str, end: str) -> re.Pattern[str]:
    """``PhoneDetector.pattern`` restated to begin with ``first``, the character class of
    where a match starts, so that ``re`` skips ahead to one in C (a leading lookbehind
    makes it try every position). Same matches in the same order: the boundary is
    checked one character later, and each way the original can begin is spelled out in
    its order, behind a lookbehind on that first character (``start``); ``end`` is the
    boundary after the number."""
    beginnings = (
        r"(?<=\+)[ .-]?" + _NUMBER,  # +44 ...
        r"(?<=0)0[ .-]?" + _NUMBER,  # 0049 ... (\b holds: the boundary is checked)
        r"(?<=0)11[ .-]?" + _NUMBER,  # 011 49 ...
        r"(?<=\()\+\d{1,3}\)[ .-]?" + _NUMBER,  # (+358) ...
        r"(?<=\()\d{1,5}\)[ .-]?\d{1,12}",  # (089) ...
        r"(?<=\d)\d{0,14}",  # 089 ...
    )
    alternatives = "|".join(beginning + _GROUPS + end for beginning in beginnings)
    return re.compile(first + start + "(?:" + alternatives + ")", re.IGNORECASE)


#: Where a match of the candidate patterns can begin: their first character, with the
#: boundary they check behind it. A text without one (``T-0000123``) holds no candidate.
_START = rf"(?<!{_JOINS}.|[+/-].)(?<!\d[.,:].)"
_ASCII_START = r"(?<![\w+/-].)(?<!\d[.,:].)"
_CANDIDATES = _starting_with(r"[+(\d]", _START, _END)
# For ASCII text, where \d is 0-9: a set of ranges is a bitmap, which ``re`` tests far
# faster than the Unicode digit category.
_ASCII_CANDIDATES = _starting_with(r"[+(0-9]", _ASCII_START, _ASCII_END)
#: A space or plus sign percent-encoded in a URL (``?phone=%2B44%2020%207946%200958``).
_PERCENT_ENCODED = re.compile(r"%2[0Bb]")
_CANDIDATE_START = re.compile(r"[+(\d]" + _START)
_ASCII_CANDIDATE_START = re.compile(r"[+(0-9]" + _ASCII_START)


class PhoneDetector(PatternDetector):
    """``PHONE_NUMBER`` in national and international formats, with extensions.

    A candidate counts when ``phonenumbers`` finds it valid: with its own country code
    (``+44 ...``, ``0049 ...``) or, failing that, in one of ``regions`` in order. One
    that is only possible (right length, unassigned area code) counts when written in a
    phone shape: ``+1 398-555-0103``, ``(398) 555-0103``, ``398-555-0103``,
    ``08892 63166``. A bare run of digits (no ``+``, brackets or separators) counts only
    when valid, and then at ``bare_score``, unless a phone word is nearby; a word such as
    "order" or "invoice" just before a number without its country code rules it out.
    Dates, dotted quads and social security numbers never count.
    Other numbers written in digit groups (``04.15.68.30.65``, ``652 912 515``), from
    plans outside ``regions``, and bare possible ones count only with a phone word nearby
    (``grouped_score``), and so do six-digit numbers in groups (``84 23 30``: Greenland,
    the Faroe Islands); ``+41 (0)61 ...`` is read without the ``(0)``. A number may
    follow a comma or full stop (``Fax,+44 20 ...``), but not one after a digit.
    """

    name = "phone"
    entity_type = "PHONE_NUMBER"
    pattern = _BOUNDARY + _PREFIX + _NUMBER + _GROUPS + _END
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
        self._trunk_zero_regions = frozenset(
            region
            for region in self.regions
            if (metadata := phonenumbers.PhoneMetadata.metadata_for_region(region)) is not None
            and metadata.national_prefix == "0"
        )
        # The restated pattern stands in for the class's own only.
        self._restated = (self.pattern, self.flags) == (PhoneDetector.pattern, PhoneDetector.flags)
        unknown = [r for r in self.regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            from streamer.redaction.exceptions import PolicyError

            raise PolicyError(
                f"default_regions holds unknown region codes {unknown}; use ISO 3166 "
                "alpha-2 codes such as US, GB, DE"
            )

    def base_score(self, candidate: str) -> float | None:
        number = _without_extension(candidate)
        digits = count_digits(number)
        if not MIN_DIGITS <= digits <= 15 or _NOT_A_PHONE.match(number):
            return None
        if digits < 7:
            return self._six_digit_score(number)
        return self._parsed_score(candidate, number)

    def _six_digit_score(self, number: str) -> float | None:
        """Six-digit plans (Greenland, Faroes, ...): in groups, near a phone word."""
        grouped = not number.isdigit() and _GROUPED_DIGITS.match(number) is not None
        return self.grouped_score if grouped else None

    def _parsed_score(self, candidate: str, number: str) -> float | None:
        """The base score of a candidate of 7 to 15 digits (``number`` is it without its
        extension), from what ``phonenumbers`` makes of it and how it is written."""
        if candidate.startswith("(+"):  # (+358) ...
            candidate = _PAREN_COUNTRY.sub(r"+\1", candidate)
        elif candidate[0] == "+" and "(0)" in candidate:  # +41 (0)61 ...
            candidate = _TRUNK_PREFIX.sub(r"\1 ", candidate)
        verdict = _verdict(candidate, self.regions, self._trunk_zero_regions)
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

    def score_candidate(self, text: str, start: int, end: int, context: str) -> float | None:
        candidate = text[start:end]
        number = _without_extension(candidate)
        digits = count_digits(number)
        return self._score(text, start, end, context, candidate, number, digits)[0]

    def _score(
        self,
        text: str,
        start: int,
        end: int,
        context: str,
        candidate: str,
        number: str,
        digits: int,
    ) -> tuple[float | None, float | None]:
        """``score_candidate`` of ``candidate`` (``text[start:end]``; ``number`` is it
        without its extension, holding ``digits`` digits) and the base score it started from.

        As ``PatternDetector.score_candidate``, but cheapest check first: the base score
        and a negative word before the candidate each rule it out alone, and the words
        cost less than ``phonenumbers``.
        """
        if not MIN_DIGITS <= digits <= 15 or _NOT_A_PHONE.match(number):
            return None, None
        if digits < 7:
            base = self._six_digit_score(number)
            if base is None or self._negative_word_before(text, start, context):
                return None, None
        else:
            # "order", "ticket", "id" ... before a number make a bare or national one
            # something else; one written with its country code (+44 ...) stays a phone.
            with_country_code = candidate[0] == "+" or candidate.startswith("(+")
            if not with_country_code and self._negative_word_before(text, start, context):
                return None, None
            base = self._parsed_score(candidate, number)
            if base is None:
                return None, None
        if self._context is None:
            return base, base
        window = self._before(text, start, self.context_window, context)
        after = text[end : end + self.context_window // 2].lower()
        if self._context.search(window) or self._context.search(after):
            return min(1.0, base + self.context_boost), base
        if self.context_required:
            return None, base
        return base, base

    def _negative_word_before(self, text: str, start: int, context: str) -> bool:
        """Whether a ``negative_context`` word is just before ``start`` or in the path, or
        ``start`` follows an HTTP request line."""
        before = self._before(text, start, self.negative_window, context)
        return (
            self._negative is not None and self._negative.search(before) is not None
        ) or _AFTER_REQUEST_LINE.search(before) is not None

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
        if "%2" in text and _PERCENT_ENCODED.search(text) is not None:
            return self._find_percent_decoded(text, context)
        return self._find(text, context)

    def _find_percent_decoded(self, text: str, context: str) -> list[Span]:
        """Numbers in a text holding percent-encoded spaces or plus signs (a URL query),
        found in the text as decoded and placed back on the encoded characters."""
        decoded, starts, ends = _percent_decoded(text)
        return [
            Span(
                starts[span.start], ends[span.end - 1], span.entity_type, span.score, span.detector
            )
            for span in self._find(decoded, context)
        ]

    def _find(self, text: str, context: str) -> list[Span]:
        if not self._restated:
            return self._spans(text, context, self._regex.finditer(text))
        # A text where no candidate can begin is passed over at C speed; the candidates
        # of the others are searched from where one can.
        if text.isascii():
            first, candidates = _ASCII_CANDIDATE_START.search(text), _ASCII_CANDIDATES
        else:
            first, candidates = _CANDIDATE_START.search(text), _CANDIDATES
        if first is None:
            return []
        return self._spans(text, context, candidates.finditer(text, first.start()))

    def _spans(self, text: str, context: str, matches: Iterator[re.Match[str]]) -> list[Span]:
        """The phone numbers among ``matches``, the candidates in ``text``."""
        spans = []
        never_a_phone = _NEVER_A_PHONE.fullmatch
        for match in matches:
            start, end = match.span()
            if end - start < MIN_DIGITS or never_a_phone(text, start, end):
                continue
            value = match.group()
            number = _without_extension(value)
            digits = count_digits(number)
            if digits < MIN_DIGITS:
                continue
            pieces = [(start, end, value, number, digits)]
            if digits > 15:
                if not _may_hold_two_numbers(value):
                    continue
                pieces = []
                for piece_start, piece_end in self._split_merged(text, start, end):
                    piece = text[piece_start:piece_end]
                    piece_number = _without_extension(piece)
                    pieces.append(
                        (piece_start, piece_end, piece, piece_number, count_digits(piece_number))
                    )
            for piece_start, piece_end, piece, piece_number, piece_digits in pieces:
                score, base = self._score(
                    text, piece_start, piece_end, context, piece, piece_number, piece_digits
                )
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
                    context_lifted = score > self.grouped_score and base == self.grouped_score
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


def _percent_decoded(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` with ``%20`` and ``%2B`` read as a space and a plus sign, and where each
    of its characters starts and ends in ``text``."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for match in _PERCENT_ENCODED.finditer(text):
        start, end = match.span()
        pieces.append(text[position:start])
        starts.extend(range(position, start))
        ends.extend(range(position + 1, start + 1))
        pieces.append(" " if text[end - 1] == "0" else "+")
        starts.append(start)
        ends.append(end)
        position = end
    pieces.append(text[position:])
    starts.extend(range(position, len(text)))
    ends.extend(range(position + 1, len(text) + 1))
    return "".join(pieces), starts, ends


def _may_hold_two_numbers(value: str) -> bool:
    """Whether a too-long candidate could be two phone numbers side by side, rather than a
    card number or another single long number."""
    if " " not in value.strip():
        return False
    return not luhn(value)


def _without_extension(candidate: str) -> str:
    """``candidate`` without a trailing extension (``ext. 12``, ``x12``, ``#12``)."""
    if _EXTENSION_MARKS.isdisjoint(candidate):
        return candidate
    return _EXTENSION.sub("", candidate)


@functools.lru_cache(maxsize=_VERDICT_CACHE_ENTRIES)
def _verdict(
    candidate: str, regions: tuple[str, ...], trunk_zero_regions: frozenset[str]
) -> str | None:
    """``"valid"``, ``"possible"`` (right length for its country) or ``None``: ``candidate``
    parsed with its own country code or in ``regions``. Parsing is the costly part, and a
    stream repeats its customers' numbers, so verdicts are remembered."""
    international = candidate.startswith("+")
    verdict = None
    for region in (None,) if international else regions:
        if region in trunk_zero_regions and not _LEADING_ZERO.match(candidate):
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
