"""The backpressure rule, in one place.

Records count as in flight from the moment they are fetched until every record made
from them is acknowledged by Kafka. Both the number of such records and their bytes are
bounded. When either bound is reached, the partitions that have work in flight (they are
ahead of the rest) are paused, so the consumer stops fetching them and nothing piles up;
when in-flight work drains below half the bounds, they are resumed. Partitions with
nothing in flight keep fetching, so a slow partition does not starve the others.
Nothing waits on an unbounded queue: the worker pool, the lanes and the producer only
ever hold what was admitted here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import TopicPartition


class Backpressure:
    """Bounded in-flight records and bytes, and which partitions to pause for them."""

    def __init__(self, max_records: int, max_bytes: int, *, resume_fraction: float = 0.5) -> None:
        if max_records <= 0 or max_bytes <= 0:
            raise ValueError("in-flight bounds must be positive")
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.resume_records = int(max_records * resume_fraction)
        self.resume_bytes = int(max_bytes * resume_fraction)
        self.records = 0
        self.bytes = 0
        self._per_partition: dict[TopicPartition, list[int]] = {}
        self._paused: set[TopicPartition] = set()
        self._drained = asyncio.Event()
        self._drained.set()
        #: Highest in-flight figures seen (for metrics and the overload test).
        self.peak_records = 0
        self.peak_bytes = 0
        self.pause_count = 0
        #: Running mean record size, to turn the byte bound into a record count per fetch.
        self.mean_record_bytes = 1024.0

    # --- accounting --------------------------------------------------------------------

    def acquire(self, tp: TopicPartition, records: int, size: int) -> None:
        """Records of ``tp`` were fetched and are now in flight."""
        self.records += records
        self.bytes += size
        counts = self._per_partition.setdefault(tp, [0, 0])
        counts[0] += records
        counts[1] += size
        self.peak_records = max(self.peak_records, self.records)
        self.peak_bytes = max(self.peak_bytes, self.bytes)
        if records:
            self.mean_record_bytes += (size / records - self.mean_record_bytes) * 0.2
        if self.saturated:
            self._drained.clear()

    def release(self, tp: TopicPartition, records: int, size: int) -> None:
        """Records of ``tp`` are acknowledged (or dropped): no longer in flight."""
        self.records -= records
        self.bytes -= size
        counts = self._per_partition.get(tp)
        if counts is not None:
            counts[0] -= records
            counts[1] -= size
            if counts[0] <= 0:
                del self._per_partition[tp]
        if self.records <= self.resume_records and self.bytes <= self.resume_bytes:
            self._drained.set()

    def forget(self, tp: TopicPartition) -> None:
        """``tp`` was revoked: it is no longer ours to pause or resume."""
        self._paused.discard(tp)

    # --- the rule ----------------------------------------------------------------------

    @property
    def saturated(self) -> bool:
        return self.records >= self.max_records or self.bytes >= self.max_bytes

    @property
    def drained(self) -> bool:
        return self._drained.is_set()

    def room(self) -> int:
        """How many more records may be fetched now: what fits under both bounds, the
        byte bound estimated from the mean record size (at least 1 when not saturated)."""
        if self.saturated:
            return 0
        by_bytes = int((self.max_bytes - self.bytes) / max(self.mean_record_bytes, 1.0))
        return max(1, min(self.max_records - self.records, by_bytes))

    def in_flight(self, tp: TopicPartition) -> int:
        counts = self._per_partition.get(tp)
        return counts[0] if counts else 0

    @property
    def paused(self) -> frozenset[TopicPartition]:
        return frozenset(self._paused)

    def to_pause(self, assigned: Iterable[TopicPartition]) -> set[TopicPartition]:
        """When saturated: the assigned partitions with work in flight, not yet paused."""
        if not self.saturated:
            return set()
        ahead = {tp for tp in assigned if tp in self._per_partition} - self._paused
        self._paused |= ahead
        if ahead:
            self.pause_count += 1
        return ahead

    def to_resume(self) -> set[TopicPartition]:
        """Once drained below the resume marks: every partition paused here."""
        if not self._drained.is_set() or not self._paused:
            return set()
        resumed, self._paused = self._paused, set()
        return resumed

    async def wait_drained(self, timeout: float) -> bool:
        """Wait until in-flight work is below the resume marks (or ``timeout``)."""
        if self._drained.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), timeout)
        return self._drained.is_set()
