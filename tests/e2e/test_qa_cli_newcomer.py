"""``streamer produce | tail | topics | run`` as a new user types them, with topologies,
variables and events of their own (QA pass)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from streamer.testing.cli import cli_environment, start_streamer, streamer, tail_json
from streamer.testing.kafka import produce_values

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
        ("replay", "--input-topic", "orders.raw", "--from-offset", "0", "--dry-run"),
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


def _run_until(
    tmp_path: Path, bootstrap: str, topology: Path, clean_topic: str, count: int
) -> list[dict[str, Any]]:
    """``streamer topics`` and ``streamer run --topology`` until ``count`` clean records
    are out; them, as ``tail --json`` prints them. The run must stop on SIGTERM with exit
    code 0."""
    created = streamer("topics", "--bootstrap-servers", bootstrap, "--topology", str(topology),
                       data_dir=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr.decode()
    runner = start_streamer("run", "--bootstrap-servers", bootstrap, "--topology",
                            str(topology), "--workers", "1", "--log-format", "json",
                            data_dir=tmp_path, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        clean = tail_json(bootstrap, clean_topic, "--follow", "--limit", str(count),
                          data_dir=tmp_path)  # fmt: skip
        runner.send_signal(signal.SIGTERM)
        _, stderr = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
    assert runner.returncode == 0, stderr.decode()[-2000:]
    return clean


def test_tenants_in_headers_that_are_not_utf8_keep_scopes_of_their_own(
    tmp_path: Path, bootstrap: str
) -> None:
    # Both tenant ids were read as '\ufffd1': one scope, one set of keys and the same
    # token for the same value, so shredding one tenant shredded the other.
    topology = tmp_path / "scoped.yaml"
    topology.write_text("name: scoped\ninputs: [scoped.raw]\nkey_scope: {header: tenant}\n")
    same = b'{"email": "same.person@example.com"}'
    tenants = [[("tenant", b"\xff1")], [("tenant", b"\xfe1")]]
    asyncio.run(produce_values(bootstrap, "scoped.raw", [same, same], headers=tenants))
    clean = _run_until(tmp_path, bootstrap, topology, "scoped.clean", 2)
    assert len({record["value"]["email"] for record in clean}) == 2
    mappings = tail_json(bootstrap, "scoped.tokens", data_dir=tmp_path)
    assert sorted(m["value"]["scope"] for m in mappings) == ["\\xfe1", "\\xff1"]


def test_produce_in_a_script_writes_only_its_summary_to_stderr(
    tmp_path: Path, bootstrap: str
) -> None:
    # Off a terminal, the (invisible) progress bar left an empty line before the summary.
    streamer("topics", "--bootstrap-servers", bootstrap, "--input-topic", "quiet.raw",
             data_dir=tmp_path)  # fmt: skip
    run = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "quiet.raw",
                   data_dir=tmp_path, stdin=b'{"n": 1}\n{"n": 2}\n')  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    assert run.stderr == b"produced 2 records (18 bytes) to quiet.raw\n"


def test_tail_prints_json_scalars_as_json_and_says_what_a_tombstone_is(
    tmp_path: Path, bootstrap: str
) -> None:
    # A tombstone and a JSON null both printed as Python's "None", true as "True".
    asyncio.run(produce_values(bootstrap, "scalars", [b"true", b"null", None, b"1.5"],
                               keys=[b"a", b"a", b"a", b"a"]))  # fmt: skip
    run = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "scalars",
                   data_dir=tmp_path, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    values = run.stdout.splitlines()[1::3]  # a heading, the value, an empty line
    assert values == ["true", "null", "(no value: a tombstone)", "1.5"]


def test_run_and_replay_help_say_the_topology_sets_the_format_and_limits_a_flag_overrides(
    tmp_path: Path,
) -> None:
    # The help gave json, 20000, 64 MiB, 500 and the CPU count as the defaults, though a
    # topology's format: text or limits: apply when the flag is not given.
    helped = streamer("run", "--help", data_dir=tmp_path, text=True).stdout
    assert "Input event format: json or text. [default: the topology's; else json]" in helped
    for default in ("20000", "64 MiB", "500", "1048576", "CPU count"):
        assert f"[default: the topology's; else {default}]" in helped
    # replay reads the same topology limits and had run's old wording for them
    replay_help = streamer("replay", "--help", data_dir=tmp_path, text=True).stdout
    assert "Input event format: json or text. [default: the topology's; else json]" in replay_help
    assert "dead letters (too_large). [default: the topology's; else 1048576]" in replay_help
    assert "Worker processes for detection. [default: the topology's; else CPU count]" in (
        replay_help
    )


@pytest.mark.parametrize(
    ("command", "joined"),
    [
        (("replay",), "It reads with its own assignment (nothing is committed to a group)"),
        (("keys", "rotate"), "tokens do not change. Running processes pick the new key up"),
    ],
)
def test_help_paragraphs_wrap_to_the_terminal_not_to_the_source(
    tmp_path: Path, command: tuple[str, ...], joined: str
) -> None:
    # Was: typer kept the docstrings' line breaks, so in an 80-column terminal every
    # paragraph alternated a wrapped line and a one-word line ("own", "with", "prints").
    helped = streamer(*command, "--help", data_dir=tmp_path, text=True).stdout
    assert any(joined in line for line in helped.splitlines()), helped


@pytest.mark.parametrize("host", ["no-such-host.invalid", "192.0.2.1"])
def test_broker_on_an_address_not_of_this_machine_is_one_line(tmp_path: Path, host: str) -> None:
    # Was a traceback (socket.gaierror, or OSError 'Cannot assign requested address'),
    # then a second one from EmbeddedBroker.__del__.
    run = streamer("broker", "--host", host, data_dir=tmp_path, timeout=60)
    assert run.returncode == 1
    lines = _error_lines(run.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: cannot listen on {host} (")
    assert "pass --host with an IPv4 address of this machine" in lines[0]


def test_tail_prints_brackets_and_escape_sequences_of_records_as_text(
    tmp_path: Path, bootstrap: str
) -> None:
    # A header or key holding '[/...]' (a path in brackets) stopped tail with rich's
    # MarkupError traceback; '[bold]' in one was taken as a style and vanished; escape
    # sequences in a value reached the terminal (retitle it, clear it).
    headers = [[("route", b"[/api/v1]"), ("x", b"[bold]b[/bold]")]]
    value = b"plain \x1b]0;pwned\x07 \x1b[2J text"
    key = b"[/tenant]"
    asyncio.run(produce_values(bootstrap, "brackets", [value], keys=[key], headers=headers))
    run = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "brackets",
                   data_dir=tmp_path, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "key '[/tenant]'" in lines[0]
    assert lines[1:4] == [
        "  route: [/api/v1]",
        "  x: [bold]b[/bold]",
        "plain \\x1b]0;pwned\\x07 \\x1b[2J text",
    ]


def test_run_takes_a_group_id_with_brackets(tmp_path: Path) -> None:
    # The start banner read the group id as rich markup: '[/x]' stopped run with a
    # MarkupError traceback before it started.
    from streamer.broker import free_port

    run = streamer("run", "--bootstrap-servers", f"127.0.0.1:{free_port()}", "--input-topic",
                   "orders.raw", "--group-id", "[/ops]orders", data_dir=tmp_path, text=True,
                   timeout=90)  # fmt: skip
    assert run.returncode == 4, run.stderr[-2000:]
    assert "group [/ops]orders; Ctrl-C to stop" in run.stderr
    assert "Traceback" not in run.stderr


def test_keys_commands_print_a_scope_with_brackets_as_written(tmp_path: Path) -> None:
    # A scope is any tenant header or field value a producer sent; keys list, create,
    # rotate and shred read '[/tenant]' as rich markup and stopped with a traceback.
    scope = "[/tenant]"
    for command, printed in [
        (("keys", "create", scope), f"{scope}: active key k"),
        (("keys", "list"), f"│ {scope} "),
        (("keys", "rotate", scope), f"{scope}: k"),
        (("keys", "shred", scope, "--yes"), f"{scope}: shredded"),
    ]:
        run = streamer(*command, data_dir=tmp_path, text=True)
        assert run.returncode == 0, run.stderr[-2000:]
        assert printed in run.stdout, run.stdout


def test_topics_without_inputs_says_which_input_is_missing(tmp_path: Path, bootstrap: str) -> None:
    # --no-inputs created the outputs and said nothing of the input it did not create, so
    # a producer's later one, with other partitions, broke the partition-for-partition copy.
    run = streamer("topics", "--bootstrap-servers", bootstrap, "--input-topic", "later.raw",
                   "--no-inputs", data_dir=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    said = " ".join(run.stderr.decode().split())
    assert "input topic 'later.raw' does not exist; create it with 6 partitions" in said


def test_topics_help_says_where_partitions_and_replicas_are_set() -> None:
    # `streamer topics --partitions 12` is "No such option"; the help did not say where
    # the count and the replication factor come from.
    shown = streamer("topics", "--help", env={"PATH": os.environ.get("PATH", ""),
                                              "COLUMNS": "200"}, timeout=60)  # fmt: skip
    assert shown.returncode == 0
    text = " ".join(shown.stdout.decode().split())
    assert "topics.partitions" in text and "topics.replication_factor" in text
