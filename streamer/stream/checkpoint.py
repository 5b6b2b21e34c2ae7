"""The commit protocol: offsets are committed only after everything made from them is
acknowledged by Kafka. One object, :class:`CommitCheckpoint`, owns it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from streamer.stream.exceptions import CheckpointError

log = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class BatchTicket:
    """One batch of records of one partition, from fetch to acknowledgement.

    ``first`` is the offset of its first record, ``next_offset`` one past its last
    record: what gets committed once this batch and every batch before it are acked.
    """

    tp: TopicPartition
    first: int
    next_offset: int
    records: int
    size: int
    pending: int = -1  # delivery futures not yet done; -1 until sealed
    acked: bool = False
    on_acked: list[Callable[[BatchTicket], None]] = field(default_factory=list)


class OffsetCommitter(Protocol):
    """Where committed offsets go: the consumer group, or a producer transaction."""

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...


class ConsumerGroupCommitter:
    """At-least-once: commit to the consumer group."""

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await self._consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})


class TransactionCommitter:
    """Exactly-once: the offsets join the producer's open transaction, which commits the
    clean, token and dead-letter records with them; a new transaction begins."""

    def __init__(self, producer: Any, group_id: str) -> None:
        self._producer = producer
        self._group_id = group_id

    async def begin(self) -> None:
        await self._producer.begin_transaction()

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if offsets:
            await self._producer.send_offsets_to_transaction(
                {tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()}, self._group_id
            )
        await self._producer.commit_transaction()
        await self._producer.begin_transaction()


class CommitCheckpoint:
    """The at-least-once commit protocol. Its steps, in order:

    1. **open**: a fetched batch of one partition is opened (:meth:`open`) before it is
       handed to a worker. Batches of a partition open in offset order; an offset going
       backwards is refused, because everything below relies on offsets only growing.
    2. **seal**: once its clean, token and dead-letter records are handed to the
       producer, the batch is sealed with their delivery futures (:meth:`seal`). In
       exactly-once mode this happens under :meth:`publishing`, so no record enters a
       transaction while it commits.
    3. **acknowledge**: when every delivery future has succeeded, the batch is acked.
       A failed delivery is fatal (``on_failure``): nothing after it is ever committed,
       and a restart processes those records again.
    4. **advance**: a partition's committable offset moves over the longest run of acked
       batches from its oldest open one; it never passes a batch that is not acked.
    5. **commit**: :meth:`commit` sends the committable offsets that moved forward, for
       assigned partitions only, to the committer (the consumer group, or the producer
       transaction after all published records are acked). Offsets going backwards are
       refused.
    6. **revoke**: on rebalance, :meth:`drain` waits (bounded) for a partition's open
       batches, :meth:`commit` commits what is acked, then :meth:`forget` drops it. Work
       still in flight for it may be published again by the new owner; it is never
       committed here, so nothing is committed past what was produced.
    """

    def __init__(
        self,
        committer: OffsetCommitter,
        *,
        on_failure: Callable[[BaseException], None] | None = None,
        transactional: bool = False,
    ) -> None:
        self._committer = committer
        self._on_failure = on_failure
        self._open: dict[TopicPartition, deque[BatchTicket]] = {}
        self._next_open: dict[TopicPartition, int] = {}
        self._committable: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._changed = asyncio.Event()
        self._failed: BaseException | None = None
        self._transactional = transactional
        self._publish_lock = asyncio.Lock() if transactional else None
        self._commit_lock = asyncio.Lock()

    # --- partitions --------------------------------------------------------------------

    def assign(self, tp: TopicPartition) -> None:
        """Start tracking ``tp`` (after a rebalance); its first batch may start anywhere."""
        self._open.setdefault(tp, deque())

    def forget(self, tp: TopicPartition) -> None:
        """Stop tracking ``tp``: revoked. Its open batches are never committed here."""
        self._open.pop(tp, None)
        self._next_open.pop(tp, None)
        self._committable.pop(tp, None)
        self._committed.pop(tp, None)

    @property
    def assigned(self) -> set[TopicPartition]:
        return set(self._open)

    # --- step 1: open ------------------------------------------------------------------

    def open(
        self, tp: TopicPartition, first: int, next_offset: int, records: int, size: int
    ) -> BatchTicket:
        """Track a fetched batch ``[first, next_offset)`` of ``tp``."""
        queue = self._open.get(tp)
        if queue is None:
            raise CheckpointError(f"batch opened for {_name(tp)}, which is not assigned")
        expected = self._next_open.get(tp)
        if expected is not None and first < expected:
            raise CheckpointError(
                f"offsets of {_name(tp)} went backwards: batch starts at {first}, "
                f"previous batch ended before {expected}"
            )
        if next_offset <= first:
            raise CheckpointError(
                f"empty or inverted batch [{first}, {next_offset}) on {_name(tp)}"
            )
        ticket = BatchTicket(tp, first, next_offset, records, size)
        queue.append(ticket)
        self._next_open[tp] = next_offset
        return ticket

    # --- step 2: seal ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def publishing(self) -> AsyncIterator[None]:
        """Hold while handing records to the producer; commits wait for it (exactly-once)."""
        if self._publish_lock is None:
            yield
            return
        async with self._publish_lock:
            yield

    def seal(self, ticket: BatchTicket, deliveries: Iterable[asyncio.Future[Any]]) -> None:
        """The batch's records are with the producer; ack it when ``deliveries`` succeed."""
        futures = list(deliveries)
        ticket.pending = len(futures)
        if not futures:
            self._ack(ticket)
            return

        def delivered(future: asyncio.Future[Any]) -> None:
            if future.cancelled() or future.exception() is not None:
                error = asyncio.CancelledError() if future.cancelled() else future.exception()
                self._fail(error or RuntimeError("delivery failed"))
                return
            ticket.pending -= 1
            if ticket.pending == 0:
                self._ack(ticket)

        for future in futures:
            future.add_done_callback(delivered)

    # --- steps 3 and 4: acknowledge and advance -----------------------------------------

    def _ack(self, ticket: BatchTicket) -> None:
        if self._failed is not None:
            return
        ticket.acked = True
        queue = self._open.get(ticket.tp)
        if queue is not None and ticket in queue:
            while queue and queue[0].acked:
                done = queue.popleft()
                self._committable[done.tp] = done.next_offset
        for callback in ticket.on_acked:
            callback(ticket)
        self._changed.set()

    def _fail(self, error: BaseException) -> None:
        if self._failed is None:
            self._failed = error
            # The cause in one line, not aiokafka's traceback: the broker going away is
            # an ordinary event, and the pipeline's own error line says what to do.
            log.error(
                f"a record was not acknowledged ({_reason(error)}); committing stops",
                extra={"error": type(error).__name__},
            )
            if self._on_failure is not None:
                self._on_failure(error)
        self._changed.set()

    @property
    def failed(self) -> BaseException | None:
        return self._failed

    def committable(self) -> dict[TopicPartition, int]:
        """Offsets that may be committed now and are ahead of what was committed."""
        if self._failed is not None:
            return {}
        return {
            tp: offset
            for tp, offset in self._committable.items()
            if tp in self._open and offset > self._committed.get(tp, -1)
        }

    @property
    def committed(self) -> dict[TopicPartition, int]:
        """The offsets this instance committed, per partition it holds."""
        return dict(self._committed)

    def open_batches(self, tps: Iterable[TopicPartition] | None = None) -> int:
        selected = self._open if tps is None else {tp: self._open.get(tp, ()) for tp in tps}
        return sum(len(queue) for queue in selected.values())

    # --- step 5: commit ----------------------------------------------------------------

    async def commit(self) -> dict[TopicPartition, int]:
        """Commit every committable offset; returns what was committed."""
        async with self._commit_lock:
            if self._transactional:
                assert self._publish_lock is not None
                async with self._publish_lock:
                    await self._wait_sealed_acked()
                    return await self._commit_now(allow_empty=True)
            return await self._commit_now(allow_empty=False)

    async def _wait_sealed_acked(self) -> None:
        # Every published batch must be acked before its transaction commits.
        while self._failed is None and any(
            ticket.pending > 0 for queue in self._open.values() for ticket in queue
        ):
            self._changed.clear()
            await self._changed.wait()

    async def _commit_now(self, *, allow_empty: bool) -> dict[TopicPartition, int]:
        if self._failed is not None:
            return {}
        offsets = self.committable()
        for tp, offset in offsets.items():
            if offset < self._committed.get(tp, -1):
                raise CheckpointError(
                    f"refusing to commit offset {offset} for {_name(tp)}: "
                    f"{self._committed[tp]} is already committed"
                )
        if not offsets and not allow_empty:
            return {}
        await self._committer.commit(offsets)
        for tp, offset in offsets.items():
            if tp in self._open:
                self._committed[tp] = offset
        return offsets

    # --- step 6: drain -----------------------------------------------------------------

    async def drain(self, tps: Iterable[TopicPartition] | None, timeout: float) -> bool:
        """Wait until ``tps`` (all, when ``None``) have no open batch; False on timeout."""
        selected = list(self._open) if tps is None else list(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._failed is None and self.open_batches(selected):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self._failed is None


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}[{tp.partition}]"


def _reason(error: BaseException) -> str:
    """The error's type and, for Kafka's own errors (they name brokers and partitions,
    never record data), the first line of its message."""
    name = type(error).__name__
    text = str(error).strip() if isinstance(error, KafkaError) else ""
    text = text.splitlines()[0].removeprefix(name).removeprefix(":").strip(" .") if text else ""
    return f"{name}: {text}" if text else name
