"""The stream runtime: consume raw topics, redact on the worker pool, publish, commit.

One asyncio loop in one process talks to Kafka; the CPU-bound work runs on the worker
pool. For each assigned partition there is a *lane*: its batches are redacted
concurrently but published strictly in offset order, so the clean topic keeps the
input's order per key. Around it:

- :class:`~streamer.stream.backpressure.Backpressure` bounds what is in flight and
  pauses partitions that are ahead;
- :class:`~streamer.stream.checkpoint.CommitCheckpoint` commits offsets only once
  everything made from them is acknowledged;
- :class:`~streamer.stream.sinks.OutputSinks` publishes clean, token and dead-letter
  records with the producer's batch API.
- :class:`~streamer.stream.cloud_stage.CloudStage` (with a topology ``cloud:`` section)
  asks the cloud providers about each batch before it goes to the pool.

``StreamRuntime.redact`` is the one place a batch goes to be redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaConnectionError,
    KafkaError,
    RebalanceInProgressError,
)
from prometheus_client import CollectorRegistry

from streamer.counts import counted
from streamer.redaction.detector import Detector
from streamer.redaction.keys import Keyring
from streamer.redaction.result import PayloadFailure
from streamer.redaction.service import EngineSpec
from streamer.settings import StreamerSettings
from streamer.stream.admin import dead_letter_message_bytes, ensure_topics, record_limits
from streamer.stream.backpressure import Backpressure
from streamer.stream.checkpoint import (
    BatchTicket,
    CommitCheckpoint,
    ConsumerGroupCommitter,
    OffsetCommitter,
    TransactionCommitter,
)
from streamer.stream.cloud_stage import CloudStage, fallback_engine, worker_detectors
from streamer.stream.connection import client_options, security_options, unavailable
from streamer.stream.exceptions import (
    ExactlyOnceUnsupportedError,
    KafkaUnavailableError,
    ProduceError,
    StreamError,
)
from streamer.stream.fetched import (
    UNDECODABLE_HEADER_NAME,
    has_undecodable_header_name,
    tolerate_undecodable_header_names,
)
from streamer.stream.futures import log_unawaited_kafka_errors
from streamer.stream.headers import Header, ProvenanceHeaders, header_value
from streamer.stream.monitoring import serve_metrics
from streamer.stream.pool import RedactionPool
from streamer.stream.processor import (
    BatchResult,
    EmittedTokens,
    ExternalDetection,
    ProcessorSpec,
    RecordBatch,
)
from streamer.stream.sinks import OutputSinks, OutputTopics
from streamer.stream.stats import StreamStats
from streamer.stream.topology import Topology
from streamer.vault.exceptions import TopicUnavailableError
from streamer.vault.key_topic import KeyTopicSync
from streamer.vault.keyring import following_key_sync, keyring_from_settings

log = logging.getLogger(__name__)

#: Largest producer batch: under Kafka's default message size limit (1 MB).
PRODUCER_BATCH_BYTES = 512 * 1024
#: Records asked of one ``getmany`` call at most.
FETCH_RECORDS = 10_000
#: Seconds between progress log lines.
PROGRESS_INTERVAL = 30.0


def check_delivery_settings(settings: StreamerSettings) -> None:
    """Producer settings that cannot go together, refused before anything starts: Kafka
    transactions need ``acks=all`` (aiokafka's producer raised a bare ValueError)."""
    if settings.exactly_once and settings.acks != "all":
        raise ExactlyOnceUnsupportedError(
            f"--exactly-once writes in Kafka transactions, which need acks=all, but "
            f"STREAMER_ACKS is {settings.acks}; unset STREAMER_ACKS (all is the default) or "
            "run --at-least-once"
        )


@dataclass(eq=False)
class Lane:
    """The in-order publishing chain of one assigned partition."""

    tp: TopicPartition
    headers: ProvenanceHeaders
    hash_keys: bool
    tail: asyncio.Task[None] | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class StreamRuntime:
    """Runs one instance of a pipeline until :meth:`request_stop` (or a signal).

    ``workers`` overrides the settings' worker count (``0`` redacts in this process);
    ``keyring`` and ``detectors`` replace the ones the settings and policy name.
    ``registry`` is where the runtime's Prometheus metrics go (cloud detection's among
    them; a registry of its own when not given); ``cloud_options`` maps a cloud
    provider's name to extra constructor arguments (an Azure ``credential``, an AWS
    ``session``).
    """

    #: What processes uncommitted records again, as this runtime's messages say it (a
    #: replay is continued with --resume: its --restart would discard its progress).
    rerun = "a restart"

    def __init__(
        self,
        topology: Topology,
        settings: StreamerSettings,
        *,
        keyring: Keyring | None = None,
        detectors: Sequence[str | Detector] | None = None,
        workers: int | None = None,
        registry: CollectorRegistry | None = None,
        cloud_options: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.topology = topology.check_runnable(keys_topic=settings.keys_topic)
        #: Where this runtime's metrics (and its cloud detectors') are registered.
        self.registry = registry if registry is not None else CollectorRegistry()
        self.settings = topology.engine_settings(settings)
        # Bad Kafka settings fail now, not after models load.
        self._security = security_options(self.settings)
        check_delivery_settings(self.settings)
        self.keyring = keyring or self._open_keyring()
        limits = topology.limits
        self.max_dead_letter_payload, self.max_output_bytes = record_limits(
            self.settings.max_record_bytes
        )
        local = tuple(detectors) if detectors is not None else None
        self.cloud = self._cloud_stage(topology, cloud_options)
        self.spec = ProcessorSpec(
            engine=EngineSpec(
                topology.policy,
                worker_detectors(topology.cloud, local),
                self.keyring,
                self.settings,
            ),
            event_format=topology.format,
            scope_field=topology.key_scope.field,
            default_scope=topology.key_scope.default,
            detector_retries=self.settings.detector_retries,
            token_cache_size=self.settings.token_cache_size,
            max_dead_letter_payload=self.max_dead_letter_payload,
            max_output_bytes=self.max_output_bytes,
            fallback_engine=fallback_engine(
                topology.cloud, topology.policy, local, self.keyring, self.settings
            ),
        )
        self.pool = RedactionPool(self.spec, self.settings.workers if workers is None else workers)
        self.backpressure = Backpressure(limits.max_in_flight_records, limits.max_in_flight_bytes)
        self.stats = StreamStats()
        self.checkpoint: CommitCheckpoint | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.sinks: OutputSinks | None = None
        self._lanes: dict[TopicPartition, Lane] = {}
        self._revoking: set[TopicPartition] = set()
        self._stop = asyncio.Event()
        self._failure: BaseException | None = None
        self._stop_after: dict[TopicPartition, int] | None = None
        self._pass_headers = frozenset(topology.pass_headers)
        self._scope_header = topology.key_scope.header
        self._started = asyncio.Event()
        self._starting: asyncio.Future[None] | None = None
        self._abandon_drain = False
        self._draining: asyncio.Future[bool] | None = None
        self._key_sync: KeyTopicSync | None = None
        self._commits_failing_since: float | None = None

    def _open_keyring(self) -> Keyring:
        """The settings' keyring with any key provider (a KMS too), caught up with the keys
        other hosts published to the keys topic."""
        try:
            return keyring_from_settings(self.settings, **self._security)
        except TopicUnavailableError as exc:  # the keys topic: Kafka unreachable, exit 4
            raise KafkaUnavailableError(str(exc)) from None

    # --- cloud detection (topology.cloud; see streamer.stream.cloud_stage) ---------------

    def _cloud_stage(
        self, topology: Topology, options: dict[str, dict[str, Any]] | None
    ) -> CloudStage | None:
        if topology.cloud is None:
            return None
        return CloudStage(
            topology.cloud,
            self.settings,
            policy=topology.policy,
            keyring=self.keyring,
            event_format=topology.format,
            registry=self.registry,
            provider_options=options,
        )

    @property
    def detector_names(self) -> tuple[str, ...]:
        """What scans each record: the workers' detectors, then the cloud providers."""
        cloud = self.cloud.provider_names if self.cloud is not None else ()
        return (*self.pool.detector_names, *cloud)

    # --- lifecycle ---------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop fetching, drain in-flight work, commit, and return from :meth:`run`."""
        self._stop.set()

    def stop_after(self, offsets: dict[TopicPartition, int]) -> None:
        """Stop once these offsets are committed (the demo and benchmarks use it)."""
        self._stop_after = dict(offsets)

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    @property
    def stopping(self) -> bool:
        """Whether a stop was requested (or a failure stops it): draining, then closing."""
        return self._stop.is_set()

    async def wait_started(self) -> None:
        """Until the pool is up and the consumer has joined its group."""
        await self._started.wait()

    async def run(self, *, handle_signals: bool = False) -> StreamStats:
        """Run until stopped; returns the counters. Raises what made it stop, if anything.

        With ``handle_signals`` the first SIGTERM/SIGINT drains and stops; a second one
        abandons the drain. During start-up the first one stops it at once.
        """
        log_unawaited_kafka_errors(asyncio.get_running_loop())
        if handle_signals:
            self._install_signal_handlers()
        try:
            if await self._start_unless_stopped():
                self._started.set()
                await self._consume()
        finally:
            limit = self.settings.shutdown_timeout + 15
            try:
                await asyncio.wait_for(asyncio.shield(self._shutdown()), limit)
            except TimeoutError:
                raise StreamError(
                    f"stopping took longer than {limit:.0f}s (clients or workers did not "
                    f"close); uncommitted records are processed again after {self.rerun}"
                ) from None
            finally:
                if handle_signals:
                    self._remove_signal_handlers()
        if self._failure is not None:
            raise self._failure
        return self.stats

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if self._abandon_drain:
                return  # already stopping without a drain
            if self._stop.is_set():
                log.warning(
                    "second signal: abandoning the drain; uncommitted records are processed "
                    f"again after {self.rerun}"
                )
                self._abandon_drain = True
                if self._draining is not None:
                    self._draining.cancel()
                elif self._starting is not None:
                    self._starting.cancel()  # still starting (loading models, joining)
                return
            name = signal.Signals(signum).name
            self.request_stop()
            if self._starting is not None and not self._started.is_set():
                # Still starting (loading models, joining the group): nothing is in flight.
                log.info(f"{name} received while starting; stopping", extra={"signal": name})
                self._abandon_drain = True
                self._starting.cancel()
                return
            log.info(f"{name} received; draining in-flight work", extra={"signal": name})

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)

    def _remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)

    async def _start_unless_stopped(self) -> bool:
        """Start (see :meth:`_start`); ``False`` when a signal stopped it first.

        The start runs as a task of its own, which a signal cancels: cancelling
        :meth:`run`'s task instead could leave that cancellation pending (the start
        failing at the same moment, say, as a worker got the terminal's Ctrl-C) until the
        shutdown awaited something, which then ended in a CancelledError traceback.
        """
        self._starting = asyncio.ensure_future(self._start())
        try:
            await self._starting
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this task itself was cancelled, not only the start
            return False
        except Exception as exc:
            if not self._abandon_drain:
                raise
            # A signal stopped the start: what failed after it (a worker that got the
            # terminal's Ctrl-C too, say) is no news to the user who asked to stop.
            log.debug("the start failed after a signal", extra={"error": type(exc).__name__})
            return False
        return True

    async def _start(self) -> None:
        # Kafka first: an unreachable cluster fails in a second, not after the workers
        # have spent their start-up loading models.
        await self._start_outputs()
        # With a keys topic (STREAMER_KEYS_TOPIC): the scopes this host creates reach the
        # other hosts, and their keys, rotations and shreds reach this one.
        self._key_sync = await following_key_sync(self.settings, **self._security)
        if self.cloud is not None:
            await self.cloud.start()
        await self.pool.start()
        # A header name that is not UTF-8 dead-letters its record, not the consumer.
        tolerate_undecodable_header_names()
        await self._start_consumer()

    async def _stop_key_sync(self) -> None:
        """Publish what the last batches created, then stop syncing."""
        sync, self._key_sync = self._key_sync, None
        if sync is None:
            return
        await sync.stop_following()
        try:
            await asyncio.wait_for(sync.sync(), self.settings.session_timeout_ms / 1000)
        except (KafkaError, TopicUnavailableError, TimeoutError) as exc:
            log.warning(
                "could not publish the last key changes to the keys topic; the next run does",
                extra={"error": type(exc).__name__},
            )
        finally:
            await sync.stop()

    async def _start_outputs(self) -> None:
        """Create missing topics, start the producer and the sinks."""
        settings = self.settings
        topology = self.topology
        # Missing inputs too: left to the broker, they got its default partition count
        # (the embedded broker creates them on subscription), unlike the outputs made here.
        report = await ensure_topics(
            settings,
            topology,
            include_inputs=settings.create_topics,
            create=settings.create_topics,
        )
        for warning in report.warnings:
            log.warning(warning)
        created = {plan.name: plan.partitions for plan in report.created}
        for name in report.missing_inputs:
            if name in created:
                log.info(
                    f"input topic {name} did not exist; created it "
                    f"({counted(created[name], 'partition')})"
                )
            else:
                log.warning(f"input topic {name} does not exist yet; waiting for it")
        self.producer = await self._start_producer()
        topics = await self._output_topics()
        self.sinks = OutputSinks(self.producer, topics, EmittedTokens(settings.token_cache_size))

    async def _start_consumer(self) -> None:
        """Join the topology's consumer group with the commit protocol on top."""
        settings = self.settings
        topology = self.topology
        committer: OffsetCommitter
        self.consumer = AIOKafkaConsumer(
            **client_options(settings),
            group_id=topology.group,
            enable_auto_commit=False,
            auto_offset_reset=settings.auto_offset_reset,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            rebalance_timeout_ms=settings.rebalance_timeout_ms,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            max_partition_fetch_bytes=max(1024 * 1024, settings.max_record_bytes + 64 * 1024),
            isolation_level="read_committed" if settings.exactly_once else "read_uncommitted",
        )
        if settings.exactly_once:
            transactions = TransactionCommitter(self.producer, topology.group)
            await transactions.begin()
            committer = transactions
        else:
            committer = ConsumerGroupCommitter(self.consumer)
        self.checkpoint = CommitCheckpoint(
            committer, on_failure=self._fail, transactional=settings.exactly_once
        )
        try:
            await self.consumer.start()
        except KafkaError as exc:
            raise unavailable(settings, exc) from None
        self.consumer.subscribe(list(topology.inputs), listener=_RebalanceListener(self))
        log.info(
            f"pipeline started: group {topology.group}, {counted(self.pool.workers, 'worker')}",
            extra={
                "group_id": topology.group,
                "inputs": list(topology.inputs),
                "workers": self.pool.workers,
            },
        )

    async def _start_producer(self) -> AIOKafkaProducer:
        settings = self.settings
        options: dict[str, Any] = {
            **client_options(settings),
            "acks": "all" if settings.acks == "all" else 1,
            "compression_type": None
            if settings.compression_type == "none"
            else settings.compression_type,
            "max_batch_size": PRODUCER_BATCH_BYTES,
            "max_request_size": max(
                dead_letter_message_bytes(self.max_dead_letter_payload),
                self.max_output_bytes + 64 * 1024,
            ),
            "linger_ms": 5,
        }
        if settings.exactly_once:
            options["transactional_id"] = settings.transactional_id or (
                f"{self.topology.group}-{socket.gethostname()}"
            )
        producer = AIOKafkaProducer(**options)
        try:
            await asyncio.wait_for(producer.start(), 30)
        except (KafkaError, TimeoutError) as exc:
            with contextlib.suppress(Exception):
                await producer.stop()
            if settings.exactly_once and not isinstance(exc, KafkaConnectionError):
                raise ExactlyOnceUnsupportedError(
                    f"--exactly-once needs a Kafka broker with transactions, and "
                    f"{settings.bootstrap_servers} refused to start one (InitProducerId: "
                    f"{type(exc).__name__}); the embedded broker does not support them. Run "
                    "without --exactly-once (at-least-once, with byte-identical reprocessing) "
                    "or point --bootstrap-servers at Apache Kafka, Redpanda, MSK or Confluent"
                ) from None
            raise unavailable(settings, exc) from None
        return producer

    async def _output_topics(self) -> OutputTopics:
        assert self.producer is not None
        topology = self.topology
        counts = []
        for topic in (topology.output_topic, topology.token_topic, topology.dlq_topic):
            try:
                partitions = await self.producer.partitions_for(topic)
            except KafkaError as exc:
                raise unavailable(self.settings, exc) from None
            if not partitions:
                raise StreamError(
                    f"topic {topic!r} does not exist; create it with `streamer topics` or "
                    "leave --create-topics on"
                )
            counts.append(len(partitions))
        return OutputTopics(
            topology.output_topic, topology.token_topic, topology.dlq_topic, *counts
        )

    # --- consuming ---------------------------------------------------------------------

    async def _consume(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        backpressure = self.backpressure
        batch_records = self.topology.limits.batch_records
        interval = self.settings.commit_interval_ms / 1000
        last_commit = last_progress = time.monotonic()
        done_at_last_progress = 0
        while not self._stop.is_set() and self._failure is None:
            if backpressure.saturated:
                paused = backpressure.to_pause(consumer.assignment())
                if paused:
                    consumer.pause(*paused)
                await backpressure.wait_drained(timeout=0.2)
            resumed = backpressure.to_resume()
            if resumed:
                consumer.resume(*(tp for tp in resumed if tp in self._lanes))
            if self.cloud is not None:
                self.cloud.hold_consumption(consumer, self._lanes, backpressure.paused)
            if not backpressure.saturated:
                try:
                    fetched = await consumer.getmany(
                        timeout_ms=100, max_records=min(FETCH_RECORDS, backpressure.room())
                    )
                except (KafkaConnectionError, IllegalStateError) as exc:
                    log.warning("fetch failed; retrying", extra={"error": type(exc).__name__})
                    await asyncio.sleep(0.5)
                    continue
                except KafkaError as exc:
                    raise StreamError(
                        f"reading {', '.join(self.topology.inputs)} failed "
                        f"({type(exc).__name__}); check that the topics exist and this client "
                        "may read them and commit for its group (ACLs)"
                    ) from None
                for tp, records in fetched.items():
                    lane = self._lanes.get(tp)
                    if lane is None or tp in self._revoking or not records:
                        continue  # revoked meanwhile: the new owner fetches them again
                    for start in range(0, len(records), batch_records):
                        self._dispatch(lane, records[start : start + batch_records])
            now = self.stats.polled_at = time.monotonic()
            if now - last_commit >= interval:
                await self._commit()
                last_commit = time.monotonic()
                if self._stop_after is not None and self._reached(self._stop_after):
                    self.request_stop()
            if now - last_progress >= PROGRESS_INTERVAL:
                done = self.stats.processed
                self._log_progress(done - done_at_last_progress, now - last_progress)
                last_progress, done_at_last_progress = now, done

    def _log_progress(self, records: int, seconds: float) -> None:
        stats, pressure = self.stats, self.backpressure
        log.info(
            f"{counted(stats.processed, 'record')} processed ({records / seconds:.0f}/s "
            f"lately), {counted(stats.dead_letters.total(), 'dead letter')}, "
            f"{pressure.records:,} in flight, {counted(len(pressure.paused), 'partition')} paused",
            extra={
                "processed": stats.processed,
                "rate": round(records / seconds, 1),
                "in_flight_records": pressure.records,
                "paused_partitions": len(pressure.paused),
            },
        )

    def _dispatch(self, lane: Lane, records: list[Any]) -> None:
        """Open a batch on the checkpoint and start its redact-then-publish task."""
        assert self.checkpoint is not None
        tp = lane.tp
        payloads = [record.value for record in records]
        size = sum(len(payload) for payload in payloads if payload is not None)
        ticket = self.checkpoint.open(
            tp, records[0].offset, records[-1].offset + 1, len(records), size
        )
        self.backpressure.acquire(tp, len(records), size)
        ticket.on_acked.append(self._on_acked)
        scopes = None
        if self._scope_header is not None:
            default = self.topology.key_scope.default
            name = self._scope_header
            scopes = [_header_scope(r.headers, name, default) for r in records]
        passed = None
        if self._pass_headers:
            allowed = self._pass_headers
            passed = [[(k, v) for k, v in r.headers if k in allowed] for r in records]
        set_aside = {
            i: UNDECODABLE_HEADER_NAME
            for i, r in enumerate(records)
            if r.headers and has_undecodable_header_name(r.headers)
        }
        batch = RecordBatch(
            tp.topic,
            tp.partition,
            [record.offset for record in records],
            [record.timestamp for record in records],
            [record.key for record in records],
            payloads,
            scopes,
            lane.hash_keys,
        )
        stats = self.stats
        stats.records_in[tp.topic] += len(records)
        stats.batches += 1
        if stats.first_record_at is None:
            stats.first_record_at = time.monotonic()
        task = asyncio.create_task(self._process(lane, ticket, batch, passed, set_aside, lane.tail))
        lane.tail = task
        lane.tasks.add(task)
        task.add_done_callback(lane.tasks.discard)

    async def redact(
        self, batch: RecordBatch, set_aside: dict[int, PayloadFailure] | None = None
    ) -> BatchResult:
        """Redact one batch: the single point where records go to the worker pool.

        With a ``cloud:`` section the cloud providers are asked first (on this loop,
        concurrently with other batches), and what they found goes with the batch.
        Records in ``set_aside`` (by index) are dead-lettered with their failure instead.
        """
        if self.cloud is None:
            if not set_aside:
                return await self.pool.process(batch)
            return await self.pool.process(
                batch, ExternalDetection([None] * len(batch), dict(set_aside))
            )
        tp = TopicPartition(batch.topic, batch.partition)
        lane = self._lanes.get(tp)
        detection = await self.cloud.detect(
            batch, still_wanted=lambda: self._lanes.get(tp) is lane and tp not in self._revoking
        )
        if set_aside:
            detection.dead_letters.update(set_aside)
        return await self.pool.process(batch, detection)

    async def _process(
        self,
        lane: Lane,
        ticket: BatchTicket,
        batch: RecordBatch,
        passed_headers: list[list[Header]] | None,
        set_aside: dict[int, PayloadFailure],
        previous: asyncio.Task[None] | None,
    ) -> None:
        assert self.sinks is not None and self.checkpoint is not None
        try:
            started = time.monotonic()
            result = await self.redact(batch, set_aside)
            self.stats.stage_seconds["redact"].observe(time.monotonic() - started)
            if previous is not None:
                await previous  # publish in offset order
            if self._failure is not None:
                return
            async with self.checkpoint.publishing():
                ticket.on_acked.append(self.stats.ack_timer(batch.timestamps))
                futures, published = await self.sinks.publish(
                    batch, result, lane.headers, passed_headers
                )
                self.checkpoint.seal(ticket, futures)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(exc)
            return
        self.stats.published(batch.topic, result, published)

    def _on_acked(self, ticket: BatchTicket) -> None:
        self.backpressure.release(ticket.tp, ticket.records, ticket.size)
        self.stats.records_done[ticket.tp.topic] += ticket.records
        self.stats.last_done_at = time.monotonic()

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, KafkaError):
            self.stats.producer_errors[type(error).__name__] += 1
        if self._failure is not None:
            return
        if isinstance(error, KafkaError):
            error = ProduceError(
                f"a record was not acknowledged by Kafka ({type(error).__name__}); nothing "
                f"after it is committed, so {self.rerun} processes it again"
            )
        log.error(
            f"pipeline failed ({type(error).__name__}); stopping",
            extra={"error": type(error).__name__},
        )
        self._failure = error
        self._stop.set()

    def _reached(self, offsets: dict[TopicPartition, int]) -> bool:
        assert self.checkpoint is not None
        committed = self.checkpoint.committed
        return all(committed.get(tp, -1) >= offset for tp, offset in offsets.items())

    # --- committing --------------------------------------------------------------------

    async def _commit(self, *, last: bool = False) -> None:
        assert self.checkpoint is not None
        # aiokafka retries a commit for as long as the coordinator is unknown or answers
        # with a retriable error (an input topic gone); bounded here, so that the loop
        # still sees signals and a cluster that stays away stops the run (exit 4). A
        # transaction commit first waits for every published record's ack, and cancelling
        # it would leave the transaction in doubt: it is not bounded.
        timeout = None if self.settings.exactly_once else self.settings.session_timeout_ms / 1000
        try:
            committed = await asyncio.wait_for(self.checkpoint.commit(), timeout)
        except (CommitFailedError, RebalanceInProgressError, IllegalStateError) as exc:
            # The group is rebalancing; the revocation handler commits what it owns.
            self.stats.commit_failures += 1
            log.info("commit skipped during a rebalance", extra={"error": type(exc).__name__})
            return
        except (KafkaError, TimeoutError) as exc:
            if self.settings.exactly_once:  # a transaction that did not commit cannot go on
                self._fail(exc)
                return
            self.stats.commit_failures += 1
            log.warning("commit failed; retrying later", extra={"error": type(exc).__name__})
            self._commit_failed(exc, last=last)
            return
        self._commits_failing_since = None
        if committed:
            self.stats.commits += 1

    def _commit_failed(self, error: BaseException, *, last: bool) -> None:
        """Stop with exit 4 once commits have failed for three session timeouts in a row
        (by then the group has given this instance's partitions away, or the cluster or
        an input topic is gone), or when the ``last`` commit, at shutdown, failed."""
        now = time.monotonic()
        if self._commits_failing_since is None:
            self._commits_failing_since = now
        if last or now - self._commits_failing_since >= 3 * self.settings.session_timeout_ms / 1000:
            self._fail(
                KafkaUnavailableError(
                    f"could not commit offsets to Kafka at {self.settings.bootstrap_servers} "
                    f"({type(error).__name__}); check that the brokers run and the input "
                    f"topics ({', '.join(self.topology.inputs)}) exist. Records after the "
                    "last commit are processed again after a restart"
                )
            )

    # --- rebalancing -------------------------------------------------------------------

    async def _partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        assert self.consumer is not None and self.sinks is not None
        assert self.checkpoint is not None
        for tp in assigned:
            self.checkpoint.assign(tp)
            partitions = self.consumer.partitions_for_topic(tp.topic) or {tp.partition}
            self._lanes[tp] = Lane(
                tp,
                ProvenanceHeaders.for_partition(
                    self.topology.policy.version, tp.topic, tp.partition, self.detector_names
                ),
                self.sinks.hash_keys_for(len(partitions)),
            )
        self.stats.rebalances += 1
        names = sorted(map(_name, assigned))
        log.info(
            f"partitions assigned: {', '.join(names)}"
            if names
            else "no partitions assigned: more instances in the group than input partitions; "
            "this one stands by",
            extra={"partitions": names},
        )

    async def _partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        assert self.checkpoint is not None
        ours = {tp for tp in revoked if tp in self._lanes}
        if not ours:
            return
        self._revoking |= ours
        try:
            timeout = (
                (self.settings.rebalance_timeout_ms or self.settings.session_timeout_ms)
                / 1000
                * 0.8
            )
            drained = await self.checkpoint.drain(ours, timeout)
            if not drained:
                log.warning(
                    "revoked partitions did not drain in time; their in-flight records will "
                    "be processed again by the new owner",
                    extra={"partitions": sorted(map(_name, ours))},
                )
            await self._commit()
        finally:
            for tp in ours:
                self.checkpoint.forget(tp)
                self.backpressure.forget(tp)
                self._lanes.pop(tp, None)
            self._revoking -= ours
        names = sorted(map(_name, ours))
        log.info(f"partitions revoked: {', '.join(names)}", extra={"partitions": names})

    # --- stopping ----------------------------------------------------------------------

    async def _shutdown(self) -> None:
        """Drain (bounded), commit, and close the clients and the pool."""
        checkpoint = self.checkpoint
        # Work left in flight is processed again after a restart: workers need not finish it.
        left_in_flight = self._abandon_drain
        try:
            if checkpoint is not None and self._failure is None and not self._abandon_drain:
                drained = await self._drain_unless_abandoned(checkpoint)
                left_in_flight = drained is not True
                if drained is False and self._failure is None:
                    log.warning(
                        "in-flight work did not drain within the shutdown timeout; it is "
                        f"processed again after {self.rerun}",
                        extra={"shutdown_timeout": self.settings.shutdown_timeout},
                    )
                if drained is not None:
                    await self._commit(last=True)
        finally:
            for lane in list(self._lanes.values()):
                for task in list(lane.tasks):
                    task.cancel()
            if self.consumer is not None:
                try:
                    with contextlib.suppress(KafkaError):
                        await self.consumer.stop()
                except asyncio.CancelledError:
                    # aiokafka's fetcher re-raises the cancellation of a fetch it had in
                    # flight (Kafka unreachable); only a cancellation of this task goes on.
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise
            if self.producer is not None:
                with contextlib.suppress(KafkaError):
                    await self.producer.stop()
            try:
                if self.cloud is not None:
                    await self.cloud.close()
            finally:
                self.pool.close(abandon=left_in_flight)
                await self._stop_key_sync()
        stats = self.stats
        log.info(
            f"pipeline stopped: {counted(stats.processed, 'record')} processed (outputs "
            f"acknowledged); published {stats.clean_out:,} clean, "
            f"{counted(stats.dead_letters.total(), 'dead letter')}, "
            f"{counted(stats.token_records, 'token mapping')}",
            extra={"processed": stats.processed},
        )

    async def _drain_unless_abandoned(self, checkpoint: CommitCheckpoint) -> bool | None:
        """Drain within the shutdown timeout: whether it drained, ``None`` when a second
        signal abandoned it."""
        self._draining = asyncio.ensure_future(
            checkpoint.drain(None, self.settings.shutdown_timeout)
        )
        try:
            return await self._draining
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this task itself was cancelled, not only the drain
            return None


class _RebalanceListener(ConsumerRebalanceListener):
    """Hands rebalance events to the runtime (drain and commit before giving partitions up)."""

    def __init__(self, runtime: StreamRuntime) -> None:
        self._runtime = runtime

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._runtime._partitions_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._runtime._partitions_assigned(set(assigned))


def _header_scope(headers: Sequence[tuple[str, bytes]], name: str, default: str) -> str:
    """The key scope a header names; bytes that are not UTF-8 are kept as escapes
    (``\\xff``), so two such tenants never share one scope (and its keys)."""
    value = header_value(headers, name)
    return value.decode("utf-8", "backslashreplace") if value else default


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}[{tp.partition}]"


async def run_pipeline(
    topology: Topology, settings: StreamerSettings, *, handle_signals: bool = True
) -> StreamStats:
    """Run a pipeline until SIGTERM/SIGINT (what ``streamer run`` does)."""
    runtime = StreamRuntime(topology, settings)
    async with serve_metrics(runtime, settings):  # when --metrics-port is set
        return await runtime.run(handle_signals=handle_signals)


__all__ = ["StreamRuntime", "run_pipeline", "ProduceError"]
