"""The guard: token buckets, circuit breaker, retries, Retry-After, timeouts."""

from __future__ import annotations

import asyncio
import random

import pytest
from prometheus_client import CollectorRegistry

from streamer.cloud.config import GuardLimits
from streamer.cloud.exceptions import (
    AuthenticationFailedError,
    CircuitOpenError,
    RequestRejectedError,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
)
from streamer.cloud.guard import (
    BreakerState,
    CircuitBreaker,
    ProviderGuard,
    TokenBucket,
    backoff_delay,
)
from streamer.cloud.metrics import CloudMetrics


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_guard(**limits: object) -> tuple[ProviderGuard, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = CloudMetrics.for_registry(registry).provider("fake", "unit")
    guard = ProviderGuard("fake", GuardLimits(**limits), metrics, rng=random.Random(1))
    return guard, registry


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, {"provider": "fake", **labels})
    return value or 0.0


# --- token bucket ------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_makes_callers_wait_in_order() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, capacity=5, clock=clock)
    assert [bucket.reserve(1) for _ in range(5)] == [0, 0, 0, 0, 0]
    assert bucket.reserve(1) == pytest.approx(0.1)
    assert bucket.reserve(1) == pytest.approx(0.2)
    clock.now += 10  # refills, but never above capacity
    assert bucket.reserve(5) == 0
    assert bucket.reserve(1) == pytest.approx(0.1)


def test_token_bucket_lets_a_request_larger_than_its_capacity_through_later() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100, capacity=100, clock=clock)
    assert bucket.reserve(250) == pytest.approx(1.5)


# --- circuit breaker ---------------------------------------------------------------------


def test_breaker_opens_after_failures_in_the_window_and_probes_back() -> None:
    clock = FakeClock()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(3, 10, 5, 1, clock=clock, on_change=changes.append)
    for _ in range(2):
        breaker.record_failure(breaker.acquire("p"))
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure(breaker.acquire("p"))
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        breaker.acquire("p")
    clock.now += 5
    assert breaker.state is BreakerState.HALF_OPEN
    probe = breaker.acquire("p")
    assert probe is True
    with pytest.raises(CircuitOpenError):  # one probe at a time
        breaker.acquire("p")
    breaker.record_success(probe)
    assert breaker.state is BreakerState.CLOSED
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_breaker_reopens_when_the_probe_fails() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 10, 5, 1, clock=clock)
    breaker.record_failure(breaker.acquire("p"))
    clock.now += 5
    breaker.record_failure(breaker.acquire("p"))
    assert breaker.state is BreakerState.OPEN
    assert breaker.seconds_until_probe() == pytest.approx(5)


def test_breaker_forgets_failures_outside_the_window() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(2, 10, 5, clock=clock)
    breaker.record_failure(False)
    clock.now += 11
    breaker.record_failure(False)
    assert breaker.state is BreakerState.CLOSED


def test_a_success_sent_before_the_breaker_opened_does_not_close_it() -> None:
    # A slow request answered just before an outage must not report the provider
    # recovered (and send every waiting request into the outage); only a probe may.
    clock = FakeClock()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(1, 10, 5, 1, clock=clock, on_change=changes.append)
    early = breaker.acquire("p")
    breaker.record_failure(breaker.acquire("p"))
    breaker.record_success(early)
    assert breaker.state is BreakerState.OPEN
    clock.now += 5
    probe = breaker.acquire("p")
    breaker.record_success(False)  # another early one, now while half-open
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success(probe)
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_neutral_outcomes_give_the_probe_slot_back() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 10, 5, 1, clock=clock)
    breaker.record_failure(False)
    clock.now += 5
    breaker.record_neutral(breaker.acquire("p"))
    assert breaker.acquire("p") is True


def test_backoff_is_jittered_and_capped() -> None:
    rng = random.Random(3)
    delays = [backoff_delay(attempt, 0.1, 1.0, rng) for attempt in range(10) for _ in range(20)]
    assert all(0 <= d <= 1.0 for d in delays)
    assert len(set(delays)) > 100


# --- the guard ---------------------------------------------------------------------------


async def test_retriable_errors_are_retried_until_success() -> None:
    guard, registry = make_guard(backoff_initial_seconds=0.001, max_attempts=4)
    errors = [ServerError("fake", "boom", status=503), RequestTimeoutError("fake", "slow")]

    async def operation() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    assert await guard.call(operation, characters=10) == "ok"
    assert sample(registry, "streamer_cloud_retries_total", kind="server_error") == 1
    assert sample(registry, "streamer_cloud_retries_total", kind="timeout") == 1
    assert sample(registry, "streamer_cloud_requests_total") == 3


async def test_the_last_error_is_raised_after_max_attempts() -> None:
    guard, registry = make_guard(backoff_initial_seconds=0.001, max_attempts=3)
    calls = 0

    async def operation() -> str:
        nonlocal calls
        calls += 1
        raise ServerError("fake", "boom", status=500)

    with pytest.raises(ServerError):
        await guard.call(operation, characters=1)
    assert calls == 3
    assert sample(registry, "streamer_cloud_errors_total", kind="server_error") == 3


@pytest.mark.parametrize(
    "error",
    [AuthenticationFailedError("fake", "no"), RequestRejectedError("fake", "bad", status=400)],
)
async def test_errors_that_cannot_succeed_are_not_retried(error: Exception) -> None:
    guard, _ = make_guard(backoff_initial_seconds=0.001)
    calls = 0

    async def operation() -> str:
        nonlocal calls
        calls += 1
        raise error

    with pytest.raises(type(error)):
        await guard.call(operation, characters=1)
    assert calls == 1


async def test_a_throttled_request_pauses_the_whole_provider_for_retry_after() -> None:
    guard, registry = make_guard(max_attempts=3)
    answers = [ThrottledError("fake", "429", status=429, retry_after=0.2)]

    async def operation() -> str:
        if answers:
            raise answers.pop(0)
        return "ok"

    assert await guard.call(operation, characters=1) == "ok"
    # the retry waited for Retry-After: the throttled-wait counter or the retry sleep shows it
    assert sample(registry, "streamer_cloud_retries_total", kind="throttled") == 1
    # throttling is not a failure of the service: the breaker stays closed
    assert guard.breaker.state is BreakerState.CLOSED


async def test_throttling_has_its_own_retry_budget() -> None:
    guard, _ = make_guard(max_attempts=1, max_throttled_retries=3)
    answers = [ThrottledError("fake", "429", retry_after=0.001) for _ in range(3)]

    async def operation() -> str:
        if answers:
            raise answers.pop(0)
        return "ok"

    assert await guard.call(operation, characters=1) == "ok"

    async def always_throttled() -> str:
        raise ThrottledError("fake", "429", retry_after=0.001)

    with pytest.raises(ThrottledError):
        await guard.call(always_throttled, characters=1)


async def test_other_requests_wait_while_the_provider_is_paused() -> None:
    guard, registry = make_guard()
    guard._pause(0.15)
    assert guard.seconds_until_available() > 0

    async def operation() -> str:
        return "ok"

    assert await guard.call(operation, characters=1) == "ok"
    assert sample(registry, "streamer_cloud_throttle_wait_seconds_total") > 0.1


async def test_the_timeout_turns_a_slow_answer_into_a_timeout_error() -> None:
    guard, registry = make_guard(timeout_seconds=0.05, max_attempts=1)

    async def operation() -> str:
        await asyncio.sleep(5)
        return "late"

    with pytest.raises(RequestTimeoutError):
        await guard.call(operation, characters=1)
    assert sample(registry, "streamer_cloud_errors_total", kind="timeout") == 1
    assert sample(registry, "streamer_cloud_in_flight_requests") == 0


async def test_failures_open_the_breaker_and_then_calls_fail_fast() -> None:
    guard, registry = make_guard(
        breaker_failures=2, max_attempts=1, breaker_open_seconds=60, backoff_initial_seconds=0.001
    )
    calls = 0

    async def operation() -> str:
        nonlocal calls
        calls += 1
        raise ServerError("fake", "down", status=503)

    for _ in range(2):
        with pytest.raises(ServerError):
            await guard.call(operation, characters=1)
    with pytest.raises(CircuitOpenError):
        await guard.call(operation, characters=1)
    assert calls == 2
    assert sample(registry, "streamer_cloud_breaker_state") == BreakerState.OPEN.value
    assert guard.seconds_until_available() > 50


async def test_the_semaphore_bounds_requests_in_flight() -> None:
    guard, _ = make_guard(max_concurrency=3)
    in_flight = 0
    peak = 0

    async def operation() -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1

    await asyncio.gather(*(guard.call(operation, characters=1) for _ in range(20)))
    assert peak == 3


async def test_rate_limits_make_requests_wait() -> None:
    guard, registry = make_guard(requests_per_second=100, burst_seconds=0.01)

    async def operation() -> None:
        return None

    await asyncio.gather(*(guard.call(operation, characters=1) for _ in range(5)))
    # 1 token of burst, then 4 requests at 100/s: the guard waited for them
    assert sample(registry, "streamer_cloud_throttle_wait_seconds_total") > 0.05


async def test_cancellation_releases_the_slot_and_the_probe() -> None:
    guard, _ = make_guard(max_concurrency=1)
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(10)

    task = asyncio.create_task(guard.call(slow, characters=1))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def fast() -> str:
        return "ok"

    assert await guard.call(fast, characters=1) == "ok"
    assert guard.in_flight == 0
