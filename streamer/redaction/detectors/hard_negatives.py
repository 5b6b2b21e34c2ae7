"""Hard negatives: ranges of text that are never personal data.

UUIDs, hex digests, ISBNs, version strings, timestamps, and pii-streamer's own tokens
look like numbers detectors hunt for. The engine drops any span that overlaps one of
these ranges, whichever detector found it, so re-redacting clean text changes nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from streamer.redaction.validators import br_cpf, es_nif, isbn

# The kinds of range, as bits of a set of what a text can hold (see ``_needs``).
_UUID, _HEX, _TIME, _VERSION, _TOKEN = 1, 2, 4, 8, 16
# Each kind of range with what a text must hold for it to occur at all: most texts lack
# most of them, and the kinds are only searched for where they can be.
_KINDS: tuple[tuple[int, str], ...] = (
    # UUIDs
    (_UUID, r"\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b"),
    # hex digests and ids: lower-case hex of 16+ characters with letters and digits, or
    # upper-case of 32+ (shorter upper-case runs can be IBANs: DE89...)
    (_HEX, r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{16,}\b"),
    (_HEX, r"\b(?=[0-9A-F]*[A-F])(?=[0-9A-F]*\d)[0-9A-F]{32,}\b"),
    # ISO 8601 timestamps (a date with a time); not at midnight UTC, how a date alone is
    # often serialised (a birth date: "1985-03-14T00:00:00.000Z")
    (
        _TIME,
        r"\b\d{4}-\d{2}-\d{2}[T ](?!00:00(?::00(?:[.,]0+)?)?(?:Z|[+-]00:?00)?(?![\d:.,+-]))"
        r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
    ),
    # version strings: v1.2.3, 1.2.3-beta, 2.0.0+build
    (_VERSION, r"\b[vV]\d+(?:\.\d+){1,3}\b|\b\d+\.\d+\.\d+(?:[-+][\w.]+)\b"),
    # pii-streamer's own replacements: tokens, hashes, inline ciphertexts
    (_TOKEN, r"\[[A-Z][A-Z0-9_]*_[0-9a-f]{16}\]|\[[A-Z][A-Z0-9_]*#[0-9a-f]{32}\]"),
    (_TOKEN, r"\[[A-Z][A-Z0-9_]*:enc:[A-Za-z0-9_-]+\]"),
)
# A CPF (123.456.789-09) or a DNI (12.345.678-Z) written with dots has a version's shape;
# with a valid check it is the id.
_DOTTED_ID = re.compile(r"\d{3}\.\d{3}\.\d{3}-\d\d|\d\d\.\d{3}\.\d{3}-[A-Za-z]")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{16}")
_DIGIT_DOT_DIGIT = re.compile(r"\d\.\d")  # in every version string; most dots are not


def _chooser(
    kinds: tuple[tuple[int, str], ...], flags: str = ""
) -> Callable[[int], re.Pattern[str] | None]:
    """A cached function giving one pattern for those of ``kinds`` whose needs a text
    meets, given as bits (``None``: none)."""

    @functools.cache
    def pattern_for(needs: int) -> re.Pattern[str] | None:
        chosen = [pattern for need, pattern in kinds if need & needs]
        return re.compile(flags + "|".join(chosen)) if chosen else None

    return pattern_for


_ranges_pattern = _chooser(_KINDS)


def _needs(text: str, dashes: int) -> int:
    """The kinds of range ``text`` (holding ``dashes`` dashes) can hold, from what each
    cannot do without: a UUID's four dashes, a timestamp's two dashes and a colon, a
    version's digit-dot-digit, a token's bracket, a digest's run of hex digits."""
    needs = 0
    if dashes >= 4:
        needs |= _UUID
    if dashes >= 2 and ":" in text:
        needs |= _TIME
    if "." in text and _DIGIT_DOT_DIGIT.search(text) is not None:
        needs |= _VERSION
    if "[" in text:
        needs |= _TOKEN
    if _HEX_RUN.search(text) is not None:
        needs |= _HEX
    return needs


# ISBNs (case-insensitive): after their prefix, starting 978/979, or in four dashed groups.
_PREFIXED, _BOOKLAND, _DASHED = 1, 2, 4
_ISBN_KINDS: tuple[tuple[int, str], ...] = (
    (_PREFIXED, r"\bISBN(?:-1[03])?:?\s*[0-9][0-9 -]{8,15}[0-9X]\b"),
    (_BOOKLAND, r"\b97[89][- ]?\d{1,5}[- ]\d{1,7}[- ]\d{1,7}[- ]\d\b"),
    (_DASHED, r"\b\d{1,5}-\d{1,7}-\d{1,7}-[\dX]\b"),
)
_isbn_pattern = _chooser(_ISBN_KINDS, "(?i)")
_ISBN_PREFIX = re.compile(r"(?i)^ISBN(?:-1[03])?:?\s*")
_ISBN_WORD = re.compile(r"(?i)isbn")


def _isbn_needs(text: str, dashes: int) -> int:
    """The ISBN shapes ``text`` can hold: its prefix, 978/979, three dashes."""
    needs = 0
    # "bn" first: (?i) matches b and n only as themselves, and it rules out most texts.
    if "bn" in text.lower() and _ISBN_WORD.search(text) is not None:
        needs |= _PREFIXED
    if "97" in text:
        needs |= _BOOKLAND
    if dashes >= 3:
        needs |= _DASHED
    return needs


def _dotted_id(value: str) -> bool:
    if _DOTTED_ID.fullmatch(value) is None:
        return False
    return br_cpf(value) if value[-2].isdigit() else es_nif(value)


def find_hard_negatives(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` ranges of ``text`` that must not be redacted."""
    dashes = text.count("-")
    pattern = _ranges_pattern(_needs(text, dashes))
    ranges = (
        [match.span() for match in pattern.finditer(text) if not _dotted_id(match.group())]
        if pattern is not None
        else []
    )
    isbn_pattern = _isbn_pattern(_isbn_needs(text, dashes))
    if isbn_pattern is None:
        return ranges
    for match in isbn_pattern.finditer(text):
        value = _ISBN_PREFIX.sub("", match.group())
        digits = value.replace("-", "").replace(" ", "")
        shaped = len(digits) == 10 or digits.startswith(("978", "979"))
        if (shaped or value != match.group()) and isbn(value):
            ranges.append(match.span())
    return ranges
