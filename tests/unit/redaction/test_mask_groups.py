"""``mask`` with ``keep_last`` on values written in groups (IBANs, cards with spaces)."""

from __future__ import annotations

import pytest

from streamer.redaction.actions import MaskAction


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("DE89 3704 0044 0532 0130 00", "**********************30 00"),
        ("FR14 2004 1010 0505 0001 3M02 606", "*" * 28 + "2 606"),
        ("4111 1111 1111 1111", "***************1111"),
        ("5500-0000-0000-0004", "***************0004"),
        ("4111111111111111", "************1111"),
        ("12 34", "***34"),  # never more than half the characters
    ],
)
def test_keep_last_counts_letters_and_digits_not_separators(value: str, masked: str) -> None:
    assert MaskAction(keep_last=4).apply(value, "IBAN_CODE", None, "default") == masked  # type: ignore[arg-type]


def test_keep_last_zero_masks_everything() -> None:
    assert MaskAction(keep_last=0).apply("0130 00", "IBAN_CODE", None, "default") == "*******"  # type: ignore[arg-type]
