"""Replay bounds as users write them: offsets, timestamps, partitions, and their order."""

from __future__ import annotations

import pytest

from streamer.stream.exceptions import ReplayRangeError
from streamer.stream.ranges import (
    OffsetBound,
    PartitionRange,
    check_order,
    parse_offsets,
    parse_partitions,
    parse_timestamp,
    select_partitions,
)

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def test_an_offset_for_every_partition_or_per_partition() -> None:
    every = parse_offsets("100")
    assert every.for_partition(0) == every.for_partition(7) == 100
    some = parse_offsets("0:100, 1:50")
    assert (some.for_partition(0), some.for_partition(1)) == (100, 50)
    with pytest.raises(ReplayRangeError, match="partition 2; add 2:OFFSET"):
        some.for_partition(2)
    both = parse_offsets("100,3:0", "--to-offset")
    assert (both.for_partition(3), both.for_partition(4)) == (0, 100)
    assert both.describe() == "--to-offset 100,3:0"
    assert parse_offsets("earliest").for_partition(5) == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("abc", "'abc' is not an offset"),
        ("-5", "offsets are 0 or more"),
        ("1,2", "two offsets for every partition"),
        ("0:1,0:2", "partition 0 is given twice"),
        ("0:", "is not an offset"),
    ],
)
def test_unreadable_offsets_name_the_flag_and_the_form(text: str, problem: str) -> None:
    with pytest.raises(ReplayRangeError, match=problem) as raised:
        parse_offsets(text, "--to-offset")
    assert str(raised.value).startswith(f"--to-offset {text!r}")


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("2026-01-01T00:00:00Z", NOW),
        ("2026-01-01T00:00:00", NOW),  # no zone: UTC
        ("2026-01-01T02:00:00+02:00", NOW),
        ("2026-01-01", NOW),
        ("2026-01-01 00:00:01.5", NOW + 1500),
        ("-2h", NOW - 2 * 3_600_000),
        ("-30m", NOW - 30 * 60_000),
        ("-1d", NOW - 86_400_000),
        ("-1w", NOW - 7 * 86_400_000),
        ("-1h30m", NOW - 90 * 60_000),
        ("-45s", NOW - 45_000),
        ("now", NOW),
        ("1767225600000", NOW),
    ],
)
def test_timestamps_iso_relative_or_epoch_millis(text: str, millis: int) -> None:
    bound = parse_timestamp(text, now_ms=NOW)
    assert bound.millis == millis
    assert bound.text == text


@pytest.mark.parametrize("text", ["yesterday", "-2", "2h", "-2x", "2026-13-01", ""])
def test_unreadable_timestamps_list_the_forms(text: str) -> None:
    with pytest.raises(ReplayRangeError, match=r"ISO 8601 .*\(-2h, -30m") as raised:
        parse_timestamp(text, "--to-timestamp", now_ms=NOW)
    assert str(raised.value).startswith("--to-timestamp")


@pytest.mark.parametrize("flag", ["--from-timestamp", "--to-timestamp"])
def test_epoch_seconds_are_refused_with_the_milliseconds_to_write(flag: str) -> None:
    # `date +%s` gives seconds; read as milliseconds they are January 1970, so a replay
    # --from-timestamp $(date +%s) read the whole topic instead of nothing.
    with pytest.raises(ReplayRangeError) as raised:
        parse_timestamp("1767225600", flag, now_ms=NOW)
    assert str(raised.value).startswith(f"{flag} '1767225600' looks like epoch seconds")
    assert "(2026-01-01T00:00:00Z)" in str(raised.value)
    assert "write 1767225600000" in str(raised.value)
    assert parse_timestamp("0", flag).millis == 0


def test_a_relative_timestamp_shows_the_moment_it_stands_for() -> None:
    described = parse_timestamp("-1d", now_ms=NOW).describe()
    assert described == "--from-timestamp -1d (2025-12-31T00:00:00.000+00:00)"


def test_partitions_lists_and_spans() -> None:
    assert parse_partitions("0,2,5") == (0, 2, 5)
    assert parse_partitions("0-3,7,2") == (0, 1, 2, 3, 7)
    for text in ("3-1", "a", "", " , "):
        with pytest.raises(ReplayRangeError, match="--partitions"):
            parse_partitions(text)


def test_an_inverted_range_is_refused_when_both_bounds_are_of_one_kind() -> None:
    with pytest.raises(ReplayRangeError, match="--from-offset 200 is after --to-offset 100"):
        check_order(parse_offsets("200"), parse_offsets("100", "--to-offset"))
    with pytest.raises(ReplayRangeError, match="for partition 1"):
        check_order(parse_offsets("0:5,1:50"), parse_offsets("20", "--to-offset"))
    with pytest.raises(ReplayRangeError, match="inverted"):
        check_order(
            parse_timestamp("-1h", now_ms=NOW),
            parse_timestamp("-2h", "--to-timestamp", now_ms=NOW),
        )
    # Equal bounds are an empty range; mixed kinds are checked once resolved.
    check_order(parse_offsets("5"), parse_offsets("5", "--to-offset"))
    check_order(parse_offsets("500"), parse_timestamp("-1h", "--to-timestamp", now_ms=NOW))
    check_order(parse_offsets("5"), None)


def test_partitions_selected_by_flag_by_offsets_or_all() -> None:
    every = parse_offsets("0")
    assert select_partitions("t", 4, every, None, None) == [0, 1, 2, 3]
    assert select_partitions("t", 4, parse_offsets("1:0,3:9"), None, None) == [1, 3]
    assert select_partitions("t", 4, every, None, (2, 0)) == [0, 2]
    with pytest.raises(ReplayRangeError, match="no partition 4, 6: its partitions are 0 to 3"):
        select_partitions("t", 4, every, None, (0, 4, 6))
    with pytest.raises(ReplayRangeError, match="no partition 9"):
        select_partitions("t", 4, every, OffsetBound(None, {9: 1}, "--to-offset"), None)


def test_a_partition_range_is_half_open() -> None:
    assert PartitionRange(0, 100, 200).size == 100
    assert PartitionRange(0, 5, 5).size == 0
