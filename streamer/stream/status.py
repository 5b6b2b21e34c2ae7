"""What ``streamer status`` shows: a consumer group's lag, throughput and members, and,
from the processors' metrics endpoints when given, their readiness, rates and cloud
breaker states.

Lag is a partition's end offset minus the group's committed offset. The end offset is
the larger of what ``ListOffsets`` says and a fetch's high watermark: some brokers (the
embedded one among them) under-report it in ``ListOffsets`` (see
:func:`streamer.kafka_offsets.log_ends`). Throughput is how far the committed offsets
moved during a short sample window. A lag that would still come out negative is shown
as unknown rather than as a wrong number.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError

from streamer.errors import ConfigurationError
from streamer.kafka_offsets import log_ends
from streamer.observability.scrape import Scrape, readiness, scrape_metrics
from streamer.settings import StreamerSettings
from streamer.stream.connection import client_options, unavailable
from streamer.stream.exceptions import StreamError

#: ``streamer_cloud_breaker_state`` values.
BREAKER_STATES = {0: "closed", 1: "half-open", 2: "open"}


@dataclass
class PartitionStatus:
    """One input partition of the group."""

    topic: str
    partition: int
    #: The group's committed offset (``None``: nothing committed yet).
    committed: int | None
    #: The end offset the broker reports (the offset the next record will get).
    end_offset: int | None
    #: Records not yet committed; ``None`` when the broker's end offset is below the
    #: committed offset (it under-reports) or unknown.
    lag: int | None
    #: Committed records per second during the sample window.
    rate: float | None
    #: The host (or member id) of the group member that owns it, when the broker says.
    owner: str | None = None


@dataclass
class MemberStatus:
    member_id: str
    client_id: str
    host: str
    partitions: list[str] = field(default_factory=list)


@dataclass
class ProcessorStatus:
    """One processor's metrics endpoint (``--metrics-url``)."""

    url: str
    reachable: bool
    error: str | None = None
    ready: bool | None = None
    failing: list[str] = field(default_factory=list)
    #: Input records acknowledged per second during the window.
    events_per_second: float | None = None
    dead_letters_per_second: float | None = None
    assigned_partitions: int | None = None
    paused_partitions: int | None = None
    in_flight_records: int | None = None
    workers_alive: int | None = None
    workers: int | None = None
    #: Cloud provider -> breaker state (closed, half-open, open).
    breakers: dict[str, str] = field(default_factory=dict)


@dataclass
class GroupStatus:
    group_id: str
    topics: list[str]
    #: The group's state as the broker reports it (Stable, PreparingRebalance, Empty, ...).
    state: str
    members: list[MemberStatus]
    partitions: list[PartitionStatus]
    window_seconds: float
    processors: list[ProcessorStatus]

    @property
    def lag(self) -> int | None:
        """Total lag over the partitions whose lag is known."""
        known = [p.lag for p in self.partitions if p.lag is not None]
        return sum(known) if known else None

    @property
    def lag_unknown(self) -> int:
        return sum(1 for p in self.partitions if p.lag is None)

    @property
    def throughput(self) -> float | None:
        """Committed records per second over the window (``None`` without a window)."""
        rates = [p.rate for p in self.partitions if p.rate is not None]
        return sum(rates) if rates else None

    @property
    def breakers(self) -> dict[str, str] | None:
        """Per cloud provider, the worst breaker state among the processors read;
        ``None`` when no processor endpoint was read."""
        reached = [p for p in self.processors if p.reachable]
        if not reached:
            return None
        order = {name: value for value, name in BREAKER_STATES.items()}
        worst: dict[str, str] = {}
        for processor in reached:
            for provider, state in processor.breakers.items():
                if order.get(state, 0) >= order.get(worst.get(provider, "closed"), 0):
                    worst[provider] = state
        return worst

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document.update(
            lag=self.lag,
            lag_unknown_partitions=self.lag_unknown,
            throughput_per_second=self.throughput,
            breakers=self.breakers,
            end_offsets_from="broker",
        )
        return document


async def group_status(
    settings: StreamerSettings,
    group_id: str,
    topics: Sequence[str],
    *,
    window: float = 3.0,
    metrics_urls: Sequence[str] = (),
) -> GroupStatus:
    """Read the group's offsets twice, ``window`` seconds apart (once when 0), and the
    processors' endpoints at the same moments."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None, enable_auto_commit=False)
    try:
        await admin.start()
        await consumer.start()
    except KafkaError as exc:
        await _close(admin, consumer)
        raise unavailable(settings, exc) from None
    except BaseException:  # a Ctrl-C while they connect: closed, not left open
        await _close(admin, consumer)
        raise
    try:
        state, members = await _describe(admin, group_id)
        if not topics:
            topics = sorted({tp.split("[")[0] for m in members for tp in m.partitions})
        if not topics:
            raise ConfigurationError(
                f"cannot tell which topics group {group_id!r} reads (it has no members the "
                "broker describes); pass --topology or --input-topic"
            )
        partitions = await _partitions(consumer, topics)
        started = time.monotonic()
        first, scrapes = await asyncio.gather(
            _committed(admin, group_id, partitions), _scrape_all(metrics_urls)
        )
        if window > 0:
            await asyncio.sleep(window)
            second, later = await asyncio.gather(
                _committed(admin, group_id, partitions), _scrape_all(metrics_urls)
            )
        else:
            second, later = first, scrapes
        elapsed = time.monotonic() - started
        ends = await log_ends(consumer, partitions)
        starts = await consumer.beginning_offsets(partitions)
        ready = await asyncio.gather(*(_readiness(url) for url in metrics_urls))
    except KafkaError as exc:
        raise StreamError(
            f"reading the offsets of group {group_id!r} failed ({type(exc).__name__}); check "
            "that this client may describe the group and its topics (ACLs)"
        ) from None
    finally:
        await _close(admin, consumer)
    owners = {tp: m.host or m.member_id for m in members for tp in m.partitions}
    rows = []
    for tp in partitions:
        committed = second.get(tp)
        end = ends.get(tp)
        base = committed if committed is not None else starts.get(tp)
        lag = end - base if end is not None and base is not None and end >= base else None
        rate = None
        if window > 0 and elapsed > 0:
            # Nothing committed before the window: the group started at the beginning.
            before = first.get(tp, starts.get(tp) if committed is not None else None)
            if committed is None and before is None:
                rate = 0.0
            elif committed is not None and before is not None:
                rate = (committed - before) / elapsed
        owner = owners.get(f"{tp.topic}[{tp.partition}]")
        rows.append(PartitionStatus(tp.topic, tp.partition, committed, end, lag, rate, owner))
    processors = [
        _processor(url, before, after, elapsed, readiness_answer)
        for url, before, after, readiness_answer in zip(
            metrics_urls, scrapes, later, ready, strict=True
        )
    ]
    return GroupStatus(
        group_id, list(topics), state, members, rows, window if window > 0 else 0.0, processors
    )


async def _close(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> None:
    for close in (consumer.stop, admin.close):
        with contextlib.suppress(KafkaError):
            await close()


async def _describe(admin: AIOKafkaAdminClient, group_id: str) -> tuple[str, list[MemberStatus]]:
    """The group's state and members (with their partitions when the broker says)."""
    responses = await admin.describe_consumer_groups([group_id])
    for response in responses:
        for group in response.groups:
            error_code, name, state = group[0], group[1], group[2]
            if name != group_id or error_code:
                continue
            members = []
            for member in group[5]:
                member_id, client_id, host, _, assignment = member[:5]
                partitions = []
                if assignment:
                    try:
                        decoded = ConsumerProtocolMemberAssignment.decode(assignment)
                        partitions = [
                            f"{topic}[{p}]" for topic, ps in decoded.assignment for p in sorted(ps)
                        ]
                    except (ValueError, TypeError, IndexError):
                        partitions = []  # an assignment in another protocol: owners unknown
                members.append(MemberStatus(member_id, client_id, host.lstrip("/"), partitions))
            return state or "Unknown", members
    return "Unknown", []


async def _partitions(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    existing = set(await consumer.topics())
    partitions = []
    for topic in topics:
        if topic not in existing:
            raise StreamError(
                f"topic {topic!r} does not exist; check --input-topic or the topology's inputs"
            )
        for partition in sorted(consumer.partitions_for_topic(topic) or ()):
            partitions.append(TopicPartition(topic, partition))
    return partitions


async def _committed(
    admin: AIOKafkaAdminClient, group_id: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    offsets = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def _scrape_all(urls: Sequence[str]) -> list[Scrape | str]:
    """Each endpoint's metrics, or why it could not be read."""

    async def one(url: str) -> Scrape | str:
        try:
            return await scrape_metrics(url)
        except (OSError, ValueError) as exc:
            return str(getattr(exc, "reason", None) or exc)

    return list(await asyncio.gather(*(one(url) for url in urls)))


async def _readiness(url: str) -> tuple[bool, list[str]] | None:
    try:
        return await readiness(url)
    except (OSError, ValueError):
        return None


def _processor(
    url: str,
    before: Scrape | str,
    after: Scrape | str,
    elapsed: float,
    ready: tuple[bool, list[str]] | None,
) -> ProcessorStatus:
    if isinstance(after, str):
        return ProcessorStatus(url, reachable=False, error=after)
    status = ProcessorStatus(url, reachable=True)
    if ready is not None:
        status.ready, status.failing = ready
    if isinstance(before, Scrape) and elapsed > 0 and before is not after:
        processed = "streamer_events_processed_total"
        dead = "streamer_dead_letters_total"
        status.events_per_second = (after.total(processed) - before.total(processed)) / elapsed
        status.dead_letters_per_second = (after.total(dead) - before.total(dead)) / elapsed

    def gauge(name: str) -> int | None:
        return int(after.total(name)) if after.has(name) else None

    status.assigned_partitions = gauge("streamer_assigned_partitions")
    status.paused_partitions = gauge("streamer_paused_partitions")
    status.in_flight_records = gauge("streamer_in_flight_records")
    status.workers_alive = gauge("streamer_workers_alive")
    status.workers = gauge("streamer_workers")
    for labels, value in after.series("streamer_cloud_breaker_state"):
        status.breakers[labels.get("provider", "?")] = BREAKER_STATES.get(int(value), str(value))
    return status


__all__ = [
    "GroupStatus",
    "MemberStatus",
    "PartitionStatus",
    "ProcessorStatus",
    "group_status",
]
