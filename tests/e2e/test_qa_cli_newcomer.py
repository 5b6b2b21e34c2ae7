"""``streamer produce | tail | topics | run`` as a new user types them, with topologies,
variables and events of their own (QA pass)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.testing.cli import cli_environment, streamer

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


@pytest.mark.parametrize(
    "command",
    [
        ("produce", "--topic", "orders.raw"),
        ("tail", "--topic", "orders.clean"),
        ("topics", "--input-topic", "orders.raw"),
        ("status", "--group-id", "pii-streamer.orders"),
    ],
)
def test_a_tool_without_a_broker_prints_only_its_error_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # aiokafka's own "Unable connect to ..." log record was printed above the error line.
    from streamer.broker import free_port

    run = streamer(*command, "--bootstrap-servers", f"127.0.0.1:{free_port()}",
                   data_dir=tmp_path, stdin=b'{"id": 1}\n')  # fmt: skip
    assert run.returncode == 4
    lines = _error_lines(run.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: cannot reach Kafka at 127.0.0.1:")


def test_blank_streamer_variables_are_unset_as_for_every_setting(
    tmp_path: Path, bootstrap: str
) -> None:
    # A compose or .env file with `STREAMER_INPUT_TOPIC=` (a variable templated from an
    # unset one) stopped with "Input should be a valid list"; STREAMER_TOKEN_TOPIC= and
    # STREAMER_WORKERS= likewise, while a blank STREAMER_OUTPUT_TOPIC= was taken as unset.
    topology = tmp_path / "orders.yaml"
    topology.write_text("name: orders\ninputs: [blank.orders.raw]\n"
                        "outputs: {tokens: blank.orders.mappings}\n")  # fmt: skip
    blank = {name: "" for name in ("STREAMER_INPUT_TOPIC", "STREAMER_TOKEN_TOPIC",
                                    "STREAMER_WORKERS", "STREAMER_OUTPUT_TOPIC")}  # fmt: skip
    environment = cli_environment(tmp_path, STREAMER_BOOTSTRAP_SERVERS=bootstrap, **blank)
    run = streamer("topics", "--topology", str(topology), env=environment)
    assert run.returncode == 0, run.stderr.decode()
    created = run.stdout.decode()
    for topic in ("blank.orders.raw", "blank.orders.clean", "blank.orders.mappings"):
        assert topic in created
