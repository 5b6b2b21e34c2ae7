"""A replay's saved progress: the state file, its committer, and the per-id lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka import TopicPartition

from streamer.stream.exceptions import ReplayStateError
from streamer.stream.ranges import PartitionRange
from streamer.stream.replay_state import (
    ReplayProgressCommitter,
    ReplayState,
    ReplayStateStore,
    check_replay_id,
    default_replay_id,
)


def state(**fields: object) -> ReplayState:
    values: dict[str, object] = {
        "replay_id": "orders-v2",
        "input_topic": "orders.raw",
        "output_topic": "orders.clean.v2",
        "token_topic": "orders.tokens",
        "dlq_topic": "orders.dlq",
        "policy_version": "2",
        "policy_sha256": "ab" * 32,
        "ranges": {0: (100, 200), 1: (0, 50), 2: (7, 7)},
        "asked": "--from-offset 0",
    }
    values.update(fields)
    return ReplayState(**values)  # type: ignore[arg-type]


def test_the_state_file_round_trips_and_is_replaced_whole(tmp_path: Path) -> None:
    store = ReplayStateStore(tmp_path / "replays")
    saved = state(next_offsets={0: 150})
    store.save(saved)
    loaded = store.load("orders-v2")
    assert loaded is not None
    assert loaded.ranges == saved.ranges
    assert loaded.next_offsets == {0: 150, 1: 0, 2: 7}
    assert loaded.policy_sha256 == saved.policy_sha256
    assert [p.name for p in (tmp_path / "replays").iterdir()] == ["orders-v2.json"]
    assert store.known() == ["orders-v2"]
    assert store.load("other") is None


def test_what_is_left_and_done(tmp_path: Path) -> None:
    saved = state(next_offsets={0: 150, 1: 50})
    assert saved.remaining() == [PartitionRange(0, 150, 200)]
    assert (saved.done, saved.total) == (100, 150)
    saved.status = "completed"
    assert saved.done == 150


async def test_the_committer_saves_acknowledged_offsets_never_backwards(tmp_path: Path) -> None:
    store = ReplayStateStore(tmp_path)
    saved = state()
    committer = ReplayProgressCommitter(store, saved)
    await committer.commit({TopicPartition("orders.raw", 0): 180})
    await committer.commit({TopicPartition("orders.raw", 0): 160})
    loaded = store.load("orders-v2")
    assert loaded is not None and loaded.next_offsets[0] == 180


def test_a_damaged_state_file_says_how_to_start_over(tmp_path: Path) -> None:
    (tmp_path / "orders-v2.json").write_text('{"schema_version": 1, "replay_id": ')
    with pytest.raises(ReplayStateError, match=r"damaged .* --restart"):
        ReplayStateStore(tmp_path).load("orders-v2")


def test_one_process_at_a_time_per_replay_id(tmp_path: Path) -> None:
    store = ReplayStateStore(tmp_path)
    with store.lock("orders-v2"):
        with (
            pytest.raises(ReplayStateError, match="running in another process"),
            store.lock("orders-v2"),
        ):
            pass
        with store.lock("another"):
            pass
    with store.lock("orders-v2"):
        pass


def test_replay_ids_are_file_names() -> None:
    assert check_replay_id("orders.raw-to-orders.clean_v2") == "orders.raw-to-orders.clean_v2"
    for bad in ("../etc", "a/b", "", ".", "x" * 201, "with space"):
        with pytest.raises(ReplayStateError, match="--replay-id"):
            check_replay_id(bad)
    assert default_replay_id("orders.raw", "orders.clean.v2") == "orders.raw-to-orders.clean.v2"
    long = default_replay_id("r" * 249, "c" * 249)
    assert len(long) <= 200 and check_replay_id(long) == long
    assert long != default_replay_id("r" * 249, "c" * 248 + "d")
