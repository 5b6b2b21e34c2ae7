"""``streamer run`` configured as a new user configures it: flags, ``STREAMER_*``
variables and topology values that cannot work together stop it at start with one line
naming the setting and the fix, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.testing.cli import cli_environment, streamer

pytestmark = pytest.mark.e2e

NOWHERE = "127.0.0.1:1"  # a connection attempt would fail with exit code 4, not 2


def test_exactly_once_with_acks_1_is_one_line_naming_both_settings(tmp_path: Path) -> None:
    # aiokafka's transactional producer refuses acks=1 with a ValueError: the run created
    # its topics, then logged a traceback and exited 1.
    env = cli_environment(tmp_path, STREAMER_ACKS="1", STREAMER_BOOTSTRAP_SERVERS=NOWHERE)
    run = streamer("run", "--input-topic", "orders", "--exactly-once", "--workers", "1",
                   env=env, text=True)  # fmt: skip
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --exactly-once"), run.stderr
    assert "STREAMER_ACKS" in lines[0] and "--at-least-once" in lines[0]


def test_a_metrics_host_not_of_this_machine_names_the_host_setting(tmp_path: Path) -> None:
    # It said "choose another --metrics-port", whatever port was given.
    run = streamer("run", "--bootstrap-servers", NOWHERE, "--input-topic", "orders",
                   "--metrics-port", "0", "--metrics-host", "192.0.2.1", "--workers", "1",
                   data_dir=tmp_path, text=True)  # fmt: skip
    assert run.returncode == 2, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot serve metrics on 192.0.2.1:0"), run.stderr
    assert "--metrics-host (STREAMER_METRICS_HOST)" in last and "--metrics-port" not in last


def test_a_keys_topic_that_is_the_input_topic_stops_run_before_it_reads(tmp_path: Path) -> None:
    # The key store's records were consumed as events and their redacted copies published
    # to the clean topic.
    env = cli_environment(
        tmp_path, STREAMER_KEYS_TOPIC="orders", STREAMER_BOOTSTRAP_SERVERS=NOWHERE
    )
    run = streamer("run", "--input-topic", "orders", "--workers", "1", env=env, text=True)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines == [
        "error: STREAMER_KEYS_TOPIC: 'orders' is also an input topic of the default topology; "
        "the keys topic holds only the key store's records, so give it a topic of its own "
        "(like pii.keys)"
    ], run.stderr


def test_sasl_against_a_listener_without_it_names_the_protocol_and_mechanism_tried(
    tmp_path: Path, bootstrap: str
) -> None:
    # The embedded broker's listener takes no SASL: aiokafka logs the refused mechanism
    # and raises a bare connection error, and the one line said only "cannot reach Kafka
    # ... and the security settings", as for a broker that is down.
    env = cli_environment(tmp_path, STREAMER_SASL_PASSWORD="not-a-real-password")
    run = streamer("run", "--bootstrap-servers", bootstrap, "--input-topic", "orders",
                   "--security-protocol", "SASL_PLAINTEXT", "--sasl-mechanism", "SCRAM-SHA-256",
                   "--sasl-username", "etl", "--workers", "1", env=env, text=True)  # fmt: skip
    assert run.returncode == 4, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"error: cannot reach Kafka at {bootstrap} over SASL_PLAINTEXT with SASL mechanism "
        "SCRAM-SHA-256 ("
    ), run.stderr
    assert "--security-protocol, --sasl-mechanism" in last
    assert "not-a-real-password" not in run.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # json's own "Expecting value: line 1 column 2 (char 1)" was all it said.
        ("[orders,refunds]", "starts with '[' but is not a JSON list"),
        # It named STREAMER_INPUT_TOPIC_0, a variable that does not exist.
        ("[1]", "Input should be a valid string"),
    ],
)
def test_an_input_topic_list_variable_that_is_not_a_list_of_names_says_how_to_write_it(
    tmp_path: Path, value: str, expected: str
) -> None:
    env = cli_environment(tmp_path, STREAMER_INPUT_TOPIC=value, STREAMER_BOOTSTRAP_SERVERS=NOWHERE)
    run = streamer("run", "--workers", "1", env=env, text=True)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: invalid setting: --input-topic (STREAMER_INPUT_TOPIC): ")
    assert expected in lines[0]


def test_an_output_flag_naming_the_input_topic_is_refused_naming_the_flag(tmp_path: Path) -> None:
    # A user who gave only flags read "the default topology: outputs.tokens: ...", a
    # setting of a file they never wrote.
    run = streamer("run", "--bootstrap-servers", NOWHERE, "--input-topic", "orders",
                   "--token-topic", "orders", "--workers", "1",
                   data_dir=tmp_path, text=True)  # fmt: skip
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "outputs.tokens (--token-topic): topic 'orders' is also an input" in lines[0]
    assert "--input-topic" in lines[0]
