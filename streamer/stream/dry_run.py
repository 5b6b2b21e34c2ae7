"""A dry run: what a replay would publish, compared with what the clean topic holds.

The replayed records go through the same engine and publishing step as a real replay,
but :class:`DryRunSinks` publishes nothing: per record it keeps a digest of what it
would become (a clean value, a tombstone, or a dead letter and its reason). Then
:func:`compare_with_topic` reads the current clean topic and matches its records to the
replayed ones by their provenance headers (source topic, partition, offset; the last
copy counts when at-least-once delivery left several), so the report says how many
records would change under the new policy, before anything is written.

Memory: one digest (about 150 bytes with its key) per replayed record.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from streamer.settings import StreamerSettings
from streamer.stream.connection import unavailable
from streamer.stream.exceptions import StreamError
from streamer.stream.headers import (
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    SOURCE_TOPIC,
    Header,
    ProvenanceHeaders,
    header_value,
)
from streamer.stream.processor import BatchResult, RecordBatch
from streamer.stream.ranges import group_less_consumer, log_ends, scan
from streamer.stream.sinks import OutputSinks, OutputTopics, PublishStats


@dataclass
class Comparison:
    """A dry run's replayed records against the current clean topic."""

    compare_topic: str
    #: Replayed records with a copy in the compare topic.
    compared: int = 0
    unchanged: int = 0
    #: Clean before and after, with another value.
    changed: int = 0
    #: Clean before, dead-lettered under the new policy.
    now_dead_lettered: int = 0
    #: No copy in the compare topic (dead-lettered before, not processed yet, or past
    #: its retention) and clean under the new policy.
    newly_clean: int = 0
    #: No copy in the compare topic and dead-lettered under the new policy too.
    still_dead_lettered: int = 0
    #: Source coordinates ``(partition, offset)`` of the first records that differ.
    examples: list[tuple[int, int]] = field(default_factory=list)

    @property
    def differ(self) -> int:
        """Records whose outcome would not be what the compare topic holds."""
        return self.changed + self.now_dead_lettered + self.newly_clean

    def to_dict(self) -> dict[str, Any]:
        return {
            "compare_topic": self.compare_topic,
            "compared": self.compared,
            "unchanged": self.unchanged,
            "changed": self.changed,
            "now_dead_lettered": self.now_dead_lettered,
            "newly_clean": self.newly_clean,
            "still_dead_lettered": self.still_dead_lettered,
            "differ": self.differ,
            "examples": [{"partition": p, "offset": o} for p, o in self.examples],
        }


class DryRunSinks(OutputSinks):
    """Sinks that publish nothing: per replayed record they keep a digest of what it
    would become (a clean value, a tombstone, or a dead letter and its reason)."""

    def __init__(self) -> None:
        super().__init__(None, OutputTopics("(dry run)", "(dry run)", "(dry run)", 1, 1, 1))
        #: ``(partition, offset)`` -> outcome digest (see :func:`clean_outcome`).
        self.outcomes: dict[tuple[int, int], bytes] = {}
        #: Smallest timestamp of the replayed records, to skip older clean records.
        self.min_timestamp: int | None = None

    def hash_keys_for(self, input_partitions: int) -> bool:
        return False

    async def publish(
        self,
        batch: RecordBatch,
        result: BatchResult,
        headers: ProvenanceHeaders,
        passed_headers: Sequence[list[Header]] | None = None,
    ) -> tuple[list[asyncio.Future[Any]], PublishStats]:
        dead = {index: reason for index, reason, _ in result.dead_letters}
        outcomes = self.outcomes
        for index, value in enumerate(result.values):
            reason = dead.get(index)
            outcome = b"d" + reason.encode() if reason is not None else clean_outcome(value)
            outcomes[(batch.partition, batch.offsets[index])] = outcome
        stamps = [t for t in batch.timestamps if t >= 0]
        if stamps:
            low = min(stamps)
            if self.min_timestamp is None or low < self.min_timestamp:
                self.min_timestamp = low
        published = PublishStats(
            len(result.values) - len(dead), len(dead), len(result.token_records)
        )
        return [], published


def clean_outcome(value: bytes | None) -> bytes:
    """The digest of a clean record's value (``t`` for a tombstone)."""
    if value is None:
        return b"t"
    return b"c" + hashlib.blake2b(value, digest_size=16).digest()


async def compare_with_topic(
    settings: StreamerSettings,
    compare_topic: str,
    input_topic: str,
    outcomes: dict[tuple[int, int], bytes],
    *,
    min_timestamp: int | None = None,
    examples: int = 10,
) -> Comparison:
    """Match the replayed records' ``outcomes`` to the records of ``compare_topic`` that
    came from the same source coordinates (by provenance headers; the last copy counts).

    Clean records keep their input's timestamp, so records before the first one at or
    after ``min_timestamp`` cannot come from the replayed range and are skipped."""
    consumer = group_less_consumer(settings)
    try:
        await consumer.start()
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    current: dict[tuple[int, int], bytes] = {}
    try:
        partitions = consumer.partitions_for_topic(compare_topic) or set()
        tps = [TopicPartition(compare_topic, p) for p in sorted(partitions)]
        ends = await log_ends(consumer, tps) if tps else {}
        starts = await consumer.beginning_offsets(tps) if tps else {}
        if min_timestamp is not None and tps:
            found = await consumer.offsets_for_times({tp: min_timestamp for tp in tps})
            for tp in tps:
                hit = found.get(tp)
                starts[tp] = ends[tp] if hit is None or hit.timestamp < 0 else hit.offset
        wanted_topic = input_topic.encode()
        async for record in scan(consumer, {tp: (starts[tp], ends[tp]) for tp in tps}):
            source = _source(record.headers, wanted_topic)
            if source is not None and source in outcomes:
                current[source] = clean_outcome(record.value)
    except KafkaError as exc:
        raise StreamError(
            f"reading {compare_topic!r} to compare failed ({type(exc).__name__}); check that "
            "this client may read it (ACLs)"
        ) from None
    finally:
        await consumer.stop()
    comparison = Comparison(compare_topic)
    for source in sorted(outcomes):
        outcome = outcomes[source]
        before = current.get(source)
        dead = outcome.startswith(b"d")
        if before is None:
            if dead:
                comparison.still_dead_lettered += 1
            else:
                comparison.newly_clean += 1
            continue
        comparison.compared += 1
        if before == outcome:
            comparison.unchanged += 1
            continue
        if dead:
            comparison.now_dead_lettered += 1
        else:
            comparison.changed += 1
        if len(comparison.examples) < examples:
            comparison.examples.append(source)
    return comparison


def _source(headers: Any, wanted_topic: bytes) -> tuple[int, int] | None:
    if header_value(headers, SOURCE_TOPIC) != wanted_topic:
        return None
    partition = header_value(headers, SOURCE_PARTITION)
    offset = header_value(headers, SOURCE_OFFSET)
    if partition is None or offset is None or not partition.isdigit() or not offset.isdigit():
        return None
    return int(partition), int(offset)


__all__ = ["Comparison", "DryRunSinks", "clean_outcome", "compare_with_topic"]
