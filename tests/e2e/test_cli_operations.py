"""Operating ``streamer run`` as a user would: ``--metrics-port`` scraped during a run on the
embedded broker, counters checked against what was produced, ``/readyz`` after the
partitions are assigned, JSON logs and metrics without personal data, ``streamer status``
on the running group."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import orjson
import pytest
import yaml

from streamer.broker import free_port
from streamer.observability.scrape import parse_metrics
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.stream.tools import produce_values
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries
from streamer.testing.cli import (
    REPOSITORY_ROOT,
    cli_environment,
    start_streamer,
    streamer,
)

pytestmark = pytest.mark.e2e

DASHBOARD = REPOSITORY_ROOT / "deploy/grafana/dashboards/pii-streamer.json"


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def test_metrics_during_a_run_match_what_was_produced_and_status_reads_the_group(
    tmp_path: Path, bootstrap: str
) -> None:
    topology = tmp_path / "topology.yaml"
    topology.write_text(
        yaml.safe_dump(
            {
                "name": "ops",
                "inputs": ["ops.raw"],
                "group_id": "ops-group",
                "policy": {"detectors": list(PATTERN_DETECTOR_NAMES)},
                "limits": {"max_record_bytes": 4096, "batch_records": 50},
                "topics": {"partitions": 3},
            }
        )
    )
    created = streamer(
        "topics", "--bootstrap-servers", bootstrap, "--topology", str(topology),
        data_dir=tmp_path, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr.decode()

    events = [orjson.dumps(e) for e in support_tickets(300, customers=40)]
    events += [orjson.dumps({"ticket_id": f"C-{i}", "message": CANARY_TEXT}) for i in range(5)]
    poison = {
        b'{"message": "unterminated ' + CANARIES["US_SSN"].encode(): "invalid_event",
        b'{"message": "bad \xff ' + CANARIES["EMAIL_ADDRESS"].encode() + b'"}': "invalid_event",
        orjson.dumps({"message": CANARY_TEXT + " " + "z" * 5000}): "too_large",
    }
    values = [*events, *poison]
    asyncio.run(
        produce_values(
            StreamerSettings(bootstrap_servers=bootstrap),
            "ops.raw",
            values,
            keys=[f"k{i % 11}".encode() for i in range(len(values))],
        )
    )

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runner = start_streamer("run", "--bootstrap-servers", bootstrap, "--topology",
                            str(topology), "--workers", "1", "--log-format", "json",
                            "--metrics-port", str(port), "--metrics-host", "127.0.0.1",
                            data_dir=tmp_path)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        ready_seen = False
        body = ""
        while time.monotonic() < deadline:
            assert runner.poll() is None, runner.communicate()[1].decode()[-2000:]
            status, _ = http_get(f"{base}/readyz")
            ready_seen = ready_seen or status == 200
            status, body = http_get(f"{base}/metrics")
            if status == 200:
                assert find_canaries(body) == []
                metrics = parse_metrics(body)
                if metrics.total("streamer_events_processed_total") >= len(values):
                    break
            time.sleep(0.3)
        else:
            pytest.fail("the run did not process every record in time")
        assert ready_seen, "/readyz never answered 200"
        assert http_get(f"{base}/healthz")[0] == 200

        reasons = Counter(poison.values())
        dead = sum(reasons.values())
        assert metrics.total("streamer_events_consumed_total", topic="ops.raw") == len(values)
        assert metrics.total("streamer_events_processed_total", topic="ops.raw") == len(values)
        assert metrics.total("streamer_events_produced_total", topic="ops.clean") == (
            len(values) - dead
        )
        assert metrics.total("streamer_events_produced_total", topic="ops.dlq") == dead
        assert metrics.by("streamer_dead_letters_total", "reason") == {
            reason: float(count) for reason, count in reasons.items()
        }
        entities = metrics.by("streamer_entities_detected_total", "entity_type")
        for entity_type in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN"):
            assert entities.get(entity_type, 0) > 0, entity_type
        assert metrics.total("streamer_assigned_partitions") == 3
        assert {labels["partition"] for labels, _ in metrics.series("streamer_consumer_lag")} <= {
            "0", "1", "2"
        }  # fmt: skip
        assert metrics.total("streamer_workers_alive") == 1

        # Every metric the Grafana dashboard queries is one this run exports.
        exported = set(re.findall(r"^# TYPE (\S+)", body, re.MULTILINE))
        queried = {
            name
            for panel in json.loads(DASHBOARD.read_text())["panels"]
            for target in panel["targets"]
            for name in re.findall(r"\bstreamer_[a-z_]+", target["expr"])
        }
        series = re.compile(r"_(bucket|sum|count)$")
        missing = {n for n in queried if n not in exported and series.sub("", n) not in exported}
        assert not missing, f"the dashboard queries metrics the run does not export: {missing}"

        # streamer status on the running group, for scripts and for people.
        report = streamer(
            "status", "--bootstrap-servers", bootstrap, "--topology", str(topology),
            "--metrics-url", base, "--window", "1", "--json", data_dir=tmp_path, timeout=60,
        )  # fmt: skip
        assert report.returncode == 0, report.stderr.decode()
        document = orjson.loads(report.stdout)
        assert document["group_id"] == "ops-group"
        assert document["end_offsets_from"] == "broker"
        assert [(p["topic"], p["partition"]) for p in document["partitions"]] == [
            ("ops.raw", 0), ("ops.raw", 1), ("ops.raw", 2)
        ]  # fmt: skip
        assert sum(p["committed"] or 0 for p in document["partitions"]) == len(values)
        assert document["throughput_per_second"] is not None
        [processor] = document["processors"]
        assert processor["reachable"] and processor["ready"] and processor["failing"] == []
        assert processor["assigned_partitions"] == 3
        assert document["breakers"] == {}  # no cloud detector in this pipeline

        table = streamer(
            "status", "--bootstrap-servers", bootstrap, "--group-id", "ops-group",
            "--input-topic", "ops.raw", "--window", "0", data_dir=tmp_path, timeout=60,
        )  # fmt: skip
        assert table.returncode == 0, table.stderr.decode()
        text = table.stdout.decode()
        assert "group ops-group" in text and "ops.raw" in text
        assert "end offsets as the broker reports them" in text
        assert "cloud breakers: n/a" in text

        runner.send_signal(signal.SIGTERM)
        _, stderr = runner.communicate(timeout=60)
        assert runner.returncode == 0, stderr.decode()[-2000:]
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.communicate()

    # Logs: JSON lines, through the redacting filter, with no canary anywhere.
    assert find_canaries(stderr) == []
    lines = [orjson.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    assert any(line["message"] == f"serving /metrics, /healthz and /readyz on port {port}"
               for line in lines)  # fmt: skip
    assert {line["level"] for line in lines} <= {"debug", "info", "warning", "error"}


def test_status_of_a_topic_that_does_not_exist_says_so(tmp_path: Path, bootstrap: str) -> None:
    run = streamer(
        "status", "--bootstrap-servers", bootstrap, "--group-id", "nobody",
        "--input-topic", "no.such.topic", "--window", "0", data_dir=tmp_path, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1
    assert "topic 'no.such.topic' does not exist" in run.stderr.decode()
    assert "Traceback" not in run.stderr.decode()


def test_status_in_an_80_column_terminal_shows_whole_topic_names(
    tmp_path: Path, bootstrap: str
) -> None:
    # Was: the table's topic column was cut to "support.ti…" in 80 columns.
    topic = "support.tickets.raw.eu-west"
    settings = StreamerSettings(bootstrap_servers=bootstrap)
    asyncio.run(produce_values(settings, topic, [b'{"n": 1}']))
    env = cli_environment(tmp_path, COLUMNS="80")
    run = streamer("status", "--bootstrap-servers", bootstrap, "--group-id", "nobody",
                   "--input-topic", topic, "--window", "0", env=env, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    text = run.stdout.decode()
    assert f"{topic} partitions" in text and "…" not in text, text


def test_status_without_a_pipeline_names_the_flags(tmp_path: Path) -> None:
    run = streamer("status", "--bootstrap-servers", "127.0.0.1:9", data_dir=tmp_path, timeout=60)
    assert run.returncode == 2
    assert "--group-id" in run.stderr.decode()


def test_a_metrics_port_in_use_fails_at_start_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = streamer(
            "run", "--bootstrap-servers", "127.0.0.1:9", "--input-topic", "orders",
            "--metrics-port", str(port), "--metrics-host", "127.0.0.1", "--workers", "1",
            data_dir=tmp_path, timeout=60,
        )  # fmt: skip
    assert run.returncode == 2
    message = run.stderr.decode()
    assert f"cannot serve metrics on 127.0.0.1:{port}" in message
    assert "--metrics-port" in message and "Traceback" not in message


def test_a_bad_log_level_is_refused(tmp_path: Path) -> None:
    run = streamer(
        "run", "--input-topic", "orders", "--log-level", "LOUD", data_dir=tmp_path, timeout=60
    )
    assert run.returncode == 2
    assert "--log-level" in run.stderr.decode()


def test_the_log_flags_are_variables_too_as_run_help_says(tmp_path: Path) -> None:
    """`streamer run --help`: "Every flag is also a STREAMER_* variable"; STREAMER_LOG_LEVEL
    and STREAMER_LOG_FORMAT were ignored (a deployment setting them got INFO and JSON)."""
    for variable in ("STREAMER_LOG_LEVEL", "STREAMER_LOG_FORMAT"):
        run = streamer(
            "run", "--input-topic", "orders",
            env=cli_environment(tmp_path, **{variable: "LOUD"}), timeout=60,
        )  # fmt: skip
        assert run.returncode == 2, run.stderr.decode()
        assert variable in run.stderr.decode()


def test_an_invalid_setting_names_its_flag_and_its_variable(tmp_path: Path) -> None:
    run = streamer(
        "run", "--input-topic", "orders", "--workers", "0", data_dir=tmp_path, timeout=60
    )
    assert run.returncode == 2
    message = run.stderr.decode()
    assert "invalid setting: --workers (STREAMER_WORKERS): Input should be greater than 0" in (
        message
    )
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("variable", "value", "example"),
    [("STREAMER_NER_MODELS", "en_core_web_sm", '{"key": "value"}'),
     ("STREAMER_DEFAULT_REGIONS", "US,GB", '["A", "B"]')],
)  # fmt: skip
def test_a_variable_that_is_not_json_is_one_line_naming_it(
    tmp_path: Path, variable: str, value: str, example: str
) -> None:
    # pydantic-settings' SettingsError went through as a traceback of 60 lines.
    run = streamer(
        "redact", "--text", stdin=b"hello\n",
        env=cli_environment(tmp_path, **{variable: value}),
    )  # fmt: skip
    assert run.returncode == 2
    message = run.stderr.decode()
    assert f"invalid setting: {variable}: not valid JSON" in message and example in message
    assert "Traceback" not in message and len(message.splitlines()) == 1


def test_status_counts_the_lag_of_every_record_in_the_topic(tmp_path: Path, bootstrap: str) -> None:
    # The embedded broker's ListOffsets answers with the start of a partition's last
    # record batch: a group that had read nothing was shown "lag 1 records" over 500.
    topic = "lagging.raw"
    settings = StreamerSettings(bootstrap_servers=bootstrap)
    asyncio.run(produce_values(settings, topic, [b'{"n": %d}' % n for n in range(500)]))
    run = streamer("status", "--bootstrap-servers", bootstrap, "--group-id", "nobody",
                   "--input-topic", topic, "--window", "0", "--json", data_dir=tmp_path,
                   timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    document = orjson.loads(run.stdout)
    assert sum(p["end_offset"] for p in document["partitions"]) == 500
    assert document["lag"] == 500
