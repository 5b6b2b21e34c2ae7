"""The commit protocol: offsets only after acknowledgement, never backwards, never past a gap.

The committer here records what it is asked to commit (the real ones talk to Kafka and
are exercised by the integration tests); futures stand in for producer deliveries.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import NodeNotReadyError

from streamer.stream.checkpoint import CommitCheckpoint
from streamer.stream.exceptions import CheckpointError

TP = TopicPartition("raw", 0)
OTHER = TopicPartition("raw", 1)


class RecordingCommitter:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def make_checkpoint(**options: object) -> tuple[CommitCheckpoint, RecordingCommitter]:
    committer = RecordingCommitter()
    checkpoint = CommitCheckpoint(committer, **options)  # type: ignore[arg-type]
    checkpoint.assign(TP)
    checkpoint.assign(OTHER)
    return checkpoint, committer


def delivery() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


async def test_when_a_later_batch_is_acked_first_then_nothing_is_committed_past_the_gap() -> None:
    checkpoint, committer = make_checkpoint()
    first = checkpoint.open(TP, 0, 100, 100, 1000)
    second = checkpoint.open(TP, 100, 200, 100, 1000)
    first_delivery, second_delivery = delivery(), delivery()
    checkpoint.seal(first, [first_delivery])
    checkpoint.seal(second, [second_delivery])

    second_delivery.set_result(None)
    await asyncio.sleep(0)
    assert checkpoint.committable() == {}
    assert await checkpoint.commit() == {}
    assert committer.commits == []

    first_delivery.set_result(None)
    await asyncio.sleep(0)
    assert checkpoint.committable() == {TP: 200}
    assert await checkpoint.commit() == {TP: 200}
    assert committer.commits == [{TP: 200}]
    assert checkpoint.committed == {TP: 200}
    # Nothing new: nothing is sent again.
    assert await checkpoint.commit() == {}


async def test_a_batch_is_acked_only_when_every_delivery_succeeded() -> None:
    checkpoint, _ = make_checkpoint()
    ticket = checkpoint.open(TP, 0, 10, 10, 100)
    clean, token, dead_letter = delivery(), delivery(), delivery()
    checkpoint.seal(ticket, [clean, token, dead_letter])
    clean.set_result(None)
    token.set_result(None)
    await asyncio.sleep(0)
    assert not ticket.acked
    assert checkpoint.committable() == {}
    dead_letter.set_result(None)
    await asyncio.sleep(0)
    assert ticket.acked
    assert checkpoint.committable() == {TP: 10}


async def test_a_batch_without_records_to_publish_is_acked_at_once() -> None:
    checkpoint, _ = make_checkpoint()
    acked = []
    ticket = checkpoint.open(TP, 5, 6, 1, 0)
    ticket.on_acked.append(acked.append)
    checkpoint.seal(ticket, [])
    assert acked == [ticket]
    assert checkpoint.committable() == {TP: 6}


async def test_partitions_advance_independently() -> None:
    checkpoint, _ = make_checkpoint()
    slow = checkpoint.open(TP, 0, 10, 10, 100)
    fast = checkpoint.open(OTHER, 0, 50, 50, 500)
    slow_delivery = delivery()
    checkpoint.seal(slow, [slow_delivery])
    checkpoint.seal(fast, [])
    assert checkpoint.committable() == {OTHER: 50}


async def test_offsets_going_backwards_within_a_partition_are_refused() -> None:
    checkpoint, _ = make_checkpoint()
    checkpoint.open(TP, 100, 200, 100, 1000)
    with pytest.raises(CheckpointError, match="went backwards"):
        checkpoint.open(TP, 150, 250, 100, 1000)
    with pytest.raises(CheckpointError, match="empty or inverted"):
        checkpoint.open(TP, 300, 300, 0, 0)


async def test_gaps_forward_are_allowed_compaction_and_transaction_markers() -> None:
    checkpoint, _ = make_checkpoint()
    checkpoint.seal(checkpoint.open(TP, 0, 10, 10, 100), [])
    checkpoint.seal(checkpoint.open(TP, 25, 30, 5, 50), [])
    assert checkpoint.committable() == {TP: 30}


async def test_a_partition_not_assigned_cannot_open_batches() -> None:
    checkpoint, _ = make_checkpoint()
    with pytest.raises(CheckpointError, match="not assigned"):
        checkpoint.open(TopicPartition("raw", 7), 0, 1, 1, 1)


async def test_after_a_delivery_failure_nothing_more_is_committed() -> None:
    failures: list[BaseException] = []
    checkpoint, committer = make_checkpoint(on_failure=failures.append)
    failing = checkpoint.open(TP, 0, 10, 10, 100)
    later = checkpoint.open(OTHER, 0, 10, 10, 100)
    broken = delivery()
    checkpoint.seal(failing, [broken])
    broken.set_exception(RuntimeError("broker said no"))
    await asyncio.sleep(0)
    checkpoint.seal(later, [])
    assert len(failures) == 1
    assert checkpoint.failed is not None
    assert checkpoint.committable() == {}
    assert await checkpoint.commit() == {}
    assert committer.commits == []


async def test_a_delivery_failure_is_logged_as_one_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The broker going away fails deliveries with aiokafka's NodeNotReadyError: an
    ordinary event, logged with its type and reason; it was logged with aiokafka's whole
    traceback. Another error's message (it could hold record data) is not logged."""
    checkpoint, _ = make_checkpoint()
    failing = checkpoint.open(TP, 0, 10, 10, 100)
    broken = delivery()
    checkpoint.seal(failing, [broken])
    reason = "Attempt to send a request to node which is not ready (node id 111)"
    with caplog.at_level(logging.ERROR, logger="streamer.stream.checkpoint"):
        broken.set_exception(NodeNotReadyError(f"{reason}."))
        await asyncio.sleep(0)
    [record] = caplog.records
    assert record.exc_info is None
    assert record.getMessage() == (
        f"a record was not acknowledged (NodeNotReadyError: {reason}); committing stops"
    )

    checkpoint, _ = make_checkpoint()
    failing = checkpoint.open(TP, 0, 10, 10, 100)
    broken = delivery()
    checkpoint.seal(failing, [broken])
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="streamer.stream.checkpoint"):
        broken.set_exception(ValueError("jane.doe@example.com"))
        await asyncio.sleep(0)
    assert "jane.doe@example.com" not in caplog.text
    assert caplog.records[0].exc_info is None


async def test_a_forgotten_partition_is_never_committed_even_when_its_work_finishes() -> None:
    checkpoint, committer = make_checkpoint()
    ticket = checkpoint.open(TP, 0, 10, 10, 100)
    pending = delivery()
    checkpoint.seal(ticket, [pending])
    checkpoint.forget(TP)
    pending.set_result(None)
    await asyncio.sleep(0)
    assert await checkpoint.commit() == {}
    assert committer.commits == []
    assert TP not in checkpoint.assigned


async def test_drain_waits_for_open_batches_and_times_out_when_they_do_not_finish() -> None:
    checkpoint, _ = make_checkpoint()
    ticket = checkpoint.open(TP, 0, 10, 10, 100)
    pending = delivery()
    checkpoint.seal(ticket, [pending])
    assert not await checkpoint.drain([TP], timeout=0.05)
    asyncio.get_running_loop().call_later(0.05, pending.set_result, None)
    assert await checkpoint.drain([TP], timeout=5)
    assert checkpoint.open_batches() == 0


async def test_reassignment_starts_a_partition_afresh() -> None:
    checkpoint, committer = make_checkpoint()
    checkpoint.seal(checkpoint.open(TP, 0, 100, 100, 1), [])
    await checkpoint.commit()
    checkpoint.forget(TP)
    checkpoint.assign(TP)
    # The new owner's position can be anywhere, even before what this instance saw.
    checkpoint.seal(checkpoint.open(TP, 40, 60, 20, 1), [])
    assert await checkpoint.commit() == {TP: 60}
    assert committer.commits[-1] == {TP: 60}


async def test_transactional_commit_waits_for_published_batches_and_blocks_publishing() -> None:
    checkpoint, committer = make_checkpoint(transactional=True)
    ticket = checkpoint.open(TP, 0, 10, 10, 100)
    pending = delivery()
    async with checkpoint.publishing():
        checkpoint.seal(ticket, [pending])
    commit = asyncio.create_task(checkpoint.commit())
    await asyncio.sleep(0.01)
    assert not commit.done()  # waiting for the delivery of what is in the transaction
    published_during_commit = asyncio.create_task(_publish(checkpoint))
    await asyncio.sleep(0.01)
    assert not published_during_commit.done()  # publishing waits for the commit
    pending.set_result(None)
    assert await commit == {TP: 10}
    await published_during_commit
    assert committer.commits == [{TP: 10}]


async def _publish(checkpoint: CommitCheckpoint) -> None:
    async with checkpoint.publishing():
        pass


async def test_the_protocol_steps_are_documented_in_order() -> None:
    doc = CommitCheckpoint.__doc__ or ""
    steps = ["**open**", "**seal**", "**acknowledge**", "**advance**", "**commit**", "**revoke**"]
    positions = [doc.index(step) for step in steps]
    assert positions == sorted(positions)


class RecordingTransactionalProducer:
    """Stands in for a transactional producer: no broker here supports transactions."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    async def begin_transaction(self) -> None:
        self.calls.append(("begin", None))

    async def send_offsets_to_transaction(self, offsets: object, group_id: str) -> None:
        self.calls.append(("offsets", (offsets, group_id)))

    async def commit_transaction(self) -> None:
        self.calls.append(("commit", None))


async def test_a_transaction_commits_offsets_with_the_records_then_begins_the_next() -> None:
    from streamer.stream.checkpoint import TransactionCommitter

    producer = RecordingTransactionalProducer()
    committer = TransactionCommitter(producer, "group-a")
    await committer.begin()
    checkpoint = CommitCheckpoint(committer, transactional=True)
    checkpoint.assign(TP)
    ticket = checkpoint.open(TP, 0, 5, 5, 50)
    async with checkpoint.publishing():
        checkpoint.seal(ticket, [])
    assert await checkpoint.commit() == {TP: 5}
    kinds = [kind for kind, _ in producer.calls]
    assert kinds == ["begin", "offsets", "commit", "begin"]
    offsets, group = producer.calls[1][1]  # type: ignore[misc]
    assert group == "group-a"
    assert {tp: meta.offset for tp, meta in offsets.items()} == {TP: 5}
    # An interval with nothing new still ends the transaction (records may be in it).
    assert await checkpoint.commit() == {}
    assert [kind for kind, _ in producer.calls][4:] == ["commit", "begin"]
