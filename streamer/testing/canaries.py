"""Canary personal data: values that must never survive redaction anywhere."""

from __future__ import annotations

from collections.abc import Iterable

#: Entity type -> a distinctive value of it that the pattern detectors catch.
CANARIES: dict[str, str] = {
    "EMAIL_ADDRESS": "canary.zq7x+leak@canary-mail.example.com",
    "PHONE_NUMBER": "+1 (415) 555-0179",
    "US_SSN": "536-22-8841",
    "CREDIT_CARD": "4539 1488 0343 6467",
    "IBAN_CODE": "DE89 3704 0044 0532 0130 00",
    "IP_ADDRESS": "2001:db8:cafe::17",
}

#: One text holding every canary.
CANARY_TEXT = (
    f"Canary record: write to {CANARIES['EMAIL_ADDRESS']} or call {CANARIES['PHONE_NUMBER']}; "
    f"SSN {CANARIES['US_SSN']}, card {CANARIES['CREDIT_CARD']}, "
    f"IBAN {CANARIES['IBAN_CODE']}, seen from {CANARIES['IP_ADDRESS']}."
)


def _forms(value: str) -> set[str]:
    compact = "".join(ch for ch in value if ch.isalnum())
    return {value, value.lower(), compact} if len(compact) >= 6 else {value}


def find_canaries(haystack: str | bytes, canaries: Iterable[str] | None = None) -> list[str]:
    """The canary values (as given, or written without separators) found in ``haystack``."""
    text = haystack.decode("utf-8", "replace") if isinstance(haystack, bytes) else haystack
    squeezed = "".join(ch for ch in text if ch.isalnum())
    found = []
    for value in canaries if canaries is not None else CANARIES.values():
        forms = _forms(value)
        compact = "".join(ch for ch in value if ch.isalnum())
        if any(form in text for form in forms) or compact in squeezed:
            found.append(value)
    return found
