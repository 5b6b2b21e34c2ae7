"""What a running pipeline has done, in one place: the metrics module reads it from
``StreamRuntime.stats`` (with ``runtime.backpressure`` for in-flight work and paused
partitions, and ``runtime.checkpoint`` for committed offsets). No value from an event
is ever a key here: topics, entity types and reason codes only."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


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

    @property
    def processed(self) -> int:
        return sum(self.records_done.values())

    def rate(self) -> float:
        """Records per second from the first fetch to the last acknowledgement."""
        if self.first_record_at is None or self.last_done_at is None:
            return 0.0
        elapsed = self.last_done_at - self.first_record_at
        return self.processed / elapsed if elapsed > 0 else 0.0
