"""``streamer replay`` in process on the embedded broker: ranges by offsets and by
timestamps, a dry run against a changed policy, byte-identical replays, interruption and
resume, and the live group left alone. Real broker, real worker processes (or the
in-process pool where a test is not about them), real encryption; pattern detectors."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from streamer.errors import StreamerError
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.stream.exceptions import ReplayError, ReplayRangeError, ReplayStateError
from streamer.stream.headers import PROVENANCE, REPLAY_ID, decode_headers
from streamer.stream.ranges import parse_offsets, parse_partitions, parse_timestamp
from streamer.stream.replay import ReplayReport, ReplayRequest, run_replay
from streamer.stream.replay_state import ReplayStateStore
from streamer.stream.schemas import schema_errors
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries
from streamer.testing.kafka import (
    by_source,
    committed_offsets,
    create_topics,
    end_offsets,
    produce_values,
    read_all,
    record_bytes,
    source_of,
)

pytestmark = pytest.mark.integration

#: Version 1 tokenizes everything the pattern detectors find.
POLICY_V1 = Policy(version="1", detectors=list(PATTERN_DETECTOR_NAMES))
#: Version 2 masks e-mail addresses instead.
POLICY_V2 = Policy(
    version="2", detectors=list(PATTERN_DETECTOR_NAMES), entities={"EMAIL_ADDRESS": "mask"}
)


def topology_for(topics: Any, output: str | None = None, policy: Policy = POLICY_V1) -> Topology:
    outputs = dict(topics.outputs)
    if output is not None:
        outputs["output"] = output
    return Topology(
        name="test", inputs=[topics.raw], outputs=outputs, group_id=topics.group, policy=policy
    )


def events(count: int, *, emails_every: int = 2) -> list[bytes]:
    values = []
    for i in range(count):
        message = f"ticket {i}: " + (
            f"write to user{i}@example.com" if i % emails_every == 0 else "no contact details"
        )
        values.append(orjson.dumps({"n": i, "message": message, "ip": "10.1.2.3"}))
    return values


async def replay(topology: Topology, settings: StreamerSettings, **request: Any) -> ReplayReport:
    """Run a replay (``workers`` apart, keywords are the request's) without signals."""
    workers = request.pop("workers", None)
    request.setdefault("input_topic", topology.inputs[0])
    return await asyncio.wait_for(
        run_replay(
            topology, settings, ReplayRequest(**request), handle_signals=False, workers=workers
        ),
        120,
    )


async def produce_at(
    bootstrap: str, topic: str, stamped: list[tuple[int, int, bytes]]
) -> list[Any]:
    """Produce ``(partition, timestamp ms, value)`` records; their metadata."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=50)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, partition=partition, timestamp_ms=stamp)
            for partition, stamp, value in stamped
        ]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def test_offset_range_replays_exactly_its_records_with_replay_provenance(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings
) -> None:
    await create_topics(bootstrap, {topics.raw: 3})
    for partition in range(3):
        values = events(60)
        if partition == 0:
            values[10] = b'{"broken": "' + CANARIES["US_SSN"].encode()  # a dead letter
        if partition == 2:
            values[7] = orjson.dumps({"n": 7, "message": CANARY_TEXT})
        await produce_values(bootstrap, topics.raw, values, partition=partition)
    output = topics.clean + ".v2"

    report = await replay(
        topology_for(topics, output),
        stream_settings,
        start=parse_offsets("5"),
        stop=parse_offsets("40", "--to-offset"),
        partitions=parse_partitions("0,2"),
        replay_id="by-offsets",
    )

    expected = {(topics.raw, p, o) for p in (0, 2) for o in range(5, 40)}
    clean = await read_all(bootstrap, output, expected=len(expected) - 1, timeout=30)
    dead = await read_all(bootstrap, topics.dlq, expected=1, timeout=30)
    tokens = await read_all(bootstrap, topics.tokens)
    outputs = by_source([*clean, *dead])
    assert set(outputs) == expected
    assert all(len(copies) == 1 for copies in outputs.values())
    assert [source_of(r) for r in dead] == [(topics.raw, 0, 10)]
    assert report.status == "completed"
    assert report.stats.processed == len(expected)
    assert [(r.partition, r.start, r.stop) for r in report.ranges] == [(0, 5, 40), (2, 5, 40)]
    for record in [*clean, *dead]:
        headers = decode_headers(record.headers)
        assert schema_errors("clean_event_headers", headers) == []
        assert headers[PROVENANCE] == "replay"
        assert headers[REPLAY_ID] == "by-offsets"
        assert headers["pii.policy.version"] == "1"
        assert record.partition == source_of(record)[1]
    order = [source_of(r)[2] for r in clean if r.partition == 2]
    assert order == sorted(order)
    for records in (clean, dead, tokens):
        assert find_canaries(record_bytes(records)) == []

    # Offsets per partition select those partitions only.
    again = await replay(
        topology_for(topics, output + ".b"),
        stream_settings,
        start=parse_offsets("0:10,1:20"),
        stop=parse_offsets("30", "--to-offset"),
        replay_id="per-partition",
        workers=0,
    )
    assert [(r.partition, r.start, r.stop) for r in again.ranges] == [(0, 10, 30), (1, 20, 30)]
    replayed = await read_all(bootstrap, output + ".b", expected=29, timeout=30)
    dead_again = [
        r
        for r in await read_all(bootstrap, topics.dlq, expected=2, timeout=30)
        if decode_headers(r.headers)[REPLAY_ID] == "per-partition"
    ]
    expected_again = {(topics.raw, 0, o) for o in range(10, 30)}
    expected_again |= {(topics.raw, 1, o) for o in range(20, 30)}
    assert set(by_source([*replayed, *dead_again])) == expected_again


async def test_timestamp_range_starts_and_stops_at_the_exact_records(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings
) -> None:
    await create_topics(bootstrap, {topics.raw: 2})
    base = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    # One record a second on each partition, produced in large batches (the embedded
    # broker answers offsets_for_times with the start of a batch: the replay reads on).
    stamped = [(i % 2, base + i * 1000, orjson.dumps({"n": i})) for i in range(120)]
    metadata = await produce_at(bootstrap, topics.raw, stamped)
    at = {(m.partition, m.offset): stamped[i][1] for i, m in enumerate(metadata)}
    output = topics.clean + ".v2"

    report = await replay(
        topology_for(topics, output),
        stream_settings,
        start=parse_timestamp("2026-01-01T00:00:30Z", "--from-timestamp"),
        stop=parse_timestamp("2026-01-01T01:00:45+01:00", "--to-timestamp"),
        workers=0,
    )

    expected = {
        (topics.raw, p, o) for (p, o), ts in at.items() if base + 30_000 <= ts < base + 45_000
    }
    assert len(expected) == 15
    clean = await read_all(bootstrap, output, expected=len(expected), timeout=30)
    assert set(by_source(clean)) == expected
    assert report.stats.processed == 15
    assert sorted(orjson.loads(r.value)["n"] for r in clean) == list(range(30, 45))

    # A time zone-less ISO time is UTC; a time after every record replays nothing.
    empty = await replay(
        topology_for(topics, output + ".later"),
        stream_settings,
        start=parse_timestamp("2026-01-01T00:05:00", "--from-timestamp"),
        workers=0,
    )
    assert empty.status == "completed"
    assert empty.total == 0


async def test_dry_run_against_a_changed_policy_counts_differences_and_writes_nothing(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings, tmp_path: Path
) -> None:
    await create_topics(bootstrap, {topics.raw: 2})
    values = events(90, emails_every=3)  # 30 with an e-mail address
    metadata = await produce_values(bootstrap, topics.raw, values)
    live = StreamRuntime(topology_for(topics), stream_settings, workers=0)
    live.stop_after(end_offsets(metadata))
    await asyncio.wait_for(live.run(), 60)
    assert len(await read_all(bootstrap, topics.clean, expected=90)) == 90
    tokens_before = len(await read_all(bootstrap, topics.tokens, idle_timeout=0.5))
    settings = stream_settings.model_copy(update={"replay_dir": tmp_path / "replays"})

    tried = await replay(
        topology_for(topics, policy=POLICY_V2),
        settings,
        start=parse_timestamp("-1h", "--from-timestamp"),
        dry_run=True,
    )

    comparison = tried.comparison
    assert comparison is not None and tried.status == "completed"
    assert comparison.compare_topic == topics.clean
    assert comparison.compared == 90
    assert comparison.changed == 30
    assert comparison.differ == 30
    assert comparison.unchanged == 60
    changed = {(p, o) for p, o in comparison.examples}
    with_email = {
        (m.partition, m.offset) for i, m in enumerate(metadata) if b"@example.com" in values[i]
    }
    assert changed and changed <= with_email
    assert tried.stats.entities["EMAIL_ADDRESS"] == 30
    assert tried.stats.entities["IP_ADDRESS"] == 90
    # Nothing written: no state, no new token mappings or dead letters, no new topic.
    assert not (tmp_path / "replays").exists()
    assert len(await read_all(bootstrap, topics.tokens, idle_timeout=0.5)) == tokens_before
    assert await read_all(bootstrap, topics.dlq, idle_timeout=0.5) == []

    # The live policy itself: nothing would change.
    same = await replay(
        topology_for(topics), settings, start=parse_offsets("0"), dry_run=True, workers=0
    )
    assert same.comparison is not None
    assert (same.comparison.unchanged, same.comparison.differ) == (90, 0)


async def test_replaying_a_range_twice_gives_byte_identical_records(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings
) -> None:
    await create_topics(bootstrap, {topics.raw: 2})
    values = events(100)
    values[3] = b"{not json " + CANARIES["EMAIL_ADDRESS"].encode()
    keys = [f"customer-{i % 9}".encode() for i in range(len(values))]
    await produce_values(bootstrap, topics.raw, values, keys=keys)
    output = topics.clean + ".v2"
    topology = topology_for(topics, output)

    for _ in range(2):
        report = await replay(
            topology, stream_settings, start=parse_offsets("0"), replay_id="twice"
        )
        assert report.status == "completed"

    clean = await read_all(bootstrap, output, expected=2 * 99, timeout=30)
    dead = await read_all(bootstrap, topics.dlq, expected=2, timeout=30)
    copies = by_source([*clean, *dead])
    assert len(copies) == 100
    for first, second in copies.values():
        assert (first.key, first.value, first.headers, first.timestamp, first.partition) == (
            second.key,
            second.value,
            second.headers,
            second.timestamp,
            second.partition,
        )


async def test_an_interrupted_replay_resumes_without_gap_or_duplicate(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings, tmp_path: Path
) -> None:
    await create_topics(bootstrap, {topics.raw: 3})
    values = events(600)
    metadata = await produce_values(bootstrap, topics.raw, values)
    output = topics.clean + ".v2"
    settings = stream_settings.model_copy(update={"replay_dir": tmp_path / "replays"})
    topology = topology_for(topics, output)
    interrupted: list[int] = []

    def interrupt_once(done: int, total: int) -> None:
        # Ctrl-C, as a user would press it, once a third is done.
        if not interrupted and done >= total // 3:
            interrupted.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    first = await asyncio.wait_for(
        run_replay(
            topology,
            settings,
            ReplayRequest(topics.raw, parse_offsets("0"), rate=400.0),
            on_progress=interrupt_once,
        ),
        120,
    )
    assert first.status == "interrupted"
    state = ReplayStateStore(tmp_path / "replays").load(first.replay_id or "")
    assert state is not None and state.status == "running"
    assert 0 < state.done < 600
    assert first.stats.processed == state.done  # drained and saved before stopping

    # A new replay under the same id is refused while this one is unfinished.
    with pytest.raises(ReplayStateError, match="--resume"):
        await replay(topology, settings, start=parse_offsets("0"))

    second = await replay(topology, settings, resume=True)
    assert second.status == "completed"
    assert second.done_before == state.done
    assert first.stats.processed + second.stats.processed == 600

    clean = await read_all(bootstrap, output, expected=600, timeout=30)
    copies = by_source(clean)
    assert set(copies) == {(m.topic, m.partition, m.offset) for m in metadata}
    assert all(len(c) == 1 for c in copies.values())

    # Resuming a completed replay does nothing.
    done = await replay(topology, settings, resume=True)
    assert done.status == "already_completed"


async def test_the_live_groups_offsets_stay_and_no_group_appears(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings
) -> None:
    await create_topics(bootstrap, {topics.raw: 2})
    metadata = await produce_values(bootstrap, topics.raw, events(80))
    live = StreamRuntime(topology_for(topics), stream_settings, workers=0)
    live.stop_after(end_offsets(metadata))
    await asyncio.wait_for(live.run(), 60)
    committed = await committed_offsets(bootstrap, topics.group, [topics.raw])
    assert sum(committed.values()) == 80
    groups_before = await consumer_groups(bootstrap)
    assert topics.group in groups_before

    await replay(
        topology_for(topics, topics.clean + ".v2"),
        stream_settings,
        start=parse_offsets("0"),
        workers=0,
    )
    await replay(topology_for(topics), stream_settings, start=parse_offsets("0"), dry_run=True)

    assert await committed_offsets(bootstrap, topics.group, [topics.raw]) == committed
    assert await consumer_groups(bootstrap) == groups_before


async def consumer_groups(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {group for group, _ in await admin.list_consumer_groups()}
    finally:
        await admin.close()


async def test_clear_errors_for_bad_requests(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings, tmp_path: Path
) -> None:
    await create_topics(bootstrap, {topics.raw: 2})
    await produce_values(bootstrap, topics.raw, events(20))
    settings = stream_settings.model_copy(update={"replay_dir": tmp_path / "replays"})
    output = topics.clean + ".v2"
    topology = topology_for(topics, output)
    start = parse_offsets("0")

    with pytest.raises(
        ReplayError, match=re.escape("--input-topic 'no.such.topic': the topic does not")
    ):
        await replay(topology, settings, input_topic="no.such.topic", start=start)
    with pytest.raises(ReplayRangeError, match="no partition 5: its partitions are 0 to 1"):
        await replay(topology, settings, start=start, partitions=(0, 5))
    with pytest.raises(ReplayRangeError, match="no partition 7"):
        await replay(topology, settings, start=parse_offsets("7:0"))
    with pytest.raises(ReplayError, match=r"--output-topic .* is the input topic"):
        await replay(topology_for(topics, topics.raw), settings, start=start)
    with pytest.raises(ReplayRangeError, match="inverted"):
        await replay(
            topology, settings, start=parse_offsets("9"), stop=parse_offsets("3", "--to-offset")
        )
    with pytest.raises(ReplayRangeError, match="inverted on partition"):
        await replay(
            topology,
            settings,
            start=parse_timestamp("now", "--from-timestamp"),
            stop=parse_offsets("0", "--to-offset"),
        )
    with pytest.raises(ReplayStateError, match="no replay 'never-ran' to resume"):
        await replay(topology, settings, replay_id="never-ran", resume=True)
    with pytest.raises(ReplayError, match="the clean topic to compare with"):
        await replay(topology_for(topics), settings, start=start, dry_run=True)
    with pytest.raises(ReplayError, match=r"^--compare-topic 'no-such-clean': the topic"):
        await replay(topology, settings, start=start, dry_run=True, compare_topic="no-such-clean")

    # Resuming under another policy would mix two policies in one output.
    store = ReplayStateStore(tmp_path / "replays")
    await replay(topology, settings, start=start, replay_id="policy-check", workers=0)
    state = store.load("policy-check")
    assert state is not None
    state.status = "running"
    store.save(state)
    with pytest.raises(ReplayStateError, match="another policy"):
        await replay(
            topology_for(topics, output, POLICY_V2), settings, replay_id="policy-check", resume=True
        )


async def test_offsets_that_never_arrive_end_their_partition_instead_of_hanging(
    bootstrap: str,
    topics: Any,
    stream_settings: StreamerSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A stop offset no record will reach (as when the last records were compacted away):
    # the partition counts as done after END_IDLE_SECONDS of empty fetches.
    monkeypatch.setattr("streamer.stream.replay.END_IDLE_SECONDS", 0.5)
    await create_topics(bootstrap, {topics.raw: 1})
    await produce_values(bootstrap, topics.raw, events(30))
    settings = stream_settings.model_copy(update={"replay_dir": tmp_path / "replays"})
    topology = topology_for(topics, topics.clean + ".v2")
    store = ReplayStateStore(tmp_path / "replays")
    first = await replay(
        topology, settings, start=parse_offsets("0"), stop=parse_offsets("10", "--to-offset")
    )
    state = store.load(first.replay_id or "")
    assert state is not None
    state.ranges[0] = (0, 40)  # ten offsets past the end
    state.status = "running"
    store.save(state)

    resumed = await replay(topology, settings, resume=True, workers=0)

    assert resumed.status == "completed"
    assert resumed.stats.processed == 20
    clean = await read_all(bootstrap, topics.clean + ".v2", expected=30, timeout=30)
    assert sorted(source_of(r)[2] for r in clean) == list(range(30))


async def test_a_replay_that_fails_before_reading_leaves_nothing_to_resume(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings, tmp_path: Path
) -> None:
    # A policy naming a detector that does not exist fails once the workers start, after
    # the range was planned. Fixed, the same command must run: not be refused as an
    # unfinished replay that --resume would refuse too (another policy).
    await create_topics(bootstrap, {topics.raw: 2})
    await produce_values(bootstrap, topics.raw, events(20))
    settings = stream_settings.model_copy(update={"replay_dir": tmp_path / "replays"})
    output = topics.clean + ".v2"
    mistaken = Policy(version="2", detectors=["email", "emial"])

    with pytest.raises(StreamerError, match="unknown detector 'emial'"):
        await replay(
            topology_for(topics, output, mistaken), settings, start=parse_offsets("0"), workers=0
        )
    assert ReplayStateStore(tmp_path / "replays").known() == []

    fixed = await replay(
        topology_for(topics, output), settings, start=parse_offsets("0"), workers=0
    )
    assert fixed.status == "completed"
    assert fixed.stats.processed == 20


async def test_resuming_in_another_format_is_refused(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings, tmp_path: Path
) -> None:
    # Run with --format text, interrupted, and resumed without it: the rest of the range
    # would be read as JSON events, mixing two kinds of output in one clean topic.
    await create_topics(bootstrap, {topics.raw: 1})
    await produce_values(bootstrap, topics.raw, events(10))
    settings = stream_settings.model_copy(update={"replay_dir": tmp_path / "replays"})
    as_text = topology_for(topics, topics.clean + ".v2").model_copy(update={"format": "text"})
    await replay(as_text, settings, start=parse_offsets("0"), replay_id="format-check", workers=0)
    store = ReplayStateStore(tmp_path / "replays")
    state = store.load("format-check")
    assert state is not None
    state.status = "running"
    store.save(state)

    with pytest.raises(ReplayStateError, match="--format text"):
        await replay(
            topology_for(topics, topics.clean + ".v2"), settings, replay_id="format-check",
            resume=True, workers=0,
        )  # fmt: skip
    resumed = await replay(as_text, settings, replay_id="format-check", resume=True, workers=0)
    assert resumed.status == "completed"
