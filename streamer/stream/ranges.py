"""Where a replay starts and stops, as users write it, and the offsets it comes to.

- **offsets**: ``100`` for every partition, ``0:100,1:50`` per partition, or ``earliest``
  (``--to-offset latest``: the end, as without ``--to-*``). A range is
  half-open, like Kafka's end offsets: ``--from-offset 100 --to-offset 200`` replays the
  100 records at offsets 100 to 199.
- **timestamps**: ISO 8601 (``2026-05-01T12:00:00Z``, ``2026-05-01 14:00+02:00``,
  ``2026-05-01``; without a zone: UTC), relative to now (``-2h``, ``-30m``, ``-1d``,
  ``-1w``, ``-1h30m``, ``now``), or epoch milliseconds (``1767225600000``). A timestamp
  stands for the first offset whose record timestamp is at or after it (Kafka's
  ``offsets_for_times``), so ``--from-timestamp A --to-timestamp B`` replays from the
  first record at or after A up to, not including, the first record at or after B.

Parsing needs no broker; :func:`plan_range` turns bounds into offsets per partition.
Where the embedded broker is imprecise (``ListOffsets`` under-reports end offsets,
``offsets_for_times`` answers with the start of a record batch), the plan reads records
to get exact offsets: see :func:`log_ends` and :func:`offsets_for_time`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streamer.kafka_offsets import log_ends
from streamer.settings import StreamerSettings
from streamer.stream.admin import partition_counts
from streamer.stream.connection import client_options, unavailable
from streamer.stream.exceptions import ReplayError, ReplayRangeError, StreamError
from streamer.stream.fetched import tolerate_undecodable_header_names

log = logging.getLogger(__name__)

#: Seconds of empty fetches after which a partition short of its stop offset counts as
#: read (its last offsets were compacted away, or hold only transaction markers).
END_IDLE_SECONDS = 10.0

_UNIT_SECONDS = {"w": 7 * 86_400, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
#: Lengths of epoch seconds from 1973 to 2286 (``date +%s``); in milliseconds they are
#: January 1970, which no one means, and a replay from there reads the whole topic.
_EPOCH_SECONDS_DIGITS = (9, 10)
_RELATIVE = re.compile(r"^-((?:\d+[wdhms])+)$")
_RELATIVE_PART = re.compile(r"(\d+)([wdhms])")
_PARTITION_OFFSET = re.compile(r"^(\d+):(\d+)$")
_PARTITION_SPAN = re.compile(r"^(\d+)-(\d+)$")


@dataclass(frozen=True, slots=True)
class OffsetBound:
    """An offset for every partition (``default``) and/or one per partition."""

    default: int | None = None
    per_partition: Mapping[int, int] = field(default_factory=dict)
    #: The flag it came from, for messages.
    flag: str = "--from-offset"

    def for_partition(self, partition: int) -> int:
        if partition in self.per_partition:
            return self.per_partition[partition]
        if self.default is None:
            named = ", ".join(str(p) for p in sorted(self.per_partition))
            raise ReplayRangeError(
                f"{self.flag} gives offsets for partition(s) {named} only, not for partition "
                f"{partition}; add {partition}:OFFSET or leave partition {partition} out of "
                "--partitions"
            )
        return self.default

    def describe(self) -> str:
        parts = [f"{p}:{o}" for p, o in sorted(self.per_partition.items())]
        if self.default is not None:
            parts.insert(0, str(self.default))
        return f"{self.flag} {','.join(parts)}"


@dataclass(frozen=True, slots=True)
class TimestampBound:
    """A moment, in epoch milliseconds; ``text`` is what the user wrote."""

    millis: int
    text: str
    flag: str = "--from-timestamp"

    def describe(self) -> str:
        moment = datetime.fromtimestamp(self.millis / 1000, UTC).isoformat(timespec="milliseconds")
        shown = self.text if self.text == moment else f"{self.text} ({moment})"
        return f"{self.flag} {shown}"


Bound = OffsetBound | TimestampBound


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """Offsets ``[start, stop)`` of one partition to replay."""

    partition: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        """Offsets in the range (records, unless compaction left gaps)."""
        return max(0, self.stop - self.start)


def parse_offsets(text: str, flag: str = "--from-offset") -> OffsetBound:
    """``100`` (every partition), ``0:100,1:50`` (per partition), or both:
    ``100,3:0`` (partition 3 from 0, the others from 100); ``earliest`` is 0."""
    default: int | None = None
    per_partition: dict[int, int] = {}
    if text.strip() in ("earliest", "beginning"):
        return OffsetBound(0, {}, flag)  # the log start, once resolved
    for part in (p.strip() for p in text.split(",")):
        if part.isdigit():
            if default is not None:
                raise ReplayRangeError(f"{flag} {text!r}: two offsets for every partition")
            default = int(part)
            continue
        match = _PARTITION_OFFSET.match(part)
        if match is None:
            raise ReplayRangeError(
                f"{flag} {text!r}: {part!r} is not an offset; write OFFSET for every "
                "partition or PARTITION:OFFSET[,PARTITION:OFFSET...] (offsets are 0 or more; "
                "for the latest records use --from-timestamp -1h)"
            )
        partition, offset = int(match.group(1)), int(match.group(2))
        if partition in per_partition:
            raise ReplayRangeError(f"{flag} {text!r}: partition {partition} is given twice")
        per_partition[partition] = offset
    return OffsetBound(default, per_partition, flag)


def parse_timestamp(
    text: str, flag: str = "--from-timestamp", *, now_ms: int | None = None
) -> TimestampBound:
    """ISO 8601 (UTC without a zone), ``-2h``-style relative to now, ``now``, or epoch ms."""
    value = text.strip()
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if value == "now":
        return TimestampBound(now, text, flag)
    if value.isdigit():
        if len(value) in _EPOCH_SECONDS_DIGITS:
            meant = datetime.fromtimestamp(int(value), UTC).isoformat().replace("+00:00", "Z")
            raise ReplayRangeError(
                f"{flag} {text!r} looks like epoch seconds ({meant}), but numbers are epoch "
                f"milliseconds, so it would mean January 1970; write {value}000, or an ISO "
                "8601 time"
            )
        return TimestampBound(int(value), text, flag)
    match = _RELATIVE.match(value)
    if match is not None:
        seconds = sum(
            int(amount) * _UNIT_SECONDS[unit]
            for amount, unit in _RELATIVE_PART.findall(match.group(1))
        )
        return TimestampBound(now - seconds * 1000, text, flag)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ReplayRangeError(
            f"{flag} {text!r} is not a timestamp; write ISO 8601 (2026-05-01T12:00:00Z; "
            "UTC without a zone), a time relative to now (-2h, -30m, -1d, -1h30m), now, "
            "or epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return TimestampBound(int(moment.timestamp() * 1000), text, flag)


def parse_partitions(text: str) -> tuple[int, ...]:
    """``0,2,5`` or ``0-3,7``: sorted, without repeats."""
    partitions: set[int] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part.isdigit():
            partitions.add(int(part))
            continue
        match = _PARTITION_SPAN.match(part)
        if match is None or int(match.group(1)) > int(match.group(2)):
            raise ReplayRangeError(
                f"--partitions {text!r}: {part!r} is not a partition; write numbers and "
                "spans such as 0,2,5 or 0-3,7"
            )
        partitions.update(range(int(match.group(1)), int(match.group(2)) + 1))
    if not partitions:
        raise ReplayRangeError("--partitions is empty; name partitions such as 0,2,5 or 0-3")
    return tuple(sorted(partitions))


def check_order(start: Bound, stop: Bound | None) -> None:
    """Refuse a range whose start is after its stop when both are of one kind (mixed
    kinds are checked once resolved to offsets)."""
    if stop is None:
        return
    if isinstance(start, TimestampBound) and isinstance(stop, TimestampBound):
        if start.millis > stop.millis:
            raise ReplayRangeError(
                f"the range is inverted: {start.describe()} is after {stop.describe()}"
            )
        return
    if isinstance(start, OffsetBound) and isinstance(stop, OffsetBound):
        partitions = set(start.per_partition) | set(stop.per_partition)
        pairs: list[tuple[int | None, int | None, int | None]] = [
            (p, _maybe(start, p), _maybe(stop, p)) for p in sorted(partitions)
        ]
        pairs.append((None, start.default, stop.default))
        for partition, first, last in pairs:
            if first is not None and last is not None and first > last:
                where = "" if partition is None else f" for partition {partition}"
                raise ReplayRangeError(
                    f"the range is inverted{where}: {start.flag} {first} is after "
                    f"{stop.flag} {last} (the stop offset is not replayed)"
                )


def named_partitions(*bounds: Bound | None) -> set[int]:
    """Partitions that per-partition offsets name."""
    named: set[int] = set()
    for bound in bounds:
        if isinstance(bound, OffsetBound):
            named |= set(bound.per_partition)
    return named


def _maybe(bound: OffsetBound, partition: int) -> int | None:
    return bound.per_partition.get(partition, bound.default)


# --- bounds to offsets, on a broker ---------------------------------------------------


@dataclass(frozen=True)
class RangePlan:
    """A range resolved to offsets per partition, and what was adjusted to get there."""

    topic: str
    #: How many partitions the topic has (not only those in the range).
    topic_partitions: int
    ranges: tuple[PartitionRange, ...]
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(r.size for r in self.ranges)


def group_less_consumer(settings: StreamerSettings) -> AIOKafkaConsumer:
    """A consumer without a group: it reads where it is told and never commits."""
    tolerate_undecodable_header_names()  # a header name that is not UTF-8 is not fatal
    return AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_partition_fetch_bytes=max(1024 * 1024, settings.max_record_bytes + 64 * 1024),
    )


async def topic_partitions(settings: StreamerSettings, topics: Mapping[str, str]) -> dict[str, int]:
    """Partition counts of ``topics`` (name -> what named it, a flag say); a missing
    topic is an error that says what named it."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    try:
        counts = await partition_counts(admin, list(topics))
    except KafkaError as exc:
        raise StreamError(
            f"describing {', '.join(topics)} failed ({type(exc).__name__}); check that this "
            "client may describe topics (ACLs)"
        ) from None
    finally:
        await admin.close()
    for name, named_by in topics.items():
        if name not in counts:
            raise ReplayError(
                f"{named_by} {name!r}: the topic does not exist; check the name (streamer "
                "tail --topic NAME reads a topic)"
            )
    return counts


async def scan(
    consumer: AIOKafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]]
) -> AsyncIterator[Any]:
    """Records of ``[start, stop)`` per partition, in offset order per partition; ends
    when every partition reached its stop or nothing arrived for
    :data:`END_IDLE_SECONDS`."""
    live = {tp: stop for tp, (start, stop) in ranges.items() if start < stop}
    if not live:
        return
    consumer.assign(list(live))
    for tp in live:
        consumer.seek(tp, ranges[tp][0])
    loop = asyncio.get_running_loop()
    idle = 0.0
    while live:
        began = loop.time()
        fetched = await consumer.getmany(*live, timeout_ms=200, max_records=5000)
        for tp, records in fetched.items():
            stop = live.get(tp)
            if stop is None:
                continue
            for record in records:
                if record.offset >= stop:
                    break
                yield record
        idle = 0.0 if fetched else idle + loop.time() - began
        for tp in list(live):
            if await consumer.position(tp) >= live[tp]:
                del live[tp]
                consumer.pause(tp)
        if idle >= END_IDLE_SECONDS:
            short = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(live))
            log.warning(
                f"no records arrived for {END_IDLE_SECONDS:.0f}s before the end of {short} "
                "(compacted away, or transaction markers); reading stops there"
            )
            return


async def offsets_for_time(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    millis: int,
    ends: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Per partition, the first offset whose record timestamp is at or after ``millis``
    (its end when there is none), exactly, whatever the broker's precision."""
    try:
        found = await consumer.offsets_for_times({tp: millis for tp in tps})
    except KafkaError as exc:
        raise StreamError(
            f"looking up offsets by timestamp failed ({type(exc).__name__}); the broker "
            "may not support it: give --from-offset/--to-offset instead"
        ) from None
    offsets: dict[TopicPartition, int] = {}
    for tp in tps:
        hit = found.get(tp)
        # No record at or after: None (Kafka), or a timestamp of -1 (the embedded broker).
        if hit is None or hit.timestamp < 0 or hit.offset >= ends[tp]:
            offsets[tp] = ends[tp]
            continue
        # Some brokers (the embedded one) answer with the start of the record batch
        # holding the record, or of a batch whose records are all earlier: read on.
        offsets[tp] = ends[tp]
        async for record in scan(consumer, {tp: (hit.offset, ends[tp])}):
            if record.timestamp >= millis:
                offsets[tp] = record.offset
                break
    return offsets


async def _resolve(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    bound: Bound,
    begins: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    *,
    is_start: bool,
    notes: list[str],
) -> dict[TopicPartition, int]:
    if isinstance(bound, TimestampBound):
        offsets = await offsets_for_time(consumer, tps, bound.millis, ends)
        return {tp: max(offset, begins[tp]) for tp, offset in offsets.items()}
    resolved = {}
    for tp in tps:
        asked = bound.for_partition(tp.partition)
        begin, end = begins[tp], ends[tp]
        if asked < begin:
            notes.append(
                f"partition {tp.partition}: offsets before {begin:,} were deleted (retention); "
                f"{bound.flag} {asked:,} becomes {begin:,}"
            )
        elif asked > end:
            notes.append(
                f"partition {tp.partition}: it ends at {end:,}, before {bound.flag} {asked:,}"
                + ("; nothing to replay there" if is_start else f"; replaying up to {end:,}")
            )
        resolved[tp] = min(max(asked, begin), end)
    return resolved


def select_partitions(
    topic: str, available: int, start: Bound, stop: Bound | None, partitions: Sequence[int] | None
) -> list[int]:
    """The partitions a range covers: ``partitions`` when given; else those that
    per-partition offsets name when they give no offset for every partition; else all."""
    named = named_partitions(start, stop)
    if partitions is not None:
        selected = sorted(set(partitions))
    elif named and isinstance(start, OffsetBound) and start.default is None:
        selected = sorted(named)
    else:
        selected = list(range(available))
    missing = sorted(p for p in {*selected, *named} if p >= available)
    if missing:
        raise ReplayRangeError(
            f"topic {topic!r} has no partition {', '.join(map(str, missing))}: its partitions "
            f"are 0 to {available - 1}; fix --partitions or the offsets"
        )
    return selected


async def plan_range(
    settings: StreamerSettings,
    topic: str,
    start: Bound | None,
    stop: Bound | None = None,
    partitions: Sequence[int] | None = None,
    *,
    must_exist: Mapping[str, str] | None = None,
) -> RangePlan:
    """Resolve ``[start, stop)`` of ``topic`` to offsets per partition (``stop`` None:
    each partition's end now). ``must_exist`` names more topics that must exist
    (name -> the flag that named it), checked in the same round trip."""
    if start is None:
        raise ReplayRangeError("where to start is missing: give --from-offset or --from-timestamp")
    check_order(start, stop)
    counts = await topic_partitions(settings, {topic: "--input-topic", **(must_exist or {})})
    available = counts[topic]
    selected = select_partitions(topic, available, start, stop, partitions)
    consumer = group_less_consumer(settings)
    try:
        await consumer.start()
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    notes: list[str] = []
    tps = [TopicPartition(topic, p) for p in selected]
    try:
        begins = await consumer.beginning_offsets(tps)
        ends = await log_ends(consumer, tps)
        starts = await _resolve(consumer, tps, start, begins, ends, is_start=True, notes=notes)
        if stop is None:
            stops = ends
        else:
            stops = await _resolve(consumer, tps, stop, begins, ends, is_start=False, notes=notes)
    except KafkaError as exc:
        raise StreamError(
            f"reading the offsets of {topic!r} failed ({type(exc).__name__}); check that "
            "this client may read it (ACLs)"
        ) from None
    finally:
        await consumer.stop()
    ranges = []
    for tp in tps:
        first, last = starts[tp], stops[tp]
        if first > last:
            raise ReplayRangeError(
                f"the range is inverted on partition {tp.partition}: {start.describe()} is "
                f"offset {first:,}, after {stop.describe() if stop else 'its end'} at offset "
                f"{last:,}"
            )
        ranges.append(PartitionRange(tp.partition, first, last))
    return RangePlan(topic, available, tuple(ranges), tuple(notes))


__all__ = [
    "END_IDLE_SECONDS",
    "Bound",
    "OffsetBound",
    "PartitionRange",
    "RangePlan",
    "TimestampBound",
    "check_order",
    "group_less_consumer",
    "log_ends",
    "named_partitions",
    "offsets_for_time",
    "parse_offsets",
    "parse_partitions",
    "parse_timestamp",
    "plan_range",
    "scan",
    "select_partitions",
    "topic_partitions",
]
