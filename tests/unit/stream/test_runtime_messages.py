"""What the runtime tells the user to do about records that were not committed: a
restart for ``streamer run``, ``--resume`` for a replay (its ``--restart`` discards the
saved progress).

Kafka failing a delivery cannot be arranged quickly with a real broker (the producer
gives up after its 40 s request timeout), so the tests hand the runtime the error the
checkpoint reports then, aiokafka's own, as the checkpoint does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka.errors import NodeNotReadyError

from streamer.broker import free_port
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.stream.exceptions import ProduceError
from streamer.stream.ranges import PartitionRange
from streamer.stream.replay import ReplayRuntime
from streamer.stream.replay_state import DiscardingCommitter

TOPOLOGY = Topology(name="orders", inputs=["orders"])


def settings(tmp_path: Path) -> StreamerSettings:
    return StreamerSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", data_dir=tmp_path)


def failure(runtime: StreamRuntime) -> ProduceError:
    runtime._fail(NodeNotReadyError("Attempt to send a request to node which is not ready"))
    error = runtime._failure
    assert isinstance(error, ProduceError)
    assert error.exit_code == 4
    return error


def test_a_record_not_acknowledged_in_run_is_processed_again_by_a_restart(
    tmp_path: Path,
) -> None:
    runtime = StreamRuntime(TOPOLOGY, settings(tmp_path), detectors=PATTERN_DETECTOR_NAMES)
    assert str(failure(runtime)) == (
        "a record was not acknowledged by Kafka (NodeNotReadyError); nothing after it is "
        "committed, so a restart processes it again"
    )


@pytest.mark.parametrize("replay_id", ["orders-to-orders.v2", None])
def test_a_record_not_acknowledged_in_a_replay_is_processed_again_by_resuming_it(
    replay_id: str | None, tmp_path: Path
) -> None:
    runtime = ReplayRuntime(
        TOPOLOGY, settings(tmp_path), [PartitionRange(0, 0, 10)],
        committer=DiscardingCommitter(), input_partitions=1, replay_id=replay_id,
        detectors=PATTERN_DETECTOR_NAMES,
    )  # fmt: skip
    message = str(failure(runtime))
    assert "restart" not in message
    named = f", replay id {replay_id}" if replay_id else ""
    assert message.endswith(
        f"so resuming the replay (the same command with --resume{named}) processes it again"
    )
