"""Unmasking a range of a clean topic into another topic.

Records keep their key, headers and timestamp; their value gets the originals back.
Each batch is audited (one audit record per batch, with the source offsets) before
its records are produced. A record whose tokens cannot all be restored is still
copied, with the rest restored and a ``streamer-unmask-error`` header naming why,
so nothing is lost; the report counts them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from streamer.errors import ConfigurationError
from streamer.kafka_offsets import log_ends
from streamer.vault.exceptions import TopicUnavailableError
from streamer.vault.reidentify import Caller, Reidentifier, find_replacements

log = logging.getLogger(__name__)

ERROR_HEADER = "streamer-unmask-error"
EventFormat = Literal["json", "text"]


@dataclass(slots=True)
class TopicUnmaskReport:
    """What a topic unmask did."""

    records: int = 0
    restored_tokens: int = 0
    records_with_errors: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    partitions: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OffsetRange:
    """Which records to read: per partition from ``start`` (inclusive) to ``end``
    (exclusive); ``None`` means the beginning and the end as of the start of the run."""

    start: int | None = None
    end: int | None = None


async def unmask_topic(
    reidentifier: Reidentifier,
    caller: Caller,
    *,
    bootstrap_servers: str,
    source_topic: str,
    target_topic: str,
    partitions: list[int] | None = None,
    offsets: OffsetRange = OffsetRange(),
    event_format: EventFormat = "json",
    batch_records: int = 2000,
    on_progress: Callable[[int], None] | None = None,
    **client_options: Any,
) -> TopicUnmaskReport:
    """Copy ``source_topic`` records in ``offsets`` to ``target_topic`` with originals
    restored for ``caller``; returns the counts.

    With ``event_format="json"``, originals put back into a record that is a JSON
    document are JSON-escaped (a quote in an original keeps the document valid); other
    records, and every record with ``"text"``, get them as they are.
    """
    if source_topic == target_topic:
        raise ConfigurationError("--to-topic must differ from --from-topic")
    if offsets.start is not None and offsets.end is not None and offsets.start > offsets.end:
        raise ConfigurationError(
            f"the range is inverted: --start-offset {offsets.start} is after --end-offset "
            f"{offsets.end} (the end offset is not copied); swap them"
        )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        **client_options,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", **client_options)
    report = TopicUnmaskReport()
    in_flight: list[Any] = []  # the previous batch's sends, awaited while the next is read
    try:
        await consumer.start()
        await producer.start()
        ranges = await _assign(consumer, source_topic, partitions, offsets)
        remaining = {tp: end for tp, (start, end) in ranges.items() if start < end}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch_records)
            messages = [
                message
                for tp, batch in batches.items()
                for message in batch
                if message.offset < remaining.get(tp, -1)
            ]
            for tp in list(remaining):
                if await consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
            if not messages:
                if not batches:
                    await _drop_exhausted(consumer, remaining)
                continue
            sent = await _unmask_batch(
                reidentifier, caller, producer, messages, source_topic, target_topic,
                event_format, report,
            )  # fmt: skip
            for future in in_flight:
                await future
            in_flight = sent
            if on_progress is not None:
                on_progress(len(messages))
        for future in in_flight:
            await future
    except KafkaError as exc:
        raise TopicUnavailableError(
            f"copying {source_topic!r} to {target_topic!r} failed ({type(exc).__name__}); "
            "check the broker at --bootstrap-servers; records produced so far stay"
        ) from None
    finally:
        await producer.stop()
        await consumer.stop()
    return report


async def _assign(
    consumer: AIOKafkaConsumer,
    topic: str,
    partitions: list[int] | None,
    offsets: OffsetRange,
) -> dict[TopicPartition, tuple[int, int]]:
    await consumer.topics()
    existing = consumer.partitions_for_topic(topic)
    if not existing:
        raise ConfigurationError(f"topic {topic!r} does not exist; check --from-topic")
    unknown = sorted(set(partitions or ()) - existing)
    if unknown:
        raise ConfigurationError(
            f"topic {topic!r} has no partition(s) {unknown}; it has {sorted(existing)}"
        )
    tps = [TopicPartition(topic, p) for p in sorted(partitions or existing)]
    beginnings = await consumer.beginning_offsets(tps)
    ends = await log_ends(consumer, tps)
    ranges = {}
    for tp in tps:
        start = max(beginnings[tp], offsets.start if offsets.start is not None else 0)
        end = min(ends[tp], offsets.end) if offsets.end is not None else ends[tp]
        ranges[tp] = (start, end)
    # Assign and seek with nothing awaited between, so no fetch starts at a default offset.
    consumer.assign(tps)
    for tp, (start, _) in ranges.items():
        consumer.seek(tp, start)
    return ranges


async def _drop_exhausted(consumer: AIOKafkaConsumer, remaining: dict[TopicPartition, int]) -> None:
    """After an empty poll, stop waiting for partitions whose end offset was reported ahead
    of what can be read (compacted away, transaction markers)."""
    ends = await consumer.end_offsets(list(remaining))
    for tp in list(remaining):
        end = max(ends[tp], consumer.highwater(tp) or 0)
        if await consumer.position(tp) >= min(end, remaining[tp]):
            del remaining[tp]


async def _unmask_batch(
    reidentifier: Reidentifier,
    caller: Caller,
    producer: AIOKafkaProducer,
    messages: list[Any],
    source_topic: str,
    target_topic: str,
    event_format: EventFormat,
    report: TopicUnmaskReport,
) -> list[Any]:
    """Restore and audit one batch, then send it; returns the sends' futures."""
    texts = [
        message.value.decode("utf-8", "surrogateescape") if message.value is not None else ""
        for message in messages
    ]
    span: dict[int, tuple[int, int]] = {}
    for message in messages:
        first, last = span.get(message.partition, (message.offset, message.offset))
        span[message.partition] = (min(first, message.offset), max(last, message.offset))
    restoration = await reidentifier.restore(
        find_replacements(texts),
        caller,
        "unmask.topic",
        strict=False,
        source_topic=source_topic,
        source_partitions=span,
        target_topic=target_topic,
    )
    pending = []
    for message, text in zip(messages, texts, strict=True):
        headers = list(message.headers or ())
        value = message.value
        if value is not None:
            json_escape = event_format == "json" and _is_json(value)
            value = restoration.substitute(text, json_escape=json_escape).encode(
                "utf-8", "surrogateescape"
            )
            codes = sorted({error.code for r, error in restoration.failures.items() if r in text})
            if codes:
                headers.append((ERROR_HEADER, ",".join(codes).encode()))
                report.records_with_errors += 1
                report.errors.update(codes)
        pending.append(
            await producer.send(
                target_topic, value, key=message.key, headers=headers,
                timestamp_ms=message.timestamp,
            )
        )  # fmt: skip
    report.records += len(messages)
    report.restored_tokens += len(restoration.originals)
    for partition, (first, last) in span.items():
        known = report.partitions.get(partition, (first, last))
        report.partitions[partition] = (min(known[0], first), max(known[1], last))
    return pending


def _is_json(value: bytes) -> bool:
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    return True
