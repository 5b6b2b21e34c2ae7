"""What a running pipeline has done, in one place: the metrics module reads it from
``StreamRuntime.stats`` (with ``runtime.backpressure`` for in-flight work and paused
partitions, and ``runtime.checkpoint`` for committed offsets). No value from an event
is ever a key here: topics, entity types, detector names and reason codes only.

Everything is updated once per batch (never per record, except the cheap end-to-end
latency loop at acknowledgement) and read when Prometheus scrapes.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamer.stream.processor import BatchResult
    from streamer.stream.sinks import PublishStats

#: Upper bounds, in seconds, of the latency histograms' buckets.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
)  # fmt: skip

#: Stages of a batch timed in ``StreamStats.stage_seconds``.
STAGES = ("redact", "publish")


class LatencyHistogram:
    """Durations counted into fixed buckets (``le`` bounds, the last one +Inf): cheap to
    fill from the event loop, exported as a Prometheus histogram at scrape time."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.count += 1
        self.sum += seconds

    def observe_ages(self, timestamps_ms: Sequence[int], now_ms: float) -> None:
        """One observation per record: ``now`` minus its timestamp (records without a
        timestamp are skipped; clock skew below zero counts as zero)."""
        bounds, counts = self.bounds, self.counts
        total = 0.0
        observed = 0
        for timestamp in timestamps_ms:
            if timestamp < 0:
                continue
            age = (now_ms - timestamp) / 1000 if now_ms > timestamp else 0.0
            counts[bisect_left(bounds, age)] += 1
            total += age
            observed += 1
        self.count += observed
        self.sum += total

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count of observations <= le)`` pairs, ending with ``+Inf``."""
        pairs = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            pairs.append(("+Inf" if bound == float("inf") else repr(float(bound)), running))
        return pairs


@dataclass
class StreamStats:
    """Counters of one :class:`~streamer.stream.runtime.StreamRuntime`."""

    started: float = field(default_factory=time.monotonic)
    #: Records fetched, per input topic.
    records_in: Counter[str] = field(default_factory=Counter)
    #: Records whose outputs were acknowledged, per input topic.
    records_done: Counter[str] = field(default_factory=Counter)
    clean_out: int = 0
    #: Dead letters per reason code.
    dead_letters: Counter[str] = field(default_factory=Counter)
    token_records: int = 0
    #: Replaced values per entity type.
    entities: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    commits: int = 0
    commit_failures: int = 0
    rebalances: int = 0
    #: When the first record was fetched and when the last batch was acknowledged.
    first_record_at: float | None = None
    last_done_at: float | None = None
    #: Dead letters per ``(input topic, reason code)``.
    dead_letters_by_topic: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Replaced values per ``(entity type, detector)``.
    detections: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Records that failed to reach Kafka, per error class name (each one stops the
    #: pipeline: nothing after it is committed).
    producer_errors: Counter[str] = field(default_factory=Counter)
    #: Per batch: ``redact`` (pool and detectors, queueing included) and ``publish``
    #: (from handing records to the producer to the broker's acknowledgement of all).
    stage_seconds: dict[str, LatencyHistogram] = field(
        default_factory=lambda: {stage: LatencyHistogram() for stage in STAGES}
    )
    #: Per record: from its timestamp to the acknowledgement of its outputs.
    end_to_end_seconds: LatencyHistogram = field(default_factory=LatencyHistogram)
    #: When the consume loop last went round (``None`` until it starts): liveness.
    polled_at: float | None = None

    @property
    def processed(self) -> int:
        return sum(self.records_done.values())

    def rate(self) -> float:
        """Records per second from the first fetch to the last acknowledgement."""
        if self.first_record_at is None or self.last_done_at is None:
            return 0.0
        elapsed = self.last_done_at - self.first_record_at
        return self.processed / elapsed if elapsed > 0 else 0.0

    def published(self, topic: str, result: BatchResult, published: PublishStats) -> None:
        """A batch of ``topic`` was handed to the producer."""
        self.clean_out += published.clean
        self.token_records += published.tokens
        for _, reason, _ in result.dead_letters:
            self.dead_letters[reason] += 1
            self.dead_letters_by_topic[topic, reason] += 1
        self.entities.update(result.entities)
        self.detections.update(result.detections)

    def ack_timer(self, timestamps_ms: Sequence[int]) -> Callable[[Any], None]:
        """A callback for a batch about to be published: on its acknowledgement it times
        the ``publish`` stage and each record's end-to-end latency."""
        started = time.monotonic()

        def acknowledged(_ticket: Any) -> None:
            self.stage_seconds["publish"].observe(time.monotonic() - started)
            self.end_to_end_seconds.observe_ages(timestamps_ms, time.time() * 1000)

        return acknowledged
