"""Crashes, shutdowns and scaling, with ``streamer run`` as real processes (and, for two
instances in one group, two runtimes in this process): nothing is lost, re-processed
records come out byte-identical, and nothing is committed past what was produced."""

from __future__ import annotations

import asyncio
import functools
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.policy import Policy
from streamer.redaction.tokens import TOKEN_PATTERN
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.testing import CANARY_TEXT, find_canaries
from streamer.testing.kafka import (
    FAST_GROUP_SETTINGS,
    by_source,
    committed_offsets,
    create_topics,
    produce_values,
    read_all,
    record_bytes,
)

pytestmark = pytest.mark.integration


class Pipeline:
    """``streamer run`` as a child process, in its own process group."""

    def __init__(self, bootstrap: str, topics: Any, data_dir: Path, log: Path) -> None:
        # The pattern detectors only: NER is slow to load at each of the many restarts.
        topology = data_dir.parent / "topology.yaml"
        topology.write_text(
            yaml.safe_dump(
                {
                    "inputs": [topics.raw],
                    "outputs": topics.outputs,
                    "group_id": topics.group,
                    "policy": {"detectors": list(PATTERN_DETECTOR_NAMES)},
                }
            )
        )
        self.command = [
            sys.executable, "-m", "streamer", "run",
            "--bootstrap-servers", bootstrap,
            "--topology", str(topology),
            "--workers", "1",
            "--batch-records", "100",
            "--max-in-flight-records", "600",
            "--shutdown-timeout", "20",
            "--log-format", "json",
        ]  # fmt: skip
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "STREAMER_DATA_DIR": str(data_dir),  # one key file for every restart
            "STREAMER_COMMIT_INTERVAL_MS": "200",
            # A killed member holds its partitions until its session expires: keep it short.
            "STREAMER_SESSION_TIMEOUT_MS": "3000",
            "STREAMER_HEARTBEAT_INTERVAL_MS": "300",
            "STREAMER_REBALANCE_TIMEOUT_MS": "1000",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        return self.process

    def descendants(self) -> set[int]:
        assert self.process is not None
        table = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                table[int(entry.name)] = int(stat[1])
        found = {self.process.pid}
        grew = True
        while grew:
            grew = False
            for pid, parent in table.items():
                if parent in found and pid not in found:
                    found.add(pid)
                    grew = True
        return found - {self.process.pid}

    def stop_group(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def pipeline(bootstrap: str, topics: Any, tmp_path: Path) -> Iterator[Pipeline]:
    runner = Pipeline(bootstrap, topics, tmp_path / "data", tmp_path / "streamer.log")
    yield runner
    runner.stop_group()


async def wait_for_progress(bootstrap: str, topics: Any, beyond: int, timeout: float = 60) -> int:
    """Wait until the group's committed offsets sum past ``beyond``; the new sum."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        total = sum((await committed_offsets(bootstrap, topics.group, [topics.raw])).values())
        if total > beyond:
            return total
        await asyncio.sleep(0.05)
    raise AssertionError(f"no commit progress past {beyond} within {timeout}s")


async def wait_for_commits(bootstrap: str, topics: Any, ends: dict[Any, int]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        committed = await committed_offsets(bootstrap, topics.group, [topics.raw])
        if all(committed.get(tp, -1) >= end for tp, end in ends.items()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the pipeline did not commit every input record in time")


#: The most tickets one call of :func:`produce_tickets` produces.
MOST_TICKETS = 12_000


@functools.cache
def ticket_values() -> tuple[bytes, ...]:
    """The first :data:`MOST_TICKETS` tickets, made once: Faker takes seconds a thousand,
    and ``support_tickets`` makes the same sequence at every call (one seed)."""
    return tuple(orjson.dumps(e) for e in support_tickets(MOST_TICKETS, customers=200))


async def produce_tickets(bootstrap: str, topic: str, count: int) -> list[Any]:
    assert count <= MOST_TICKETS
    values = list(ticket_values()[:count])
    for index in range(0, count, 50):
        values[index] = orjson.dumps({"ticket_id": f"canary-{index}", "message": CANARY_TEXT})
    values[7] = b"{this is not json"
    keys = [
        orjson.loads(v)["customer"]["id"].encode() if b"customer" in v else None for v in values
    ]
    return await produce_values(bootstrap, topic, values, keys=keys)


async def read_outputs(bootstrap: str, topics: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """Every record of the clean, dead-letter and token topics, read side by side (each
    read ends after its idle timeout)."""
    clean, dlq, tokens = await asyncio.gather(
        read_all(bootstrap, topics.clean),
        read_all(bootstrap, topics.dlq),
        read_all(bootstrap, topics.tokens),
    )
    return clean, dlq, tokens


def assert_nothing_lost_and_copies_identical(
    metadata: list[Any], clean: list[Any], dlq: list[Any], tokens: list[Any]
) -> int:
    """Every raw record has an output; copies are byte-identical; every token used has a
    mapping; no canary anywhere. Returns how many raw records were output more than once."""
    outputs = by_source([*clean, *dlq])
    produced = {(m.topic, m.partition, m.offset) for m in metadata}
    missing = produced - set(outputs)
    assert not missing, f"{len(missing)} raw records have no output, e.g. {sorted(missing)[:5]}"
    duplicated = 0
    for source, copies in outputs.items():
        first = copies[0]
        for copy in copies[1:]:
            assert (copy.key, copy.value, list(copy.headers), copy.timestamp) == (
                first.key,
                first.value,
                list(first.headers),
                first.timestamp,
            ), f"re-processed output of {source} differs from the first"
        duplicated += len(copies) > 1
    mapped = {r.key.decode() for r in tokens}
    used = {m.group(0) for r in clean if r.value for m in TOKEN_PATTERN.finditer(r.value.decode())}
    assert used <= mapped, f"{len(used - mapped)} tokens have no mapping record"
    for records in (clean, dlq, tokens):
        assert find_canaries(record_bytes(records)) == []
    return duplicated


async def test_five_kill_minus_9_in_a_row_lose_nothing_and_reprocess_byte_identically(
    bootstrap: str, topics: Any, pipeline: Pipeline
) -> None:
    await create_topics(bootstrap, {topics.raw: 4})
    metadata: list[Any] = []
    committed = 0
    orphans: set[int] = set()
    for _ in range(5):
        # Fresh input before each start: however fast the pipeline, each run has work
        # to make progress on and to be killed in the middle of.
        metadata += await produce_tickets(bootstrap, topics.raw, 8_000)
        process = pipeline.start()
        await wait_for_progress(bootstrap, topics, committed)
        await asyncio.sleep(random.uniform(0.0, 0.3))
        assert process.poll() is None, "the pipeline exited on its own"
        orphans |= pipeline.descendants()
        os.kill(process.pid, signal.SIGKILL)  # only the main process, as a crash would
        process.wait()
        committed = sum((await committed_offsets(bootstrap, topics.group, [topics.raw])).values())
    assert committed < len(metadata), "every record was done before the last kill"
    ends: dict[Any, int] = {}
    for m in metadata:
        ends[m.topic_partition] = max(ends.get(m.topic_partition, 0), m.offset + 1)

    process = pipeline.start()
    await wait_for_commits(bootstrap, topics, ends)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0

    # Worker processes do not outlive a killed main process.
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in orphans) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not [pid for pid in orphans if alive(pid)]

    clean, dlq, tokens = await read_outputs(bootstrap, topics)
    duplicated = assert_nothing_lost_and_copies_identical(metadata, clean, dlq, tokens)
    assert duplicated > 0, "no record was re-processed: the kills did not interrupt work"
    assert {orjson.loads(r.value)["reason"] for r in dlq} == {"invalid_event"}


@pytest.mark.parametrize(
    ("signum", "whole_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm-to-the-process", "ctrl-c-to-the-process-group"],
)
async def test_a_signal_drains_commits_and_exits_zero(
    bootstrap: str, topics: Any, pipeline: Pipeline, signum: int, whole_group: bool
) -> None:
    await create_topics(bootstrap, {topics.raw: 3})
    metadata = await produce_tickets(bootstrap, topics.raw, 12_000)
    process = pipeline.start()
    await wait_for_progress(bootstrap, topics, 0)
    started = time.monotonic()
    if whole_group:  # as a terminal's Ctrl-C: the worker processes get it too
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    assert process.wait(timeout=40) == 0
    assert time.monotonic() - started < 30
    committed = await committed_offsets(bootstrap, topics.group, [topics.raw])
    assert sum(committed.values()) < len(metadata), "stopped only after finishing everything"

    clean, dlq, _ = await read_outputs(bootstrap, topics)
    outputs = by_source([*clean, *dlq])
    for tp, offset in committed.items():
        produced = sorted(o for (t, p, o) in outputs if (t, p) == (tp.topic, tp.partition))
        # Drained: exactly the records below the committed offset were published, each once.
        assert produced == list(range(offset))
    assert all(len(copies) == 1 for copies in outputs.values())
    reasons = {orjson.loads(r.value)["reason"] for r in dlq}
    assert reasons <= {"invalid_event"}  # no record was blamed for the shutdown


async def test_two_instances_in_one_group_share_partitions_and_lose_nothing(
    bootstrap: str, topics: Any, tmp_path: Path
) -> None:
    await create_topics(bootstrap, {topics.raw: 4})
    settings = StreamerSettings(
        bootstrap_servers=bootstrap,
        data_dir=tmp_path / "data",
        commit_interval_ms=200,
        shutdown_timeout=15,
        **FAST_GROUP_SETTINGS,
    )
    topology = Topology(
        name="shared",
        inputs=[topics.raw],
        outputs=topics.outputs,
        group_id=topics.group,
        limits={"max_in_flight_records": 400, "batch_records": 100},
        policy=Policy(detectors=list(PATTERN_DETECTOR_NAMES)),
    )
    first_wave = await produce_tickets(bootstrap, topics.raw, 1000)
    one = StreamRuntime(topology, settings, workers=1)
    two = StreamRuntime(topology, settings, workers=1)
    running_one = asyncio.create_task(one.run())
    await wait_for_progress(bootstrap, topics, 0)
    running_two = asyncio.create_task(two.run())
    deadline = time.monotonic() + 30
    while not (one._lanes and two._lanes) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert one._lanes and two._lanes, "the second instance never got partitions"
    assert not set(one._lanes) & set(two._lanes)
    second_wave = await produce_tickets(bootstrap, topics.raw, 3000)
    metadata = [*first_wave, *second_wave]
    ends: dict[Any, int] = {}
    for m in metadata:
        ends[m.topic_partition] = max(ends.get(m.topic_partition, 0), m.offset + 1)
    await wait_for_commits(bootstrap, topics, ends)
    one.request_stop()
    two.request_stop()
    stats = await asyncio.wait_for(asyncio.gather(running_one, running_two), 60)
    assert all(s.processed > 0 for s in stats)
    assert sum(s.processed for s in stats) >= len(metadata)

    clean, dlq, tokens = await read_outputs(bootstrap, topics)
    assert_nothing_lost_and_copies_identical(metadata, clean, dlq, tokens)


async def test_a_second_signal_abandons_the_drain_and_exits_zero_without_a_traceback(
    bootstrap: str, topics: Any, tmp_path: Path
) -> None:
    # A backtracking custom pattern keeps the worker busy for a while on every record
    # (about 0.1 s, under the custom patterns' 1 s limit; over it, a record fails and is
    # retried, slower still), so the drain after the first signal has work left when the
    # second one comes.
    topology = tmp_path / "slow.yaml"
    topology.write_text(
        yaml.safe_dump(
            {
                "inputs": [topics.raw],
                "outputs": topics.outputs,
                "group_id": topics.group,
                "policy": {
                    "detectors": ["email"],
                    "custom_detectors": [
                        {"name": "backtracking", "entity_type": "SLOW", "pattern": "(x|xx)+y"}
                    ],
                },
            }
        )
    )
    await create_topics(bootstrap, {topics.raw: 1})
    values = [b'{"note": "%d %s"}' % (i, b"x" * 26) for i in range(400)]
    metadata = await produce_values(bootstrap, topics.raw, values)
    command = [
        sys.executable, "-m", "streamer", "run",
        "--bootstrap-servers", bootstrap,
        "--topology", str(topology),
        "--workers", "1",
        "--batch-records", "5",
        "--shutdown-timeout", "600",  # the drain would outlast the test
        "--log-format", "json",
    ]  # fmt: skip
    log = tmp_path / "streamer.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "STREAMER_DATA_DIR": str(tmp_path / "data"),
                "STREAMER_COMMIT_INTERVAL_MS": "200",
                **{f"STREAMER_{k.upper()}": str(v) for k, v in FAST_GROUP_SETTINGS.items()},
            },
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        await wait_for_progress(bootstrap, topics, 0)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(1.0)
        assert process.poll() is None, "drained everything before the second signal"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log.read_text()
    assert "abandoning the drain" in output
    assert "Traceback" not in output
    committed = await committed_offsets(bootstrap, topics.group, [topics.raw])
    assert 0 < sum(committed.values()) < len(metadata)
    outputs = by_source(await read_all(bootstrap, topics.clean))
    published = {offset for (_, _, offset) in outputs}
    assert set(range(sum(committed.values()))) <= published  # nothing committed unpublished
