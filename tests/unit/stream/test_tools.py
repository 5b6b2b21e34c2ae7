"""How the user tools read records, without a broker."""

from __future__ import annotations

import pytest
from aiokafka.structs import ConsumerRecord

from streamer.stream.tools import describe_record


def _record(value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="t",
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=-1,
        serialized_value_size=len(value),
        headers=(),
    )


@pytest.mark.parametrize("number", ["-9223372036854775809", "12345678901234567890123"])
def test_an_integer_beyond_64_bits_is_shown_as_written(number: str) -> None:
    # orjson reads it as a float; the record is shown as its text instead.
    value = f'{{"id": {number}}}'
    assert describe_record(_record(value.encode()))["value"] == value


def test_integers_within_64_bits_are_shown_as_json() -> None:
    value = b'{"id": -9223372036854775808, "max": 18446744073709551615}'
    assert describe_record(_record(value))["value"] == {
        "id": -9223372036854775808,
        "max": 18446744073709551615,
    }
