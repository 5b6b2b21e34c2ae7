"""A running pipeline as operators see it: Prometheus metrics, liveness and readiness.

Nothing here sits on the hot path. The runtime keeps its counters in
:class:`~streamer.stream.stats.StreamStats` (updated once per batch), and
:class:`RuntimeCollector` turns them, with the backpressure, checkpoint, pool and
consumer state, into metric families only when Prometheus scrapes. The metric names
are those of :mod:`streamer.observability.metrics`; the cloud detectors' metrics live
in the same registry (``runtime.registry``).

:func:`serve_metrics` runs ``/metrics``, ``/healthz`` and ``/readyz`` next to a runtime
when ``settings.metrics_port`` is set (``streamer run --metrics-port``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client.registry import Collector

from streamer.errors import ConfigurationError, DependencyMissingError
from streamer.observability.metrics import Families
from streamer.settings import StreamerSettings

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from streamer.observability.health import HealthServer
    from streamer.stream.runtime import StreamRuntime

log = logging.getLogger(__name__)

#: Seconds the consume loop may go without a round before ``/healthz`` fails (longer
#: when the shutdown timeout is: the loop has ended while in-flight work drains).
STALL_SECONDS = 120.0
#: Seconds a broker metadata request may take in the readiness check.
BROKER_CHECK_TIMEOUT = 2.0
#: Seconds one consumer position lookup may take before a scrape.
POSITION_TIMEOUT = 0.5


class RuntimeCollector(Collector):
    """Reads one runtime's state at scrape time and yields the stream metric families."""

    def __init__(self, runtime: StreamRuntime) -> None:
        self.runtime = runtime
        #: Fetch positions of assigned partitions, refreshed before each scrape
        #: (:meth:`refresh_positions`), for lag before an instance's first commit.
        self.positions: dict[TopicPartition, int] = {}

    def describe(self) -> Iterator[Metric]:
        return iter(Families())

    async def refresh_positions(self) -> None:
        consumer = self.runtime.consumer
        if consumer is None:
            return
        positions = {}
        for tp in consumer.assignment():
            with contextlib.suppress(KafkaError, TimeoutError, AssertionError):
                positions[tp] = await asyncio.wait_for(consumer.position(tp), POSITION_TIMEOUT)
        self.positions = positions

    def collect(self) -> Iterator[Metric]:
        from streamer import __version__

        runtime = self.runtime
        topology = runtime.topology
        stats = runtime.stats
        families = Families()
        add = families.add
        add("streamer_build_info", 1, __version__)
        add(
            "streamer_pipeline_info",
            1,
            topology.name,
            topology.group,
            str(topology.policy.version),
        )

        for topic in sorted({*topology.inputs, *stats.records_in}):
            add("streamer_events_consumed", stats.records_in[topic], topic)
            add("streamer_events_processed", stats.records_done[topic], topic)
        add("streamer_events_produced", stats.clean_out, topology.output_topic, "output")
        add("streamer_events_produced", stats.token_records, topology.token_topic, "tokens")
        add("streamer_events_produced", stats.dead_letters.total(), topology.dlq_topic, "dlq")
        for (topic, reason), count in sorted(stats.dead_letters_by_topic.items()):
            add("streamer_dead_letters", count, topic, reason)
        for (entity_type, detector), count in sorted(stats.detections.items()):
            add("streamer_entities_detected", count, entity_type, detector)
        add("streamer_batches", stats.batches)

        e2e = stats.end_to_end_seconds
        families.add_histogram("streamer_end_to_end_latency_seconds", e2e.cumulative(), e2e.sum)
        for stage, histogram in stats.stage_seconds.items():
            families.add_histogram(
                "streamer_stage_duration_seconds", histogram.cumulative(), histogram.sum, stage
            )

        pressure = runtime.backpressure
        add("streamer_in_flight_records", pressure.records)
        add("streamer_in_flight_bytes", pressure.bytes)
        add("streamer_paused_partitions", len(pressure.paused))
        add("streamer_backpressure_pauses", pressure.pause_count)

        assigned = self._assigned()
        add("streamer_assigned_partitions", len(assigned))
        for tp, lag in sorted(self._lag(assigned).items()):
            add("streamer_consumer_lag", lag, tp.topic, str(tp.partition))
        add("streamer_commits", stats.commits)
        add("streamer_commit_failures", stats.commit_failures)
        add("streamer_rebalances", stats.rebalances)
        for kind, count in sorted(stats.producer_errors.items()):
            add("streamer_producer_errors", count, kind)

        pool = runtime.pool
        load = pool.load
        add("streamer_workers", pool.workers)
        add("streamer_workers_alive", len(pool.worker_pids()) if pool.workers else int(pool.up))
        add("streamer_worker_queue_depth", load.queue_depth)
        add("streamer_worker_utilization", load.busy / load.capacity)
        add("streamer_worker_busy_seconds", load.busy_seconds())
        add("streamer_worker_restarts", pool.restarts)
        return iter(families)

    def _assigned(self) -> set[TopicPartition]:
        consumer = self.runtime.consumer
        return set(consumer.assignment()) if consumer is not None else set()

    def _lag(self, assigned: set[TopicPartition]) -> dict[TopicPartition, int]:
        consumer = self.runtime.consumer
        checkpoint = self.runtime.checkpoint
        if consumer is None or checkpoint is None:
            return {}
        committed = checkpoint.committed
        lags = {}
        for tp in assigned:
            highwater = consumer.highwater(tp)
            base = committed.get(tp, self.positions.get(tp))
            if highwater is None or base is None:
                continue
            lags[tp] = max(highwater - base, 0)
        return lags


class RuntimeMonitor:
    """The metrics collector and the health checks of one runtime.

    Readiness: ``partitions_assigned`` (the group gave this instance partitions),
    ``broker_reachable`` (a metadata request answers within 2 s), ``workers_up`` (every
    worker process runs) and ``pipeline_running`` (not failed, not stopping). Liveness:
    ``consume_loop`` (the loop fetching records went round within ``stall_seconds``;
    an event loop that does not answer fails the probe by itself).
    """

    def __init__(self, runtime: StreamRuntime) -> None:
        from streamer.cloud.metrics import CloudMetrics

        self.runtime = runtime
        self.stall_seconds = max(STALL_SECONDS, runtime.settings.shutdown_timeout + 30)
        self.collector = RuntimeCollector(runtime)
        runtime.registry.register(self.collector)
        CloudMetrics.for_registry(runtime.registry)  # the cloud families, in the same registry

    # --- checks ---------------------------------------------------------------------------

    def partitions_assigned(self) -> bool:
        consumer = self.runtime.consumer
        return consumer is not None and bool(consumer.assignment())

    async def broker_reachable(self) -> bool:
        consumer = self.runtime.consumer
        if consumer is None or self.runtime.stopping:  # its clients are about to close
            return False
        try:
            await asyncio.wait_for(consumer.topics(), BROKER_CHECK_TIMEOUT)
        except (KafkaError, TimeoutError):
            return False
        return True

    def workers_up(self) -> bool:
        return self.runtime.pool.up

    def pipeline_running(self) -> bool:
        return self.runtime.failure is None and not self.runtime.stopping

    def consume_loop(self) -> bool:
        polled_at = self.runtime.stats.polled_at
        return polled_at is None or time.monotonic() - polled_at < self.stall_seconds

    def readiness_checks(self) -> dict[str, Any]:
        return {
            "partitions_assigned": self.partitions_assigned,
            "broker_reachable": self.broker_reachable,
            "workers_up": self.workers_up,
            "pipeline_running": self.pipeline_running,
        }

    # --- serving --------------------------------------------------------------------------

    async def serve(self, host: str, port: int) -> HealthServer:
        """Start ``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` (0: free port)."""
        try:
            from streamer.observability.health import HealthServer
        except ImportError:
            raise DependencyMissingError("--metrics-port", "aiohttp", "cloud") from None
        server = HealthServer(
            self.runtime.registry,
            port=port,
            host=host,
            checks=self.readiness_checks(),
            live_checks={"consume_loop": self.consume_loop},
            before_scrape=self.collector.refresh_positions,
        )
        try:
            return await server.start()
        except OSError as exc:
            if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                fix = (
                    "fix --metrics-host (STREAMER_METRICS_HOST): an address of this machine, "
                    "or 0.0.0.0 for all of them"
                )
            else:
                fix = "choose another --metrics-port (STREAMER_METRICS_PORT), or 0 for a free one"
            raise ConfigurationError(
                f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}); {fix}"
            ) from None


@contextlib.asynccontextmanager
async def serve_metrics(
    runtime: StreamRuntime, settings: StreamerSettings
) -> AsyncIterator[HealthServer | None]:
    """Serve the runtime's metrics and probes for the block when ``metrics_port`` is set
    (yields the server, or ``None`` when metrics are off)."""
    if settings.metrics_port is None:
        yield None
        return
    monitor = RuntimeMonitor(runtime)
    server = await monitor.serve(settings.metrics_host, settings.metrics_port)
    log.info(  # no address in the text: the redacting filter would take it for personal data
        f"serving /metrics, /healthz and /readyz on port {server.port}",
        extra={"metrics_port": server.port},
    )
    try:
        yield server
    finally:
        await server.stop()


__all__ = ["RuntimeCollector", "RuntimeMonitor", "serve_metrics"]
