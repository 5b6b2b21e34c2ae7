"""``streamer replay``: reprocess a range of a raw topic under a chosen policy.

A replay is ``streamer run`` over a fixed range. :class:`ReplayRuntime` *is* a
:class:`~streamer.stream.runtime.StreamRuntime`: the same worker pool and engine, the
same lanes (records published in offset order per partition), sinks, dead-letter path,
backpressure and commit protocol. It differs in four ways:

1. **Its own assignment.** It assigns the range's partitions and seeks, with no group
   id: it never joins the live consumer group or commits into it.
2. **A fixed range.** The bounds (offsets or timestamps) become offsets once, at the
   start (:mod:`streamer.stream.ranges`); each partition stops at its stop offset, and
   the replay ends when every partition has and everything is acknowledged.
3. **Progress in a state file.** Its committer writes the acknowledged offsets to
   ``<replay_dir>/<replay id>.json`` (:mod:`streamer.stream.replay_state`); ``--resume``
   continues from there. At least once: after a crash, records after the last saved
   offsets are published again (byte-identical); after Ctrl-C, in-flight work is
   drained and saved first, so nothing is published twice.
4. **Replay provenance.** Clean and dead-letter records carry ``pii.provenance: replay``
   and ``pii.replay.id`` besides the usual headers (the replay's policy version
   included).

**Where "to the end" is.** Without ``--to-*``, a partition is replayed up to its end as
of the start: its high watermark as a fetch response reports it. Brokers report it in
``ListOffsets`` too, but some (the embedded one) under-report it there, so the larger of
the two is taken. Records written after the start are left to the live pipeline. If the
offsets up to the stop never arrive (compacted away), a partition counts as done after
:data:`~streamer.stream.ranges.END_IDLE_SECONDS` of empty fetches.

**Idempotence.** Replaying a range twice with the same policy, keys and replay id gives
byte-identical clean and dead-letter records (value, key, headers, timestamp, partition,
order per partition): tokens and encryption are deterministic and timestamps are the
input's. Token mappings come out for the same tokens with the same ciphertexts, but
*which* records carry them can differ: each worker emits a token once per its bounded
cache, so with several workers a token can be emitted more than once, first seen at
another offset. The token topic is compacted by token id, so that is harmless.

**Dry run.** The same, with sinks that publish nothing and a comparison with the current
clean topic afterwards (:mod:`streamer.stream.dry_run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import (
    IllegalStateError,
    KafkaConnectionError,
    KafkaError,
    OffsetOutOfRangeError,
)

from streamer.cloud.guard import TokenBucket
from streamer.counts import counted
from streamer.redaction.detector import Detector
from streamer.redaction.keys import Keyring
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings
from streamer.stream.checkpoint import BatchTicket, CommitCheckpoint, OffsetCommitter
from streamer.stream.connection import unavailable
from streamer.stream.dry_run import Comparison, DryRunSinks, compare_with_topic
from streamer.stream.exceptions import ReplayError, ReplayStateError, StreamError
from streamer.stream.headers import ProvenanceHeaders
from streamer.stream.ranges import (
    END_IDLE_SECONDS,
    Bound,
    PartitionRange,
    group_less_consumer,
    plan_range,
    topic_partitions,
)
from streamer.stream.replay_state import (
    DiscardingCommitter,
    ReplayProgressCommitter,
    ReplayState,
    ReplayStateStore,
    check_replay_id,
    default_replay_id,
)
from streamer.stream.runtime import FETCH_RECORDS, Lane, StreamRuntime
from streamer.stream.stats import StreamStats
from streamer.stream.topology import Topology

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ReplayRequest:
    """What ``streamer replay`` was asked for (the topology gives topics and policy)."""

    input_topic: str
    start: Bound | None = None
    stop: Bound | None = None
    #: Partitions to replay; ``None``: those the offsets name, else all.
    partitions: tuple[int, ...] | None = None
    #: Id of the saved progress; ``None``: ``<input>-to-<output>``.
    replay_id: str | None = None
    dry_run: bool = False
    #: Dry run: the clean topic to compare with; ``None``: the topology's.
    compare_topic: str | None = None
    #: Records per second at most; ``None``: as fast as the pipeline goes.
    rate: float | None = None
    resume: bool = False
    restart: bool = False

    def asked(self) -> str:
        """The bounds as flags, for messages and the state file."""
        parts = [bound.describe() for bound in (self.start, self.stop) if bound is not None]
        if self.partitions is not None:
            parts.append("--partitions " + ",".join(map(str, self.partitions)))
        return " ".join(parts)


Status = Literal["planned", "completed", "interrupted", "already_completed"]


@dataclass
class ReplayReport:
    """What a replay did (or, dry, would do)."""

    input_topic: str
    policy_version: str
    ranges: list[PartitionRange]
    dry_run: bool = False
    replay_id: str | None = None
    output_topic: str | None = None
    token_topic: str | None = None
    dlq_topic: str | None = None
    state_file: str | None = None
    asked: str = ""
    notes: list[str] = field(default_factory=list)
    status: Status = "planned"
    #: Offsets already replayed by earlier runs of this replay (``--resume``).
    done_before: int = 0
    stats: StreamStats = field(default_factory=StreamStats)
    comparison: Comparison | None = None
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Offsets in the whole range."""
        return sum(r.size for r in self.ranges)

    def to_dict(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "replay_id": self.replay_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "input_topic": self.input_topic,
            "output_topic": self.output_topic,
            "token_topic": self.token_topic,
            "dlq_topic": self.dlq_topic,
            "policy_version": self.policy_version,
            "asked": self.asked,
            "partitions": [
                {"partition": r.partition, "start": r.start, "stop": r.stop} for r in self.ranges
            ],
            "notes": self.notes,
            "offsets_total": self.total,
            "offsets_done_before": self.done_before,
            "records": stats.processed,
            "clean": stats.clean_out,
            "dead_letters": dict(stats.dead_letters),
            "token_records": stats.token_records,
            "entities": dict(sorted(stats.entities.items())),
            "state_file": self.state_file,
            "comparison": self.comparison.to_dict() if self.comparison else None,
            "seconds": round(self.seconds, 3),
        }


# --- the runtime ----------------------------------------------------------------------


class ReplayRuntime(StreamRuntime):
    """A :class:`StreamRuntime` that replays fixed offset ranges of one topic, with its
    own assignment (no group), its progress committed to ``committer``, an optional
    rate limit, and replay provenance headers; it stops at the end of the ranges
    (:attr:`completed`) or when asked to (Ctrl-C: drained and saved).

    Everything from a fetched record to its acknowledgement is the base class's
    (``_dispatch``, ``redact``, the lanes, sinks and checkpoint); this class only
    decides what is fetched and when the work is done. It opens its lanes itself at
    the start: it knows its partitions, and no rebalance ever moves them."""

    def __init__(
        self,
        topology: Topology,
        settings: StreamerSettings,
        ranges: Sequence[PartitionRange],
        *,
        committer: OffsetCommitter,
        input_partitions: int,
        replay_id: str | None = None,
        dry_run: bool = False,
        rate: float | None = None,
        on_progress: ProgressCallback | None = None,
        total: int | None = None,
        done_before: int = 0,
        keyring: Keyring | None = None,
        detectors: Sequence[str | Detector] | None = None,
        workers: int | None = None,
    ) -> None:
        if len(topology.inputs) != 1:
            raise ReplayError("a replay reads one input topic; name it with --input-topic")
        if rate is not None and rate <= 0:
            raise ReplayError(f"--rate {rate} is not a rate; give records per second above 0")
        # Offsets go to the state file, never into a transaction with a group.
        settings = settings.model_copy(update={"exactly_once": False})
        super().__init__(topology, settings, keyring=keyring, detectors=detectors, workers=workers)
        topic = topology.inputs[0]
        self.ranges = {TopicPartition(topic, r.partition): r for r in ranges if r.size}
        self.replay_id = replay_id
        self.dry_run = dry_run
        self.rerun = (
            "a new dry run" if dry_run
            else "resuming the replay (the same command with --resume"
            + (f", replay id {replay_id})" if replay_id else ")")
        )  # fmt: skip
        self.input_partitions = input_partitions
        self._committer = committer
        # A rate limit fetches a fifth of a second's worth at a time, with no larger bursts.
        self._fetch_limit = (
            FETCH_RECORDS if rate is None else max(1, min(FETCH_RECORDS, int(rate / 5)))
        )
        self._bucket = TokenBucket(rate, self._fetch_limit) if rate is not None else None
        self._on_progress = on_progress
        self.total = total if total is not None else sum(r.size for r in ranges)
        self.done_before = done_before
        self._acked: dict[TopicPartition, int] = {}
        self._done: set[TopicPartition] = set()
        self._idle: dict[TopicPartition, float] = {}
        #: True once every partition reached its stop and everything was acknowledged.
        self.completed = False

    @property
    def dry_run_sinks(self) -> DryRunSinks | None:
        return self.sinks if isinstance(self.sinks, DryRunSinks) else None

    @property
    def progress(self) -> int:
        """Offsets of the range replayed and acknowledged, earlier runs included."""
        if self.completed:
            return self.total
        done = self.done_before
        for tp, replay_range in self.ranges.items():
            reached = self._acked.get(tp, replay_range.start)
            done += max(0, min(reached, replay_range.stop) - replay_range.start)
        return done

    # --- starting ----------------------------------------------------------------------

    async def _start_outputs(self) -> None:
        if self.dry_run:
            self.sinks = DryRunSinks()  # no topic created, nothing produced
            return
        await super()._start_outputs()

    async def _start_consumer(self) -> None:
        """Assign the ranges' partitions and seek: no group id, so no group is joined
        and nothing is committed to one."""
        settings = self.settings
        assert self.sinks is not None
        self.consumer = group_less_consumer(settings)
        self.checkpoint = CommitCheckpoint(self._committer, on_failure=self._fail)
        try:
            await self.consumer.start()
        except KafkaError as exc:
            raise unavailable(settings, exc) from None
        partitions = list(self.ranges)
        self.consumer.assign(partitions)
        hash_keys = self.sinks.hash_keys_for(self.input_partitions)
        version = self.topology.policy.version
        for tp, replay_range in self.ranges.items():
            self.consumer.seek(tp, replay_range.start)
            self.checkpoint.assign(tp)
            headers = ProvenanceHeaders.for_partition(
                version, tp.topic, tp.partition, self.detector_names
            )
            if self.replay_id is not None:
                headers = headers.for_replay(self.replay_id)
            self._lanes[tp] = Lane(tp, headers, hash_keys)
        log.info(
            f"replay started: {counted(len(partitions), 'partition')}, "
            f"{counted(self.total, 'offset')}, {counted(self.pool.workers, 'worker')}",
            extra={"replay_id": self.replay_id, "workers": self.pool.workers},
        )

    # --- consuming ---------------------------------------------------------------------

    async def _consume(self) -> None:
        checkpoint = self.checkpoint
        assert checkpoint is not None
        batch_records = self.topology.limits.batch_records
        interval = self.settings.commit_interval_ms / 1000
        last_commit = time.monotonic()
        while not self._stop.is_set() and self._failure is None:
            active = [tp for tp in self._lanes if tp not in self._done]
            if active:
                await self._fetch(active, batch_records)
            elif checkpoint.open_batches() == 0:
                self.completed = True
                if self._on_progress is not None:
                    self._on_progress(self.total, self.total)
                return  # the shutdown commits the last offsets
            else:
                await checkpoint.drain(None, 0.2)
            if time.monotonic() - last_commit >= interval:
                await self._commit()
                last_commit = time.monotonic()

    async def _fetch(self, active: list[TopicPartition], batch_records: int) -> None:
        consumer, backpressure = self.consumer, self.backpressure
        assert consumer is not None
        if backpressure.saturated:
            paused = backpressure.to_pause(active)
            if paused:
                consumer.pause(*paused)
            await backpressure.wait_drained(timeout=0.2)
        resumed = backpressure.to_resume()
        if resumed:
            consumer.resume(*(tp for tp in resumed if tp in self._lanes and tp not in self._done))
        if backpressure.saturated:
            return
        began = time.monotonic()
        try:
            fetched = await consumer.getmany(
                timeout_ms=100, max_records=min(self._fetch_limit, backpressure.room())
            )
        except OffsetOutOfRangeError:
            raise StreamError(
                f"records of {self.topology.inputs[0]} were deleted (retention) before the "
                "replay read them; start it over with --restart to replay what is left"
            ) from None
        except (KafkaConnectionError, IllegalStateError) as exc:
            log.warning("fetch failed; retrying", extra={"error": type(exc).__name__})
            await asyncio.sleep(0.5)
            return
        except KafkaError as exc:
            raise StreamError(
                f"reading {self.topology.inputs[0]} failed ({type(exc).__name__}); check "
                "that the topic exists and this client may read it (ACLs)"
            ) from None
        waited = time.monotonic() - began
        count = 0
        for tp, records in fetched.items():
            lane = self._lanes.get(tp)
            if lane is None or tp in self._done or not records:
                continue
            stop = self.ranges[tp].stop
            if records[-1].offset >= stop:
                records = [record for record in records if record.offset < stop]
            count += len(records)
            for start in range(0, len(records), batch_records):
                self._dispatch(lane, records[start : start + batch_records])
        await self._mark_done(active, bool(fetched), waited)
        if count and self._bucket is not None:
            delay = self._bucket.reserve(count)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)

    async def _mark_done(
        self, active: list[TopicPartition], fetched_any: bool, waited: float
    ) -> None:
        """Partitions whose position reached their stop are done (and paused)."""
        consumer = self.consumer
        assert consumer is not None
        for tp in active:
            stop = self.ranges[tp].stop
            if await consumer.position(tp) >= stop:
                self._finish(tp)
                continue
            if fetched_any or tp in self.backpressure.paused:
                self._idle[tp] = 0.0
                continue
            idle = self._idle[tp] = self._idle.get(tp, 0.0) + waited
            if idle >= END_IDLE_SECONDS:
                log.warning(
                    f"no records of {tp.topic}[{tp.partition}] arrived before offset {stop} "
                    f"for {END_IDLE_SECONDS:.0f}s (compacted away, or transaction markers); "
                    "the partition counts as done",
                    extra={"partition": tp.partition, "stop": stop},
                )
                self._finish(tp)

    def _finish(self, tp: TopicPartition) -> None:
        assert self.consumer is not None
        self._done.add(tp)
        self._idle.pop(tp, None)
        self.consumer.pause(tp)

    def _on_acked(self, ticket: BatchTicket) -> None:
        super()._on_acked(ticket)
        tp = ticket.tp
        if ticket.next_offset > self._acked.get(tp, -1):
            self._acked[tp] = ticket.next_offset
        if self._on_progress is not None:
            self._on_progress(self.progress, self.total)


# --- a replay, start to end -----------------------------------------------------------


def policy_fingerprint(policy: Policy) -> str:
    """SHA-256 of the policy's canonical JSON (a resumed replay must keep its policy)."""
    document = policy.model_dump(mode="json")
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def replay_topology(topology: Topology, request: ReplayRequest) -> Topology:
    """The topology a replay runs: one input, the request's; outputs checked."""
    topic = request.input_topic
    replayed = topology.model_copy(update={"inputs": [topic]})
    if not request.dry_run:
        for role, name, flag in (
            ("clean", replayed.output_topic, "--output-topic"),
            ("token", replayed.token_topic, "--token-topic"),
            ("dead-letter", replayed.dlq_topic, "--dlq-topic"),
        ):
            if name == topic:
                hint = f" (a new one, such as {name}.v2)" if role == "clean" else ""
                raise ReplayError(
                    f"{flag} {name!r} is the input topic; a replay writes its {role} records "
                    f"to another topic{hint}"
                )
    return replayed.check_runnable()


async def run_replay(
    topology: Topology,
    settings: StreamerSettings,
    request: ReplayRequest,
    *,
    on_plan: Callable[[ReplayReport], None] | None = None,
    on_progress: ProgressCallback | None = None,
    handle_signals: bool = True,
    keyring: Keyring | None = None,
    detectors: Sequence[str | Detector] | None = None,
    workers: int | None = None,
) -> ReplayReport:
    """Replay (or, with ``request.dry_run``, try) a range of ``request.input_topic``
    through ``topology``'s policy and outputs. ``on_plan`` sees the report once the
    range is resolved, ``on_progress`` (offsets done, offsets in all) after each
    acknowledged batch. SIGINT/SIGTERM (with ``handle_signals``) stop it, saved."""
    topology = replay_topology(topology, request)
    started = time.monotonic()
    options: dict[str, Any] = {
        "rate": request.rate,
        "on_progress": on_progress,
        "handle_signals": handle_signals,
        "keyring": keyring,
        "detectors": detectors,
        "workers": workers,
    }
    if request.dry_run:
        report = await _dry_run(topology, settings, request, on_plan, options)
    else:
        report = await _replay(topology, settings, request, on_plan, options)
    report.seconds = time.monotonic() - started
    return report


async def _dry_run(
    topology: Topology,
    settings: StreamerSettings,
    request: ReplayRequest,
    on_plan: Callable[[ReplayReport], None] | None,
    options: dict[str, Any],
) -> ReplayReport:
    if request.resume or request.restart:
        raise ReplayError(
            "--dry-run writes nothing and saves no progress; leave out --resume and --restart"
        )
    compare_topic = request.compare_topic or topology.output_topic
    named_by = (
        "--compare-topic"
        if request.compare_topic
        else "the clean topic to compare with (--compare-topic)"
    )
    plan = await plan_range(
        settings,
        request.input_topic,
        request.start,
        request.stop,
        request.partitions,
        must_exist={compare_topic: named_by},
    )
    report = ReplayReport(
        request.input_topic,
        topology.policy.version,
        list(plan.ranges),
        dry_run=True,
        asked=request.asked(),
        notes=list(plan.notes),
    )
    if on_plan is not None:
        on_plan(report)
    runtime = ReplayRuntime(
        topology,
        settings,
        plan.ranges,
        committer=DiscardingCommitter(),
        input_partitions=plan.topic_partitions,
        dry_run=True,
        rate=options["rate"],
        on_progress=options["on_progress"],
        keyring=options["keyring"],
        detectors=options["detectors"],
        workers=options["workers"],
    )
    if plan.total:
        report.stats = await runtime.run(handle_signals=options["handle_signals"])
    if plan.total and not runtime.completed:
        report.status = "interrupted"
        return report
    report.status = "completed"
    sinks = runtime.dry_run_sinks
    outcomes = sinks.outcomes if sinks is not None else {}
    report.comparison = await compare_with_topic(
        settings,
        compare_topic,
        request.input_topic,
        outcomes,
        min_timestamp=sinks.min_timestamp if sinks is not None else None,
    )
    return report


async def _replay(
    topology: Topology,
    settings: StreamerSettings,
    request: ReplayRequest,
    on_plan: Callable[[ReplayReport], None] | None,
    options: dict[str, Any],
) -> ReplayReport:
    store = ReplayStateStore(settings.resolved_replay_dir())
    replay_id = check_replay_id(
        request.replay_id or default_replay_id(request.input_topic, topology.output_topic)
    )
    fingerprint = policy_fingerprint(topology.policy)
    with store.lock(replay_id):
        state = store.load(replay_id)
        notes: list[str] = []
        if request.resume:
            state = _resumable(store, state, replay_id, topology, request, fingerprint)
        else:
            if state is not None and state.status != "completed" and not request.restart:
                raise ReplayStateError(
                    f"replay {replay_id!r} was interrupted at {state.done:,} of "
                    f"{counted(state.total, 'offset')} ({store.path(replay_id)}); pass --resume to "
                    "continue it, --restart to start it over, or another --replay-id"
                )
            plan = await plan_range(
                settings, request.input_topic, request.start, request.stop, request.partitions
            )
            notes = list(plan.notes)
            state = ReplayState(
                replay_id=replay_id,
                input_topic=request.input_topic,
                output_topic=topology.output_topic,
                token_topic=topology.token_topic,
                dlq_topic=topology.dlq_topic,
                policy_version=topology.policy.version,
                policy_sha256=fingerprint,
                ranges={r.partition: (r.start, r.stop) for r in plan.ranges},
                asked=request.asked(),
                event_format=topology.format,
            )
            store.save(state)
        report = ReplayReport(
            request.input_topic,
            topology.policy.version,
            [PartitionRange(p, start, stop) for p, (start, stop) in sorted(state.ranges.items())],
            replay_id=replay_id,
            output_topic=topology.output_topic,
            token_topic=topology.token_topic,
            dlq_topic=topology.dlq_topic,
            state_file=str(store.path(replay_id)),
            asked=state.asked,
            notes=notes,
            done_before=state.done,
        )
        if state.status == "completed":
            report.status = "already_completed"
            return report
        if on_plan is not None:
            on_plan(report)
        remaining = state.remaining()
        if remaining:
            runtime: ReplayRuntime | None = None
            try:
                counts = await topic_partitions(settings, {request.input_topic: "--input-topic"})
                runtime = ReplayRuntime(
                    topology,
                    settings,
                    remaining,
                    committer=ReplayProgressCommitter(store, state),
                    input_partitions=counts[request.input_topic],
                    replay_id=replay_id,
                    rate=options["rate"],
                    on_progress=options["on_progress"],
                    total=state.total,
                    done_before=state.done,
                    keyring=options["keyring"],
                    detectors=options["detectors"],
                    workers=options["workers"],
                )
                report.stats = await runtime.run(handle_signals=options["handle_signals"])
            except BaseException:
                read_nothing = runtime is None or runtime.stats.first_record_at is None
                if read_nothing and not request.resume:
                    # It failed before it read a record (a mistake in the policy, say):
                    # there is nothing to resume, and once fixed the same command must run.
                    store.discard(replay_id)
                raise
            if not runtime.completed:
                report.status = "interrupted"
                return report
        state.status = "completed"
        store.save(state)
        report.status = "completed"
        return report


def _resumable(
    store: ReplayStateStore,
    state: ReplayState | None,
    replay_id: str,
    topology: Topology,
    request: ReplayRequest,
    fingerprint: str,
) -> ReplayState:
    """The saved replay to resume, after checking this run writes the same way."""
    if request.restart:
        raise ReplayStateError("--resume continues a replay, --restart starts it over: pick one")
    if state is None:
        known = store.known()
        listed = f"; saved replays: {', '.join(known)}" if known else ""
        raise ReplayStateError(
            f"there is no replay {replay_id!r} to resume in {store.directory}{listed}; "
            "start it without --resume (or give the --replay-id it ran with)"
        )
    for what, saved, now in (
        ("read", state.input_topic, request.input_topic),
        ("wrote clean records to", state.output_topic, topology.output_topic),
        ("wrote token mappings to", state.token_topic, topology.token_topic),
        ("wrote dead letters to", state.dlq_topic, topology.dlq_topic),
    ):
        if saved != now:
            raise ReplayStateError(
                f"replay {replay_id!r} {what} {saved!r}, this run would use {now!r}; resume "
                "with the same topics, or start it over with --restart"
            )
    if state.event_format is not None and state.event_format != topology.format:
        raise ReplayStateError(
            f"replay {replay_id!r} read its records as {state.event_format}, this run would "
            f"read them as {topology.format}; resuming would mix two formats in one output: "
            f"pass --format {state.event_format} (or the same topology), or start over with "
            "--restart"
        )
    if state.policy_sha256 != fingerprint:
        raise ReplayStateError(
            f"replay {replay_id!r} was started under another policy (version "
            f"{state.policy_version}; this one is {topology.policy.version}); resuming would mix "
            "two policies in one output: pass the same --policy, or start over with --restart"
        )
    return state


__all__ = [
    "ReplayReport",
    "ReplayRequest",
    "ReplayRuntime",
    "policy_fingerprint",
    "replay_topology",
    "run_replay",
]
