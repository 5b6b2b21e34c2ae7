"""The Prometheus metrics of the stream processor: one catalogue of names, types, help
and labels, shared by the exporter (``streamer.stream.monitoring``), the README and the
tests that check the Grafana dashboard.

Names follow Prometheus conventions (``streamer_`` prefix, ``_total`` counters, base
units such as ``_seconds`` and ``_bytes``). Label values come only from configuration
and code (topic names, partition numbers, entity types, detector names, reason codes,
stage names, error class names), never from an event. The cloud detectors' metrics
(``streamer_cloud_*``, see :mod:`streamer.cloud.metrics`) are served from the same
registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

MetricKind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric family: its name (counters without ``_total``), kind, help, labels."""

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()

    @property
    def exported_name(self) -> str:
        """The name as a query writes it (``_total`` for counters; histograms add
        ``_bucket``, ``_sum`` and ``_count``)."""
        return self.name + "_total" if self.kind == "counter" else self.name

    def family(self) -> Metric:
        """An empty family to add samples to."""
        if self.kind == "counter":
            return CounterMetricFamily(self.name, self.help, labels=self.labels)
        if self.kind == "gauge":
            return GaugeMetricFamily(self.name, self.help, labels=self.labels)
        return HistogramMetricFamily(self.name, self.help, labels=self.labels)


def _spec(name: str, kind: MetricKind, help: str, *labels: str) -> MetricSpec:
    return MetricSpec(name, kind, help, labels)


#: Every metric one ``streamer run`` exports besides the cloud detectors', in order.
STREAM_METRICS: tuple[MetricSpec, ...] = (
    # --- information ---------------------------------------------------------------------
    _spec("streamer_build_info", "gauge", "Always 1; the pii-streamer version.", "version"),
    _spec(
        "streamer_pipeline_info",
        "gauge",
        "Always 1; the pipeline (topology name), consumer group and policy version.",
        "pipeline",
        "group_id",
        "policy_version",
    ),
    # --- records -------------------------------------------------------------------------
    _spec("streamer_events_consumed", "counter", "Records fetched from an input topic.", "topic"),
    _spec(
        "streamer_events_processed",
        "counter",
        "Input records whose outputs Kafka acknowledged (committable).",
        "topic",
    ),
    _spec(
        "streamer_events_produced",
        "counter",
        "Records handed to the producer, per output topic and role (output: clean "
        "records, tokens: token mappings, dlq: dead letters).",
        "topic",
        "role",
    ),
    _spec(
        "streamer_dead_letters",
        "counter",
        "Input records sent to the dead-letter topic, by input topic and reason code.",
        "topic",
        "reason",
    ),
    _spec(
        "streamer_entities_detected",
        "counter",
        "Values replaced, by entity type and the detector that found them "
        "(field_rule for policy field rules).",
        "entity_type",
        "detector",
    ),
    _spec("streamer_batches", "counter", "Batches handed to the worker pool."),
    # --- latency -------------------------------------------------------------------------
    _spec(
        "streamer_end_to_end_latency_seconds",
        "histogram",
        "Per record: from its Kafka timestamp to the acknowledgement of its outputs.",
    ),
    _spec(
        "streamer_stage_duration_seconds",
        "histogram",
        "Per batch: redact (worker pool and detectors, queueing included) and publish "
        "(handing records to the producer until Kafka acknowledged them all).",
        "stage",
    ),
    # --- flow control ----------------------------------------------------------------------
    _spec("streamer_in_flight_records", "gauge", "Records fetched and not yet acknowledged."),
    _spec(
        "streamer_in_flight_bytes", "gauge", "Bytes of records fetched and not yet acknowledged."
    ),
    _spec("streamer_paused_partitions", "gauge", "Assigned partitions paused by backpressure."),
    _spec(
        "streamer_backpressure_pauses",
        "counter",
        "Times backpressure paused partitions (in-flight bounds reached).",
    ),
    # --- consumer group ------------------------------------------------------------------
    _spec("streamer_assigned_partitions", "gauge", "Input partitions assigned to this instance."),
    _spec(
        "streamer_consumer_lag",
        "gauge",
        "Records behind the end of an assigned partition: its high watermark from the last "
        "fetch minus this instance's committed offset (the fetch position before its "
        "first commit).",
        "topic",
        "partition",
    ),
    _spec("streamer_commits", "counter", "Offset commits that succeeded."),
    _spec(
        "streamer_commit_failures",
        "counter",
        "Offset commits that failed or were skipped during a rebalance (retried).",
    ),
    _spec("streamer_rebalances", "counter", "Partition assignments received from the group."),
    _spec(
        "streamer_producer_errors",
        "counter",
        "Records Kafka did not acknowledge, by error class (the pipeline stops on the "
        "first; its records are processed again after a restart).",
        "kind",
    ),
    # --- worker pool ---------------------------------------------------------------------
    _spec("streamer_workers", "gauge", "Worker processes configured (0: in-process)."),
    _spec("streamer_workers_alive", "gauge", "Worker processes running."),
    _spec("streamer_worker_queue_depth", "gauge", "Batches waiting for a free worker."),
    _spec(
        "streamer_worker_utilization",
        "gauge",
        "Share of workers busy at scrape time, 0 to 1 (average it with "
        "rate(streamer_worker_busy_seconds_total) / streamer_workers).",
    ),
    _spec("streamer_worker_busy_seconds", "counter", "Worker-seconds spent on batches."),
    _spec(
        "streamer_worker_restarts", "counter", "Worker pool restarts after a worker process died."
    ),
)

#: The specs by family name.
BY_NAME: dict[str, MetricSpec] = {spec.name: spec for spec in STREAM_METRICS}


class Families:
    """The families of one scrape, filled by name and yielded in catalogue order."""

    def __init__(self, specs: Iterable[MetricSpec] = STREAM_METRICS) -> None:
        self._families = {spec.name: spec.family() for spec in specs}

    def add(self, name: str, value: float, *labels: str) -> None:
        family = self._families[name]
        family.add_metric(list(labels), value)  # type: ignore[attr-defined]

    def add_histogram(
        self, name: str, buckets: list[tuple[str, int]], total: float, *labels: str
    ) -> None:
        family = self._families[name]
        family.add_metric(list(labels), buckets, total)  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._families.values())


__all__ = ["BY_NAME", "STREAM_METRICS", "Families", "MetricSpec"]
