"""``streamer broker | topics | produce | run | tail | demo`` as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamer.samples import support_tickets
from streamer.testing import CANARY_TEXT, find_canaries
from streamer.testing.cli import (
    REPOSITORY_ROOT,
    STREAMER_COMMAND,
    cli_environment,
    start_streamer,
    streamer,
    tail_json,
)

pytestmark = pytest.mark.e2e


def test_broker_topics_produce_run_tail_as_a_user_would(tmp_path: Path) -> None:
    broker = subprocess.Popen(
        [*STREAMER_COMMAND, "broker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_environment(tmp_path),
        start_new_session=True,
    )
    runner: subprocess.Popen[bytes] | None = None
    try:
        assert broker.stdout is not None
        address = broker.stdout.readline().decode().strip()
        assert address.startswith("127.0.0.1:")
        topology = "topologies/support-tickets.yaml"

        created = streamer(
            "topics", "--bootstrap-servers", address, "--topology", topology, data_dir=tmp_path
        )
        assert created.returncode == 0, created.stderr.decode()
        table = created.stdout.decode()
        assert "support.tickets.tokens" in table and "cleanup.policy=compact" in table
        assert "created" in table

        events = [orjson.dumps(e) for e in support_tickets(400, customers=50)]
        events[10] = orjson.dumps({"ticket_id": "T-canary", "message": CANARY_TEXT})
        events[20] = b"{this is not json"
        lines = tmp_path / "tickets.jsonl"
        lines.write_bytes(b"\n".join(events) + b"\n\n")
        produced = streamer(
            "produce", "--bootstrap-servers", address, "--topic", "support.tickets.raw",
            "--key-field", "customer.id", str(lines), data_dir=tmp_path,
        )  # fmt: skip
        assert produced.returncode == 0, produced.stderr.decode()
        assert "produced 400 records" in produced.stderr.decode()

        runner = start_streamer("run", "--bootstrap-servers", address, "--topology", topology,
                                "--workers", "1", "--log-format", "json",
                                data_dir=tmp_path)  # fmt: skip
        tailed = streamer(
            "tail", "--bootstrap-servers", address, "--topic", "support.tickets.clean",
            "--json", "--follow", "--limit", "399", data_dir=tmp_path, timeout=90,
        )  # fmt: skip
        assert tailed.returncode == 0, tailed.stderr.decode()
        records = [orjson.loads(line) for line in tailed.stdout.decode().splitlines()]
        assert len(records) == 399
        assert find_canaries(tailed.stdout) == []
        # A ticket (the canary event has no customer and no key, so it may come first).
        first = next(record for record in records if "customer" in record["value"])
        assert first["headers"]["pii.policy.version"] == "2026-01-15"
        assert first["headers"]["pii.source.topic"] == "support.tickets.raw"
        assert first["value"]["customer"]["name"].startswith("[PERSON_")
        assert first["key"].startswith("C")

        runner.send_signal(signal.SIGTERM)
        _, stderr = runner.communicate(timeout=60)
        assert runner.returncode == 0, stderr.decode()[-2000:]
        assert b"stopped: " in stderr
        assert find_canaries(stderr) == []

        dead = streamer(
            "tail", "--bootstrap-servers", address, "--topic", "support.tickets.dlq", "--json",
            data_dir=tmp_path,
        )  # fmt: skip
        [letter] = [orjson.loads(line) for line in dead.stdout.decode().splitlines()]
        assert letter["value"]["reason"] == "invalid_event"
        assert letter["headers"]["pii.dlq.reason"] == "invalid_event"

        pretty = streamer(
            "tail", "--bootstrap-servers", address, "--topic", "support.tickets.tokens",
            "--limit", "2", data_dir=tmp_path,
        )  # fmt: skip
        assert pretty.returncode == 0
        assert "support.tickets.tokens partition" in pretty.stdout.decode()
        assert "ciphertext" in pretty.stdout.decode()
    finally:
        if runner is not None and runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.communicate()
        broker.send_signal(signal.SIGTERM)
        try:
            _, broker_err = broker.communicate(timeout=15)
            assert broker.returncode == 0, broker_err.decode()
        finally:
            if broker.poll() is None:
                os.killpg(broker.pid, signal.SIGKILL)
                broker.communicate()


def test_an_invalid_topology_fails_at_start_with_the_file_the_path_and_why(
    tmp_path: Path, bootstrap: str
) -> None:
    fixture = "tests/fixtures/topologies/bad_action.yaml"
    run = streamer("run", "--bootstrap-servers", bootstrap, "--topology", fixture,
                   data_dir=tmp_path)  # fmt: skip
    assert run.returncode == 2
    message = run.stderr.decode()
    assert fixture in message
    assert "policy.entities.CREDIT_CARD.action" in message
    assert "Traceback" not in message


def test_run_without_an_input_topic_says_which_flag_to_pass(tmp_path: Path) -> None:
    run = streamer("run", "--bootstrap-servers", "127.0.0.1:9", data_dir=tmp_path)
    assert run.returncode == 2
    assert "--input-topic" in run.stderr.decode()


def test_run_without_a_broker_fails_clearly(tmp_path: Path) -> None:
    from streamer.broker import free_port

    started = time.monotonic()
    run = streamer(
        "run", "--bootstrap-servers", f"127.0.0.1:{free_port()}", "--input-topic", "orders",
        "--workers", "1", data_dir=tmp_path, timeout=90,
    )  # fmt: skip
    assert run.returncode == 4
    assert "cannot reach Kafka" in run.stderr.decode()
    assert "Traceback" not in run.stderr.decode()
    assert time.monotonic() - started < 80


def test_run_with_a_data_dir_it_cannot_write_says_which_setting_to_change(
    tmp_path: Path, bootstrap: str
) -> None:
    data_dir = tmp_path / "state"
    data_dir.write_text("")  # a file, not a directory: fails for root too
    run = streamer(
        "run", "--bootstrap-servers", bootstrap, "--input-topic", "unwritable.raw",
        "--workers", "1", data_dir=data_dir, timeout=90,
    )  # fmt: skip
    stderr = run.stderr.decode()
    assert run.returncode == 2, stderr
    assert "cannot be created" in stderr and "STREAMER_DATA_DIR" in stderr
    assert "Traceback" not in stderr


def test_broker_on_a_port_in_use_fails_instead_of_reporting_the_other_listener(
    tmp_path: Path, bootstrap: str
) -> None:
    port = bootstrap.rsplit(":", 1)[1]
    run = streamer("broker", "--port", port, data_dir=tmp_path, timeout=60)
    assert run.returncode != 0
    assert "in use" in run.stderr.decode()
    assert bootstrap not in run.stdout.decode()  # no address a user would export


def test_exactly_once_against_the_embedded_broker_is_refused_not_hung(
    tmp_path: Path, bootstrap: str
) -> None:
    run = streamer(
        "run", "--bootstrap-servers", bootstrap, "--input-topic", "eos.raw", "--exactly-once",
        "--workers", "1", data_dir=tmp_path, timeout=90,
    )  # fmt: skip
    assert run.returncode == 2
    assert "needs a Kafka broker with transactions" in run.stderr.decode()


def test_tail_of_a_missing_topic_says_so(tmp_path: Path, bootstrap: str) -> None:
    run = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "no.such.topic",
                   data_dir=tmp_path)  # fmt: skip
    assert run.returncode == 1
    assert "does not exist" in run.stderr.decode()


def test_tail_prints_json_nested_too_deep_to_pretty_print_as_text(
    tmp_path: Path, bootstrap: str
) -> None:
    deep = b'{"a":' * 600 + b"1" + b"}" * 600
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "tail.deep",
                        data_dir=tmp_path, stdin=deep + b'\n{"shallow": true}\n')  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    for extra in ([], ["--json"]):
        run = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "tail.deep",
                       *extra, data_dir=tmp_path)  # fmt: skip
        assert run.returncode == 0, run.stderr.decode()[-500:]
        assert "Traceback" not in run.stderr.decode()
        assert run.stdout.count(b"{") >= 600 and b"shallow" in run.stdout
    values = [orjson.loads(line)["value"] for line in run.stdout.splitlines()]
    assert sorted(values, key=str) == [deep.decode(), {"shallow": True}]


def test_demo_runs_the_whole_pipeline_and_cleans_up(tmp_path: Path) -> None:
    started = time.monotonic()
    run = streamer("demo", "--events", "300", data_dir=tmp_path)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    out = run.stdout.decode()
    assert "before" in out and "after" in out
    assert "entities replaced" in out and "EMAIL_ADDRESS" in out
    assert "300 events -> 300 clean records" in out
    assert "events/s" in out
    befores = [line for line in out.splitlines() if line.startswith("before")]
    afters = [line for line in out.splitlines() if line.startswith("after")]
    for before, after in zip(befores, afters, strict=True):
        email = orjson.loads(before.split(" ", 1)[1])["customer"]["email"]
        assert email not in after
    assert time.monotonic() - started < 60


def test_demo_with_a_stale_bootstrap_variable_names_the_variable(tmp_path: Path) -> None:
    """After the README's `export STREAMER_BOOTSTRAP_SERVERS=...` and a stopped broker,
    the demo uses that address: its error must say where it came from."""
    from streamer.broker import free_port

    address = f"127.0.0.1:{free_port()}"
    environment = cli_environment(tmp_path, STREAMER_BOOTSTRAP_SERVERS=address)
    run = streamer("demo", "--events", "10", env=environment, timeout=90)
    error = run.stderr.decode()
    assert run.returncode == 4
    assert f"broker at {address} (--bootstrap-servers / STREAMER_BOOTSTRAP_SERVERS)" in error
    assert f"cannot reach Kafka at {address}" in error
    assert "check --bootstrap-servers (STREAMER_BOOTSTRAP_SERVERS)" in error


def test_produce_keys_by_a_numeric_field_and_counts_records_left_without_a_key(
    tmp_path: Path, bootstrap: str
) -> None:
    lines = b'{"id": 42}\n{"id": "C-7"}\n{"id": 4.5}\n{"id": null}\n{"other": 1}\nnot json\n'
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "keys.numeric",
                        "--key-field", "id", data_dir=tmp_path, stdin=lines)  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    assert "3 record(s) without a key: --key-field id" in produced.stderr.decode()
    tailed = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "keys.numeric",
                      "--json", data_dir=tmp_path)  # fmt: skip
    keys = sorted(str(orjson.loads(line)["key"]) for line in tailed.stdout.splitlines())
    assert keys == ["4.5", "42", "C-7", "None", "None", "None"]


def test_produce_to_a_missing_topic_warns_that_the_broker_creates_it(
    tmp_path: Path, bootstrap: str
) -> None:
    first = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "typo.ordres",
                     data_dir=tmp_path, stdin=b'{"n": 1}\n')  # fmt: skip
    assert first.returncode == 0, first.stderr.decode()
    assert "topic typo.ordres does not exist" in first.stderr.decode()
    assert "produced 1 record (" in first.stderr.decode()
    again = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "typo.ordres",
                     data_dir=tmp_path, stdin=b'{"n": 2}\n')  # fmt: skip
    assert again.returncode == 0 and "does not exist" not in again.stderr.decode()
    tailed = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "typo.ordres",
                      "--json", data_dir=tmp_path)  # fmt: skip
    assert sorted(orjson.loads(line)["value"]["n"] for line in tailed.stdout.splitlines()) == [1, 2]


def test_produce_expands_a_glob_the_shell_left_alone(tmp_path: Path, bootstrap: str) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "a.jsonl").write_bytes(b'{"n": 1}\n{"n": 2}\n')
    (events / "b.jsonl").write_bytes(b'{"n": 3}\n')
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "globbed",
                        str(events / "*.jsonl"), data_dir=tmp_path)  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    assert "produced 3 records" in produced.stderr.decode()
    nothing = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "globbed",
                       str(events / "*.json"), data_dir=tmp_path)  # fmt: skip
    assert nothing.returncode == 2
    assert f"no file matches {events / '*.json'}" in nothing.stderr.decode()


def test_produce_from_a_terminal_says_it_reads_standard_input(
    tmp_path: Path, bootstrap: str
) -> None:
    import pty

    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [*STREAMER_COMMAND, "produce", "--bootstrap-servers", bootstrap, "--topic", "typed"],
        stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_environment(tmp_path), cwd=REPOSITORY_ROOT,
    ) as typing:  # fmt: skip
        os.close(terminal)
        os.write(controller, b'{"typed": 1}\n\x04')  # a line, then Ctrl-D
        _, error = typing.communicate(timeout=60)
    os.close(controller)
    assert typing.returncode == 0, error.decode()
    assert "reading JSON lines from standard input; Ctrl-D ends" in error.decode()
    assert "produced 1 record (" in error.decode()


def test_produce_drops_a_byte_order_mark_from_the_start_of_each_file(
    tmp_path: Path, bootstrap: str
) -> None:
    # A file saved by a Windows editor starts with a UTF-8 BOM and has CRLF line ends: the
    # first event was sent with the BOM in front, so it lost its key and was not JSON.
    (tmp_path / "first.jsonl").write_bytes(b'\xef\xbb\xbf{"id": "a1"}\r\n{"id": "a2"}\r\n')
    (tmp_path / "second.jsonl").write_bytes(b'\xef\xbb\xbf{"id": "b1"}\n')
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "with.bom",
                        "--key-field", "id", str(tmp_path / "first.jsonl"),
                        str(tmp_path / "second.jsonl"), data_dir=tmp_path)  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    assert "without a key" not in produced.stderr.decode()
    records = tail_json(bootstrap, "with.bom", data_dir=tmp_path)
    assert sorted((r["key"], r["value"]["id"]) for r in records) == [
        ("a1", "a1"), ("a2", "a2"), ("b1", "b1")
    ]  # fmt: skip


def test_produce_names_the_line_too_large_for_one_kafka_request(
    tmp_path: Path, bootstrap: str
) -> None:
    huge = orjson.dumps({"message": "x" * 1_100_000})
    lines = b'{"n": 1}\n' + huge + b'\n{"n": 3}\n'
    (tmp_path / "events.jsonl").write_bytes(lines)
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "too.large",
                        str(tmp_path / "events.jsonl"), data_dir=tmp_path)  # fmt: skip
    error = produced.stderr.decode()
    assert produced.returncode == 1
    assert f"line 2 of {tmp_path / 'events.jsonl'} is {len(huge):,} bytes" in error
    assert "1 record(s) before it were produced" in error
    assert "check the topic exists" not in error


def test_produce_and_tail_without_a_broker_say_so_in_one_line(tmp_path: Path) -> None:
    from streamer.broker import free_port

    address = f"127.0.0.1:{free_port()}"
    for command in (["produce", "--topic", "t"], ["tail", "--topic", "t"]):
        run = streamer(*command, "--bootstrap-servers", address, data_dir=tmp_path,
                       stdin=b'{"n": 1}\n')  # fmt: skip
        assert run.returncode == 4
        assert "cannot reach Kafka" in run.stderr.decode()
        assert "Unclosed" not in run.stderr.decode()


def test_a_bootstrap_port_out_of_range_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    run = streamer("tail", "--topic", "t", "--bootstrap-servers", "127.0.0.1:99999",
                   data_dir=tmp_path, timeout=30)  # fmt: skip
    error = run.stderr.decode()
    assert run.returncode == 2
    assert "Traceback" not in error
    assert "bootstrap server '127.0.0.1:99999'" in error and "--bootstrap-servers" in error


def test_produce_help_names_the_samples_extra(tmp_path: Path) -> None:
    run = streamer("produce", "--help", data_dir=tmp_path)
    assert "pii-streamer[samples]" in run.stdout.decode()


def test_the_readme_streaming_steps_work_when_pasted(tmp_path: Path, bootstrap: str) -> None:
    readme = (REPOSITORY_ROOT / "README.md").read_text()
    section = readme[readme.index("## Streaming with Kafka") :]
    block = section[section.index("```bash") + len("```bash") : section.index("```\n", 10)]
    commands = [line.split("#")[0].split() for line in block.splitlines()]
    steps = [c[1:] for c in commands if c and c[0] == "streamer" and c[1] not in ("broker", "run")]
    assert [step[0] for step in steps] == ["topics", "produce", "tail"]
    for step in steps:
        done = streamer(*step, "--bootstrap-servers", bootstrap, data_dir=tmp_path)
        assert done.returncode == 0, f"streamer {' '.join(step)}: {done.stderr.decode()}"


def test_a_signal_while_the_models_load_stops_without_finishing_the_start(
    tmp_path: Path, bootstrap: str
) -> None:
    """SIGTERM while the workers load the NER model (seconds, with the default detectors):
    nothing is in flight yet, so it stops there, exit 0, instead of first finishing the
    start-up and joining the group."""
    runner = start_streamer("run", "--bootstrap-servers", bootstrap, "--input-topic",
                            "starting.raw", "--workers", "1", "--log-format", "json",
                            data_dir=tmp_path, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        assert runner.stderr is not None
        banner = runner.stderr.readline().decode()  # printed before anything starts
        assert "starting.raw" in banner
        time.sleep(0.3)  # making the output topics, or the worker loading the model
        runner.send_signal(signal.SIGTERM)
        _, rest = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
    output = rest.decode()
    assert runner.returncode == 0, output[-2000:]
    assert "SIGTERM received while starting; stopping" in output
    assert "pipeline started" not in output
    assert "Traceback" not in output


def test_tail_last_shows_the_last_records_of_each_partition(tmp_path: Path, bootstrap: str) -> None:
    # --limit stops after the first N; a user of tail -n wants the last ones. Enough
    # records that the embedded broker under-reports the end offsets.
    lines = b"".join(orjson.dumps({"n": n}) + b"\n" for n in range(1500))
    produced = streamer("produce", "--bootstrap-servers", bootstrap, "--topic", "tail.last",
                        data_dir=tmp_path, stdin=lines)  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    everything = tail_json(bootstrap, "tail.last", data_dir=tmp_path)
    assert len(everything) == 1500
    by_partition: dict[int, list[dict[str, Any]]] = {}
    for record in everything:
        by_partition.setdefault(record["partition"], []).append(record)
    expected = sorted(
        (record["partition"], record["offset"], record["value"]["n"])
        for records in by_partition.values()
        for record in sorted(records, key=lambda r: r["offset"])[-3:]
    )
    last = tail_json(bootstrap, "tail.last", "--last", "3", data_dir=tmp_path)
    assert sorted((r["partition"], r["offset"], r["value"]["n"]) for r in last) == expected
    both = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", "tail.last",
                    "--last", "3", "--from-end", data_dir=tmp_path)  # fmt: skip
    assert both.returncode == 2 and "--last" in both.stderr.decode()
