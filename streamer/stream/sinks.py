"""The three outputs of a pipeline: clean, token and dead-letter records, published with
aiokafka's batch API (one producer batch per output partition, not one send per record).

Partitioning, decided once per input partition:

- **clean and dead-letter records** keep the input's key. When the output topic has as
  many partitions as the input topic, a record goes to the *same partition number* as
  its input (the input is already partitioned by key, so per-key order and co-location
  are kept exactly, null keys included). Otherwise a keyed record goes to the partition
  of its key under Kafka's default partitioner (murmur2, as the Java client), and a
  record without a key to ``input partition % output partitions``, which keeps the
  input partition's order.
- **token records** are keyed by token id and partitioned by murmur2 of it, so
  compaction keeps one record per token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streamer.stream.dead_letter import dead_letter_key
from streamer.stream.futures import mark_retrieved
from streamer.stream.headers import Header, ProvenanceHeaders
from streamer.stream.processor import BatchResult, EmittedTokens, RecordBatch


@dataclass(frozen=True, slots=True)
class OutputTopics:
    """Names and partition counts of the three output topics."""

    clean: str
    tokens: str
    dlq: str
    clean_partitions: int
    token_partitions: int
    dlq_partitions: int


@dataclass(frozen=True, slots=True)
class PublishStats:
    clean: int
    dead_letters: int
    tokens: int


class OutputSinks:
    """Publishes a batch's records; returns the delivery futures the checkpoint waits on.

    Token records pass through ``emitted``: each worker process remembers only the tokens
    it published itself, so a token first met by two workers would be published twice.
    """

    def __init__(
        self, producer: Any, topics: OutputTopics, emitted: EmittedTokens | None = None
    ) -> None:
        self._producer = producer
        self.topics = topics
        self._emitted = emitted if emitted is not None else EmittedTokens(0)

    def hash_keys_for(self, input_partitions: int) -> bool:
        """Whether records of an input topic with ``input_partitions`` need key hashes."""
        return not (
            input_partitions == self.topics.clean_partitions
            and input_partitions == self.topics.dlq_partitions
        )

    async def publish(
        self,
        batch: RecordBatch,
        result: BatchResult,
        headers: ProvenanceHeaders,
        passed_headers: Sequence[list[Header]] | None = None,
    ) -> tuple[list[asyncio.Future[Any]], PublishStats]:
        """Hand every record of ``batch`` to the producer, in record order per partition."""
        futures: list[asyncio.Future[Any]] = []
        try:
            return await self._publish(batch, result, headers, passed_headers, futures)
        except BaseException:
            # Cancelled or failed half-way (the producer blocked on a lost broker): the
            # futures handed out so far are never sealed; retrieve their errors so they do
            # not end the run with "Future exception was never retrieved" tracebacks.
            for future in futures:
                future.add_done_callback(mark_retrieved)
            raise

    async def _publish(
        self,
        batch: RecordBatch,
        result: BatchResult,
        headers: ProvenanceHeaders,
        passed_headers: Sequence[list[Header]] | None,
        futures: list[asyncio.Future[Any]],
    ) -> tuple[list[asyncio.Future[Any]], PublishStats]:
        topics = self.topics
        offsets, timestamps, keys = batch.offsets, batch.timestamps, batch.keys
        clean = _Batches(self._producer, topics.clean, futures)
        clean_partition = self._partitioner(batch, result, topics.clean_partitions)
        clean_count = 0
        dead = {index for index, _, _ in result.dead_letters} if result.dead_letters else ()
        added = result.headers
        add = clean.add
        for index, value in enumerate(result.values):
            if value is None and index in dead:
                continue
            record_headers = headers.clean(offsets[index])
            if passed_headers is not None:
                record_headers.extend(passed_headers[index])
            if added and index in added:
                record_headers.extend(added[index])
            partition = clean_partition(index)
            timestamp, key = timestamps[index], keys[index]
            if not add(partition, timestamp, key, value, record_headers):
                await clean.append(partition, timestamp, key, value, record_headers)
            clean_count += 1
        await clean.flush()
        if result.dead_letters:
            dlq = _Batches(self._producer, topics.dlq, futures)
            dlq_partition = self._partitioner(batch, result, topics.dlq_partitions)
            for index, reason, value in result.dead_letters:
                await dlq.append(
                    dlq_partition(index),
                    timestamps[index],
                    dead_letter_key(keys[index]),
                    value,
                    headers.dead_letter(offsets[index], reason),
                )
            await dlq.flush()
        token_count = 0
        if result.token_records:
            token_batches = _Batches(self._producer, topics.tokens, futures)
            partitions = topics.token_partitions
            first_time = self._emitted.first_time
            add = token_batches.add
            for key, value, hashed in result.token_records:
                if first_time(key):
                    if not add(hashed % partitions, None, key, value, []):
                        await token_batches.append(hashed % partitions, None, key, value, [])
                    token_count += 1
            await token_batches.flush()
        return futures, PublishStats(clean_count, len(result.dead_letters), token_count)

    @staticmethod
    def _partitioner(batch: RecordBatch, result: BatchResult, partitions: int) -> Any:
        hashes = result.key_hashes
        if hashes is None:
            same = batch.partition
            return lambda index: same
        fallback = batch.partition % partitions
        return lambda index: fallback if hashes[index] < 0 else hashes[index] % partitions


class _Batches:
    """Open producer batches of one topic, one per partition, sent when full or flushed."""

    __slots__ = ("_builders", "_futures", "_producer", "_topic")

    def __init__(self, producer: Any, topic: str, futures: list[asyncio.Future[Any]]) -> None:
        self._producer = producer
        self._topic = topic
        self._futures = futures
        self._builders: dict[int, Any] = {}

    def add(
        self,
        partition: int,
        timestamp: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: list[Header],
    ) -> bool:
        """Append a record to its partition's open batch, if it has room (no await: most
        records fit); ``False`` when :meth:`append` must send the batch first."""
        builder = self._builders.get(partition)
        if builder is None:
            return False
        if timestamp is not None and timestamp < 0:
            timestamp = None
        appended = builder.append(timestamp=timestamp, key=key, value=value, headers=headers)
        return appended is not None

    async def append(
        self,
        partition: int,
        timestamp: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: list[Header],
    ) -> None:
        """Append a record to its partition's batch, sending the batch first when full."""
        if self.add(partition, timestamp, key, value, headers):
            return
        full = self._builders.get(partition)
        if full is not None:
            await self._send(partition, full)
        self._builders[partition] = self._producer.create_batch()
        self.add(partition, timestamp, key, value, headers)

    async def _send(self, partition: int, builder: Any) -> None:
        future = await self._producer.send_batch(builder, self._topic, partition=partition)
        self._futures.append(future)

    async def flush(self) -> None:
        builders, self._builders = self._builders, {}
        for partition, builder in builders.items():
            if builder.record_count():
                await self._send(partition, builder)
