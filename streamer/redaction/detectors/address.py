"""Street addresses: the part of a location NER models miss.

A small NER model finds cities and countries but rarely a whole street address, and an
address is only hidden when all of it is: a street left behind while the city is
replaced is a leak. This detector finds the parts of postal addresses by their shape,
in many countries' conventions, and reports them as ``LOCATION``:

- a **street**: a name with a street type word (``Meadow Drive``, ``Rue de la Paix``,
  ``Via Leopardi``, ``ul. Zakrzowska``) or a compound street word (``Invalidenstrasse``,
  ``Norrbyvägen``, ``Hadikgasse``), with its house number before or after; or
  capitalised words between two numbers (``893 Aqqusinersuaq 23``);
- a **unit or box**: ``Apt. 861``, ``Suite 303``, ``P.O. Box 63``, ``PSC 2945, Box 1168``,
  and military lines (``APO AA 72859``, ``USNS Guibord``);
- a **postal code** named as such (``ZIP: 32700``, ``postcode PH36 9QH``);
- the **rest of the address** after a street or unit: the capitalised place names,
  region codes and postal codes that follow it on the same line (after a comma or a
  space) or on the next few short lines, as in a letter's address block.

Words in lower case end an address (they are the sentence going on), so the detector
stays precise on ordinary prose; house numbers alone are never reported.
"""

from __future__ import annotations

import re

from streamer.redaction.detector import Detector
from streamer.redaction.detectors.ner_extend import whole_words
from streamer.redaction.detectors.ner_words import MONTHS_AND_DAYS, NOT_NAMES
from streamer.redaction.spans import Span

SCORE = 0.8

_UPPER = r"[^\W\d_a-z\u00df-\u00ff]"  # a letter that is not lower case (any script)
_WORD = rf"{_UPPER}[^\W\d_]*(?:[-'\u2019.][^\W\d_]+)*\.?"  # Capitalised or UPPER word
_NUMBER = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?\.?"
_PARTICLE = (
    r"(?:de|del|della|delle|dei|degli|dello|dal|dalla|di|da|do|dos|das|du|des|la|le|van|von"
    r"|der|den|y|e|el|al|u|v|na|nad|pod"
    r"|pri|am|an|im|ob|bei|sur|sous|l\u00e8s|lez|upon|\u00e0)"
)
_NAME = rf"{_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_WORD}){{0,3}}"
_ORDINAL = r"\d{1,4}(?:st|nd|rd|th)"  # 5th Avenue, 184th Street

_STREET_TYPES = (
    "street|st|road|rd|avenue|ave|av|drive|dr|lane|ln|way|boulevard|blvd|court|ct|place|pl"
    "|square|sq|terrace|ter|crescent|cres|close|row|passage|heights|hts|greens?|mills?"
    "|stream|parkway|pkwy|highway|hwy|circle|cir|trail|trl|alley|gardens|grove|hill|park"
    "|walk|quay|wharf|mews|loop|plaza|track|vale|view|rise|parade|esplanade|promenade"
    "|green|gate|meadows?|ridge|point|pike|run|path|junction|crossing|estates?|villas?"
    "|station|island|bypass|causeway|commons?|corners?|creek|fields?|forest|harbou?r"
    "|hollow|landing|lodge|manor|orchard|pines|pointe?|ports?|ranch|shores?|springs?"
    "|summit|tunnel|turnpike|valley|wells?|brooks?|burg|centre|center|cove|dale|downs"
    "|ferry|flats?|ford|garden|glen|haven|keys?|knolls?|lakes?|mount|oval|ramp|route"
    "|spur|strip|turn|via|vista|ways|wynd|straat|strasse|str|stra\u00dfe|gasse|weg|platz"
    "|allee|vej|gade|v\u00e4gen|gatan|veien|gate|tie|katu|utca|rakpart|\u00fat|laan|plein"
    "|terrasse|vei|veg|vegen|bakken|ulica|krt|k\u00f6r\u00fat|\u00fatja|t\u00e9r|k\u00f6z"
    "|u|rkp|p\u00f5ik|tee|kraj"
    "|gracht|kade|dijk|all\u00e9"
    # the rest of the USPS standard street suffixes (Publication 28, appendix C1)
    "|anex|annex|arcade|bayou|beach|bend|bluffs?|bottom|branch|bridge|camp|canyon|cape"
    "|cliffs?|club|course|crest|crossroad|curve|dam|divide|expressway|expy|extensions?"
    "|falls?|forge|forks?|fort|freeway|fwy|gateway|inlet|isle|islands?|land|lights?|loaf"
    "|locks?|mall|mission|motorway|mountains?|neck|overpass|pass|plains?|prairie|radial"
    "|rapids?|rest|river|shoals?|skyway|stravenue|throughway|trace|trafficway|trailer"
    "|underpass|union|viaduct|village|ville|quays"
)
_STREET_PREFIXES = (
    r"rue|via|viale|vicolo|corso|piazza|calle|c/|avenida|avda\.?|av\.|rua|r\.?|praça|largo"
    r"|travessa|estrada|rambla|carrer|paseo|plaza|camino|strada|ul\.|ulica|aleja|al\.|akti"
    r"|odos|boulevard|bd\.?|chemin|impasse|all[\u00e9e]e|place|quai|route|rte\.?|stra[\u00df]e"
    r"|avenue|cours|ctra\.?|crta\.?|r\u00faa|strada|calea|bulevardul|aleea|intrarea"
    r"|\u0219oseaua|soseaua|pia\u021ba|callej\u00f3n|alameda|glorieta|pasaje|ronda|traves\u00eda"
    r"|contrada|borgo|piazzale|stretto|nr\.?"
)
_COMPOUND_STREET = (
    r"[^\W\d_]{2,}(?:stra(?:ss|\u00df)e|str\.|gasse|weg|platz|allee|ring|damm|ufer|steig"
    r"|vej|gade|v\u00e4gen|v\u00e4g|gatan|gata|veien|vegen|gate|tie|katu|kuja|polku|utca"
    r"|\u00fat|laan|straat|plein|gracht|kade|dijk|plaats|singel|stieg|stig|st\u00edgur"
    r"|braut|gata|vegur)"
)

_STREET = re.compile(
    rf"""(?ix:
        (?<![^\W_])                             # at the start of a word (and fast)
        (?:\b{_NUMBER}[ \t]+)*                  # house number(s) before
        (?:
            (?:(?-i:{_NAME})|{_ORDINAL})[ \t]+(?:{_STREET_TYPES})\b\.?  # Meadow Drive, 5th Ave
          | \b(?:{_STREET_PREFIXES})[ \t]+(?:{_PARTICLE}[ \t]+)*(?-i:{_NAME})  # Via Leopardi
          | (?:(?-i:{_WORD})[ \t]+){{0,2}}{_COMPOUND_STREET}\b  # Hadikgasse
        )
        (?:,?[ \t]+{_NUMBER}(?![\w-]))?                     # house number after
    )"""
)
# Capitalised words between two numbers: 893 Aqqusinersuaq 23, 2925 Tyršova 1808
_NUMBERED_NAME = re.compile(rf"\b\d{{1,6}}[ \t]+(?:{_NAME})[ \t]+\d{{1,5}}\b(?![-/.]\d)")
# A street corner: Monika and Turjaška 48, Main and 5th Street (the second has a number)
_CORNER = re.compile(rf"(?<![\w-])(?:{_NAME})[ \t]+(?:and|&)[ \t]+(?:{_NAME})[ \t]+\d{{1,5}}\b")
_UNIT = re.compile(
    r"(?i:\b(?:apt|apartment|suite|ste|unit|flat|room|rm|floor|fl|bldg|building|box|po box"
    r"|p\.?[ \t]?o\.?[ \t]?box|postbox|psc|cmr))\.?[ \t]*#?[ \t]*\d{1,6}[A-Za-z]?\b"
    r"|\b(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}\b"
    r"|\b(?:USNS|USNV|USS|USCGC)[ \t]+[A-Z][\w'-]+"
)
# A postcode in a sentence: five digits (ZIP+4, 12345-678), 123 45, 12-345, or four digits
# that are not a year.
_POSTCODE = r"(?:\d{5}(?:-\d{3,4})?|\d{3}[ \t]\d{2}|\d{2}-\d{3}|(?!(?:19|20)\d\d\b)\d{4})"
# A region between a place and its postcode: a code (JN, NSW) or a number (Tunisia's 41).
_REGION = r"(?:[A-Z]{2,3}|\d{1,2})"
# A place and its postcode after a preposition: in GRITSCHACH 9500, from Mikołów 43-190
_PLACE_WITH_POSTCODE = re.compile(
    rf"(?i:\b(?:in|at|from|to|near))[ \t]+"
    rf"(?-i:(({_NAME})(?:,?[ \t]+{_REGION})?[ \t]+{_POSTCODE}))(?![\w-]|[.,:/]\d)"
)
# An address line of a place, a region and a postcode: Kuncsorba JN 5412, Sisseb 41 3132
_PLACE_LINE = re.compile(
    rf"^[ \t]*(?:[^\w\s]{{1,4}}[ \t]*)?(({_NAME}),?[ \t]+{_REGION}[ \t]+{_POSTCODE})[ \t]*$",
    re.MULTILINE,
)
# A house number and a street after "at", "on" or "address:", up to a comma or the end of
# the sentence: "lives at 253 Vratislavova, Chomutov", "his address: 364 Caspersteeg"
_NUMBERED_STREET = re.compile(
    rf"(?i:\b(?:at|on|address(?:[ \t]+is)?[ \t]*:?))[ \t]+((?-i:{_NUMBER}[ \t]+({_NAME})))"
    r"(?=[ \t]*(?:[,;]|[.!?]?[ \t]*$|[.!?][ \t]))",
    re.MULTILINE,
)
# Words after a number that are no street: times, time zones, units
_NOT_STREETS = frozenset(["am", "pm", "gmt", "utc", "cet", "cest", "est", "edt", "pst", "pdt"])
# Words that stand before numbers and are no places: "from Invoice 12345", "in Windows 10"
_NOT_PLACES = frozenset(
    " ".join(
        [
            "order invoice ticket case ref reference version build account item sku part page",
            "room line flight bus train gate level floor step chapter section article windows",
            "office model serial batch lot id no number year week day code pin box suite apt",
        ]
    ).split()
)
# The two streets of a corner: at the corner of Via delle Coste 26 and Eros Springs
_STREET_WORD = rf"(?:{_WORD}|{_ORDINAL}|{_NUMBER}|{_PARTICLE})"
_CORNER_OF = re.compile(
    rf"\b(?i:corner)[ \t]+of[ \t]+"
    rf"((?:{_WORD}|{_ORDINAL}|{_NUMBER})(?:[ \t]+{_STREET_WORD}){{0,6}}?)[ \t]+(?:and|&)[ \t]+"
    rf"((?:{_WORD}|{_ORDINAL}|{_NUMBER})(?:[ \t]+{_STREET_WORD}){{0,4}})"
)

#: Postcodes with letters: UK (SW1A 1AA), Canada (M4R 8P8), the Netherlands (5071 XF),
#: Ireland's Eircodes (D33 Y0PH); the space may be left out.
_LETTERED_POSTCODE = (
    r"(?:[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|\d{4}[ \t]?[A-Z]{2}"
    r"|[A-Z]\d[\dW][ \t]?[A-Z\d]{4})"
)
# What templating writes for a field that has no value (pandas, Python, JSON, JavaScript):
# "BODØ, nan 70842", "Springfield, None 62704". It does not end an address.
_MISSING_VALUE = r"nan|NaN|None|null|NULL|undefined"
_MISSING_LINE = re.compile(_MISSING_VALUE)
_CONTINUATION = re.compile(
    rf"""(?x:
        (?:(?:[ \t]*(?:,|\n|\r))+[ \t]*(?:[^\w\s]{{1,4}}[ \t]*)?|[ \t]+)  # comma, line, space
        (?:
            {_NAME}(?![ \t]*:)  # a place (not a label:), maybe with a postcode
            (?P<code>[ \t]+(?:{_LETTERED_POSTCODE}|\d{{8}}|\d{{3,6}}(?:[ \t-]\d{{2,4}})?))?
          | (?P<uk>{_LETTERED_POSTCODE})  # UK, Canada, Netherlands, Ireland
          | (?P<postcode>(?:\d{{1,2}}[ \t]+)?(?:\d{{8}}|\d{{3,6}}(?:[ \t-]\d{{2,4}})?))  # postcode
          | \d{{1,2}}(?=[ \t]*[\n\r])                             # a region number line
          | (?i:(?:apt|apartment|suite|ste|unit|flat|box))\.?[ \t]*\d{{1,6}}
          | (?P<missing>{_MISSING_VALUE})  # a field the template had no value for
        )
        (?![\w@])
    )"""
)
# A postal code named as such: ZIP: 32700, my zip code is 26134, Postcode PH36 9QH
_POSTCODE_CUE = re.compile(
    r"(?i:\b(?:zip(?:[ \t]?code)?|post(?:al)?[ \t]?code|postcode|plz|cep)\b)"
    r"[ \t]*(?:is|:|#|no\.?)?[ \t]*"
    r"(\d{2,6}(?:[ \t-]\d{2,4})?|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)"
    r"(?![\w-])"
)
_MAX_CONTINUATIONS = 5
_REGION_CODE = re.compile(r"[A-Z]{2,3}")
_FIRST_WORD = re.compile(r"[^\W\d_]+")
_ESCAPED_LINE_BREAK = re.compile(r"\\[nr]")
_LINE = re.compile(r"[^\s](?:[^\n\r]*[^\s])?")
_ABBREVIATION_ENDS = frozenset({"st.", "rd.", "dr.", "ve.", "pt.", "tr.", "ul.", "av.", "al."})
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


class StreetAddressDetector(Detector):
    """Street addresses, units and the rest of an address after them, as ``LOCATION``;
    and the recipient lines above an address block, as ``PERSON`` (``ORGANIZATION``
    when the line ends in a legal form such as ``Ltd`` or ``Inc.``)."""

    name = "street_address"
    entities = ("LOCATION", "PERSON", "ORGANIZATION")

    def applies_to(self, text: str, context: str = "") -> bool:
        return any(char.isdigit() for char in text)

    def detect(self, text: str, context: str = "") -> list[Span]:
        # Escaped line breaks (text JSON-encoded twice) are line breaks; same length.
        text = _ESCAPED_LINE_BREAK.sub("\n ", text)
        found: list[tuple[int, int]] = []
        for pattern in (_STREET, _NUMBERED_NAME, _CORNER, _UNIT):
            found.extend(m.span() for m in pattern.finditer(text) if _is_address(m.group()))
        found.extend(m.span(1) for m in _POSTCODE_CUE.finditer(text))
        for pattern in (_PLACE_WITH_POSTCODE, _PLACE_LINE):
            found.extend(
                m.span(1)
                for m in pattern.finditer(text)
                if _FIRST_WORD.match(m.group(2)) is not None
                and _FIRST_WORD.match(m.group(2)).group().lower() not in _NOT_PLACES  # type: ignore[union-attr]
            )
        found.extend(
            m.span(1)
            for m in _NUMBERED_STREET.finditer(text)
            if not MONTHS_AND_DAYS.match(m.group(2))
            and m.group(2).split()[0].lower().rstrip(".") not in _NOT_STREETS
        )
        for corner in _CORNER_OF.finditer(text):
            found.extend((corner.span(1), corner.span(2)))
        if not found:
            return []
        extended = _union(
            [(s, _sentence_end(text, s, self._extend(text, e))) for s, e in _union(found)]
        )
        spans = []
        for start, end in extended:  # one span per line, so line breaks stay as they are
            for line in _LINE.finditer(text, start, end):
                decoration = _LINE_DECORATION.match(line.group())
                begin = line.start() + (decoration.end() if decoration else 0)
                if begin < line.end() and not _MISSING_LINE.fullmatch(text, begin, line.end()):
                    span = Span(begin, line.end(), "LOCATION", SCORE, self.name)
                    spans.append(whole_words(text, span))  # a Greek delta written as ∆
            above = _street_line_above(text, start)
            if above is not None:
                spans.append(Span(*above, "LOCATION", SCORE, self.name))
                start = above[0]
            spans.extend(recipient_lines(text, start))
        return spans

    @staticmethod
    def _extend(text: str, end: int) -> int:
        """Absorb the place names and codes that follow an address part."""
        for _ in range(_MAX_CONTINUATIONS):
            if text[end - 1] == "." and text[end - 3 : end].lower() not in _ABBREVIATION_ENDS:
                break  # the end of a sentence
            match = _CONTINUATION.match(text, end)
            if match is None or _LETTER_OR_DIGIT.search(match.group()) is None:
                break
            first_word = _FIRST_WORD.search(match.group())
            if (
                first_word is not None
                and first_word.group().lower() in NOT_NAMES
                and not _REGION_CODE.fullmatch(first_word.group())  # OK is Oklahoma here
            ):
                break  # "Thanks", "Regards", ...: the letter goes on, not the address
            end = match.end()
            if match.group("code") or match.group("uk") or match.group("postcode"):
                break  # a postcode ends an address
        return end


# A street on its own line: a house number and capitalised words, or the other way round
# (55 Stretto Franco, 59/41 Paderewskiego, Ib Schønbergs Allé 12).
_STREET_LINE = re.compile(
    rf"(?:{_NUMBER}[ \t]+(?:{_PARTICLE}[ \t]+)?{_NAME}|{_NAME}[ \t]+{_NUMBER})"
)


def _street_line_above(text: str, block_start: int) -> tuple[int, int] | None:
    """The line right above an address block that starts at a line, when it is a street
    (a number and capitalised words): the block's first line, which no rule knew."""
    line_start = max(text.rfind("\n", 0, block_start), text.rfind("\r", 0, block_start)) + 1
    before = text[line_start:block_start].strip(" \t")
    if line_start == 0 or (before and not _LINE_DECORATION.fullmatch(before + " ")):
        return None
    end = line_start - 1
    start = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
    raw = text[start:end]
    decoration = _LINE_DECORATION.match(raw.lstrip(" \t"))
    offset = start + (len(raw) - len(raw.lstrip(" \t"))) + (decoration.end() if decoration else 0)
    value = text[offset:end].rstrip(" \t")
    if not value or _STREET_LINE.fullmatch(value) is None:
        return None
    return offset, offset + len(value)


_RECIPIENT_WORD = rf"(?:{_WORD}|[A-Z]\.?|&|(?i:{_PARTICLE}))"
_RECIPIENT_LINE = re.compile(rf"{_RECIPIENT_WORD}(?:[ \t]+{_RECIPIENT_WORD}){{0,7}}")
_LINE_DECORATION = re.compile(r"^[^\w\s]{1,4}[ \t]*")
# Labels that name whom an address is for: Billing address: Pedro Alves
_LINE_LABEL = re.compile(
    r"(?i:(?:(?:billing|shipping|delivery|mailing|postal|home|work|invoice)[ \t]+)?address"
    r"|ship[ \t]+to|deliver[ \t]+to|send[ \t]+to|to|recipient|attn|attention|name"
    r"|customer)[ \t]*:[ \t]*(?=\S)"
)
_LEGAL_FORM_END = re.compile(
    r"(?i:\b(?:ltd|limited|inc|corp|corporation|company|plc|llc|gmbh|ag|sa|spa|nv|bv|ab"
    r"|holdings|group))\.?$"
)
RECIPIENT_SCORE = 0.6
_MAX_RECIPIENT_LINES = 3


def recipient_lines(text: str, block_start: int, detector: str = "street_address") -> list[Span]:
    """The lines right above an address that start at a line: who it is addressed to.

    Up to three lines, each only capitalised words and initials (no digits, no sentence
    punctuation), with at most one blank line between them and the address.
    """
    line_start = max(text.rfind("\n", 0, block_start), text.rfind("\r", 0, block_start)) + 1
    if text[line_start:block_start].strip(" \t") and not _LINE_DECORATION.fullmatch(
        text[line_start:block_start].strip(" \t") + " "
    ):
        return []  # the address starts mid-line: a sentence, not a block
    spans: list[Span] = []
    end = line_start - 1
    blank_lines = 0
    while end > 0 and len(spans) < _MAX_RECIPIENT_LINES:
        start = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
        raw = text[start:end]
        if not raw.strip():
            blank_lines += 1
            if blank_lines > 1 or spans:
                break
            end = start - 1
            continue
        decoration = _LINE_DECORATION.match(raw.lstrip(" \t"))
        offset = (
            start + (len(raw) - len(raw.lstrip(" \t"))) + (decoration.end() if decoration else 0)
        )
        value = text[offset:end].rstrip(" \t")
        label = _LINE_LABEL.match(value)  # Billing address: Pedro Alves
        if label is not None:
            offset += label.end()
            value = value[label.end() :]
        if not value or _RECIPIENT_LINE.fullmatch(value) is None:
            break
        entity = "ORGANIZATION" if _LEGAL_FORM_END.search(value) else "PERSON"
        spans.append(Span(offset, offset + len(value), entity, RECIPIENT_SCORE, detector))
        end = start - 1
    return spans


# A full stop after a word that is no abbreviation, then a capital: the sentence ends
# (``... O Saviñao Spain. Please call``), and so does the address.
_SENTENCE_END = re.compile(rf"(?<=[^\W\d_]{{4}})\.(?=[ \t]+{_UPPER})")
_LONG_ABBREVIATIONS = frozenset(
    {"ctra", "crta", "blvd", "avda", "apto", "pkwy", "expy", "tpke", "bldg", "prof", "proc"}
)


def _sentence_end(text: str, start: int, end: int) -> int:
    for match in _SENTENCE_END.finditer(text, start, end):
        word = _FIRST_WORD.findall(text, max(start, match.start() - 12), match.start())
        if not word or word[-1].lower() not in _LONG_ABBREVIATIONS:
            return match.start()
    return end


def _is_address(value: str) -> bool:
    return any(char.isdigit() for char in value) or value[:3] in ("USN", "USS", "USC")


def _union(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
