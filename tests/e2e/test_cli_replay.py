"""``streamer replay`` as a user runs it: help, a replay, a dry run, one-line errors, and
a replay killed with SIGKILL then resumed (at least once, copies byte-identical)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.testing import CANARY_TEXT, find_canaries
from streamer.testing.cli import REPOSITORY_ROOT, STREAMER_COMMAND, cli_environment, streamer

pytestmark = pytest.mark.e2e

#: The pattern detectors: NER is slow to load in each process.
DETECTORS = list(PATTERN_DETECTOR_NAMES)


def environment(data_dir: Path, bootstrap: str) -> dict[str, str]:
    return cli_environment(data_dir, STREAMER_BOOTSTRAP_SERVERS=bootstrap)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, bootstrap: str) -> dict[str, Any]:
    """A topology over a raw topic holding 300 events (one in three with an e-mail
    address, one with canaries, one not JSON), produced with ``streamer produce``. Tests
    write to topics and replay ids of their own."""
    tmp_path = tmp_path_factory.mktemp("replay-cli")
    name = f"r{uuid.uuid4().hex[:10]}"
    topology = tmp_path / "topology.yaml"
    raw = f"{name}.raw"
    topology.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "inputs": [raw],
                "outputs": {
                    "output": f"{name}.clean",
                    "tokens": f"{name}.tokens",
                    "dlq": f"{name}.dlq",
                },
                "topics": {"partitions": 3},
                "policy": {"version": "1", "detectors": DETECTORS},
            }
        )
    )
    lines = []
    for i in range(300):
        contact = f"mail me at person{i}@example.org" if i % 3 == 0 else "call back later"
        lines.append(orjson.dumps({"id": f"T-{i}", "customer": f"c{i % 11}", "text": contact}))
    lines[50] = orjson.dumps({"id": "T-50", "customer": "c6", "text": CANARY_TEXT})
    lines[60] = b"{this is not json"
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    data_dir = tmp_path / "data"
    created = streamer("topics", "--topology", str(topology), env=environment(data_dir, bootstrap))
    assert created.returncode == 0, created.stderr.decode()
    produced = streamer(
        "produce", "--topic", raw, "--key-field", "customer", str(events),
        env=environment(data_dir, bootstrap),
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr.decode()
    return {"name": name, "raw": raw, "topology": str(topology), "data_dir": data_dir}


def tail(topic: str, data_dir: Path, bootstrap: str) -> list[dict[str, Any]]:
    read = streamer("tail", "--topic", topic, "--json", env=environment(data_dir, bootstrap))
    assert read.returncode == 0, read.stderr.decode()
    return [orjson.loads(line) for line in read.stdout.decode().splitlines()]


def test_replay_help_explains_ranges_dry_run_rate_and_resume() -> None:
    shown = streamer(
        "replay", "--help", env={"PATH": os.environ.get("PATH", ""), "COLUMNS": "200"}, timeout=60
    )
    assert shown.returncode == 0
    text = shown.stdout.decode()
    for flag in (
        "--input-topic", "--from-offset", "--from-timestamp", "--to-offset", "--to-timestamp",
        "--partitions", "--policy", "--output-topic", "--dry-run", "--compare-topic", "--rate",
        "--replay-id", "--resume", "--restart", "--json", "-2h", "ISO 8601",
    ):  # fmt: skip
        assert flag in text, flag


def test_a_log_level_it_does_not_know_is_a_usage_error(tmp_path: Path) -> None:
    # Was a traceback (ValueError: Unknown level: 'VERBOSE') from the logging module.
    run = streamer(
        "replay", "--input-topic", "orders.raw", "--from-offset", "0", "--dry-run",
        "--log-level", "verbose", data_dir=tmp_path,
    )  # fmt: skip
    assert run.returncode == 2
    assert b"Traceback" not in run.stderr
    assert b"use one of DEBUG, INFO, WARNING, ERROR" in run.stderr


def test_replay_and_dry_run_as_a_user_would(
    pipeline: dict[str, Any], bootstrap: str, tmp_path: Path
) -> None:
    name, data_dir = pipeline["name"], pipeline["data_dir"]
    output = f"{name}.clean.v2"
    replayed = streamer(
        "replay", "--topology", pipeline["topology"], "--from-timestamp", "-2h",
        "--output-topic", output, "--workers", "1", "--json",
        env=environment(data_dir, bootstrap),
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr.decode()[-2000:]
    report = orjson.loads(replayed.stdout)
    assert report["status"] == "completed"
    assert report["records"] == 300
    assert report["clean"] == 299
    assert report["dead_letters"] == {"invalid_event": 1}
    assert report["entities"]["EMAIL_ADDRESS"] == 100
    assert report["replay_id"] == f"{pipeline['raw']}-to-{output}"
    assert Path(report["state_file"]).is_file()
    assert b"replayed 300 records" in replayed.stderr
    assert find_canaries(replayed.stdout + replayed.stderr) == []

    clean = tail(output, data_dir, bootstrap)
    assert len(clean) == 299
    assert {r["headers"]["pii.provenance"] for r in clean} == {"replay"}
    assert {r["headers"]["pii.policy.version"] for r in clean} == {"1"}
    assert find_canaries(orjson.dumps(clean)) == []

    # Try a policy that masks e-mail addresses: nothing written, 100 records would change.
    policy = tmp_path / "policy-v2.yaml"
    policy.write_text(
        yaml.safe_dump(
            {"version": "2", "detectors": DETECTORS, "entities": {"EMAIL_ADDRESS": "mask"}}
        )
    )
    tried = streamer(
        "replay", "--topology", pipeline["topology"], "--from-offset", "0", "--dry-run",
        "--policy", str(policy), "--compare-topic", output, "--workers", "1", "--json",
        env=environment(data_dir, bootstrap),
    )  # fmt: skip
    assert tried.returncode == 0, tried.stderr.decode()[-2000:]
    comparison = orjson.loads(tried.stdout)["comparison"]
    assert comparison["changed"] == 100
    assert comparison["unchanged"] == 199
    assert comparison["still_dead_lettered"] == 1
    assert b"nothing was written" in tried.stderr
    assert len(tail(output, data_dir, bootstrap)) == 299


def test_a_dry_run_of_the_replay_command_compares_with_the_topologys_clean_topic(
    pipeline: dict[str, Any], bootstrap: str
) -> None:
    # The replay command with --dry-run added: its --output-topic does not exist yet, and
    # is not the clean topic to compare with (that is the topology's, as --help says).
    name = pipeline["name"]
    tried = streamer(
        "replay", "--topology", pipeline["topology"], "--from-offset", "0",
        "--output-topic", f"{name}.clean.v9", "--dry-run", "--workers", "1", "--json",
        env=environment(pipeline["data_dir"], bootstrap),
    )  # fmt: skip
    assert tried.returncode == 0, tried.stderr.decode()[-2000:]
    assert orjson.loads(tried.stdout)["comparison"]["compare_topic"] == f"{name}.clean"
    assert b"nothing was written" in tried.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-offset", "9", "--to-offset", "3"], "the range is inverted"),
        (["--from-offset", "0", "--partitions", "0,7"], "has no partition 7"),
        (["--from-timestamp", "last tuesday"], "is not a timestamp"),
        (["--from-offset", "0", "--input-topic", "no.such.raw"], "the topic does not exist"),
        (["--to-offset", "3"], "where to start is missing"),
        (["--from-offset", "0", "--resume", "--replay-id", "nothing-here"], "no replay"),
    ],
)
def test_mistakes_get_one_line_and_exit_code_2(
    pipeline: dict[str, Any], bootstrap: str, args: list[str], message: str
) -> None:
    result = streamer(
        "replay", "--topology", pipeline["topology"], "--output-topic", "somewhere.v2", *args,
        env=environment(pipeline["data_dir"], bootstrap),
    )  # fmt: skip
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2, result.stderr.decode()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_a_killed_replay_resumes_at_least_once_with_identical_copies(
    pipeline: dict[str, Any], bootstrap: str
) -> None:
    name, data_dir = pipeline["name"], pipeline["data_dir"]
    output = f"{name}.clean.killed"
    arguments = [
        "replay", "--topology", pipeline["topology"],
        "--from-offset", "0", "--output-topic", output, "--replay-id", "killed",
        "--workers", "1", "--rate", "150",
    ]  # fmt: skip
    state_file = data_dir / "replays" / "killed.json"
    process = subprocess.Popen(
        [*STREAMER_COMMAND, *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment(data_dir, bootstrap),
        cwd=REPOSITORY_ROOT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        saved: dict[int, int] = {}
        while time.monotonic() < deadline and sum(saved.values()) < 60:
            time.sleep(0.2)
            if state_file.is_file():
                partitions = orjson.loads(state_file.read_bytes())["partitions"]
                saved = {int(p): e["next"] - e["start"] for p, e in partitions.items()}
        assert sum(saved.values()) >= 60, "the replay saved no progress"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    state = orjson.loads(state_file.read_bytes())
    assert state["status"] == "running"
    saved_next = {int(p): e["next"] for p, e in state["partitions"].items()}

    resumed = streamer(*arguments[:-2], "--resume", env=environment(data_dir, bootstrap))
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    assert b"resuming at" in resumed.stderr
    assert orjson.loads(state_file.read_bytes())["status"] == "completed"

    copies: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for record in tail(output, data_dir, bootstrap):
        headers = record["headers"]
        source = (int(headers["pii.source.partition"]), int(headers["pii.source.offset"]))
        del record["offset"]  # where the copy landed in the output topic
        copies.setdefault(source, []).append(record)
    raw = tail(pipeline["raw"], data_dir, bootstrap)
    # Every raw record but the one that is not JSON (a dead letter) has a clean copy.
    expected = {(r["partition"], r["offset"]) for r in raw if isinstance(r["value"], dict)}
    assert len(expected) == 299
    assert set(copies) == expected  # no gap
    for (partition, offset), found in copies.items():
        if offset < saved_next[partition]:
            assert len(found) == 1  # acknowledged and saved before the kill: not again
        assert all(copy == found[0] for copy in found)  # copies are byte-identical
