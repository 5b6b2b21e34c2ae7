"""Refining what the NER model found: general rules, applied to every NER span.

A statistical model draws span edges loosely, finds part of a name, misses names in
short sentences and tags some things that are not personal data. :func:`refine_spans`
fixes what is fixable without knowing the text's domain, in this order:

1. **Lines**: a name, place or organisation does not run across a line break, so a span
   is split at line breaks (``Mystery & Suspense\\nDirected`` is two spans).
2. **Edges**: leading and trailing spaces, punctuation and symbols (emoji) are trimmed,
   as are a trailing possessive ``'s`` and a leading contact verb a person span took
   from the start of a sentence (``Email Maria``); a span without a letter (a date: without a
   digit) is dropped; then a span that ends or starts inside a word takes the whole
   word (:func:`~.ner_extend.whole_words`).
3. **Dates**: ``DATE_TIME`` is kept only when it names a point in time: a month or a
   weekday (``March 3``, ``Friday``), a date or time written with separators
   (``4/18/1960``, ``18.04.1990``, ``10:30``), or a year (``1991``); ``3.10.12`` is a
   version. Durations, relative phrases (``years``, ``this month``) and bare numbers
   (``12345``, which a small model may call a date) are not.
4. **Not names**: single words NER often mistakes for names but that are not
   personal data (``IBAN``, ``ASAP``, ``CEO``, ...; :data:`~.ner_words.NOT_NAMES`) are
   dropped, as are ids (one token of letters and digits: ``PX-8181``), one word repeated
   (``bla bla bla``), all-lower-case spans in a text that capitalises, persons holding
   digits, upper-case persons with two or more function words (shouted sentences:
   ``CAN I SPEAK TO A REAL PERSON``), a month before its day (``Mar 14 09:27:17``),
   identifiers and classes from code (``KafkaConsumer``, ``ValueError``,
   ``PaymentService.processRefund``, ``com.acme.payment.CardProcessor``) and team names
   (``Customer Support``); an organisation that is a code: a country code alone
   (``NG``, ``DE``) or a bank's BIC (``BIC DEUTDEFF``, ``CHASUS33XXX``).
   Policies add their own values with ``allow_list``.
5. **Mislabelled groups**: a model's ``NRP`` on something that is not a group word
   (``Santino``, ``Ágatha Alves``; group words are single words ending like
   ``Italian``, ``Greek``, ``Danish``) is a person.
6. **Legal forms**: capitalised words ending in a company's legal form (``Ltd``,
   ``Inc.``, ``plc``, ``GmbH``, ``Corporation``, ``Co.Ltd.``, ...) are an organisation,
   from the first capitalised word of the run to the legal form (a legal form alone,
   ``The Company``, is none).
7. **Countries**: the names of countries and territories in the text's language (from
   the ``phonenumbers`` library's locale data, e.g. ``Cyprus``, ``CZECH REPUBLIC``)
   are a location, for small models that miss some; so is the short line right above a
   country alone on its line (the city of an address block), and the name lines above
   that are the recipient.
8. **English cues** (:mod:`.ner_cues`): titles, name cues, greetings, speech verbs,
   relations, pronouns, vocatives, field labels, dialogue speakers, movement and place
   cues. A weak cue does not overrule a type the model gave to the same words.
9. **Names again** (any language): first name, middle initial, last name is a person
   (``Angel V. Longino``); a person span stopping at or before a surname particle takes
   the surname after it (``Eliane van der Vlist``); every span grows over what belongs
   to its name, and a found person spreads to the other mentions of their names and to
   the other names of a list (:mod:`.ner_extend`).
10. **Adjacent spans**: two spans of the same type separated only by spaces, or by a
    hyphen or apostrophe, are one entity and are merged.
11. **User agents**: nothing in a browser's user agent (``Mozilla/5.0 (iPhone; CPU
    iPhone OS 17_2 like Mac OS X) ... (KHTML, like Gecko)``) is a name, place or
    organisation of a person: it names products and platforms.
12. **Codes and versions**: an organisation that is one word followed by nothing but
    numbers and codes, once grown over them, is a product, model or label with its
    version, reading or code (``Android 14.0.1``, ``FX 1.0823``, ``XPS 15.6``,
    ``DTC P0420``, ``SKU AB-1234``); not when the numbers are a house number or postcode
    (``Tverråsveien 128``, a place the model took for an organisation, or ``Channel 4``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from streamer.redaction.detectors.address import recipient_lines
from streamer.redaction.detectors.ner_cues import CUE_SCORE, english_cues, lowercase_names
from streamer.redaction.detectors.ner_extend import (
    grow,
    is_place_number,
    listed_names,
    repeated_names,
    whole_words,
)
from streamer.redaction.detectors.ner_words import (
    FUNCTION_WORDS,
    MONTHS_AND_DAYS,
    NAME_WORD,
    NOT_NAMES,
    SURNAME_PARTICLES,
    TEAM_NAME_WORDS,
    UPPER,
)
from streamer.redaction.spans import Span

_POSSESSIVE = re.compile("['\u2019]s$")
_LETTER = re.compile(r"[^\W\d_]")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_LINE_BREAK = re.compile(r"\n|\r|\\n|\\r")

_POINT_IN_TIME = re.compile(
    r"\d{1,4}[-/]\d{1,2}(?:[-/]\d{1,4})?|\d{1,2}\.\d{1,2}\.(?:1[89]|20)\d{2}"
    r"|\d{1,2}:\d{2}|(?<!\d)(?:1[89]|20)\d{2}(?!\d)"
)
_LONG_NUMBER = re.compile(r"\d{4}")  # an order, invoice or serial number, not a name
_DAY_AFTER = re.compile(r"[ \t]+\d{1,2}(?!\d)")  # Mar 14 09:27:17 (syslog), June 3
_USER_AGENT = re.compile(r"Mozilla/\d\.\d[^\"\n\r]*")
# Names in code on log lines: an exception's class (ValueError, KeyError) and a class
# after its package path (com.acme.payment.CardProcessor, c.a.o.OrderController).
_EXCEPTION_CLASS = re.compile(r"[A-Z]\w*(?:Error|Exception)")
_PACKAGE_BEFORE = re.compile(r"[a-z]\w*\.[a-z]\w*\.$")
# A verb at the start of an imperative that a model takes into the name after it.
_LEADING_VERB = re.compile(
    r"(?i:call|phone|text|e-?mail|message|contact|ping|ask|tell|thank|thanks|remind|notify"
    r"|invite|cc|dm|meet)[ \t]+(?=\S)"
)
# An identifier in code, log lines and stack traces: one camel-case token with a dot,
# bracket or underscore in it, or ending like a class name (KafkaConsumer, DateParser,
# PaymentService.processRefund); names such as McAllister or DeShawn are neither.
_CODE_IDENTIFIER = re.compile(
    r"(?=\S*[a-z][A-Z])(?:\S*[._(]\S*[A-Za-z]|\S*(?:Controller|Service|Exception|Error"
    r"|Parser|Consumer|Producer|Handler|Factory|Impl|Client|Server|Repository|Provider"
    r"|Adapter|Helper|Utils?|Config|Builder|Listener|Manager|Processor|Request|Response"
    r"|Module|Resolver|Validator|Serializer|Worker|Exporter|Importer|Scheduler|Loader))$"
)
_IDENTIFIER = re.compile(r"^(?=\S*\d)(?=\S*[^\W\d_])\S+$")  # one token, letters and digits
# The method of an HTTP request before its path: POST /login, "DELETE /api/orders/9 HTTP/1.1"
_HTTP_METHOD = re.compile(r"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE)")
_PATH_AFTER = re.compile(r"[ \t]+/")
# A unit of data, a rate or a frequency, with its number: 1000 Mbps, 2 GiB, 12 MB/s, 5 GHz
_UNIT = re.compile(
    r"(?:\d+(?:[.,]\d+)?[ \t]*)?(?i:[kmgtp]i?(?:b|bit|byte)s?(?:ps|/s)?|bps|[kmg]?hz)"
)
_NUMBER_BEFORE = re.compile(r"\d[ \t]*$")
# First name, middle initial, last name: Đurđa J Jovanović, Angel V. Longino
_INITIALLED_NAME = re.compile(
    rf"(?<![\w.])(?:{UPPER}[^\W\d_]+)[ \t]+{UPPER}\.?[ \t]+(?:{UPPER}[^\W\d_]+)(?!\w)"
)
_SURNAME_PARTICLES = re.compile(
    rf"(?:[ \t]+(?:{'|'.join(sorted(SURNAME_PARTICLES))}))+[ \t]+{UPPER}[^\W\d_]+"
)


_LEGAL_FORMS = (
    r"(?:(?i:co\.?,?[ \t]?ltd|ltd|limited|inc|incorporated|corp|corporation|company|plc|llc"
    r"|l\.l\.c|llp|gmbh|holdings|group|bancorp|trust|fund|partners)|Co|CO|LP|AG|KG|SE|SA"
    r"|S\.A|SAS|SARL|SpA|SPA|S\.p\.A|NV|N\.V|BV|B\.V|AB|ASA|A/S|Oy|Oyj|Pty|ETF|ETN|ADR|UCITS)"
    r"\b\.?"
)
# A legal form run into the word before it: HINO MOTORSLTD., AUN CONSULTINGInc.
_GLUED_LEGAL_FORM = r"[A-Z][\w&-]*?(?:LTD|Ltd|INC|Inc|CORP|Corp)\.?"
_ORG_WORD = "(?:[A-Z0-9][\\w&'\u2019*+.-]*|&)"
_LEGAL_FORM_AT_END = re.compile(rf"{_LEGAL_FORMS}$")
_LEGAL_NAME = re.compile(
    rf"(?<![\w&])(?:{_ORG_WORD}[ \t]+){{1,6}}(?:,[ \t]*)?{_LEGAL_FORMS}(?![\w-])"
    rf"|(?<![\w&])(?:{_ORG_WORD}[ \t]+){{0,5}}{_GLUED_LEGAL_FORM}(?![\w-])"
)


# A bank's BIC (SWIFT code): bank, country, location and an optional branch.
_BIC = re.compile(r"[A-Z]{4}([A-Z]{2})[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


@cache
def _region_codes() -> frozenset[str]:
    """ISO 3166 country codes (``phonenumbers``'s regions)."""
    from phonenumbers import SUPPORTED_REGIONS

    return frozenset(SUPPORTED_REGIONS)


#: The two-letter codes of the US states and territories and of Canada's provinces.
_SUBDIVISION_CODES = frozenset(
    " ".join(
        [
            "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT",
            "NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI",
            "AS MP AB BC MB NB NL NS NT NU ON PE QC SK YT",
        ]
    ).split()
)


def _is_region_code(text: str, value: str) -> bool:
    """Whether ``value`` is the whole of ``text`` and a country's, a US state's or a
    Canadian province's code (``"country": "US"``, ``"state": "TX"``): the model takes
    them for places and organisations, and a country or a state alone is no one's."""
    return (
        len(value) == 2
        and value == text.strip()
        and (value in _SUBDIVISION_CODES or value in _region_codes())
    )


def _is_code(text: str, value: str) -> bool:
    """Whether an organisation's ``value`` is a BIC: one with a digit or a branch, or
    written after ``BIC`` or ``SWIFT`` (an upper-case word such as ``HELSINKI`` has the
    shape too, and the model takes places for organisations)."""
    bic = _BIC.fullmatch(value) if len(value) in (8, 11) else None
    return (
        bic is not None
        and bic.group(1) in _region_codes()
        and (
            any(c.isdigit() for c in value)
            or value.endswith("XXX")
            or "BIC" in text.upper()
            or "SWIFT" in text.upper()
        )
    )


def _names_a_version(text: str, span: Span) -> bool:
    """Whether an organisation is one word with only numbers and codes after it (rule 12)."""
    if span.entity_type != "ORGANIZATION":
        return False
    first, *rest = text[span.start : span.end].split()
    if not rest or any(c.isdigit() for c in first):
        return False
    tail = text.index(first, span.start) + len(first)
    return all(any(c.isdigit() for c in word) for word in rest) and not is_place_number(
        text, tail, span.end
    )  # a place the model took for an organisation: Tverråsveien 128, GRIGADALE PH36 9QH


def refine_spans(text: str, spans: list[Span], tokens: Any, language: str) -> list[Span]:
    """Apply the rules of this module to the NER spans of ``text``."""
    refined: list[Span] = []
    for span in map(lambda s: _relabel_group(text, s), spans):
        for piece in _split_lines(text, span):
            trimmed = _trim(text, piece)
            if trimmed is not None and _keep(text, trimmed):
                whole = _trim(text, whole_words(text, trimmed))
                refined.append(trimmed if whole is None else whole)
    refined.extend(_legal_names(text))
    refined.extend(_countries(text, language))
    if language == "en":
        found = list(refined)
        refined.extend(
            cue
            for cue in english_cues(text)
            if cue.score >= CUE_SCORE
            or not any(  # a weak cue does not overrule what the model saw as something else
                span.entity_type != cue.entity_type
                and span.start < cue.end
                and cue.start < span.end
                for span in found
            )
        )
    refined.extend(
        Span(m.start(), m.end(), "PERSON", 0.85, "ner") for m in _INITIALLED_NAME.finditer(text)
    )
    refined = [
        grow(text, whole_words(text, _with_particles(text, span)))
        for span in refined
        if _keep(text, span)
    ]
    refined = [span for span in refined if not _names_a_version(text, span)]
    if language == "en":
        refined.extend(lowercase_names(text))  # after the rule that drops lower-case spans
    refined.extend(repeated_names(text, refined))
    refined.extend(listed_names(text, refined))
    merged = _merge_adjacent(text, refined)
    if "Mozilla/" in text:
        merged = _outside_user_agents(text, merged)
    return merged


def _outside_user_agents(text: str, spans: list[Span]) -> list[Span]:
    agents = [match.span() for match in _USER_AGENT.finditer(text)]
    return [
        span
        for span in spans
        if not any(start <= span.start and span.end <= end for start, end in agents)
    ]


# How words naming nationalities, religions and political groups end: Italian, Greek,
# Danish, Czech, Japanese, Icelandic, Buddhist, Protestant, Greenlander, Democrats, Swiss
# JSON fields whose value is a person when it looks like a name (case and separators
# dropped): {"driver": "Mehmet Öztürk"}, {"display_name": "Nguyễn Văn An"}. The model
# misses many names standing alone; the field_name detector knows name fields
# (first_name, customer_name), not roles.
_PERSON_ROLES = frozenset(
    " ".join(
        [
            "driver assignee assignedto author owner reporter reportedby requester requestedby",
            "createdby updatedby modifiedby approvedby signedby submittedby agent contactperson",
            "displayname nok nextofkin emergencycontact technician courier manager supervisor",
            "caller recipient sender customer client patient passenger tenant landlord",
            "beneficiary payee cardholder accountholder spouse attendee participant organizer",
            "organiser speaker instructor teacher doctor nurse physician employee member user",
        ]
    ).split()
)
_FIELD_SEPARATORS = re.compile(r"[\W_]+")
_ROLE_VALUE = re.compile(rf"{NAME_WORD}(?:[ \t]+{NAME_WORD}){{0,3}}")
#: Values of such fields that name no one.
_NOT_PEOPLE = TEAM_NAME_WORDS | frozenset(
    " ".join(
        ["system automation auto default root anonymous unknown none null nobody guest"]
    ).split()
)


@cache
def is_person_field(context: str) -> bool:
    """Whether the JSON field ``context`` (its last key) names a person's role."""
    return _FIELD_SEPARATORS.sub("", context.rpartition(".")[2].casefold()) in _PERSON_ROLES


def role_field_person(text: str, context: str) -> list[Span]:
    """The whole value of a person's-role field as a person, when it is a name of one to
    four capitalised words."""
    if not context or len(text) > 80 or not is_person_field(context):
        return []
    value = text.strip()
    words = value.lower().split()
    if (
        _ROLE_VALUE.fullmatch(value) is None
        or any(c.isdigit() for c in value)
        or any(word.rstrip(".") in _NOT_PEOPLE for word in words)
        or words[0] in NOT_NAMES
        or words[0] in FUNCTION_WORDS
    ):
        return []
    start = text.index(value)
    return [Span(start, start + len(value), "PERSON", 0.85, "ner")]


_GROUP_WORD = re.compile(
    r"(?i:.*(?:an|ans|ian|ians|ean|ese|ish|ic|ics|ch|ek|eks|i|is|ss|ist|ists|ant|ants|ats"
    r"|er|ers|en|u|us))$"
)


def _relabel_group(text: str, span: Span) -> Span:
    """A group tag (``NRP``) on what is not a group word is a name the model mislabelled:
    group words are single words ending like ``Italian``, ``Greek`` or ``Danish``."""
    if span.entity_type != "NRP":
        return span
    value = text[span.start : span.end].strip()
    if " " not in value and _GROUP_WORD.fullmatch(value):
        return span
    return Span(span.start, span.end, "PERSON", span.score, span.detector)


def _with_particles(text: str, span: Span) -> Span:
    """A person span that stops at or before a surname particle takes the surname after
    it: the model often ends ``Eliane van der Vlist`` at ``van der``."""
    if span.entity_type != "PERSON":
        return span
    cursor = span.end
    words = text[span.start : span.end].split()
    while len(words) > 1 and words[-1] in SURNAME_PARTICLES:
        cursor = text.rindex(words.pop(), span.start, cursor)
        while cursor > span.start and text[cursor - 1] in " \t":
            cursor -= 1
    tail = _SURNAME_PARTICLES.match(text, cursor)
    if tail is None or tail.end() <= span.end:
        return span
    return Span(span.start, tail.end(), span.entity_type, span.score, span.detector)


def _split_lines(text: str, span: Span) -> list[Span]:
    value = text[span.start : span.end]
    if _LINE_BREAK.search(value) is None:
        return [span]
    pieces = []
    cursor = span.start
    for match in _LINE_BREAK.finditer(value):
        start, end = span.start + match.start(), span.start + match.end()
        if start > cursor:
            pieces.append(Span(cursor, start, span.entity_type, span.score, span.detector))
        cursor = end
    if cursor < span.end:
        pieces.append(Span(cursor, span.end, span.entity_type, span.score, span.detector))
    return pieces


def _trim(text: str, span: Span) -> Span | None:
    start, end = span.start, span.end
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    possessive = _POSSESSIVE.search(text, start, end)
    if possessive is not None and end - start > 2:
        end = possessive.start()
    if span.entity_type == "PERSON":
        verb = _LEADING_VERB.match(text, start, end)
        if verb is not None:
            start = verb.end()
    needed = _LETTER_OR_DIGIT if span.entity_type == "DATE_TIME" else _LETTER
    if end <= start or needed.search(text, start, end) is None:
        return None
    if (start, end) == (span.start, span.end):
        return span
    return Span(start, end, span.entity_type, span.score, span.detector)


def _keep(text: str, span: Span) -> bool:
    value = text[span.start : span.end]
    if span.entity_type == "DATE_TIME":
        return bool(MONTHS_AND_DAYS.search(value) or _POINT_IN_TIME.search(value))
    if value.lower() in NOT_NAMES or _IDENTIFIER.match(value):
        return False  # a common word, or an id such as PX-8181
    if _HTTP_METHOD.fullmatch(value) and (
        _PATH_AFTER.match(text, span.end) or value == text.strip()
    ):
        return False  # POST /login HTTP/1.1, {"method": "POST"}
    if _UNIT.fullmatch(value) and (
        value[0].isdigit() or _NUMBER_BEFORE.search(text, max(0, span.start - 24), span.start)
    ):
        return False  # link up, 1000 Mbps; 2 GiB used
    if span.entity_type in ("ORGANIZATION", "LOCATION") and _is_region_code(text, value):
        return False  # a country's or a state's code alone (NG, TX)
    if span.entity_type == "ORGANIZATION" and _is_code(text, value):
        return False  # a bank's BIC (DEUTDEFF)
    if MONTHS_AND_DAYS.fullmatch(value) and _DAY_AFTER.match(text, span.end):
        return False  # a month and its day: Mar 14 09:27:17 (syslog), June 3
    if _EXCEPTION_CLASS.fullmatch(value) or (
        text[span.start - 1 : span.start] == "."
        and _PACKAGE_BEFORE.search(text, max(0, span.start - 80), span.start)
    ):
        return False  # a class in code: ValueError, com.acme.payment.CardProcessor
    words = value.lower().split()
    if len(words) > 1 and len(set(words)) == 1:
        return False  # one word over and over: bla bla bla, test test
    if span.entity_type != "LOCATION" and _LONG_NUMBER.search(value):
        return False  # Invoice INV-2022-497184, Ticket T-7148568 (places have postcodes)
    if value.islower() and (not text.islower() or span.entity_type in ("ORGANIZATION", "NRP")):
        return False  # names are capitalised in a text that capitalises; lower-case
        # organisations and groups are the model guessing (ref, ok, ...)
    if span.entity_type in ("PERSON", "NRP") and any(c.isdigit() for c in value):
        return False
    if span.entity_type == "PERSON" and value.isupper():  # CAN I SPEAK TO A REAL PERSON
        return sum(word in FUNCTION_WORDS for word in value.lower().split()) < 2
    # KafkaConsumer, PaymentService.refund(); Customer Support, The Billing Team
    return span.entity_type not in ("PERSON", "ORGANIZATION") or not (
        _CODE_IDENTIFIER.match(value) or all(w in TEAM_NAME_WORDS for w in words)
    )


def _legal_names(text: str) -> list[Span]:
    spans = []
    for match in _LEGAL_NAME.finditer(text):
        start, end = match.span()
        words = text[start:end].split()
        if words[0].lower() in FUNCTION_WORDS:
            if len(words) < 3:
                continue  # "The Company", "a Trust": a legal form alone names no one
            start = text.index(words[1], start + len(words[0]))
        spans.append(Span(start, end, "ORGANIZATION", 0.85, "ner"))
    return spans


_COUNTRY_WORD = re.compile(r"[^\W\d_][\w'\u2019.-]*")
_BLANKS = re.compile(r"[ \t]+")


@cache
def country_names(language: str) -> frozenset[str]:
    """Country and territory names in ``language`` (case-folded), from ``phonenumbers``."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    names = set()
    for by_language in LOCALE_DATA.values():
        name = by_language.get(language)
        for _ in range(3):  # "*aa" means: the same as in language "aa"
            if name is None or not name.startswith("*"):
                break
            name = by_language.get(name[1:])
        if name:
            names.add(name.casefold())
    return frozenset(names)


@cache
def _countries_by_first_word(language: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The words of each country name, by its first word, longest names first."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for name in country_names(language):
        words = tuple(name.split())
        index.setdefault(words[0], []).append(words)
    return {first: tuple(sorted(names, key=len, reverse=True)) for first, names in index.items()}


def _countries(text: str, language: str) -> list[Span]:
    index = _countries_by_first_word(language)
    if not index:
        return []
    words = list(_COUNTRY_WORD.finditer(text))
    spans = []
    position = 0
    while position < len(words):
        first = words[position].group()
        size = 0
        if first[:1].isupper():
            folded = first.casefold()
            names = index.get(folded, ()) + index.get(folded.rstrip(".,;:"), ())
            size = next((len(n) for n in names if _country_at(text, words, position, n)), 0)
        if size:
            start, end = words[position].start(), words[position + size - 1].end()
            while end > start and text[end - 1] in ".,;:":
                end -= 1
            spans.append(Span(start, end, "LOCATION", 0.85, "ner"))
            spans.extend(_city_line_above(text, start))
        position += size or 1
    return spans


def _country_at(
    text: str, words: list[re.Match[str]], position: int, name: tuple[str, ...]
) -> bool:
    """Whether ``words`` from ``position`` spell ``name`` (separated by blanks only)."""
    if position + len(name) > len(words):
        return False
    for offset, expected in enumerate(name):
        word = words[position + offset]
        if offset and not _BLANKS.fullmatch(text, words[position + offset - 1].end(), word.start()):
            return False
        value = word.group().casefold()
        if offset == len(name) - 1:
            value = value.rstrip(".,;:")
        if value != expected:
            return False
    return True


_PLACE_LINE = re.compile(rf"{NAME_WORD}(?:[ \t]+(?:{NAME_WORD}|[a-z]{{1,4}})){{0,4}}")


def _city_line_above(text: str, country_start: int) -> list[Span]:
    """In an address block a country stands alone on its line, below the city: the
    short line of capitalised words right above it is a place too, and the lines of
    names above that are whom the letter is for."""
    line_start = text.rfind("\n", 0, country_start) + 1
    if line_start == 0 or text[line_start:country_start].strip(" \t"):
        return []
    above_end = line_start - 1
    above_start = text.rfind("\n", 0, above_end) + 1
    line = text[above_start:above_end]
    value = line.strip(" \t")
    if not value or _PLACE_LINE.fullmatch(value) is None or value.lower() in NOT_NAMES:
        return []
    start = above_start + line.index(value)
    return [
        Span(start, start + len(value), "LOCATION", 0.6, "ner"),
        *recipient_lines(text, start, "ner"),
    ]


_JOINERS = re.compile("[ \t]*|[ \t]*[-'\u2019][ \t]*")


def _merge_adjacent(text: str, spans: Sequence[Span]) -> list[Span]:
    if len(spans) < 2:
        return list(spans)
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    merged = [ordered[0]]
    for span in ordered[1:]:
        last = merged[-1]
        if span.entity_type == last.entity_type and (
            span.start <= last.end or _JOINERS.fullmatch(text, last.end, span.start)
        ):
            merged[-1] = Span(
                last.start, max(last.end, span.end), last.entity_type,
                max(last.score, span.score), last.detector,
            )  # fmt: skip
        else:
            merged.append(span)
    return merged
