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
}


def get_validator(name: str) -> Validator:
    """The validator registered as ``name``; the error lists the valid names."""
    try:
        return VALIDATORS[name]
    except KeyError:
        raise UnknownNameError("validator", name, list(VALIDATORS)) from None
