"""Kafka helpers for tests: an embedded broker, topics, producing, reading a topic fully.

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

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streamer.broker import EmbeddedBroker
from streamer.settings import StreamerSettings
from streamer.stream import tools
from streamer.stream.tools import end_offsets

#: Consumer group timings that make joins and rebalances quick on the embedded broker.
FAST_GROUP_SETTINGS: dict[str, Any] = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 500,
    "rebalance_timeout_ms": 3000,
}

__all__ = [
    "FAST_GROUP_SETTINGS",
    "create_topics",
    "end_offsets",
    "produce_values",
    "read_all",
    "running_broker",
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
