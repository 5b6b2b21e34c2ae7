"""Reading the token topic into the :class:`~streamer.vault.store.TokenIndex`.

:meth:`TokenTopicReader.catch_up` reads every partition from where the index stopped to
the end offsets seen when it started (the CLI does this before unmasking);
:meth:`TokenTopicReader.follow` keeps doing it (``streamer serve``). No consumer group:
the reader assigns partitions itself and keeps its offsets in the index.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streamer.errors import ConfigurationError
from streamer.kafka_offsets import log_ends
from streamer.vault.exceptions import TopicUnavailableError
from streamer.vault.store import ApplyStats, TokenIndex, TopicRecord

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CatchUpStats:
    """What one catch-up read."""

    records: int = 0
    stored: int = 0
    deleted: int = 0
    skipped: int = 0
    #: Partition and offset of the first record that is not a token mapping, if any.
    first_skipped: tuple[int, int] | None = None

    def add(self, applied: ApplyStats, records: int) -> None:
        self.records += records
        self.stored += applied.stored
        self.deleted += applied.deleted
        self.skipped += applied.skipped
        self.first_skipped = self.first_skipped or applied.first_skipped


class TokenTopicReader:
    """Reads ``index.topic`` from ``bootstrap_servers`` into ``index``.

    ``client_options`` go to aiokafka's consumer (security settings, say).
    """

    #: Empty polls in a row after which a catch-up ends even if the end offsets the broker
    #: reported were not reached (brokers can report them ahead of readable records, or
    #: behind: a catch-up always polls once more past them).
    max_empty_polls = 3

    def __init__(
        self,
        index: TokenIndex,
        bootstrap_servers: str,
        *,
        poll_interval: float = 0.5,
        **client_options: Any,
    ) -> None:
        self.index = index
        self.topic = index.topic
        self.bootstrap_servers = bootstrap_servers
        self.poll_interval = poll_interval
        self._client_options = client_options
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._lock = asyncio.Lock()
        self._caught_up = asyncio.Condition()
        self.caught_up_at = float("-inf")

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
            auto_offset_reset="earliest",
            **self._client_options,
        )
        try:
            await consumer.start()
        except KafkaError as exc:
            await consumer.stop()
            raise TopicUnavailableError(
                f"cannot connect to Kafka at {self.bootstrap_servers} ({type(exc).__name__}); "
                "check --bootstrap-servers (STREAMER_BOOTSTRAP_SERVERS)"
            ) from None
        self._consumer = consumer

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def __aenter__(self) -> TokenTopicReader:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def topic_exists(self) -> bool:
        """Whether the last catch-up found the topic (``False`` before the first)."""
        return bool(self._partitions)

    async def _assign(self) -> bool:
        """Assign the topic's partitions (new ones too); ``False`` if it does not exist."""
        assert self._consumer is not None, "call start() first"
        await self._consumer.topics()  # refreshes metadata
        partitions = self._consumer.partitions_for_topic(self.topic)
        if not partitions:
            return False
        wanted = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        if wanted == self._partitions:
            return True
        stored = self.index.positions()
        beginnings = await self._consumer.beginning_offsets(wanted)
        # Exact ends: a listed end short of the last record batch would look like a
        # recreated topic and make every run read the whole partition again.
        ends = await log_ends(self._consumer, wanted)
        starts = {}
        for tp in wanted:
            position = stored.get(tp.partition)
            if position is not None and position > ends[tp]:
                log.info(
                    "token topic partition ends before where the index stopped (recreated, or "
                    "the broker reports its end late); reading it again from the beginning",
                    extra={"topic": self.topic, "partition": tp.partition},
                )
                self.index.reset_partition(tp.partition)
                position = None
            starts[tp] = (
                beginnings[tp] if position is None or position < beginnings[tp] else position
            )
        # Assign and seek with nothing awaited between, so no fetch starts at a default offset.
        self._consumer.assign(wanted)
        for tp, start in starts.items():
            self._consumer.seek(tp, start)
        self._partitions = wanted
        return True

    async def catch_up(self, *, require_topic: bool = True) -> CatchUpStats:
        """Read every partition up to its end offset as of now; returns what was read."""
        async with self._lock:
            stats = CatchUpStats()
            try:
                if not await self._assign():
                    if require_topic:
                        raise ConfigurationError(
                            f"token topic {self.topic!r} does not exist on "
                            f"{self.bootstrap_servers}; check --token-topic "
                            "(STREAMER_TOKEN_TOPIC) and --bootstrap-servers"
                        )
                    return stats
                await self._drain(stats)
                if stats.first_skipped is not None:
                    partition, offset = stats.first_skipped
                    log.warning(
                        "skipped %d record(s) of token topic %r that are not token mappings "
                        "for their key (the first at partition %d, offset %d); is it the "
                        "token topic the pipeline writes (the topology's outputs.tokens)?",
                        stats.skipped, self.topic, partition, offset,
                    )  # fmt: skip
            except KafkaError as exc:
                raise TopicUnavailableError(
                    f"reading token topic {self.topic!r} failed ({type(exc).__name__}); "
                    "check the broker at --bootstrap-servers"
                ) from None
        async with self._caught_up:
            self.caught_up_at = time.monotonic()
            self._caught_up.notify_all()
        return stats

    async def _drain(self, stats: CatchUpStats) -> None:
        consumer = self._consumer
        assert consumer is not None
        ends = await consumer.end_offsets(self._partitions)
        empty_polls = 0
        while empty_polls < self.max_empty_polls:
            behind = [tp for tp in self._partitions if await consumer.position(tp) < ends[tp]]
            if not behind and empty_polls:
                return  # at the reported ends, and one more poll found nothing past them
            batches = await consumer.getmany(
                *(behind or self._partitions), timeout_ms=500 if behind else 200, max_records=5000
            )
            records = [
                TopicRecord(message.partition, message.offset, message.key, message.value)
                for messages in batches.values()
                for message in messages
            ]
            if not records:
                empty_polls += 1
                continue
            empty_polls = 0
            positions = {tp.partition: await consumer.position(tp) for tp in batches}
            stats.add(self.index.apply(records, positions), len(records))

    async def follow(self) -> None:
        """Keep the index caught up until cancelled; read errors are retried, and logged
        when reading starts failing and when it works again (not on every retry)."""
        failing = False
        while True:
            try:
                await self.catch_up(require_topic=False)
            except TopicUnavailableError as exc:
                if not failing:
                    log.warning("%s; retrying until it can be read", exc)
                failing = True
            else:
                if failing:
                    log.warning("token topic %r can be read again", self.topic)
                failing = False
            await asyncio.sleep(self.poll_interval)

    async def wait_caught_up(self, since: float, timeout: float) -> bool:
        """Wait until a catch-up finished after ``since`` (a ``time.monotonic()``)."""
        async with self._caught_up:
            try:
                await asyncio.wait_for(
                    self._caught_up.wait_for(lambda: self.caught_up_at > since), timeout
                )
            except TimeoutError:
                return False
        return True
