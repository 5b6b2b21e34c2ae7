"""The guard around one cloud provider: every request goes through it.

One :class:`ProviderGuard` per provider applies, for each attempt, in this order:

1. the **semaphore**: at most ``max_concurrency`` requests in flight;
2. the **circuit breaker**: after ``breaker_failures`` failures within
   ``breaker_window_seconds`` it opens and calls fail at once with
   :class:`CircuitOpenError`; after ``breaker_open_seconds`` it lets
   ``breaker_half_open_probes`` requests through (half-open); a success closes it, a
   failure opens it again;
3. a **pause** the service asked for: a 429 with Retry-After holds back every request of
   the provider, not only the one refused, so a throttling storm slows the whole stream;
4. two **token buckets**: requests per second and characters per second;
5. the **timeout** of the attempt.

A failed attempt that may succeed later (throttling, 5xx, timeout, lost connection) is
retried after the delay the service asked for (Retry-After), or else after a jittered
exponential backoff, up to ``max_attempts``; the last error is raised. Throttling is
retried up to ``max_throttled_retries`` times on its own count: the service is up and
asks for less, so a 429 storm slows the stream down instead of failing records.
Throttling and rejected requests do not count against the breaker.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING, TypeVar

from streamer.cloud.exceptions import (
    CircuitOpenError,
    CloudRequestError,
    RequestTimeoutError,
    ThrottledError,
)

if TYPE_CHECKING:
    from streamer.cloud.config import GuardLimits
    from streamer.cloud.metrics import ProviderMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]
#: A request that failed for good is logged; later ones of the same kind at most this often.
FAILURE_LOG_INTERVAL_SECONDS = 60.0


class TokenBucket:
    """A rate limit of ``rate`` units per second with bursts up to ``capacity`` units.

    Callers reserve units up front and sleep for the debt, so waiting callers are served
    in order and a request larger than the capacity still passes, only later.
    """

    def __init__(self, rate: float, capacity: float, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()

    def reserve(self, amount: float) -> float:
        """Take ``amount`` units; the seconds to wait before using them."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self, amount: float) -> float:
        """Wait until ``amount`` units are available; the seconds waited."""
        delay = self.reserve(amount)
        if delay > 0:
            await asyncio.sleep(delay)
        return delay


class BreakerState(Enum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Stops calling a provider that keeps failing, and probes it back to health."""

    def __init__(
        self,
        failures: int,
        window_seconds: float,
        open_seconds: float,
        half_open_probes: int = 1,
        clock: Clock = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.failure_threshold = failures
        self.window_seconds = window_seconds
        self.open_seconds = open_seconds
        self.half_open_probes = half_open_probes
        self._clock = clock
        self._on_change = on_change
        self._failures: deque[float] = deque()
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self.seconds_until_probe() == 0:
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def seconds_until_probe(self) -> float:
        """0 when a call may go through now; else how long until a probe may."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.open_seconds - self._clock())

    def acquire(self, provider: str) -> bool:
        """Permission for one call; ``True`` when it is a half-open probe.

        Raises :class:`CircuitOpenError` when the breaker is open, or half-open with
        all its probes out.
        """
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and self._probes < self.half_open_probes:
            self._probes += 1
            return True
        raise CircuitOpenError(
            provider,
            f"circuit breaker is {state.name.lower().replace('_', '-')} after repeated "
            f"failures; next probe in {self.seconds_until_probe():.1f}s",
        )

    def record_success(self, probe: bool) -> None:
        if probe:
            self._probes = max(0, self._probes - 1)
        elif self._state is not BreakerState.CLOSED:
            # Sent before the breaker opened: it says nothing about the provider now.
            return
        self._failures.clear()
        if self._state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def record_failure(self, probe: bool) -> None:
        now = self._clock()
        if probe or self._state is BreakerState.HALF_OPEN:
            self._probes = max(0, self._probes - 1) if probe else self._probes
            self._open(now)
            return
        self._failures.append(now)
        while self._failures and self._failures[0] < now - self.window_seconds:
            self._failures.popleft()
        if self._state is BreakerState.CLOSED and len(self._failures) >= self.failure_threshold:
            self._open(now)

    def record_neutral(self, probe: bool) -> None:
        """The call ended without telling whether the provider is healthy (throttled,
        rejected, cancelled): give the probe slot back."""
        if probe:
            self._probes = max(0, self._probes - 1)

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._failures.clear()
        self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        self._state = state
        if state is not BreakerState.HALF_OPEN:
            self._probes = 0
        if self._on_change is not None:
            self._on_change(state)


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in ``[0, min(maximum, initial * 2**attempt)]``
    (``attempt`` counts from 0), so clients that failed together do not retry together."""
    return rng.uniform(0.0, min(maximum, initial * (2**attempt)))


class ProviderGuard:
    """Semaphore, breaker, rate limits, timeout and retries for one provider."""

    def __init__(
        self,
        provider: str,
        limits: GuardLimits,
        metrics: ProviderMetrics,
        *,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.provider = provider
        self.limits = limits
        self.metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self.semaphore = asyncio.Semaphore(limits.max_concurrency)
        self.breaker = CircuitBreaker(
            limits.breaker_failures,
            limits.breaker_window_seconds,
            limits.breaker_open_seconds,
            limits.breaker_half_open_probes,
            clock=clock,
            on_change=self._breaker_changed,
        )
        metrics.breaker_state(BreakerState.CLOSED)
        burst = limits.burst_seconds
        self.request_rate = (
            TokenBucket(
                limits.requests_per_second,
                max(1.0, limits.requests_per_second * burst),
                clock,
            )
            if limits.requests_per_second
            else None
        )
        self.character_rate = (
            TokenBucket(
                limits.characters_per_second,
                max(1.0, limits.characters_per_second * burst),
                clock,
            )
            if limits.characters_per_second
            else None
        )
        self._paused_until = 0.0
        self.in_flight = 0
        self._failure_logged_at: dict[str, float] = {}

    def _breaker_changed(self, state: BreakerState) -> None:
        self.metrics.breaker_state(state)
        if state is BreakerState.OPEN:
            log.warning(
                "cloud provider %r: circuit breaker open after repeated failures; next probe "
                "in %.1fs",
                self.provider,
                self.limits.breaker_open_seconds,
            )
        elif state is BreakerState.CLOSED:
            log.warning(
                "cloud provider %r: circuit breaker closed, provider recovered", self.provider
            )

    def seconds_until_available(self) -> float:
        """0 when a request could be sent now; else how long the breaker or a pause waits."""
        pause = max(0.0, self._paused_until - self._clock())
        return max(pause, self.breaker.seconds_until_probe())

    async def call(self, operation: Callable[[], Awaitable[T]], *, characters: int) -> T:
        """Run ``operation`` (one request) under the guard, retrying as configured."""
        limits = self.limits
        attempt = 0
        throttled = 0
        cause: CloudRequestError | None = None
        while True:
            try:
                return await self._attempt(operation, characters)
            except CloudRequestError as error:
                self.metrics.error(error.kind)
                if isinstance(error, ThrottledError):
                    # the service is up and asks us to slow down: wait, do not give up soon
                    throttled += 1
                    if throttled > limits.max_throttled_retries:
                        self._log_failure(error)
                        raise
                else:
                    attempt += 1
                    if not error.retriable or attempt >= limits.max_attempts:
                        # A retry the breaker stopped is logged as the failure before it.
                        stopped = isinstance(error, CircuitOpenError) and cause is not None
                        self._log_failure(cause if stopped and cause is not None else error)
                        raise
                    cause = error
                delay = self._retry_delay(error, max(attempt, throttled) - 1)
                self.metrics.retry(error.kind)
                await asyncio.sleep(delay)

    def _log_failure(self, error: CloudRequestError) -> None:
        """Warn that a request failed for good (wrong credentials, an outage, ...), once per
        kind per :data:`FAILURE_LOG_INTERVAL_SECONDS`; an open breaker logs itself."""
        if isinstance(error, CircuitOpenError):
            return
        now = self._clock()
        last = self._failure_logged_at.get(error.kind)
        if last is not None and now - last < FAILURE_LOG_INTERVAL_SECONDS:
            return
        self._failure_logged_at[error.kind] = now
        log.warning(
            "%s; the request failed for good (%s failures are logged at most every %.0fs)",
            error,
            error.kind,
            FAILURE_LOG_INTERVAL_SECONDS,
            extra={"provider": self.provider, "kind": error.kind},
        )

    def _retry_delay(self, error: CloudRequestError, attempt: int) -> float:
        limits = self.limits
        if error.retry_after is not None:
            # A little jitter on top, so clients told the same moment spread out.
            base = min(error.retry_after, limits.max_retry_after_seconds)
            return base + self._rng.uniform(0, min(0.1, base * 0.1 + 0.01))
        return backoff_delay(
            attempt, limits.backoff_initial_seconds, limits.backoff_max_seconds, self._rng
        )

    async def _attempt(self, operation: Callable[[], Awaitable[T]], characters: int) -> T:
        async with self.semaphore:
            probe = self.breaker.acquire(self.provider)
            try:
                await self._wait_for_pause()
                await self._wait_for_rate(characters)
            except BaseException:
                self.breaker.record_neutral(probe)
                raise
            self.in_flight += 1
            self.metrics.in_flight(self.in_flight)
            self.metrics.request()
            started = self._clock()
            try:
                async with asyncio.timeout(self.limits.timeout_seconds):
                    result = await operation()
            except TimeoutError:
                self.breaker.record_failure(probe)
                raise RequestTimeoutError(
                    self.provider,
                    f"no answer within {self.limits.timeout_seconds}s; raise "
                    "limits.timeout_seconds or lower the load",
                ) from None
            except CloudRequestError as error:
                if isinstance(error, ThrottledError):
                    self._pause(error.retry_after)
                if error.counts_as_failure:
                    self.breaker.record_failure(probe)
                else:
                    self.breaker.record_neutral(probe)
                raise
            except BaseException:
                self.breaker.record_neutral(probe)
                raise
            finally:
                self.in_flight -= 1
                self.metrics.in_flight(self.in_flight)
                self.metrics.latency(self._clock() - started)
            self.breaker.record_success(probe)
            return result

    def _pause(self, retry_after: float | None) -> None:
        delay = min(
            retry_after if retry_after is not None else self.limits.backoff_initial_seconds,
            self.limits.max_retry_after_seconds,
        )
        self._paused_until = max(self._paused_until, self._clock() + delay)

    async def _wait_for_pause(self) -> None:
        while (delay := self._paused_until - self._clock()) > 0:
            self.metrics.throttle_wait(delay)
            await asyncio.sleep(delay)

    async def _wait_for_rate(self, characters: int) -> None:
        waited = 0.0
        if self.request_rate is not None:
            waited += await self.request_rate.acquire(1)
        if self.character_rate is not None:
            waited += await self.character_rate.acquire(characters)
        if waited:
            self.metrics.throttle_wait(waited)
