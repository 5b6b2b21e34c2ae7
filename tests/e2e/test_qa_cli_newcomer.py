"""``streamer produce | tail | topics | run`` as a new user types them, with topologies,
variables and events of their own (QA pass)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.testing.cli import streamer

pytestmark = pytest.mark.e2e


def _error_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if line.strip()]


def test_produce_to_a_topic_name_kafka_refuses_is_one_line_and_exit_2(
    tmp_path: Path, bootstrap: str
) -> None:
    # Was: about 400 lines of "'orders raw' is not a valid topic name" from aiokafka's
    # retries, a warning that the broker would create the topic, then exit 1 blaming
    # the topic's existence.
    run = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "orders raw",
                   data_dir=tmp_path, stdin=b'{"id": 1}\n')  # fmt: skip
    assert run.returncode == 2
    assert _error_lines(run.stderr) == [
        "error: --topic 'orders raw': not a valid Kafka topic name; use 1 to 249 letters, "
        "digits, '.', '_' or '-'"
    ]
    tail = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "orders/raw",
                    data_dir=tmp_path)  # fmt: skip
    assert tail.returncode == 2
    assert "'orders/raw': not a valid Kafka topic name" in tail.stderr.decode()
