"""Checksum and shape validators for pattern detectors, registered by name.

Custom detectors in a policy name one of these (``validator: luhn``); pattern detectors
written in code call them from ``validate``. Each takes the candidate text as matched
(separators included) and returns whether it is a real value.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable
from datetime import date

from streamer.redaction.exceptions import UnknownNameError

Validator = Callable[[str], bool]


def digits_only(value: str) -> str:
    """``value`` without spaces, dashes, dots and slashes."""
    # Four C-level replaces: several times faster than str.translate's per-character
    # table look-ups on these short candidates.
    return value.replace(" ", "").replace("-", "").replace(".", "").replace("/", "")


_DROP_DIGITS = str.maketrans("", "", "0123456789")
_ASCII_DIGITS = b"0123456789"


def count_digits(value: str) -> int:
    """How many ASCII digits ``value`` holds."""
    if value.isascii():  # bytes.translate deletes in one C loop, without str's table look-ups
        raw = value.encode("ascii")
        return len(raw) - len(raw.translate(None, _ASCII_DIGITS))
    return len(value) - len(value.translate(_DROP_DIGITS))


#: ``bytes.translate`` table of :func:`ascii_shape`: ASCII digits become "0" and ASCII
#: letters "a"; every other byte stays itself.
SHAPE_TABLE = bytes.maketrans(
    string.digits.encode() + string.ascii_letters.encode(), b"0" * 10 + b"a" * 52
)


def ascii_shape(text: str) -> bytes | None:
    """``text`` as bytes with each ASCII digit as ``0`` and each ASCII letter as ``a``, or
    ``None`` when ``text`` is not ASCII.

    Cheap (a C-speed table lookup), so detectors use it for exact rejections before a
    regular expression runs: a text whose shape lacks ``000-00-0000`` holds no such number.
    """
    if not text.isascii():
        return None
    return text.encode("ascii").translate(SHAPE_TABLE)


# Each digit doubled, less 9 when that is above 9: the Luhn step for every second digit.
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")


def luhn(value: str) -> bool:
    """The Luhn (mod 10) checksum of payment cards and many national ids."""
    digits = digits_only(value)
    if not digits.isdigit() or len(digits) < 2:
        return False
    if digits.isascii():
        # Sums of the digits' byte values, less 48 (b"0") for each digit.
        raw = digits.encode("ascii")
        total = sum(raw[-1::-2]) + sum(raw[-2::-2].translate(_LUHN_DOUBLED)) - 48 * len(raw)
        return total % 10 == 0
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# Lengths of IBANs by country (ISO 13616 registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


# Letters as IBAN check digits read them: A is 10, ..., Z is 35.
_BASE36_LETTERS = str.maketrans({c: str(10 + i) for i, c in enumerate(string.ascii_uppercase)})


def mod97(value: str) -> bool:
    """The ISO 7064 mod-97 checksum of IBANs, with the country's registered length."""
    iban = value.replace(" ", "").replace("-", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    if rearranged.isascii():  # and alphanumeric, upper case: [0-9A-Z] only
        return int(rearranged.translate(_BASE36_LETTERS)) % 97 == 1
    try:
        number = int("".join(str(int(char, 36)) for char in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def aba_routing(value: str) -> bool:
    """The checksum of a US ABA bank routing number (9 digits)."""
    digits = digits_only(value)
    if len(digits) != 9 or not digits.isdigit():
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def isbn(value: str) -> bool:
    """An ISBN-10 or ISBN-13 check digit."""
    chars = value.replace("-", "").replace(" ", "").upper()
    if len(chars) == 10 and chars[:9].isdigit() and (chars[9].isdigit() or chars[9] == "X"):
        total = sum((10 - i) * int(c) for i, c in enumerate(chars[:9]))
        total += 10 if chars[9] == "X" else int(chars[9])
        return total % 11 == 0
    if len(chars) == 13 and chars.isdigit():
        total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(chars))
        return total % 10 == 0
    return False


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_NIE_PREFIXES = {"X": "0", "Y": "1", "Z": "2"}


def es_nif(value: str) -> bool:
    """The check letter of a Spanish DNI (8 digits) or NIE (X, Y or Z and 7 digits)."""
    chars = digits_only(value).upper()
    if len(chars) != 9 or not chars.isascii():
        return False
    number = _NIE_PREFIXES.get(chars[0], chars[0]) + chars[1:8]
    return number.isdigit() and _DNI_LETTERS[int(number) % 23] == chars[8]


def br_cpf(value: str) -> bool:
    """The two mod-11 check digits of a Brazilian CPF (11 digits, not all the same)."""
    digits = digits_only(value)
    if len(digits) != 11 or not digits.isdigit() or not digits.isascii() or len(set(digits)) == 1:
        return False
    numbers = [int(digit) for digit in digits]
    for length in (9, 10):
        total = sum(n * (length + 1 - i) for i, n in enumerate(numbers[:length]))
        if total * 10 % 11 % 10 != numbers[length]:
            return False
    return True


def _ascii_digits(value: str, lengths: tuple[int, ...]) -> str | None:
    """``value``'s digits without separators, when ASCII digits of one of ``lengths``."""
    digits = digits_only(value)
    if len(digits) not in lengths or not digits.isdigit() or not digits.isascii():
        return None
    return digits


_CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def br_cnpj(value: str) -> bool:
    """The two mod-11 check digits of a Brazilian CNPJ (14 digits, not all the same)."""
    digits = _ascii_digits(value, (14,))
    if digits is None or len(set(digits)) == 1:
        return False
    numbers = [int(digit) for digit in digits]
    for weights in (_CNPJ_WEIGHTS[1:], _CNPJ_WEIGHTS):
        remainder = sum(n * w for n, w in zip(numbers, weights, strict=False)) % 11
        if (0 if remainder < 2 else 11 - remainder) != numbers[len(weights)]:
            return False
    return True


def de_tax_id(value: str) -> bool:
    """A German tax id (Steuer-ID, 11 digits): no leading zero, one digit of the first ten
    there twice or three times and none other repeated, and the ISO 7064 mod 11,10 check
    digit."""
    digits = _ascii_digits(value, (11,))
    if digits is None or digits[0] == "0":
        return False
    counts = sorted((digits[:10].count(d) for d in set(digits[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
        return False
    product = 10
    for char in digits[:10]:
        total = (int(char) + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10 == int(digits[10])


def fr_nir(value: str) -> bool:
    """A French social security number (NIR, 15 characters): sex 1-4, 7 or 8, and the
    key, 97 less the first 13 (Corsica's 2A and 2B read as 19 and 18) modulo 97."""
    chars = value.replace(" ", "").replace(".", "").replace("-", "").upper()
    if len(chars) != 15 or chars[0] not in "123478" or not chars.isascii():
        return False
    body = chars[:13].replace("2A", "19", 1) if chars[5:7] == "2A" else chars[:13]
    if chars[5:7] == "2B":
        body = chars[:5] + "18" + chars[7:13]
    if not body.isdigit() or not chars[13:].isdigit():
        return False
    return 97 - int(body) % 97 == int(chars[13:])


# The codice fiscale's check letter: values of characters at odd (1st, 3rd, ...) places.
_CF_ODD = dict(
    zip(
        string.digits + string.ascii_uppercase,
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11,
         3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23],
        strict=True,
    )
)  # fmt: skip


def it_fiscal_code(value: str) -> bool:
    """The check letter of an Italian codice fiscale (16 letters and digits)."""
    chars = value.upper()
    if len(chars) != 16 or not chars.isascii() or not chars.isalnum():
        return False
    total = 0
    for index, char in enumerate(chars[:15]):
        if index % 2 == 0:
            total += _CF_ODD[char]
        else:
            total += int(char) if char.isdigit() else ord(char) - 65
    return chars[15] == chr(65 + total % 26)


def nl_bsn(value: str) -> bool:
    """The eleven test (elfproef) of a Dutch citizen service number (BSN, 9 digits)."""
    digits = _ascii_digits(value, (9,))
    if digits is None or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total % 11 == 0


# Verhoeff's dihedral group D5: multiplication and the permutation applied per position.
_VERHOEFF_D = (
    "0123456789", "1234067895", "2340178956", "3401289567", "4012395678",
    "5987604321", "6598710432", "7659821043", "8765932104", "9876543210",
)  # fmt: skip
_VERHOEFF_P = (
    "0123456789", "1576283094", "5803796142", "8916043527",
    "9453127068", "4286573901", "2793806415", "7046913258",
)  # fmt: skip


def verhoeff(value: str) -> bool:
    """The Verhoeff check digit (Indian Aadhaar numbers)."""
    digits = digits_only(value)
    if not digits.isdigit() or not digits.isascii():
        return False
    check = 0
    for index, char in enumerate(reversed(digits)):
        check = int(_VERHOEFF_D[check][int(_VERHOEFF_P[index % 8][int(char)])])
    return check == 0


def in_aadhaar(value: str) -> bool:
    """An Indian Aadhaar number: 12 digits, not starting 0 or 1, Verhoeff check digit."""
    digits = _ascii_digits(value, (12,))
    return digits is not None and digits[0] not in "01" and verhoeff(digits)


def au_tfn(value: str) -> bool:
    """The weighted mod-11 check of an Australian tax file number (8 or 9 digits)."""
    digits = _ascii_digits(value, (8, 9))
    if digits is None:
        return False
    weights = (1, 4, 3, 7, 5, 8, 6, 9, 10) if len(digits) == 9 else (10, 7, 8, 4, 6, 3, 5, 1)
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0


def au_medicare(value: str) -> bool:
    """An Australian Medicare card number: 10 digits (11 with the person's number on the
    card), starting 2 to 6, the ninth a weighted check of the first eight."""
    digits = _ascii_digits(value, (10, 11))
    if digits is None or digits[0] not in "23456":
        return False
    total = sum(int(d) * w for d, w in zip(digits, (1, 3, 7, 9, 1, 3, 7, 9), strict=False))
    return total % 10 == int(digits[8])


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# PESEL months: 1-12 for births in the 1900s, +20 the 2000s, +40, +60, +80 (the 1800s).
_PESEL_CENTURIES = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}


def pl_pesel(value: str) -> bool:
    """A Polish PESEL (11 digits): a real birth date (the century in the month) and the
    weighted check digit."""
    digits = _ascii_digits(value, (11,))
    if digits is None:
        return False
    numbers = [int(d) for d in digits]
    total = sum(n * w for n, w in zip(numbers, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3), strict=False))
    if (10 - total % 10) % 10 != numbers[10]:
        return False
    month = int(digits[2:4])
    century = _PESEL_CENTURIES.get(month // 20 * 20)
    return century is not None and _real_date(
        century + int(digits[:2]), month % 20, int(digits[4:6])
    )


def se_personnummer(value: str) -> bool:
    """A Swedish personnummer or samordningsnummer (``YYMMDD-NNNN``, ``YYYYMMDDNNNN``,
    ``+`` for those over 100): a real birth date (a co-ordination number adds 60 to the
    day) and the Luhn check over the last ten digits."""
    digits = value.replace("-", "").replace("+", "").replace(" ", "")
    if len(digits) not in (10, 12) or not digits.isdigit() or not digits.isascii():
        return False
    ten = digits[-10:]
    day = int(ten[4:6])
    day = day - 60 if day > 60 else day
    year = int(digits[:4]) if len(digits) == 12 else 2000 + int(ten[:2])
    return _real_date(year, int(ten[2:4]), day) and luhn(ten)


# The values of a CURP's characters in its check: digits, then the Spanish alphabet.
_CURP_VALUES = {
    char: value for value, char in enumerate("0123456789ABCDEFGHIJKLMN\u00d1OPQRSTUVWXYZ")
}


def mx_curp(value: str) -> bool:
    """The check digit of a Mexican CURP (18 letters and digits, the last a digit)."""
    chars = value.upper()
    if len(chars) != 18 or not chars[17].isdigit() or not chars.isascii():
        return False
    try:
        total = sum(_CURP_VALUES[char] * (18 - i) for i, char in enumerate(chars[:17]))
    except KeyError:
        return False
    return (10 - total % 10) % 10 == int(chars[17])


# A dotted IPv4 address as ipaddress accepts it: octets up to 255, no leading zeros.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


def ip_address(value: str) -> bool:
    """A valid IPv4 or IPv6 address (zone ids allowed)."""
    address = value.split("%", 1)[0]
    if _IPV4.fullmatch(address):
        return True  # the common case, without ipaddress's slower parse
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


VALIDATORS: dict[str, Validator] = {
    "luhn": luhn,
    "mod97": mod97,
    "aba_routing": aba_routing,
    "isbn": isbn,
    "ip_address": ip_address,
    "es_nif": es_nif,
    "br_cpf": br_cpf,
    "br_cnpj": br_cnpj,
    "de_tax_id": de_tax_id,
    "fr_nir": fr_nir,
    "it_fiscal_code": it_fiscal_code,
    "nl_bsn": nl_bsn,
    "verhoeff": verhoeff,
    "in_aadhaar": in_aadhaar,
    "au_tfn": au_tfn,
    "au_medicare": au_medicare,
    "mx_curp": mx_curp,
    "pl_pesel": pl_pesel,
    "se_personnummer": se_personnummer,
}


def get_validator(name: str) -> Validator:
    """The validator registered as ``name``; the error lists the valid names."""
    try:
        return VALIDATORS[name]
    except KeyError:
        raise UnknownNameError("validator", name, list(VALIDATORS)) from None
