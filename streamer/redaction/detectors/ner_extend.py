"""Growing NER spans to the whole name, and spreading a found name to its other mentions.

A small model often finds part of a name: ``Amy`` of ``Amy-leigh``, ``Ždár`` of ``Ždár
nad Sázavou``, ``MSCI Japan Value ETF`` of ``iShares MSCI Japan Value ETF``. Redaction
leaks whatever part is left, so these rules grow each span over what belongs to it,
on its own line only:

1. **Whole words**: a span never starts or ends inside a word; it takes the rest of a
   word joined by a hyphen, an apostrophe or a symbol (``Amy-leigh``, ``L'Heureux``,
   a Greek name written with the increment sign ``∆`` for a delta).
2. **Places** take their particles and the names after them (``Caxias do Sul``,
   ``Odernheim am Glan``, ``Stratford upon Avon``), a postcode or house number right
   after them, with a region code between (``Bubión 18412``, ``Budapest BU 1038``,
   ``Turjaška 46``), and a qualifier in brackets (``Cyprus (Greek)``); a place of one
   word takes the capitalised word before it, which is a first name when the model took
   a surname for a place (``Ewa Kowalska-Wiśniewska``).
3. **Organisations** take the name-like words around them: capitalised, upper-case
   and camel-case words, codes and numbers (``iShares``, ``ETF-JPM/GBP``, ``III``,
   ``5.125``), up to a lower-case word or punctuation; and a qualifier in brackets.
4. **People** take a suffix (``Jr.``, ``III``, ``PhD``) and an initial before them
   (``J Smith``, not ``A Smith``); a person of one word takes the
   capitalised word right before or after it (``Ancelina Vaillancour``, ``Jasna
   Perković``), and the capitalised words right before it up to four words in all
   (``Rajesh Kumar Subramanian``, ``Ana Beatriz Souza``), unless such a word is a
   title, a function word, a sentence start or a possessive.

And spread:

5. **Repeated names**: once a person is found, other mentions of their names in the
   same text are that person too.
6. **Lists**: in a list of capitalised names (``Tara, Paul, Austin and Jean``), when
   one is a person and no more are places or organisations than people, the names the
   model left untyped are people.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from streamer.redaction.detectors.ner_words import (
    FUNCTION_WORDS,
    MONTHS_AND_DAYS,
    NAME_SUFFIXES,
    NOT_NAMES,
    PLACE_PARTICLES,
    TITLE_WORDS,
    UPPER,
)
from streamer.redaction.spans import Span

# A word goes on after a span's edge: a joiner (not a space, sentence punctuation or a
# field separator) and then a letter or digit.
_WORD_GOES_ON = re.compile(r"(?:[^\s\w,;:|()\[\]{}<>\"\u201c\u201d@\\]?[^\W_]+)+")
# Possessive letters: with nested repeats a long word and a full stop before a span made
# the search try exponentially many splits of the word (a worker hung on 35 letters).
_WORD_BEFORE = re.compile(r"(?:[^\W_]++[-'\u2019\u2206]?)+$")
_PLACE_PARTICLE = re.compile(
    r"(?:[ \t]+(?i:" + "|".join(sorted(PLACE_PARTICLES, key=len, reverse=True)) + r")"
    rf"[ \t]+{UPPER}[\w'\u2019-]*)+"
)
# A house number or postcode after a place, maybe with a region code between; not a
# date, time, amount or the start of another number.
_PLACE_NUMBER = re.compile(
    r",?[ \t]+(?:[A-Z]{2,3}[ \t]+)?"
    r"(?:[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|\d{4}[ \t]?[A-Z]{2}"
    r"|[A-Z]\d[\dW][ \t]?[A-Z\d]{4}|\d{8}|\d{1,6}(?:[ -]\d{2,4})?[A-Za-z]?)"
    r"(?![\w%$\u20ac\u00a3]|[.,:/-]\d|[ \t]*%|[ \t]+\d)"  # not the start of a phone number
)
_QUALIFIER = re.compile(rf"[ \t]*\({UPPER}[\w.'\u2019-]*(?:[ \t]+{UPPER}[\w.'\u2019-]*){{0,2}}\)")
# A word of an organisation's name: capitalised, upper case, camel case (iShares),
# a code or number (X5, 144A, 5.125, ETF-JPM/GBP), or an ampersand.
_ORG_WORD = (
    r"(?:[A-Z\u00c0-\u00de][\w&'\u2019./+%-]*|[a-z]+[A-Z][\w&'\u2019./+-]*|&"
    r"|\d[\dA-Za-z.%]{0,7}(?=[\s,;:)]|$))"  # a short code or number, not 000-12-3456
)
_ORG_AFTER = re.compile(rf"(?:[ \t]+{_ORG_WORD})+")
_ORG_WORD_BEFORE = re.compile(rf"{_ORG_WORD}[ \t]+$")
_MAX_ORG_WORDS_BEFORE = 3
_SUFFIX_AFTER = re.compile(r",?[ \t]+([A-Za-z]{2,3}\.?)(?![\w])")
_MAX_NAME_WORDS = 4  # a person's span takes first names before it up to this many words
_TITLE_CASE_WORD = rf"{UPPER}[^\W\d_A-Z]*[^\W\d_][\w'\u2019-]*"
_TITLE_CASE_AFTER = re.compile(rf"[ \t]+({_TITLE_CASE_WORD})(?![\w'\u2019-])")
_TITLE_CASE_BEFORE = re.compile(rf"(?<![\w'\u2019.-])({_TITLE_CASE_WORD})[ \t]+$")
_INITIAL_BEFORE = re.compile(rf"(?<![\w.'\u2019-])({UPPER})\.?[ \t]+$")
_SENTENCE_START_BEFORE = re.compile(r"(?:^|[.!?:;\"\u201c(\n\r])[ \t]*$")
_LABEL_BEFORE = re.compile(r"\w:[ \t]+$")
_LIST_ITEM = rf"{UPPER}[^\W\d_]+(?:[-'\u2019]{UPPER}?[^\W\d_]+)?"
_LIST = re.compile(
    rf"(?<![\w'\u2019-]){_LIST_ITEM}(?:[ \t]*,[ \t]*{_LIST_ITEM})*,?[ \t]+(?:and|&|or)[ \t]+"
    rf"{_LIST_ITEM}(?![\w'\u2019-])"
)
_LIST_WORD = re.compile(_LIST_ITEM)
_NAME_TOKEN = re.compile(r"[^\W\d_][\w'\u2019-]+")
_TOKEN = re.compile(r"[\w'\u2019-]+")


def whole_words(text: str, span: Span) -> Span:
    """``span`` grown so it starts and ends at word boundaries (rule 1)."""
    start, end = span.start, span.end
    if end < len(text) and end > start and text[end - 1].isalnum():
        goes_on = _WORD_GOES_ON.match(text, end)
        if goes_on is not None and goes_on.end() > end:
            end = goes_on.end()
            if text[end - 2 : end] in ("'s", "\u2019s"):  # a possessive is no part of it
                end -= 2
    if start > 0 and text[start].isalnum() and not text[start - 1].isspace():
        before = _WORD_BEFORE.search(text, max(0, start - 40), start)
        if (
            before is not None
            and before.start() < start
            and text[before.start()].isalnum()
            and text[before.start() - 1 : before.start()] != "\\"  # an escaped break: \\nLee
        ):
            start = before.start()
    if (start, end) == (span.start, span.end):
        return span
    return Span(start, end, span.entity_type, span.score, span.detector)


def grow(text: str, span: Span) -> Span:
    """``span`` grown over what belongs to its name (rules 2 to 4)."""
    if span.entity_type == "LOCATION":
        end = _grow_place(text, span.end)
        start = _first_name_before_place(text, span.start, end)
    elif span.entity_type == "ORGANIZATION":
        start, end = _grow_organisation(text, span.start, span.end)
    elif span.entity_type == "PERSON":
        start, end = _grow_person(text, span.start, span.end)
    else:
        return span
    if (start, end) == (span.start, span.end):
        return span
    return Span(start, end, span.entity_type, span.score, span.detector)


def _grow_place(text: str, end: int) -> int:
    particles = _PLACE_PARTICLE.match(text, end)
    if particles is not None:
        end = particles.end()
    qualifier = _QUALIFIER.match(text, end)
    if qualifier is not None:
        end = qualifier.end()
    number = _PLACE_NUMBER.match(text, end)
    if number is not None:
        end = number.end()
    return end


def is_place_number(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is a house number or postcode as a place takes it
    (``" 128"``, ``" PH36 9QH"``, ``", NB 18775"``; not ``" 14.0.1"`` or ``" P0420"``)."""
    return _PLACE_NUMBER.fullmatch(text, start, end) is not None


def _first_name_before_place(text: str, start: int, end: int) -> int:
    """A place of one word right after a capitalised word (not a sentence start) is a
    surname the model took for a place: ``Ewa [Kowalska-Wiśniewska]`` left ``Ewa``."""
    if " " in text[start:end].strip() or not text[start : start + 1].isupper():
        return start
    line_start = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    before = _TITLE_CASE_BEFORE.search(text, max(line_start, start - 40), start)
    if (
        before is None
        or not _may_join_name(before.group(1))
        or MONTHS_AND_DAYS.fullmatch(before.group(1))
        or _starts_sentence(text, before.start())
    ):
        return start
    return before.start()


def _grow_organisation(text: str, start: int, end: int) -> tuple[int, int]:
    after = _ORG_AFTER.match(text, end)
    if after is not None:
        words = after.group().split()
        kept = 0
        for word in words:
            if word.lower() in FUNCTION_WORDS or word.lower() in NOT_NAMES - _CURRENCY_CODES:
                break
            kept += 1
        if kept:
            end = _end_of_words(text, end, kept)
    qualifier = _QUALIFIER.match(text, end)
    if qualifier is not None:
        end = qualifier.end()
    for _ in range(_MAX_ORG_WORDS_BEFORE):
        line_start = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
        before = _ORG_WORD_BEFORE.search(text, max(line_start, start - 60), start)
        if before is None:
            break
        word = before.group().strip()
        if word.lower() in FUNCTION_WORDS or word.lower() in NOT_NAMES:
            break
        if word[:1].isupper() and not word.isupper() and _starts_sentence(text, before.start()):
            break  # "Yesterday Acme Corp": a capitalised sentence start is no part of it
        start = before.start()
    return start, end


_CURRENCY_CODES = frozenset(
    [
        "usd",
        "eur",
        "gbp",
        "jpy",
        "chf",
        "cny",
        "cad",
        "aud",
        "nzd",
        "sek",
        "nok",
        "dkk",
        "pln",
        "czk",
        "huf",
        "inr",
        "brl",
        "mxn",
        "zar",
        "rub",
        "try",
        "krw",
        "sgd",
        "hkd",
    ]
)


def _end_of_words(text: str, end: int, count: int) -> int:
    for _ in range(count):
        while end < len(text) and text[end] in " \t":
            end += 1
        while end < len(text) and not text[end].isspace():
            end += 1
    while text[end - 1] in ".,;:":  # a full stop after the last word ends the sentence
        if text[end - 4 : end].lower() in ("inc.", "ltd.", "co.", "corp.", ".ltd.", "plc."):
            break
        end -= 1
    return end


def _grow_person(text: str, start: int, end: int) -> tuple[int, int]:
    suffix = _SUFFIX_AFTER.match(text, end)
    if suffix is not None and suffix.group(1).lower() in NAME_SUFFIXES:
        end = suffix.end()
        return start, end
    initial = _INITIAL_BEFORE.search(text, max(0, start - 4), start)
    if initial is not None and initial.group(1) not in ("A", "I"):
        start = initial.start()  # J Smith, K. Okafor (not "A Smith", "I Patel")
    words = len(text[start:end].split())
    if words == 1:
        after = _TITLE_CASE_AFTER.match(text, end)
        if after is not None and _may_join_name(after.group(1)):
            return start, after.end()
    # the first names before a surname or two: Rajesh [Kumar Subramanian], Ana [Souza]
    line_start = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    while words < _MAX_NAME_WORDS:
        before = _TITLE_CASE_BEFORE.search(text, max(line_start, start - 40), start)
        if (
            before is None
            or not _may_join_name(before.group(1))
            or (_starts_sentence(text, before.start()) and not _after_label(text, before.start()))
            or before.group(1).endswith(("'s", "\u2019s"))  # whose: Price's [Cautionary Tales]
        ):
            break
        start = before.start()
        words += 1
    return start, end


def _may_join_name(word: str) -> bool:
    lower = word.lower().rstrip(".")
    return lower not in FUNCTION_WORDS and lower not in NOT_NAMES and lower not in TITLE_WORDS


def _starts_sentence(text: str, position: int) -> bool:
    return _SENTENCE_START_BEFORE.search(text, max(0, position - 4), position) is not None


def _after_label(text: str, position: int) -> bool:
    """Whether ``position`` follows a label's colon (``Emergency contact: [Gertrude]``):
    the value's first word is capitalised as a name, not as a sentence's first word."""
    return _LABEL_BEFORE.search(text, max(0, position - 4), position) is not None


@lru_cache(maxsize=4096)
def name_words(name: str) -> tuple[str, ...]:
    """The words of a person's name that name them alone: ``Tobias`` and ``Greenhalgh``
    of ``Mr Tobias Greenhalgh``; not a title, an initial or a common word."""
    return tuple(
        word
        for word in _NAME_TOKEN.findall(name)
        if word[:1].isupper()
        and len(word) > 2
        and word.lower() not in NOT_NAMES
        and word.lower() not in FUNCTION_WORDS
        and word.lower().rstrip(".") not in TITLE_WORDS
    )


def repeated_names(text: str, spans: Sequence[Span]) -> list[Span]:
    """Other mentions of a found person's names in ``text`` (rule 5)."""
    words: set[str] = set()
    for span in spans:
        if span.entity_type == "PERSON":
            words.update(name_words(text[span.start : span.end]))
    if not words:
        return []
    found = []
    for token in _TOKEN.finditer(text):  # whole tokens, so "Ann" is not found in "Anna"
        value = token.group()
        if value in words:
            found.append(Span(token.start(), token.end(), "PERSON", 0.7, "ner"))
        elif value[-2:] in ("'s", "\u2019s") and value[:-2] in words:  # Eija's
            found.append(Span(token.start(), token.end() - 2, "PERSON", 0.7, "ner"))
    return found


def listed_names(text: str, spans: Sequence[Span]) -> list[Span]:
    """The other names of a list one of whose names is a person (rule 6)."""
    if not any(span.entity_type == "PERSON" for span in spans):
        return []
    found: list[Span] = []
    for match in _LIST.finditer(text):
        items = list(_LIST_WORD.finditer(text, match.start(), match.end()))
        if any(not _may_join_name(item.group()) for item in items):
            continue
        people = others = 0
        untyped = []
        for item in items:
            kinds = {s.entity_type for s in spans if s.start < item.end() and item.start() < s.end}
            people += "PERSON" in kinds
            others += bool(kinds - {"PERSON"})
            if not kinds:
                untyped.append(item)
        if people and people >= others:  # the model types some first names as places
            found.extend(Span(m.start(), m.end(), "PERSON", 0.7, "ner") for m in untyped)
    return found
