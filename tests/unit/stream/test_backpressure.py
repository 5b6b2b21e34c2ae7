"""The backpressure rule: bounded records and bytes; pause who is ahead; resume when drained."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition

from streamer.stream.backpressure import Backpressure

A, B, C = (TopicPartition("raw", p) for p in range(3))


def test_below_the_bounds_nothing_is_paused() -> None:
    pressure = Backpressure(max_records=100, max_bytes=10_000_000)
    pressure.acquire(A, 50, 500)
    assert not pressure.saturated
    assert pressure.to_pause([A, B]) == set()
    assert pressure.room() == 50


def test_at_the_record_bound_only_partitions_with_work_in_flight_are_paused() -> None:
    pressure = Backpressure(max_records=100, max_bytes=10_000_000)
    pressure.acquire(A, 60, 600)
    pressure.acquire(B, 40, 400)
    assert pressure.saturated
    assert pressure.room() == 0
    assert pressure.to_pause([A, B, C]) == {A, B}
    assert pressure.paused == {A, B}
    # Already paused: not paused twice.
    assert pressure.to_pause([A, B, C]) == set()


def test_the_byte_bound_pauses_too() -> None:
    pressure = Backpressure(max_records=1_000_000, max_bytes=1000)
    pressure.acquire(A, 2, 1200)
    assert pressure.saturated
    assert pressure.to_pause([A, B]) == {A}


def test_paused_partitions_resume_only_below_half_the_bounds() -> None:
    pressure = Backpressure(max_records=100, max_bytes=10_000_000)
    pressure.acquire(A, 100, 1000)
    pressure.to_pause([A])
    pressure.release(A, 30, 300)  # 70 in flight: below the bound, above the resume mark
    assert not pressure.saturated
    assert pressure.to_resume() == set()
    pressure.release(A, 20, 200)  # 50: at the resume mark
    assert pressure.to_resume() == {A}
    assert pressure.paused == frozenset()


def test_a_revoked_partition_is_not_resumed() -> None:
    pressure = Backpressure(max_records=10, max_bytes=10_000)
    pressure.acquire(A, 10, 10)
    pressure.to_pause([A])
    pressure.forget(A)
    pressure.release(A, 10, 10)
    assert pressure.to_resume() == set()


def test_in_flight_counts_and_peaks_are_tracked_per_partition() -> None:
    pressure = Backpressure(max_records=100, max_bytes=10_000)
    pressure.acquire(A, 10, 100)
    pressure.acquire(B, 5, 50)
    assert (pressure.records, pressure.bytes) == (15, 150)
    assert pressure.in_flight(A) == 10
    pressure.release(A, 10, 100)
    assert pressure.in_flight(A) == 0
    assert pressure.peak_records == 15


async def test_wait_drained_returns_when_work_drains() -> None:
    pressure = Backpressure(max_records=10, max_bytes=10_000)
    pressure.acquire(A, 10, 10)
    assert not await pressure.wait_drained(timeout=0.01)
    asyncio.get_running_loop().call_later(0.02, pressure.release, A, 10, 10)
    assert await pressure.wait_drained(timeout=5)


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Backpressure(max_records=0, max_bytes=10)


def test_room_follows_the_byte_bound_from_the_mean_record_size() -> None:
    pressure = Backpressure(max_records=10_000, max_bytes=100_000)
    pressure.acquire(A, 10, 10_000)  # records of about 1000 bytes
    assert 80 <= pressure.room() <= 95
    pressure.acquire(A, 89, 89_000)
    assert pressure.room() == 1  # under both bounds: at least one record
    pressure.acquire(A, 1, 1000)
    assert pressure.saturated and pressure.room() == 0
