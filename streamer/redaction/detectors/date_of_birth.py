"""Dates that are a date of birth (or similar), by context."""

from __future__ import annotations

import re
from datetime import date

from streamer.redaction.detector import PatternDetector

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}  # fmt: skip
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_NUMERIC = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$")
#: Midnight after an ISO date: a date serialised as a timestamp (1985-03-14T00:00:00.000Z).
_MIDNIGHT = r"(?:[T ]00:00(?::00(?:[.,]0+)?)?(?:Z|[+-]00:?00)?)?"
_WORDS = re.compile(
    rf"(?i)^(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?|-)(?P<m1>{_MONTH})\.?(?:,?\s+|-)"
    rf"(?P<y1>\d{{4}})"
    rf"|(?P<m2>{_MONTH})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}}))$"
)


def _month_number(name: str) -> int:
    """The month of a name ``_MONTH`` matched ("Sept.", "sepember"): every spelling it
    allows starts with the month's three-letter abbreviation."""
    abbreviation = name[:3].lower()
    number = _MONTHS.get(abbreviation)
    if number is None:
        # a letter matched only under case folding: long s (U+017F), Kelvin sign (U+212A)
        number = next(
            number
            for month, number in _MONTHS.items()
            if len(month) == 3 and re.fullmatch(month, abbreviation, re.IGNORECASE)
        )
    return number


def _is_real_date(value: str) -> bool:
    if len(value) > 10 and value[10] in "T ":
        value = value[:10]  # the date of a midnight timestamp
    numeric = _NUMERIC.match(value)
    if numeric:
        a, b, c = (int(g) for g in numeric.groups())
        candidates = [(a, b, c)] if len(numeric.group(1)) == 4 else [(c, a, b), (c, b, a)]
    else:
        words = _WORDS.match(value)
        if not words:
            return False
        day = int(words.group("d1") or words.group("d2"))
        month = _month_number(words.group("m1") or words.group("m2"))
        candidates = [(int(words.group("y1") or words.group("y2")), month, day)]
    for year, month, day in candidates:
        if year < 100:
            year += 1900 if year > 30 else 2000
        try:
            if 1880 <= date(year, month, day).year <= 2100:
                return True
        except ValueError:
            continue
    return False


class DateOfBirthDetector(PatternDetector):
    """``DATE_TIME`` where it is a date of birth: needs "born", "birth", "DOB" or similar.

    Other dates (timestamps, due dates) are not personal data on their own and stay.
    """

    name = "date_of_birth"
    entity_type = "DATE_TIME"
    pattern = (
        rf"(?i)(?<![\w./-])(?:\d{{4}}(?:-\d{{1,2}}-\d{{1,2}}{_MIDNIGHT}|[/.]\d{{1,2}}[/.]\d{{1,2}})"
        rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}"
        rf"|\d{{1,2}}(?:(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+|-{_MONTH}-)\d{{4}}"
        rf"|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})(?![\w]|[./-]\d|:\d)"
    )
    context_words = (
        "born", "birth", "birthday", "birthdate", "dob", "d.o.b", "d.o.b.", "b-day", "bday",
        "date of birth", "geboren", "née", "nee", "geburtsdatum", "geb", "né", "naissance",
        "nacimiento", "nacido", "nacida", "nascita", "nato", "nata", "nascimento",
        "nascido", "nascida", "geboortedatum", "födelsedatum", "fodelsedatum", "född",
        "fødselsdato", "fodselsdato", "født", "urodzenia", "urodzony", "urodzona",
        "生年月日", "出生日期", "рождения",
    )  # fmt: skip
    context_required = True
    context_window = 48
    min_digits = 4
    score = 0.3
    context_boost = 0.6

    def validate(self, candidate: str) -> bool | None:
        return None if _is_real_date(candidate) else False
