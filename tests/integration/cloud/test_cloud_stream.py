"""Cloud detection in the Kafka stream runtime: the embedded broker, real worker processes,
the official Azure and AWS SDK clients against the in-process emulators.

The runtime runs the pattern detectors locally (NER is off: slow to load, and it would
find the names these tests want only the cloud to find). The emulators find the same
patterns plus a person name through a custom detector, so a name in the clean topic's
tokens can only have come from the cloud.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from streamer.cloud.emulators import AzureLanguageEmulator, ComprehendEmulator, build_engine
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.keys import keyring_from_settings
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.stream.dead_letter import DeadLetter
from streamer.stream.headers import DETECTORS, DLQ_REASON, decode_headers, header_value
from streamer.stream.schemas import schema_errors
from streamer.testing import CANARY_TEXT, find_canaries
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
from streamer.vault.mapping import TokenMapping

pytestmark = pytest.mark.integration

FALLBACK_HEADER = "pii.cloud.fallback"
#: Names only the emulators know about (a custom PERSON detector there).
NAMES = ("Quillon Vandermeer", "Ysolde Brackwater", "Tamsin Oyelaran")
CLOUD_NAMES = Policy.from_dict(
    {
        "custom_detectors": [
            {"name": "person_names", "entity_type": "PERSON", "pattern": "|".join(NAMES)}
        ]
    }
)
PATTERNS = Policy(detectors=list(PATTERN_DETECTOR_NAMES))
#: Fail fast and recover fast, so outages take seconds in these tests.
QUICK_GUARD = {
    "max_attempts": 1,
    "timeout_seconds": 5,
    "backoff_initial_seconds": 0.1,
    "breaker_failures": 3,
    "breaker_open_seconds": 0.5,
}


def events(count: int) -> list[bytes]:
    """Tickets whose message holds a name only the cloud finds, an email the local
    detectors find too, and sometimes every canary."""
    out = []
    for i in range(count):
        message = f"Please ask {NAMES[i % len(NAMES)]} about order {1000 + i}"
        if i % 5 == 0:
            message += f"; {CANARY_TEXT}"
        out.append(orjson.dumps({"ticket_id": f"T-{i:05d}", "status": "open", "message": message}))
    return out


@pytest.fixture(autouse=True)
def _emulators_know_the_names(
    azure_emulator: AzureLanguageEmulator, aws_emulator: ComprehendEmulator
) -> None:
    engine = build_engine(detectors=list(PATTERN_DETECTOR_NAMES), policy=CLOUD_NAMES)
    azure_emulator.engine = engine
    aws_emulator.engine = engine


@pytest.fixture
def settings(stream_settings: StreamerSettings, cloud_settings: StreamerSettings) -> Any:
    """Stream settings with the Azure endpoint and key and the AWS region, as `streamer
    run` reads them from the environment."""
    return stream_settings.model_copy(
        update={
            name: getattr(cloud_settings, name)
            for name in ("azure_language_endpoint", "azure_language_key", "aws_region")
        }
    )


@pytest.fixture(autouse=True)
def _no_secrets_or_canaries_in_logs(
    caplog: pytest.LogCaptureFixture, credentials: tuple[str, ...]
) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert [c for c in credentials if c in text] == []
    assert find_canaries(text) == []
    assert [name for name in NAMES if name in text] == []


def provider_section(name: str, aws_url: str, **limits: Any) -> dict[str, Any]:
    section: dict[str, Any] = {"provider": name, "limits": {"max_concurrency": 8, **limits}}
    if name == "aws":
        section["endpoint_url"] = aws_url
    return section


def topology(topics: Any, cloud: dict[str, Any], *, batch_records: int = 50) -> Topology:
    return Topology.from_dict(
        {
            "name": "cloud-test",
            "inputs": [topics.raw],
            "outputs": topics.outputs,
            "group_id": topics.group,
            "policy": PATTERNS.model_dump(exclude_defaults=True),
            "limits": {"batch_records": batch_records},
            "cloud": cloud,
        },
        source="cloud-test.yaml",
    )


async def run_to_end(runtime: StreamRuntime, metadata: list[Any], timeout: float = 90) -> Any:
    runtime.stop_after(end_offsets(metadata))
    return await asyncio.wait_for(runtime.run(), timeout)


def names_in(records: list[Any]) -> list[str]:
    haystack = record_bytes(records).decode("utf-8", "replace")
    return [name for name in NAMES if name in haystack]


@pytest.mark.parametrize("provider", ["azure", "aws"])
async def test_when_cloud_finds_a_name_then_the_clean_topic_has_it_tokenized(
    provider: str,
    bootstrap: str,
    topics: Any,
    settings: StreamerSettings,
    aws_emulator: ComprehendEmulator,
    azure_emulator: AzureLanguageEmulator,
) -> None:
    await create_topics(bootstrap, {topics.raw: 2})
    values = events(240)
    metadata = await produce_values(
        bootstrap, topics.raw, values, keys=[b"k%d" % (i % 7) for i in range(len(values))]
    )
    section = {"providers": [provider_section(provider, aws_emulator.url)]}
    runtime = StreamRuntime(topology(topics, section), settings)
    stats = await run_to_end(runtime, metadata)

    clean = await read_all(bootstrap, topics.clean, expected=len(values))
    tokens = await read_all(bootstrap, topics.tokens)
    assert len(clean) == len(values) == stats.processed
    assert set(by_source(clean)) == {(m.topic, m.partition, m.offset) for m in metadata}
    assert names_in(clean) == [] and names_in(tokens) == []
    assert find_canaries(record_bytes(clean) + record_bytes(tokens)) == []
    assert stats.entities["PERSON"] == len(values)
    for record in clean:
        assert header_value(record.headers, DETECTORS).decode().endswith(f",{provider}")
        assert header_value(record.headers, FALLBACK_HEADER) is None
        assert schema_errors("clean_event_headers", decode_headers(record.headers)) == []
        assert b"[PERSON_" in record.value
    # the names are recoverable, through the token topic, with the key
    keyring = keyring_from_settings(settings)
    people = {
        TokenMapping.from_json(r.value).open(keyring)
        for r in tokens
        if orjson.loads(r.value)["entity_type"] == "PERSON"
    }
    assert people == set(NAMES)
    # per key, the clean topic keeps the input order
    order: dict[bytes, list[int]] = {}
    for record in clean:
        order.setdefault(record.key, []).append(source_of(record)[2])
    assert all(offsets == sorted(offsets) for offsets in order.values())
    # the requests went through the SDK to the emulator, and are counted in the registry
    emulator = azure_emulator if provider == "azure" else aws_emulator
    assert emulator.stats.answered > 0
    requests = runtime.registry.get_sample_value(
        "streamer_cloud_requests_total", {"provider": provider}
    )
    assert requests == emulator.stats.requests


async def test_cloud_only_mode_runs_no_local_detectors_and_the_cloud_finds_everything(
    bootstrap: str, topics: Any, settings: StreamerSettings, aws_emulator: ComprehendEmulator
) -> None:
    await create_topics(bootstrap, {topics.raw: 1})
    values = events(60)
    metadata = await produce_values(bootstrap, topics.raw, values)
    section = {
        "providers": [provider_section("aws", aws_emulator.url)],
        "mode": "cloud-only",
        "unavailable": "dead-letter",
    }
    runtime = StreamRuntime(topology(topics, section), settings)
    await run_to_end(runtime, metadata)

    clean = await read_all(bootstrap, topics.clean, expected=len(values))
    assert len(clean) == len(values)
    assert runtime.pool.detector_names == ()
    assert {header_value(r.headers, DETECTORS) for r in clean} == {b"aws"}
    assert names_in(clean) == [] and find_canaries(record_bytes(clean)) == []


async def test_outage_with_fallback_redacts_locally_and_marks_the_records(
    bootstrap: str,
    topics: Any,
    settings: StreamerSettings,
    azure_emulator: AzureLanguageEmulator,
) -> None:
    # cloud-only: the workers' own detectors are off, so the fallback engine must do it
    azure_emulator.set_outage(True)
    await create_topics(bootstrap, {topics.raw: 2})
    values = events(100)
    metadata = await produce_values(bootstrap, topics.raw, values)
    section = {
        "providers": [provider_section("azure", "", **QUICK_GUARD)],
        "mode": "cloud-only",
        "unavailable": "fallback",
    }
    runtime = StreamRuntime(topology(topics, section), settings)
    stats = await run_to_end(runtime, metadata)

    clean = await read_all(bootstrap, topics.clean, expected=len(values))
    assert len(clean) == len(values) == stats.processed
    assert await read_all(bootstrap, topics.dlq, idle_timeout=0.5) == []
    assert all(schema_errors("clean_event_headers", decode_headers(r.headers)) == [] for r in clean)
    reasons = {header_value(r.headers, FALLBACK_HEADER) for r in clean}
    assert None not in reasons
    assert reasons <= {b"cloud_server_error", b"cloud_circuit_open"}
    # the last pii.detectors header names the local detectors that did scan them
    scanned_by = {header_value(r.headers, DETECTORS) for r in clean}
    assert len(scanned_by) == 1 and b"email" in scanned_by.pop().split(b",")
    assert find_canaries(record_bytes(clean)) == []
    assert stats.entities["EMAIL_ADDRESS"] > 0
    # only the cloud knows the names: with it down, they pass (the marked risk of fallback)
    assert names_in(clean) == list(NAMES)


async def test_outage_with_dead_letter_sends_every_record_to_the_dlq_with_its_reason(
    bootstrap: str,
    topics: Any,
    settings: StreamerSettings,
    aws_emulator: ComprehendEmulator,
) -> None:
    aws_emulator.set_outage(True)
    await create_topics(bootstrap, {topics.raw: 2})
    values = events(80)
    metadata = await produce_values(bootstrap, topics.raw, values)
    section = {
        "providers": [provider_section("aws", aws_emulator.url, **QUICK_GUARD)],
        "unavailable": "dead-letter",
    }
    runtime = StreamRuntime(topology(topics, section), settings)
    stats = await run_to_end(runtime, metadata)

    dlq = await read_all(bootstrap, topics.dlq, expected=len(values))
    assert await read_all(bootstrap, topics.clean, idle_timeout=0.5) == []
    assert len(dlq) == len(values) == stats.processed
    assert set(by_source(dlq)) == {(m.topic, m.partition, m.offset) for m in metadata}
    assert {header_value(r.headers, DLQ_REASON) for r in dlq} == {b"cloud_unavailable"}
    assert find_canaries(record_bytes(dlq)) == [] and names_in(dlq) == []
    keyring = keyring_from_settings(settings)
    letter = DeadLetter.from_json(dlq[0].value)
    assert letter.reason == "cloud_unavailable"
    assert "aws" in letter.message
    assert letter.open(keyring) in values


async def test_outage_with_block_pauses_consumption_then_resumes_losing_nothing(
    bootstrap: str,
    topics: Any,
    settings: StreamerSettings,
    azure_emulator: AzureLanguageEmulator,
) -> None:
    azure_emulator.set_outage(True)
    await create_topics(bootstrap, {topics.raw: 2})
    first = events(120)
    metadata = await produce_values(
        bootstrap, topics.raw, first, keys=[b"k%d" % (i % 5) for i in range(len(first))]
    )
    section = {"providers": [provider_section("azure", "", **QUICK_GUARD)], "unavailable": "block"}
    runtime = StreamRuntime(topology(topics, section, batch_records=20), settings)
    task = asyncio.create_task(runtime.run())
    try:
        await asyncio.wait_for(runtime.wait_started(), 60)
        assert runtime.cloud is not None and runtime.consumer is not None
        async with asyncio.timeout(30):
            while not runtime.cloud.blocked:
                await asyncio.sleep(0.05)
        # blocked: every assigned partition paused, nothing published, nothing committed,
        # and records produced now wait in the topic
        async with asyncio.timeout(30):
            while not runtime.consumer.assignment() or (
                runtime.consumer.paused() != runtime.consumer.assignment()
            ):
                await asyncio.sleep(0.05)
        later = events(30)
        metadata += await produce_values(bootstrap, topics.raw, later)
        await asyncio.sleep(1.5)  # several recovery probes fail meanwhile
        assert runtime.cloud.blocked and not task.done()
        assert await read_all(bootstrap, topics.clean, idle_timeout=0.5) == []
        assert await read_all(bootstrap, topics.dlq, idle_timeout=0.1) == []
        assert await committed_offsets(bootstrap, topics.group, [topics.raw]) == {}
        requests_during_outage = azure_emulator.stats.requests
        assert requests_during_outage > 0

        azure_emulator.set_outage(False)
        runtime.stop_after(end_offsets(metadata))
        stats = await asyncio.wait_for(task, 60)
    finally:
        if not task.done():
            runtime.request_stop()
            await asyncio.wait_for(task, 30)

    values = [*first, *later]
    clean = await read_all(bootstrap, topics.clean, expected=len(values))
    assert len(clean) == len(values) == stats.processed
    assert set(by_source(clean)) == {(m.topic, m.partition, m.offset) for m in metadata}
    assert all(len(copies) == 1 for copies in by_source(clean).values())
    per_partition: dict[int, list[int]] = {}
    for record in clean:
        per_partition.setdefault(record.partition, []).append(source_of(record)[2])
    assert all(offsets == sorted(offsets) for offsets in per_partition.values())
    assert all(header_value(r.headers, FALLBACK_HEADER) is None for r in clean)
    assert names_in(clean) == [] and find_canaries(record_bytes(clean)) == []
    committed = await committed_offsets(bootstrap, topics.group, [topics.raw])
    assert committed == end_offsets(metadata)


def test_invalid_cloud_section_names_the_path_and_the_reason(topics: Any) -> None:
    with pytest.raises(Exception, match=r"cloud-test.yaml: cloud.providers\[0\].*unexpected"):
        topology(topics, {"providers": [{"provider": "aws", "endpoint": "x"}]})
    with pytest.raises(Exception, match=r"cloud.unavailable: 'pause' is not one of"):
        topology(topics, {"providers": ["azure"], "unavailable": "pause"})
    with pytest.raises(Exception, match=r"unknown provider 'gcp'; valid: azure, aws"):
        topology(topics, {"providers": ["gcp"]})


async def test_concurrent_failover_takes_the_provider_that_answers(
    bootstrap: str,
    topics: Any,
    settings: StreamerSettings,
    azure_emulator: AzureLanguageEmulator,
    aws_emulator: ComprehendEmulator,
) -> None:
    azure_emulator.set_outage(True)
    await create_topics(bootstrap, {topics.raw: 2})
    values = events(60)
    metadata = await produce_values(bootstrap, topics.raw, values)
    section = {
        "providers": [
            provider_section("azure", "", **QUICK_GUARD),
            provider_section("aws", aws_emulator.url),
        ],
        "failover": "concurrent",
        "unavailable": "dead-letter",
    }
    runtime = StreamRuntime(topology(topics, section), settings)
    stats = await run_to_end(runtime, metadata)

    clean = await read_all(bootstrap, topics.clean, expected=len(values))
    assert len(clean) == len(values) == stats.processed
    assert stats.dead_letters.total() == 0
    assert names_in(clean) == [] and find_canaries(record_bytes(clean)) == []
    assert {header_value(r.headers, DETECTORS) for r in clean} == {
        b",".join([*map(str.encode, runtime.pool.detector_names), b"azure", b"aws"])
    }
    assert azure_emulator.stats.requests > 0 and azure_emulator.stats.answered == 0
    assert aws_emulator.stats.answered > 0


async def test_a_stop_during_a_blocking_outage_commits_nothing_and_loses_nothing(
    bootstrap: str,
    topics: Any,
    settings: StreamerSettings,
    aws_emulator: ComprehendEmulator,
) -> None:
    aws_emulator.set_outage(True)
    await create_topics(bootstrap, {topics.raw: 1})
    values = events(40)
    metadata = await produce_values(bootstrap, topics.raw, values)
    section = {
        "providers": [provider_section("aws", aws_emulator.url, **QUICK_GUARD)],
        "unavailable": "block",
    }
    quick_stop = settings.model_copy(update={"shutdown_timeout": 1.0})
    runtime = StreamRuntime(topology(topics, section), quick_stop)
    task = asyncio.create_task(runtime.run())
    await asyncio.wait_for(runtime.wait_started(), 60)
    async with asyncio.timeout(30):
        while runtime.cloud is None or not runtime.cloud.blocked:
            await asyncio.sleep(0.05)
    runtime.request_stop()
    await asyncio.wait_for(task, 30)  # drains for the shutdown timeout, then gives up
    assert await committed_offsets(bootstrap, topics.group, [topics.raw]) == {}
    assert await read_all(bootstrap, topics.clean, idle_timeout=0.5) == []

    # the next run, once the provider is back, processes every record (a group of its
    # own, so it does not wait for the stopped member's session to expire: nothing was
    # committed, so both start at the beginning)
    aws_emulator.set_outage(False)
    restarted = topology(topics, section).model_copy(update={"group_id": topics.group + "-2"})
    again = StreamRuntime(restarted, settings)
    stats = await run_to_end(again, metadata)
    clean = await read_all(bootstrap, topics.clean, expected=len(values))
    assert len(clean) == len(values) == stats.processed
    assert [source_of(r)[2] for r in clean] == sorted(source_of(r)[2] for r in clean)
