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
  and military lines (``APO AA 72859``, ``USNS Guibord``); a room, floor, building, box,
  unit or flat only next to another part of an address (``room 4B`` alone is an office);
- a **postal code** named as such (``ZIP: 32700``, ``postcode PH36 9QH``);
- the **rest of the address** after a street or unit: the capitalised place names,
  region codes and postal codes that follow it on the same line (after a comma or a
  space) or on the next few short lines, as in a letter's address block.

Words in lower case end an address (they are the sentence going on), so the detector
stays precise on ordinary prose; house numbers alone are never reported.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Set as AbstractSet

from streamer.redaction.detector import Detector
from streamer.redaction.detectors.field_name import names_a_thing
from streamer.redaction.detectors.ner_extend import whole_words
from streamer.redaction.detectors.ner_words import MONTHS_AND_DAYS, NOT_NAMES
from streamer.redaction.patterns import word_alternation
from streamer.redaction.spans import Span

SCORE = 0.8

_UPPER = r"[^\W\d_a-z\u00df-\u00ff]"  # a letter that is not lower case (any script)
# Capitalised or UPPER word. Its letters are possessive (*+, ++): what may follow a word
# is never a letter, so giving letters back cannot make a match, only slow re down.
_WORD = rf"{_UPPER}[^\W\d_]*+(?:[-'\u2019.][^\W\d_]++)*\.?"
_NUMBER = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?\.?"
_PARTICLE = word_alternation(
    (
        "de", "del", "della", "delle", "dei", "degli", "dello", "dal", "dalla", "di", "da",
        "do", "dos", "das", "du", "des", "la", "le", "van", "von", "der", "den", "y", "e",
        "el", "al", "u", "v", "na", "nad", "pod", "pri", "am", "an", "im", "ob", "bei", "sur",
        "sous", "l\u00e8s", "lez", "upon", "\u00e0",
    )
)  # fmt: skip
_NAME = rf"{_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_WORD}){{0,3}}"
_ORDINAL = r"\d{1,4}(?:st|nd|rd|th)"  # 5th Avenue, 184th Street

#: Street type words, after a street's name (Meadow Drive, Hadik Gasse), any case; with
#: the USPS standard street suffixes (Publication 28, appendix C1).
STREET_TYPES = (
    "allee", "alley", "allé", "anex", "annex", "arcade", "av", "ave", "avenue", "bakken",
    "bayou", "beach", "bend", "bluff", "bluffs", "blvd", "bottom", "boulevard", "branch",
    "bridge", "brook", "brooks", "burg", "bypass", "camp", "canyon", "cape", "causeway",
    "center", "centre", "cir", "circle", "cliff", "cliffs", "close", "club", "common",
    "commons", "corner", "corners", "course", "court", "cove", "creek", "cres", "crescent",
    "crest", "crossing", "crossroad", "ct", "curve", "dale", "dam", "dijk", "divide",
    "downs", "dr", "drive", "esplanade", "estate", "estates", "expressway", "expy",
    "extension", "extensions", "fall", "falls", "ferry", "field", "fields", "flat",
    "flats", "ford", "forest", "forge", "fork", "forks", "fort", "freeway", "fwy", "gade",
    "garden", "gardens", "gasse", "gatan", "gate", "gateway", "glen", "gracht", "green",
    "greens", "grove", "harbor", "harbour", "haven", "heights", "highway", "hill",
    "hollow", "hts", "hwy", "inlet", "island", "islands", "isle", "junction", "kade",
    "katu", "key", "keys", "knoll", "knolls", "kraj", "krt", "körút", "köz", "laan",
    "lake", "lakes", "land", "landing", "lane", "light", "lights", "ln", "loaf", "lock",
    "locks", "lodge", "loop", "mall", "manor", "meadow", "meadows", "mews", "mill",
    "mills", "mission", "motorway", "mount", "mountain", "mountains", "neck", "orchard",
    "oval", "overpass", "parade", "park", "parkway", "pass", "passage", "path", "pike",
    "pines", "pkwy", "pl", "place", "plain", "plains", "platz", "plaza", "plein", "point",
    "pointe", "port", "ports", "prairie", "promenade", "põik", "quay", "quays", "radial",
    "rakpart", "ramp", "ranch", "rapid", "rapids", "rd", "rest", "ridge", "rise", "river",
    "rkp", "road", "route", "row", "run", "shoal", "shoals", "shore", "shores", "skyway",
    "spring", "springs", "spur", "sq", "square", "st", "station", "str", "straat",
    "strasse", "stravenue", "straße", "stream", "street", "strip", "summit", "tee", "ter",
    "terrace", "terrasse", "throughway", "tie", "trace", "track", "trafficway", "trail",
    "trailer", "trl", "tunnel", "turn", "turnpike", "tér", "u", "ulica", "underpass",
    "union", "utca", "vale", "valley", "veg", "vegen", "vei", "veien", "vej", "via",
    "viaduct", "view", "villa", "village", "villas", "ville", "vista", "vägen", "walk",
    "way", "ways", "weg", "well", "wells", "wharf", "wynd", "út", "útja",
)  # fmt: skip
#: Words before a street's name (Via Leopardi, ul. Zakrzowska), any case.
STREET_PREFIXES = (
    "rue", "via", "viale", "vicolo", "corso", "piazza", "calle", "c/", "avenida", "avda",
    "avda.", "av.", "rua", "r", "r.", "pra\u00e7a", "largo", "travessa", "estrada", "rambla",
    "carrer", "paseo", "plaza", "camino", "strada", "ul.", "ulica", "aleja", "al.", "akti",
    "odos", "boulevard", "bd", "bd.", "chemin", "impasse", "all\u00e9e", "allee", "place",
    "quai", "route", "rte", "rte.", "stra\u00dfe", "avenue", "cours", "ctra", "ctra.", "crta",
    "crta.", "r\u00faa", "calea", "bulevardul", "aleea", "intrarea", "\u0219oseaua",
    "soseaua", "pia\u021ba", "callej\u00f3n", "alameda", "glorieta", "pasaje", "ronda",
    "traves\u00eda", "contrada", "borgo", "piazzale", "stretto", "nr", "nr.",
)  # fmt: skip
#: Endings of street names written as one word (Invalidenstrasse, Norrbyvägen), any case.
COMPOUND_STREET_ENDINGS = (
    "strasse", "stra\u00dfe", "str.", "gasse", "weg", "platz", "allee", "ring", "damm", "ufer",
    "steig", "vej", "gade", "v\u00e4gen", "v\u00e4g", "gatan", "gata", "veien", "vegen", "gate",
    "tie", "katu", "kuja", "polku", "utca", "\u00fat", "laan", "straat", "plein", "gracht",
    "kade", "dijk", "plaats", "singel", "stieg", "stig", "st\u00edgur", "braut", "vegur",
)  # fmt: skip
_STREET_TYPES = word_alternation(STREET_TYPES)
_STREET_PREFIXES = word_alternation(STREET_PREFIXES)
_COMPOUND_STREET = rf"[^\W\d_]{{2,}}{word_alternation(COMPOUND_STREET_ENDINGS)}"

# The three ways a street is written, each tried only on texts holding its words.
_NAMED_STREET = rf"(?:(?-i:{_NAME})|{_ORDINAL})[ \t]+{_STREET_TYPES}\b\.?"  # Meadow Drive
_PREFIXED_STREET = rf"\b{_STREET_PREFIXES}[ \t]+(?:{_PARTICLE}[ \t]+)*(?-i:{_NAME})"  # Via Leopardi
_ONE_WORD_STREET = rf"(?:(?-i:{_WORD})[ \t]+){{0,2}}{_COMPOUND_STREET}(?:\b|(?<=\.))"  # Hadikgasse


@functools.cache
def _street_pattern(named: bool, prefixed: bool, one_word: bool) -> re.Pattern[str]:
    """A street with its house numbers, written in any of the chosen ways."""
    ways = [
        way
        for way, chosen in (
            (_NAMED_STREET, named),
            (_PREFIXED_STREET, prefixed),
            (_ONE_WORD_STREET, one_word),
        )
        if chosen
    ]
    return re.compile(
        rf"""(?ix:
            (?<![^\W_])                             # at the start of a word (and fast)
            (?:\b(?<!\d\.){_NUMBER}[ \t]+)*          # house number(s) before, not the
                                                    # end of an IP address or a version
            (?:{"|".join(ways)})
            (?:,?[ \t]+{_NUMBER}(?![\w-]))?          # house number after
        )"""
    )


# A month (English or German) before a number: a date (24 Nov 2026, 3 März 2025).
_MONTH_THEN_NUMBER = (
    r"(?i:jan(?:uary|uar)?|feb(?:ruary|ruar)?|mar(?:ch)?|märz?|apr(?:il)?|ma[iy]|june?|juni"
    r"|july?|juli|aug(?:ust)?|sep(?:t|tember)?|o[ck]t(?:ober)?|nov(?:ember)?|de[cz](?:ember)?)"
    r"\.?[ \t]+\d"
)
# Capitalised words between two numbers: 893 Aqqusinersuaq 23, 2925 Tyršova 1808; not a
# day, a month and a year (Date: Tue, 24 Nov 2026 10:20:00 +0000).
_NUMBERED_NAME = re.compile(
    rf"\d(?<!\w\d)\d{{0,5}}[ \t]+(?!{_MONTH_THEN_NUMBER})(?:{_NAME})[ \t]+\d{{1,5}}\b(?![-/.]\d)"
)
# A street corner: Monika and Turjaška 48, Main and 5th Street (the second has a number)
_CORNER = re.compile(rf"(?<![\w-])(?:{_NAME})[ \t]+(?:and|&)[ \t]+(?:{_NAME})[ \t]+\d{{1,5}}\b")
_UNIT_WORDS = (
    "apt", "apartment", "suite", "ste", "unit", "flat", "room", "rm", "floor", "fl", "bldg",
    "building", "box", "postbox", "psc", "cmr",
)  # fmt: skip
#: Unit words that also name things in offices and parcels (room 4B, box 3 of 5): a unit
#: of these counts only next to another part of an address.
_WEAK_UNIT = re.compile(r"(?i:room|rm|floor|fl|building|bldg|box|unit|flat)\b")
_UNIT = re.compile(
    rf"(?i:\b(?:{word_alternation(_UNIT_WORDS)}|p\.?[ \t]?o\.?[ \t]?box))"
    r"\.?[ \t]*#?[ \t]*\d{1,6}[A-Za-z]?\b"
    r"|\b(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}\b"
    r"|\b(?:USNS|USNV|USS|USCGC)[ \t]+[A-Z][\w'-]+"
)

# What each pattern above needs among a text's words (case folded, letters only): the
# patterns themselves try every word start, so a text without any skips them.
_LETTERS = re.compile(r"[^\W\d_]+")
_TYPE_WORDS = frozenset(word.casefold() for word in STREET_TYPES)
_PREFIX_WORDS = frozenset(word.casefold().rstrip("./") for word in STREET_PREFIXES)
#: How each prefix word is written, followed by the space or tab the pattern needs after it
#: ("c" is only a prefix as "c/ "), to look for in an ASCII text in lower case.
_PREFIX_NEEDLES: dict[str, tuple[str, ...]] = {}
for _prefix in STREET_PREFIXES:
    _PREFIX_NEEDLES[_prefix.casefold().rstrip("./")] = (
        *_PREFIX_NEEDLES.get(_prefix.casefold().rstrip("./"), ()),
        f"{_prefix} ",
        f"{_prefix}\t",
    )
_ONE_WORD_END = re.compile(
    word_alternation(ending.casefold().rstrip(".") for ending in COMPOUND_STREET_ENDINGS)
    + r"(?![^\W\d_])"
)
# The same in a word scan (below), read backwards, with the two letters or more that come
# before the ending: a space, an ending reversed, two letters (re skips to the spaces).
_ONE_WORD_END_BACKWARDS = re.compile(
    " "
    + word_alternation(
        ending.casefold().rstrip(".")[::-1]
        for ending in COMPOUND_STREET_ENDINGS
        if ending.isascii()
    )
    + "[a-z]{2}"
)
_UNIT_GATE_WORDS = frozenset(
    (*_UNIT_WORDS, "pobox", "apo", "fpo", "dpo", "usns", "usnv", "uss", "uscgc")
)
#: The words a unit starts with: P.O. Box, PO Box and POBox start with "p", "po", "pobox".
_UNIT_START_WORDS = _UNIT_GATE_WORDS | {"p", "po"}
_PLACE_PREPOSITIONS = frozenset(("in", "at", "from", "to", "near"))
_AT_WORDS = frozenset(("at", "on", "address"))
# Any text holding a postcode holds one of these (a digit first, so re skips to digits).
_POSTCODE_SHAPE = re.compile(r"\d(?:\d{3}|\d{2}[ \t]\d{2}|\d-\d{3})")
_POSTCODE_CUE_WORDS = frozenset(
    ("zip", "zipcode", "post", "postal", "postalcode", "postcode", "plz", "cep")
)

# An ASCII text (nearly every text) is also read as its word scan: letters in lower case,
# everything else a space, and a space on either side, so that the word "at" stands at
# offset i of the text where " at " is found at offset i of the scan. Its words are the
# scan's words, and a pattern that begins with a word is tried only where the word stands.
_WORD_SCAN = bytes(
    ord(chr(code).lower()) if chr(code).isascii() and chr(code).isalpha() else ord(" ")
    for code in range(256)
)
# And as its shape (bytes): digits as 0, capitals as A, small letters as a, a tab as a
# space, so that a substring search tells whether a pattern's digits and capitals are there.
_SHAPE = bytes(
    ord("0")
    if chr(code).isdigit()
    else ord("A")
    if "A" <= chr(code) <= "Z"
    else ord("a")
    if "a" <= chr(code) <= "z"
    else ord(" ")
    if chr(code) == "\t"
    else code
    for code in range(256)
)


def _ascii_scans(text: str) -> tuple[str, bytes] | tuple[None, None]:
    """The word scan and the shape of an ASCII ``text``; ``None`` for other texts."""
    if not text.isascii():
        return None, None
    raw = text.encode()
    return f" {raw.translate(_WORD_SCAN).decode()} ", raw.translate(_SHAPE)


def _starting_with(
    pattern: re.Pattern[str], text: str, scan: str | None, words: AbstractSet[str]
) -> list[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern whose matches start with one of ``words``
    (lower case, a whole word): with a word scan, tried only where those words stand."""
    if scan is None:
        return list(pattern.finditer(text))
    starts = []
    for word in words:
        needle = f" {word} "
        at = scan.find(needle)
        while at >= 0:
            starts.append(at)  # the word starts at text offset at (the scan's pad)
            at = scan.find(needle, at + 1)
    starts.sort()
    matches = []
    end = 0
    for start in starts:
        if start >= end:  # finditer goes on after a match
            match = pattern.match(text, start)
            if match is not None:
                matches.append(match)
                end = match.end()
    return matches


def _address_patterns(
    text: str, scan: str | None, shape: bytes | None, words: set[str]
) -> list[re.Pattern[str]]:
    """The street and corner patterns that can match in ``text``."""
    named = not _TYPE_WORDS.isdisjoint(words)
    prefixed = not _PREFIX_WORDS.isdisjoint(words)
    if scan is None:
        one_word = _ONE_WORD_END.search(text.casefold()) is not None
    else:
        one_word = _ONE_WORD_END_BACKWARDS.search(scan[::-1]) is not None
        if prefixed:  # a prefix is followed by a space or tab as it is written
            lowered = text.lower()
            prefixed = any(
                needle in lowered
                for word in _PREFIX_WORDS.intersection(words)
                for needle in _PREFIX_NEEDLES[word]
            )
    patterns = []
    if shape is None or b"0 A" in shape or b"0  " in shape:  # a number, spaces, a capital
        patterns.append(_NUMBERED_NAME)
    if named or prefixed or one_word:
        patterns.append(_street_pattern(named, prefixed, one_word))
    if "and" in words or "&" in text:
        patterns.append(_CORNER)
    return patterns


# In a shape: a house number (_NUMBER: digits, maybe a letter and a full stop), spaces and
# a capital, as "at 253 Vratislavova" has.
_NUMBER_THEN_NAME = re.compile(rb"0[aA]?\.? [ A]")


def _may_hold_postcode(text: str, shape: bytes | None) -> bool:
    """Whether ``text`` holds a postcode's digits (``_POSTCODE_SHAPE``)."""
    if shape is None:
        return _POSTCODE_SHAPE.search(text) is not None
    return b"0000" in shape or b"000 00" in shape or b"00-000" in shape


# A street without a street word, known by what follows it: a house number, a comma and a
# five-digit postcode with its town (Reeperbahn 1, 20359 Hamburg; Zeil 42, 60313 Frankfurt)
_COMMA_POSTCODE_TOWN = re.compile(rf",[ \t]+\d{{5}}[ \t]+{_UPPER}")
_STREET_BEFORE_POSTCODE = re.compile(rf"(?<![\w-])({_WORD}(?:[ \t]+{_WORD})?)[ \t]+{_NUMBER}$")
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
# The floor and door of a flat in Spanish and Portuguese addresses, between the street
# and the postcode: 3º izquierda, 2º B, 4ºA, 1º 2ª, bajo, piso 3, apto 12, puerta 4.
_FLOOR_AND_DOOR = (
    r"\d{1,2}[\u00ba\u00aa\u00b0](?:[ \t]*(?:\d{1,2}[\u00ba\u00aa\u00b0]?"
    r"|(?i:izquierda|izda|izq|derecha|dcha|dch|centro|ctro|int|ext|interior|exterior)\.?"
    r"|[A-Z]))?"
    r"|(?i:apto|apt\u00ba|piso|puerta|pta|planta|dpto|depto|andar|bloque|portal|esc|escalera)"
    r"\.?[ \t]*\d{1,4}[\u00ba\u00aa\u00b0]?[A-Z]?|(?i:bajo|entresuelo|atico|\u00e1tico)"
)
_CONTINUATION = re.compile(
    rf"""(?x:
        (?:(?:[ \t]*(?:,|\n|\r))+[ \t]*(?:[^\w\s]{{1,4}}[ \t]*)?|[ \t]+)  # comma, line, space
        (?:
            {_NAME}(?![ \t]*:)  # a place (not a label:), maybe with a postcode
            (?P<code>[ \t]+(?:{_LETTERED_POSTCODE}|\d{{8}}|\d{{3,6}}(?:[ \t-]\d{{2,4}})?))?
          | (?P<uk>{_LETTERED_POSTCODE})  # UK, Canada, Netherlands, Ireland
          | (?P<postcode>(?:\d{{1,2}}[ \t]+)?(?:\d{{8}}|\d{{3,6}}(?:[ \t-]\d{{2,4}})?))  # postcode
          | {_NUMBER}[ \t]+{_NAME}(?=[ \t]*[,\n\r])  # a street: Flat 3, 14 Piccadilly,
          | \d{{1,2}}(?=[ \t]*[\n\r])                             # a region number line
          | (?i:(?:apt|apartment|suite|ste|unit|flat|box))\.?[ \t]*\d{{1,6}}
          | {_FLOOR_AND_DOOR}  # Spanish and Portuguese: 3º izquierda, 2º B, apto 12
          | (?P<missing>{_MISSING_VALUE})  # a field the template had no value for
        )
        (?![\w@])
    )"""
)
# A UK or Canadian postcode, a shape nothing else has (M1 1AE, SW1A 2AA, H3G 1P1), with
# the place and region code before it (Leeds LS1 4DY, Toronto ON M5V 2T6): an address
# without a street or label.
_POSTCODE_ALONE = re.compile(
    r"(?<![\w-])(?:[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]\d[A-Z]\d)(?![\w-])"
)
_POSTCODE_ALONE_SHAPE = re.compile(rb"A0[A0]? 0AA|A0A 0A0")
_PLACE_BEFORE_POSTCODE = re.compile(rf"(?<![\w-])({_NAME}),?[ \t]+(?:[A-Z]{{2}}[ \t]+)?$")
# A house number and a street before that place: 14 Piccadilly, Manchester M1 1AE
_STREET_BEFORE_PLACE = re.compile(rf"(?<![\w-]){_NUMBER}[ \t]+({_NAME}),[ \t]*$")
_POSTCODE_CUE = re.compile(
    r"(?i:\b(?:zip(?:[ \t]?code)?|post(?:al)?[ \t]?code|postcode|plz|cep)\b)"
    r"[ \t]*(?:is|:|#|no\.?)?[ \t]*"
    r"(\d{2,6}(?:[ \t-]\d{2,4})?|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)"
    r"(?![\w-])"
)
_MAX_CONTINUATIONS = 5
# The place after a postcode, up to a comma, a line or a sentence's end,
# or a word in lower case: the sentence going on (60313 Frankfurt am Main senden).
_PLACE_AFTER_POSTCODE = re.compile(
    rf"[ \t]+({_NAME})(?=[ \t]*(?:[,;!?)\n\r]|\.?[ \t]*$|\.[ \t])|[ \t]+[a-z\u00df-\u00ff])"
)
_REGION_CODE = re.compile(r"[A-Z]{2,3}")
_FIRST_WORD = re.compile(r"[^\W\d_]+")
_ESCAPED_LINE_BREAK = re.compile(r"\\[nr]")
_LINE = re.compile(r"[^\s](?:[^\n\r]*[^\s])?")
_ABBREVIATION_ENDS = frozenset({"st.", "rd.", "dr.", "ve.", "pt.", "tr.", "ul.", "av.", "al."})
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_DIGIT = re.compile(r"\d")


class StreetAddressDetector(Detector):
    """Street addresses, units and the rest of an address after them, as ``LOCATION``;
    and the recipient lines above an address block, as ``PERSON`` (``ORGANIZATION``
    when the line ends in a legal form such as ``Ltd`` or ``Inc.``)."""

    name = "street_address"
    entities = ("LOCATION", "PERSON", "ORGANIZATION")

    def applies_to(self, text: str, context: str = "") -> bool:
        # Every part of an address holds a digit and a space or tab between its words,
        # but a unit written close up (Apt5, P.O.Box 12); "\\n" becomes a line break.
        # A model, version or code field (XPS 15 9530 in "model") holds none.
        if _DIGIT.search(text) is None or (context and names_a_thing(context)):
            return False
        return " " in text or "\t" in text or "\\" in text or _UNIT.search(text) is not None

    def detect(self, text: str, context: str = "") -> list[Span]:
        # Escaped line breaks (text JSON-encoded twice) are line breaks; same length.
        if "\\" in text:
            text = _ESCAPED_LINE_BREAK.sub("\n ", text)
        scan, shape = _ascii_scans(text)
        words = set(_LETTERS.findall(text.casefold()) if scan is None else scan.split())
        found: list[tuple[int, int]] = []
        for pattern in _address_patterns(text, scan, shape, words):
            found.extend(
                m.span()
                for m in pattern.finditer(text)
                if _is_address(m.group()) and _ENGLISH_VIA.search(m.group()) is None
            )
        weak_units: list[tuple[int, int]] = []
        if not _UNIT_GATE_WORDS.isdisjoint(words):
            for unit in _starting_with(_UNIT, text, scan, _UNIT_START_WORDS.intersection(words)):
                if _is_address(unit.group()):
                    weak = _WEAK_UNIT.match(unit.group()) is not None
                    (weak_units if weak else found).append(unit.span())
        cues = _POSTCODE_CUE_WORDS.intersection(words)
        if cues:
            found.extend(m.span(1) for m in _starting_with(_POSTCODE_CUE, text, scan, cues))
        if _may_hold_postcode(text, shape):
            prepositions = _PLACE_PREPOSITIONS.intersection(words)
            places = (
                _starting_with(_PLACE_WITH_POSTCODE, text, scan, prepositions)
                if prepositions
                else []
            )
            if "\n" in text:
                places.extend(_PLACE_LINE.finditer(text))
            elif text.rstrip(" \t")[-1:].isdecimal():  # one line ending in a postcode
                place_line = _PLACE_LINE.match(text)
                if place_line is not None:
                    places.append(place_line)
            found.extend(
                m.span(1)
                for m in places
                if _FIRST_WORD.match(m.group(2)) is not None
                and _FIRST_WORD.match(m.group(2)).group().lower() not in _NOT_PLACES  # type: ignore[union-attr]
            )
            if b", 00000 A" in shape if shape is not None else "," in text:
                found.extend(_streets_before_postcodes(text))
        if shape is None or (
            (b" 0AA" in shape or b" 0A0" in shape)
            and _POSTCODE_ALONE_SHAPE.search(shape) is not None
        ):
            found.extend(_postcodes_alone(text))
        at_words = _AT_WORDS.intersection(words)
        if at_words and (shape is None or _NUMBER_THEN_NAME.search(shape) is not None):
            found.extend(
                m.span(1)
                for m in _starting_with(_NUMBERED_STREET, text, scan, at_words)
                if not MONTHS_AND_DAYS.match(m.group(2))
                and m.group(2).split()[0].lower().rstrip(".") not in _NOT_STREETS
            )
        if "corner" in words:
            for corner in _starting_with(_CORNER_OF, text, scan, {"corner"}):
                found.extend((corner.span(1), corner.span(2)))
        if not found:
            return []
        found.extend(weak_units)
        extended = _union(
            [(s, _sentence_end(text, s, self._extend(text, e))) for s, e in _union(found)]
        )
        spans = []
        lines_before = "\n" in text or "\r" in text
        for start, end in extended:  # one span per line, so line breaks stay as they are
            for line in _LINE.finditer(text, start, end):
                decoration = _LINE_DECORATION.match(line.group())
                begin = line.start() + (decoration.end() if decoration else 0)
                if begin < line.end() and not _MISSING_LINE.fullmatch(text, begin, line.end()):
                    span = Span(begin, line.end(), "LOCATION", SCORE, self.name)
                    spans.append(whole_words(text, span))  # a Greek delta written as ∆
            if not lines_before:  # the lines above a block: none in a one-line text
                continue
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
                # A postcode ends an address, but for the place it stands before, in the
                # European order: Königstraße 12, 70173 Stuttgart; Kalverstraat 92, 1012 PH
                # Amsterdam.
                if not match.group("code"):
                    place = _PLACE_AFTER_POSTCODE.match(text, end)
                    if place is not None and place.group(1).split()[0].lower() not in NOT_NAMES:
                        end = place.end()
                break
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


# A full stop after a word that is no abbreviation, then a capital or the end of the line
# or text: the sentence ends (``... O Saviñao Spain. Please call``), and so does the address.
_SENTENCE_END = re.compile(rf"(?<=[^\W\d_]{{4}})\.(?=[ \t]+{_UPPER}|[\"')\]]*[ \t]*(?:[\r\n]|$))")
_LONG_ABBREVIATIONS = frozenset(
    {
        "ctra", "crta", "blvd", "avda", "apto", "pkwy", "expy", "tpke", "bldg", "prof", "proc",
        "corp", "terr", "cres", "dept",
    }
)  # fmt: skip


def _sentence_end(text: str, start: int, end: int) -> int:
    dot = text.find(".", start, end)
    if dot < 0:
        return end
    for match in _SENTENCE_END.finditer(text, dot, end):
        word = _FIRST_WORD.findall(text, max(start, match.start() - 12), match.start())
        if not word or word[-1].lower() not in _LONG_ABBREVIATIONS:
            return match.start()
    return end


def _streets_before_postcodes(text: str) -> list[tuple[int, int]]:
    """Streets with a house number right before ``, 20359 Hamburg`` (``_STREET_BEFORE_POSTCODE``),
    unless a word of the street says it is something else (Order 5, Windows 10)."""
    found = []
    for code in _COMMA_POSTCODE_TOWN.finditer(text):
        start = code.start()
        street = _STREET_BEFORE_POSTCODE.search(text, max(0, start - 60), start)
        if street is not None and not any(
            word.lower() in _NOT_PLACES or word.lower() in NOT_NAMES
            for word in _FIRST_WORD.findall(street.group(1))
        ):
            found.append(street.span())
    return found


def _postcodes_alone(text: str) -> list[tuple[int, int]]:
    """UK and Canadian postcodes with the place before them, where no word before them
    says they are something else (Order AB1 2CD)."""
    found = []
    for code in _POSTCODE_ALONE.finditer(text):
        start = code.start()
        place = _PLACE_BEFORE_POSTCODE.search(text, max(0, start - 60), start)
        if place is not None:
            words = place.group(1).lower().split()
            if any(word.rstrip(".") in _NOT_PLACES for word in words):
                continue
            if words[0] not in NOT_NAMES and _POSTCODE_CUE_WORDS.isdisjoint(words):
                start = place.start(1)  # not a label: Postcode PH36 9QH
                street = _STREET_BEFORE_PLACE.search(text, max(0, start - 60), start)
                if street is not None and _is_street_name(street.group(1)):
                    start = street.start()
        found.append((start, code.end()))
    return found


def _is_street_name(name: str) -> bool:
    """Whether the words after a house number can be a street (not 10 AM, 5 March, 3 Items)."""
    words = name.lower().split()
    return (
        MONTHS_AND_DAYS.match(name) is None
        and words[0].rstrip(".") not in _NOT_STREETS
        and not any(word.rstrip(".") in _NOT_PLACES or word in NOT_NAMES for word in words)
    )


# "via" in lower case after a number or a word: the English word, not an Italian street,
# which "via" starts (paid 500 via PayPal, 1234.56 EUR via PayPal, 21.11.2026 via DHL;
# Via Roma 10, in via Roma 10).
_ENGLISH_VIA = re.compile(r"\S[ \t]+via\b")


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
