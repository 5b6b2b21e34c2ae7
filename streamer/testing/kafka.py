"""Kafka helpers for tests: an embedded broker, topics, producing, reading a topic fully.

::

    from streamer.testing.kafka import running_broker, produce_values, read_all

    with running_broker() as broker:
        await produce_values(broker.bootstrap_servers, "raw", [b'{"a": 1}'])
        records = await read_all(broker.bootstrap_servers, "raw", expected=1)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streamer.broker import EmbeddedBroker
from streamer.settings import StreamerSettings
from streamer.stream.tools import read_topic

#: Consumer group timings that make joins and rebalances quick on the embedded broker.
FAST_GROUP_SETTINGS: dict[str, Any] = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 500,
    "rebalance_timeout_ms": 3000,
}


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
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=5, acks="all")
    await producer.start()
    try:
        futures = []
        for index, value in enumerate(values):
            futures.append(
                await producer.send(
                    topic,
                    value,
                    key=keys[index] if keys is not None else None,
                    headers=headers[index] if headers is not None else None,
                    partition=partition,
                )
            )
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


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
    settings = StreamerSettings(bootstrap_servers=bootstrap_servers)
    records: list[Any] = []

    async def collect() -> None:
        async for record in read_topic(
            settings,
            topic,
            follow=expected is not None,
            idle_timeout=idle_timeout,
            limit=expected,
        ):
            records.append(record)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(collect(), timeout)
    return records


def end_offsets_of(metadata: Sequence[Any]) -> dict[Any, int]:
    """Per partition, one past the highest offset in produce ``metadata``."""
    ends: dict[Any, int] = {}
    for item in metadata:
        tp = item.topic_partition
        ends[tp] = max(ends.get(tp, 0), item.offset + 1)
    return ends
