"""The metrics exporter and probes without a broker: every catalogued family is exported,
latency histograms count right, liveness notices a stalled consume loop."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import generate_latest

from streamer.observability.metrics import STREAM_METRICS
from streamer.observability.scrape import parse_metrics
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.stream.monitoring import STALL_SECONDS, RuntimeMonitor
from streamer.stream.processor import BatchResult
from streamer.stream.sinks import PublishStats
from streamer.stream.stats import LatencyHistogram, StreamStats


def runtime(tmp_path: Path) -> StreamRuntime:
    topology = Topology(
        name="orders",
        inputs=["orders.raw"],
        policy=Policy(version="7", detectors=list(PATTERN_DETECTOR_NAMES)),
    )
    return StreamRuntime(topology, StreamerSettings(data_dir=tmp_path, workers=1))


def test_every_catalogued_family_is_exported_before_the_runtime_starts(tmp_path: Path) -> None:
    pipeline = runtime(tmp_path)
    RuntimeMonitor(pipeline)
    names = {family.name for family in pipeline.registry.collect()}
    assert {spec.name for spec in STREAM_METRICS} <= names
    assert "streamer_cloud_requests" in names  # the cloud detectors' families, same registry
    for spec in STREAM_METRICS:
        assert spec.name.startswith("streamer_")
        assert "_total" not in spec.name  # added on export
        if spec.kind == "histogram":
            assert spec.name.endswith("_seconds")
    scrape = parse_metrics(generate_latest(pipeline.registry).decode())
    assert scrape.total("streamer_events_consumed_total", topic="orders.raw") == 0
    assert scrape.total("streamer_workers") == 1
    assert scrape.total("streamer_workers_alive") == 0  # not started
    [(labels, _)] = scrape.series("streamer_pipeline_info")
    assert labels == {
        "pipeline": "orders",
        "group_id": "pii-streamer.orders",
        "policy_version": "7",
    }


def test_batch_counters_reach_the_exported_families(tmp_path: Path) -> None:
    pipeline = runtime(tmp_path)
    RuntimeMonitor(pipeline)
    stats = pipeline.stats
    stats.records_in["orders.raw"] += 3
    result = BatchResult(
        [b"{}", None, b"{}"],
        dead_letters=[(1, "invalid_event", b"...")],
        entities={"EMAIL_ADDRESS": 2},
        detections={("EMAIL_ADDRESS", "email"): 2},
    )
    stats.published("orders.raw", result, PublishStats(clean=2, dead_letters=1, tokens=2))
    stats.stage_seconds["redact"].observe(0.02)
    scrape = parse_metrics(generate_latest(pipeline.registry).decode())
    assert scrape.total("streamer_events_consumed_total") == 3
    assert scrape.total("streamer_events_produced_total", role="output") == 2
    assert scrape.total("streamer_events_produced_total", topic="orders.tokens", role="tokens") == 2
    assert scrape.total("streamer_events_produced_total", topic="orders.dlq", role="dlq") == 1
    assert scrape.by("streamer_dead_letters_total", "reason") == {"invalid_event": 1}
    assert list(scrape.series("streamer_entities_detected_total")) == [
        ({"entity_type": "EMAIL_ADDRESS", "detector": "email"}, 2.0)
    ]
    assert scrape.total("streamer_stage_duration_seconds_count", stage="redact") == 1
    assert scrape.total("streamer_stage_duration_seconds_bucket", stage="redact", le="0.025") == 1
    assert scrape.total("streamer_stage_duration_seconds_bucket", stage="redact", le="0.01") == 0


def test_latency_histogram_buckets_are_cumulative_and_skip_missing_timestamps() -> None:
    histogram = LatencyHistogram((0.1, 1.0))
    now_ms = 1_000_000.0
    histogram.observe_ages([int(now_ms - 50), int(now_ms - 500), int(now_ms - 5000), -1], now_ms)
    histogram.observe_ages([int(now_ms + 200)], now_ms)  # producer clock ahead: zero
    assert histogram.count == 4
    assert histogram.cumulative() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert abs(histogram.sum - 5.55) < 1e-9


def test_an_acknowledged_batch_times_publish_and_each_record() -> None:
    stats = StreamStats()
    timestamps = [int(time.time() * 1000) - 100] * 3
    acknowledged = stats.ack_timer(timestamps)
    acknowledged(None)
    assert stats.stage_seconds["publish"].count == 1
    assert stats.end_to_end_seconds.count == 3
    assert stats.end_to_end_seconds.sum >= 0.3


def test_liveness_fails_once_the_consume_loop_stalls(tmp_path: Path) -> None:
    pipeline = runtime(tmp_path)
    monitor = RuntimeMonitor(pipeline)
    assert monitor.consume_loop()  # not started yet: alive
    pipeline.stats.polled_at = time.monotonic()
    assert monitor.consume_loop()
    assert monitor.stall_seconds >= STALL_SECONDS
    pipeline.stats.polled_at = time.monotonic() - monitor.stall_seconds - 1
    assert not monitor.consume_loop()
    assert not monitor.partitions_assigned() and not monitor.workers_up()
    assert monitor.pipeline_running()
