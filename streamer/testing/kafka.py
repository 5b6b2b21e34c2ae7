"""Kafka helpers for tests: an embedded broker, topics, producing, reading a topic fully
(the embedded broker's end offsets are not to be trusted for counting, so tests count what
they read).

::

    from streamer.testing.kafka import running_broker, produce_values, read_all

    with running_broker() as broker:
        await produce_values(broker.bootstrap_servers, "raw", [b'{"a": 1}'])
        records = await read_all(broker.bootstrap_servers, "raw", expected=1)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord

from streamer.broker import EmbeddedBroker
from streamer.settings import StreamerSettings
from streamer.stream import tools
from streamer.stream.headers import SOURCE_OFFSET, SOURCE_PARTITION, SOURCE_TOPIC
from streamer.stream.tools import end_offsets

#: Consumer group timings that make joins and rebalances quick on the embedded broker
#: (it holds each join for about half the session timeout, rounded up to a second).
#: Apache Kafka refuses sessions under its ``group.min.session.timeout.ms``, 6 s by default.
FAST_GROUP_SETTINGS: dict[str, Any] = {
    "session_timeout_ms": 3000,
    "heartbeat_interval_ms": 500,
    "rebalance_timeout_ms": 3000,
}

__all__ = [
    "FAST_GROUP_SETTINGS",
    "by_source",
    "committed_offsets",
    "create_topics",
    "end_offsets",
    "produce_raw_header_names",
    "produce_values",
    "read_all",
    "read_topic",
    "record_bytes",
    "running_broker",
    "source_of",
]


@contextlib.contextmanager
def running_broker(log_file: Path | None = None) -> Iterator[EmbeddedBroker]:
    """An embedded Kafka-compatible broker for the duration of the block."""
    broker = EmbeddedBroker(log_file=log_file)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def create_topics(bootstrap_servers: str, partitions: dict[str, int]) -> None:
    """Create topics with the given partition counts (existing ones are left alone)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, n, 1) for name, n in partitions.items()])
    finally:
        await admin.close()


async def produce_values(
    bootstrap_servers: str,
    topic: str,
    values: Sequence[bytes | None],
    *,
    keys: Sequence[bytes | None] | None = None,
    headers: Sequence[list[tuple[str, bytes]]] | None = None,
    partition: int | None = None,
) -> list[Any]:
    """Produce ``values`` (with ``keys`` and ``headers`` per value); their metadata."""
    return await tools.produce_values(
        StreamerSettings(bootstrap_servers=bootstrap_servers),
        topic,
        values,
        keys=keys,
        headers=headers,
        partition=partition,
    )


async def produce_raw_header_names(
    bootstrap_servers: str,
    topic: str,
    values: list[bytes],
    headers: list[list[tuple[str | bytes, bytes]]],
) -> list[Any]:
    """Produce ``values`` as one gzip batch to partition 0, where a header name may be
    any bytes (``b"tr\\xffce"``); the metadata of its last record.

    aiokafka's producer writes header names from ``str`` only; its pure-Python batch
    builder takes any ``str`` whose ``encode`` gives the bytes to write."""
    from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy

    class RawName(str):
        raw: bytes

        def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
            return self.raw

    def name(value: str | bytes) -> str:
        if isinstance(value, str):
            return value
        raw = RawName("raw")
        raw.raw = value
        return raw

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        batch = producer.create_batch()
        batch._builder = _DefaultRecordBatchBuilderPy(
            2, 1, is_transactional=0, producer_id=-1, producer_epoch=-1, base_sequence=0,
            batch_size=1 << 20,
        )  # fmt: skip
        for value, pairs in zip(values, headers, strict=True):
            batch.append(
                timestamp=None, key=None, value=value, headers=[(name(k), v) for k, v in pairs]
            )
        sent = await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()
    return [sent._replace(offset=sent.offset + len(values) - 1)]


async def read_all(
    bootstrap_servers: str,
    topic: str,
    *,
    expected: int | None = None,
    timeout: float = 30.0,
    idle_timeout: float = 1.5,
) -> list[Any]:
    """Every record of ``topic``: until ``expected`` records arrived (or ``timeout``), or,
    without ``expected``, until none arrived for ``idle_timeout`` seconds."""
    return await tools.read_all(
        StreamerSettings(bootstrap_servers=bootstrap_servers),
        topic,
        expected=expected,
        timeout=timeout,
        idle_timeout=idle_timeout,
    )


def source_of(record: Any) -> tuple[str, int, int]:
    """``(topic, partition, offset)`` of the raw record a clean or dead-letter record came
    from, read from its provenance headers."""
    headers = dict(record.headers or ())
    return (
        headers[SOURCE_TOPIC].decode(),
        int(headers[SOURCE_PARTITION]),
        int(headers[SOURCE_OFFSET]),
    )


def by_source(records: Sequence[Any]) -> dict[tuple[str, int, int], list[Any]]:
    """Output records grouped by the raw record they came from (copies after a restart
    land in the same group)."""
    grouped: dict[tuple[str, int, int], list[Any]] = {}
    for record in records:
        grouped.setdefault(source_of(record), []).append(record)
    return grouped


def record_bytes(records: Sequence[Any]) -> bytes:
    """Keys, header values and values of ``records``, joined: a haystack for canaries."""
    parts: list[bytes] = []
    for record in records:
        parts.append(record.key or b"")
        parts.append(record.value or b"")
        for name, value in record.headers or ():
            parts.append(name.encode() + b"=" + (value or b""))
    return b"\n".join(parts)


async def committed_offsets(
    bootstrap_servers: str, group_id: str, topics: Sequence[str]
) -> dict[Any, int]:
    """The offsets ``group_id`` has committed on the partitions of ``topics`` (partitions
    without a commit are left out)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
        partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]
        offsets = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def read_topic(
    bootstrap_servers: str, topic: str, *, max_empty_polls: int = 10
) -> list[ConsumerRecord]:
    """Every record of ``topic``, read from the beginning to the end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord] = []
        empty = 0
        while (
            any([await consumer.position(tp) < ends[tp] for tp in tps]) and empty < max_empty_polls
        ):
            batch = await consumer.getmany(timeout_ms=500)
            empty = 0 if batch else empty + 1
            for messages in batch.values():
                records.extend(messages)
        return records
    finally:
        await consumer.stop()
