"""Prometheus metrics of the stream processor.

Names follow Prometheus conventions (``_total`` counters, base units, ``streamer_``
prefix). Label values come only from configuration and code (topic names, partition
numbers, entity types, detector names, reason codes, stage names), never from an event.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

#: Stages of a batch, in order, for ``streamer_stage_seconds``.
STAGES = ("consume", "redact", "produce", "commit")


class StreamMetrics:
    """All metrics one processor exports, in its own registry (so several processors in
    one process, as in tests, keep separate counts)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.info = Info("streamer_build", "Version of pii-streamer.", registry=r)
        self.events_consumed = Counter(
            "streamer_events_consumed_total",
            "Records read from input topics.",
            ["topic"],
            registry=r,
        )
        self.events_produced = Counter(
            "streamer_events_produced_total",
            "Records acknowledged by the broker, by topic and role (output, tokens, dlq).",
            ["topic", "role"],
            registry=r,
        )
        self.dead_letters = Counter(
            "streamer_dead_letters_total",
            "Records sent to the dead-letter topic, by source topic and reason code.",
            ["topic", "reason"],
            registry=r,
        )
        self.entities = Counter(
            "streamer_entities_detected_total",
            "Values replaced, by entity type and the detector that found them.",
            ["entity_type", "detector"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "streamer_stage_seconds",
            "Time a batch spends in each stage (consume, redact, produce, commit).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.end_to_end_seconds = Histogram(
            "streamer_end_to_end_latency_seconds",
            "From the input record's timestamp to the clean record's acknowledgement.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.worker_queue_depth = Gauge(
            "streamer_worker_queue_depth", "Batches waiting for or in the worker pool.", registry=r
        )
        self.worker_utilization = Gauge(
            "streamer_worker_utilization",
            "Share of worker processes busy, 0 to 1, averaged over the last interval.",
            registry=r,
        )
        self.workers_alive = Gauge(
            "streamer_workers_alive", "Worker processes that are running.", registry=r
        )
        self.in_flight_records = Gauge(
            "streamer_in_flight_records", "Records consumed and not yet committed.", registry=r
        )
        self.in_flight_bytes = Gauge(
            "streamer_in_flight_bytes", "Bytes consumed and not yet committed.", registry=r
        )
        self.paused_partitions = Gauge(
            "streamer_paused_partitions", "Partitions paused by backpressure.", registry=r
        )
        self.assigned_partitions = Gauge(
            "streamer_assigned_partitions", "Partitions assigned to this instance.", registry=r
        )
        self.consumer_lag = Gauge(
            "streamer_consumer_lag",
            "Records between the committed offset and the end of the partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.producer_errors = Counter(
            "streamer_producer_errors_total",
            "Produce requests that failed, by error kind.",
            ["kind"],
            registry=r,
        )
        self.commits = Counter(
            "streamer_commits_total", "Offset commits that succeeded.", registry=r
        )
        from streamer import __version__

        self.info.info({"version": __version__})
