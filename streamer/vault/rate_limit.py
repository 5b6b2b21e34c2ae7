"""A token bucket per caller, for the detokenize endpoint."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from streamer.vault.exceptions import RateLimitedError


class RateLimiter:
    """Allows ``rate`` requests per second per key, with bursts of up to ``burst``.

    Keeps at most ``max_keys`` buckets (least recently used go first), so unknown
    callers cannot grow it without bound.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def acquire(self, key: str) -> None:
        """Take one request from ``key``'s bucket; raises :class:`RateLimitedError` with
        the seconds until one is available when it is empty."""
        now = self._clock()
        tokens, updated = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise RateLimitedError((1.0 - tokens) / self.rate)
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
