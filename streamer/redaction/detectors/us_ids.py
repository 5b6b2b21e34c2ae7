"""US bank account and routing, passport and driver's licence numbers.

Their shapes are plain runs of digits and letters, so each needs a context word nearby
(or in the field name) before it counts.
"""

from __future__ import annotations

from streamer.redaction.detector import PatternDetector
from streamer.redaction.validators import aba_routing

_NOT_AN_ID = ("order", "invoice", "tracking", "isbn", "version", "phone", "tel", "zip")


class UsBankNumberDetector(PatternDetector):
    """``US_BANK_NUMBER``: 8 to 17 digits next to "account", "acct", "bank" or similar."""

    name = "us_bank_number"
    entity_type = "US_BANK_NUMBER"
    pattern = r"(?<![\w-])\d{8,17}(?![\w]|-\d)"
    context_words = (
        "account", "acct", "acc", "bank", "banking", "checking", "savings", "deposit",
        "debit", "a/c", "beneficiary",
    )  # fmt: skip
    negative_context = (*_NOT_AN_ID, "routing", "aba", "rtn")  # a bank's number, no account
    context_required = True
    min_digits = 8
    shape_pattern = rb"00000000(?<![a0_-]00000000)0{0,9}(?![a0_]|-0)"
    score = 0.3
    context_boost = 0.5


class AbaRoutingDetector(PatternDetector):
    """``ABA_ROUTING_NUMBER``: a US bank routing number (nine digits with the ABA checksum,
    also ``322-271-627``) next to "routing", "ABA" or "RTN". It names a bank, but it
    travels with the account number it routes to, and Presidio and both cloud services
    report it; as its own type a policy can keep it."""

    name = "aba_routing"
    entity_type = "ABA_ROUTING_NUMBER"
    pattern = r"(?<![\w-])\d{3}([ -]?)\d{3}\1\d{3}(?![\w]|-\d)"
    validator = staticmethod(aba_routing)
    context_words = ("routing", "aba", "rtn", "transit")
    negative_context = _NOT_AN_ID
    context_required = True
    min_digits = 9
    score = 0.4
    context_boost = 0.5


class UsPassportDetector(PatternDetector):
    """``US_PASSPORT``: a passport number next to "passport": the US shapes (nine digits,
    a letter and eight digits) and other countries' (``TR1234567``, ``AB123456``,
    ``PAA123456``, ``18AB12345``, ``C01X00T47``); the entity is the one cloud services'
    passport types map to."""

    name = "us_passport"
    entity_type = "US_PASSPORT"
    pattern = (
        r"(?<![\w-])(?:\d{9}|[A-Za-z]{1,2}\d{7,8}|[A-Za-z]{2,3}\d{6}|\d{2}[A-Za-z]{2}\d{5}"
        r"|[CFGHJK](?=[A-Z]*\d)[0-9CFGHJKLMNPRTVWXYZ]{8})(?![\w]|-\d)"  # Germany: C01X00T47
    )
    context_words = ("passport", "passports", "travel document", "passport#", "passport no")
    negative_context = _NOT_AN_ID
    context_required = True
    min_digits = 6
    score = 0.3
    context_boost = 0.5


class UsDriverLicenseDetector(PatternDetector):
    """``US_DRIVER_LICENSE``: the state formats (letters and digits, also written in
    dash-separated groups), next to a licence word."""

    name = "us_driver_license"
    entity_type = "US_DRIVER_LICENSE"
    pattern = (
        r"(?<![\w-])(?:[A-Za-z]{1,2}\d{3,14}|\d{2}[A-Za-z]{3}\d{5,6}|\d{7,9}[A-Za-z]{1,2}"
        r"|\d{3}[A-Za-z]{2}\d{4}|[A-Za-z]\d[A-Za-z]\d[A-Za-z]|\d{6,14}"
        r"|[A-Za-z]{1,2}\d{1,6}(?:-\d{1,6}){1,4})(?![\w]|-\d)"  # written in groups: S123-4567-8901
    )
    context_words = (
        "driver", "drivers", "driver's", "license", "licence", "licenses", "dl", "dln",
        "driving", "permit",
    )  # fmt: skip
    negative_context = _NOT_AN_ID
    context_required = True
    min_digits = 2
    score = 0.3
    context_boost = 0.5
