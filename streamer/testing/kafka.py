"""Kafka helpers for tests: read a whole topic (the embedded broker's end offsets are
not to be trusted for counting, so tests count what they read)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord


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
