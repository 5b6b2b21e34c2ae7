"""Metrics, probes and logs of a pipeline running on the embedded broker: ``/metrics``
scraped during and after a run, counters checked against what was produced, and no
canary personal data in the metrics, the logs or any error message, poison records,
a detector that quotes its input in its exception, and a worker crash included."""

from __future__ import annotations

import asyncio
import io
import logging
from collections import Counter
from typing import Any

import aiohttp
import orjson
import pytest

from streamer.observability import configure_logging
from streamer.observability.scrape import Scrape, parse_metrics
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.policy import Policy
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.stream.dead_letter import DeadLetter
from streamer.stream.monitoring import RuntimeMonitor
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries
from streamer.testing.detectors import CrashingDetector, FailingDetector
from streamer.testing.kafka import create_topics, end_offsets, produce_values, read_all

pytestmark = pytest.mark.integration

QUOTED_FAILURE = "QUOTE-ME-IN-AN-ERROR"
CRASH = "CRASH-THE-WORKER"


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def test_metrics_match_what_was_produced_and_nothing_personal_leaks(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings
) -> None:
    await create_topics(bootstrap, {topics.raw: 3})
    tickets = [orjson.dumps(e) for e in support_tickets(240, customers=30)]
    canary_events = [orjson.dumps({"id": f"C-{i}", "message": CANARY_TEXT}) for i in range(10)]
    poison = {
        b'{"message": "unterminated ' + CANARIES["US_SSN"].encode(): "invalid_event",
        b'{"message": "bad utf-8 \xff ' + CANARIES["EMAIL_ADDRESS"].encode() + b'"}': (
            "invalid_event"
        ),
        orjson.dumps({"message": CANARY_TEXT + " " + "z" * 5000}): "too_large",
        orjson.dumps({"message": f"{QUOTED_FAILURE} {CANARY_TEXT}"}): "detector_failed",
        orjson.dumps({"message": f"{CRASH} {CANARY_TEXT}"}): "worker_crashed",
    }
    values = [*tickets, *canary_events, *poison]
    metadata = await produce_values(
        bootstrap, topics.raw, values, keys=[f"k{i % 7}".encode() for i in range(len(values))]
    )
    settings = stream_settings.model_copy(update={"max_record_bytes": 4096})
    topology = Topology(
        name="monitored",
        inputs=[topics.raw],
        outputs=topics.outputs,
        group_id=topics.group,
        policy=Policy(detectors=list(PATTERN_DETECTOR_NAMES)),
        limits={"batch_records": 40},
    )
    detectors = [
        *PATTERN_DETECTOR_NAMES,
        FailingDetector(QUOTED_FAILURE, quote=True),
        CrashingDetector(CRASH),
    ]
    logs = io.StringIO()
    handler = configure_logging("INFO", "json", logs)
    runtime = StreamRuntime(topology, settings, detectors=detectors)
    monitor = RuntimeMonitor(runtime)
    server = await monitor.serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as http:
            status, body = await get(http, f"{base}/readyz")
            assert status == 503
            assert "partitions_assigned" in orjson.loads(body)["failing"]
            assert (await get(http, f"{base}/healthz"))[0] == 200

            runtime.stop_after(end_offsets(metadata))
            run = asyncio.create_task(runtime.run())
            await asyncio.wait_for(runtime.wait_started(), 60)
            ready_seen = False
            scrapes_during_run = 0
            while not run.done():
                status, _ = await get(http, f"{base}/readyz")
                ready_seen = ready_seen or status == 200
                status, body = await get(http, f"{base}/metrics")
                assert status == 200
                scrapes_during_run += 1
                assert find_canaries(body) == []
                await asyncio.sleep(0.2)
            await asyncio.wait_for(run, 90)
            assert ready_seen, "/readyz never answered 200 while partitions were assigned"
            assert scrapes_during_run > 0
            status, body = await get(http, f"{base}/metrics")
            assert status == 200
    finally:
        await server.stop()
        logging.getLogger().removeHandler(handler)

    metrics = parse_metrics(body)
    expected_reasons = Counter(poison.values())
    check_counters(metrics, topics, len(values), expected_reasons)

    # The cloud detectors' families are served from the same registry.
    assert "# TYPE streamer_cloud_requests_total counter" in body
    assert "# TYPE streamer_cloud_breaker_state gauge" in body

    # No canary in the metrics, the logs, or the dead letters' reasons and messages.
    assert find_canaries(body) == []
    log_text = logs.getvalue()
    assert "a worker died twice on one record" in log_text
    assert find_canaries(log_text) == []
    assert QUOTED_FAILURE not in log_text
    dead = await read_all(bootstrap, topics.dlq, expected=len(poison))
    letters = [DeadLetter.from_json(record.value) for record in dead]
    assert Counter(letter.reason for letter in letters) == expected_reasons
    for letter in letters:
        assert find_canaries(letter.message) == [] and QUOTED_FAILURE not in letter.message
    assert find_canaries(b"".join(record.value for record in dead)) == []


def check_counters(metrics: Scrape, topics: Any, produced: int, reasons: Counter[str]) -> None:
    """The scraped counters against what was produced."""
    dead_letters = sum(reasons.values())
    assert metrics.total("streamer_events_consumed_total", topic=topics.raw) == produced
    assert metrics.total("streamer_events_processed_total", topic=topics.raw) == produced
    assert metrics.total("streamer_events_produced_total", role="output") == produced - dead_letters
    assert metrics.total("streamer_events_produced_total", topic=topics.clean) == (
        produced - dead_letters
    )
    assert metrics.total("streamer_events_produced_total", topic=topics.dlq) == dead_letters
    assert metrics.total("streamer_events_produced_total", topic=topics.tokens) > 0
    by_reason = metrics.by("streamer_dead_letters_total", "reason")
    assert by_reason == {reason: float(count) for reason, count in reasons.items()}
    assert {labels["topic"] for labels, _ in metrics.series("streamer_dead_letters_total")} == {
        topics.raw
    }

    entities = metrics.by("streamer_entities_detected_total", "entity_type")
    for entity_type in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"):
        assert entities.get(entity_type, 0) > 0, entity_type
    detectors = metrics.by("streamer_entities_detected_total", "detector")
    assert set(detectors) <= set(PATTERN_DETECTOR_NAMES) | {"field_rule"}

    # Every record's latency was observed once; every batch's stages once each.
    assert metrics.total("streamer_end_to_end_latency_seconds_count") == produced
    batches = metrics.total("streamer_batches_total")
    assert batches >= produced / 40
    assert metrics.total("streamer_stage_duration_seconds_count", stage="publish") == batches
    assert metrics.total("streamer_stage_duration_seconds_count", stage="redact") == batches
    inf = metrics.total("streamer_end_to_end_latency_seconds_bucket", le="+Inf")
    assert inf == produced

    # Flow control and the pool, once everything is acknowledged.
    assert metrics.total("streamer_in_flight_records") == 0
    assert metrics.total("streamer_in_flight_bytes") == 0
    assert metrics.total("streamer_commits_total") > 0
    assert metrics.total("streamer_worker_restarts_total") >= 1  # the crashing record
    assert metrics.total("streamer_worker_busy_seconds_total") > 0
    assert metrics.total("streamer_producer_errors_total") == 0
    assert metrics.total("streamer_workers") == 1
    [(info, _)] = metrics.series("streamer_pipeline_info")
    assert info == {"pipeline": "monitored", "group_id": topics.group, "policy_version": "1"}
