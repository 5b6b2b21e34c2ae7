"""The guard against misbehaving services: concurrency, throttling, outages, failover."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web

from streamer.broker import free_port
from streamer.cloud import CloudDetection, CloudRoute
from streamer.cloud.emulators import AzureLanguageEmulator, ComprehendEmulator, Emulator
from streamer.cloud.guard import BreakerState
from streamer.redaction.engine import RedactionEngine
from streamer.settings import StreamerSettings
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries

pytestmark = pytest.mark.integration

PROVIDERS = ["azure", "aws"]

FAST_RETRIES = {
    "backoff_initial_seconds": 0.01,
    "backoff_max_seconds": 0.05,
}


@pytest.fixture
def emulators(
    azure_emulator: AzureLanguageEmulator, aws_emulator: ComprehendEmulator
) -> dict[str, Emulator]:
    return {"azure": azure_emulator, "aws": aws_emulator}


def texts_with_entities(count: int) -> list[str]:
    values = list(CANARIES.values())
    return [f"ticket {i} from {values[i % len(values)]} about order {i}" for i in range(count)]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_concurrency_never_exceeds_the_semaphore_at_the_service(
    provider: str,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
) -> None:
    emulator = emulators[provider]
    emulator.settings.latency_seconds = 0.02
    texts = texts_with_entities(120)
    section = {"provider": provider, "pack_texts": False, "limits": {"max_concurrency": 4}}
    async with make_detection([section]) as cloud:
        # two batches at once, as two partitions would: one semaphore for both
        first, second = await asyncio.gather(cloud.detect(texts[:60]), cloud.detect(texts[60:]))
    assert first.ok and second.ok
    assert emulator.stats.requests >= 24
    assert 2 <= emulator.stats.max_in_flight <= 4


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_request_rate_limit_spaces_requests_at_the_service(
    provider: str,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
) -> None:
    emulator = emulators[provider]
    section = {
        "provider": provider,
        "pack_texts": False,
        "max_documents_per_request": 1,
        "limits": {"requests_per_second": 40, "burst_seconds": 0.025, "max_concurrency": 8},
    }
    if provider == "aws":
        del section["max_documents_per_request"]
    async with make_detection([section]) as cloud:
        assert (await cloud.detect(["warm up the client and its connections"])).ok
        emulator.reset_stats()
        started = time.monotonic()
        result = await cloud.detect(texts_with_entities(12))
    assert result.ok
    arrivals = sorted(emulator.stats.arrivals)
    assert len(arrivals) == 12
    # a burst of one request, then 40 per second: the n-th request may leave no earlier
    # than n/40 s after the start. A slow machine only delays arrivals (a new connection
    # can hold up the first ones), so these are lower bounds, with 2 ms for the clocks.
    for n, arrival in enumerate(arrivals):
        assert arrival - started >= n / 40 - 0.002, f"request {n} arrived too early"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_429_storm_loses_nothing_and_slows_the_provider_down(
    provider: str,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
    metric: Callable[..., float],
) -> None:
    emulator = emulators[provider]
    texts = texts_with_entities(40)
    expected = emulator.engine.analyze(texts)
    retry_after = 0.2
    emulator.settings.throttle_next = 12
    emulator.settings.retry_after_seconds = retry_after
    section = {
        "provider": provider,
        "pack_texts": False,
        "limits": {"max_concurrency": 4, "max_attempts": 10, **FAST_RETRIES},
    }
    async with make_detection([section]) as cloud:
        result = await cloud.detect(texts)
    assert result.ok
    assert [[(s.start, s.end, s.entity_type) for s in spans or []] for spans in result.spans] == [
        [(s.start, s.end, s.entity_type) for s in spans] for spans in expected
    ]
    assert emulator.stats.throttled == 12
    assert metric("streamer_cloud_retries_total", provider=provider, kind="throttled") == 12
    assert metric("streamer_cloud_breaker_state", provider=provider) == BreakerState.CLOSED.value
    # at most 4 requests meet each 429 round, and every round waits Retry-After for the
    # previous one: the storm stretches the work over at least three pauses
    arrivals = emulator.stats.arrivals
    assert arrivals[-1] - arrivals[0] >= 3 * retry_after * 0.95
    assert metric("streamer_cloud_throttle_wait_seconds_total", provider=provider) > 0


async def test_random_throttling_loses_nothing(
    aws_emulator: ComprehendEmulator, make_detection: Callable[..., CloudDetection]
) -> None:
    texts = texts_with_entities(60)
    expected = aws_emulator.engine.analyze(texts)
    aws_emulator.settings.throttle_rate = 0.3
    aws_emulator.settings.retry_after_seconds = 0.01
    section = {
        "provider": "aws",
        "pack_texts": False,
        "limits": {"max_concurrency": 8, "max_attempts": 30, **FAST_RETRIES},
    }
    async with make_detection([section]) as cloud:
        result = await cloud.detect(texts)
    assert result.ok
    assert aws_emulator.stats.throttled > 0
    assert [len(spans or []) for spans in result.spans] == [len(spans) for spans in expected]


@pytest.mark.parametrize("outage_mode", ["unavailable", "reset"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_outage_opens_the_breaker_falls_back_and_recovers(
    provider: str,
    outage_mode: str,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
    metric: Callable[..., float],
    settings: StreamerSettings,
) -> None:
    emulator = emulators[provider]
    engine = RedactionEngine.build(settings=settings)
    payloads = [orjson.dumps({"id": i, "note": CANARY_TEXT}) for i in range(6)]
    texts = engine.extract_texts(payloads)
    section = {
        "provider": provider,
        "limits": {
            "max_attempts": 2,
            "breaker_failures": 3,
            # Long enough that a busy machine does not reach the probe before the checks
            # of the open breaker below (0.3 s was reached once under the full suite).
            "breaker_open_seconds": 1.5,
            "max_concurrency": 2,
            **FAST_RETRIES,
        },
    }
    emulator.settings.outage_mode = outage_mode
    emulator.set_outage(True)
    async with make_detection([section], unavailable="fallback") as cloud:
        # small batches, each its own request, until the breaker opens
        for index in range(4):
            batch = await cloud.detect_payloads([texts[index]])
            assert batch.routes == [CloudRoute.FALLBACK]
        assert metric("streamer_cloud_breaker_state", provider=provider) == BreakerState.OPEN.value
        requests_when_open = emulator.stats.requests

        batch = await cloud.detect_payloads(texts)
        assert emulator.stats.requests == requests_when_open  # open: the service is left alone
        assert batch.routes == [CloudRoute.FALLBACK] * len(payloads)
        assert {f.code for f in batch.failures if f} == {"cloud_circuit_open"}
        outcomes = engine.redact_payloads(payloads, extra_spans=batch.extra_spans)
        assert all(o.ok for o in outcomes)
        assert find_canaries(b"".join(o.value or b"" for o in outcomes)) == []

        emulator.set_outage(False)
        await cloud.wait_for_recovery()
        batch = await cloud.detect_payloads(texts)
        assert batch.routes == [CloudRoute.CLOUD] * len(payloads)
        assert metric("streamer_cloud_breaker_state", provider=provider) == (
            BreakerState.CLOSED.value
        )
    kind = "server_error" if outage_mode == "unavailable" else "connection"
    assert metric("streamer_cloud_errors_total", provider=provider, kind=kind) >= 3
    assert metric("streamer_cloud_errors_total", provider=provider, kind="circuit_open") >= 1
    assert metric("streamer_cloud_texts_total", outcome="fallback") >= len(payloads)


async def test_block_holds_the_batch_until_the_provider_recovers(
    azure_emulator: AzureLanguageEmulator, make_detection: Callable[..., CloudDetection]
) -> None:
    azure_emulator.set_outage(True)
    section = {
        "provider": "azure",
        "limits": {"max_attempts": 1, "breaker_failures": 1, "breaker_open_seconds": 0.2},
    }
    extracted = [[("mail " + CANARIES["EMAIL_ADDRESS"], "note")], None]
    async with make_detection([section], unavailable="block") as cloud:
        batch = await cloud.detect_payloads(extracted)
        assert batch.blocked
        assert batch.routes == [CloudRoute.BLOCKED, CloudRoute.NOT_EXTRACTED]
        assert batch.extra_spans == [None, None]
        assert cloud.seconds_until_available() > 0
        azure_emulator.set_outage(False)
        await cloud.wait_for_recovery()
        batch = await cloud.detect_payloads(extracted)
    assert not batch.blocked
    assert batch.routes[0] is CloudRoute.CLOUD
    assert batch.extra_spans[0] is not None and batch.extra_spans[0][0]


async def test_hung_requests_time_out_and_dead_letter(
    azure_emulator: AzureLanguageEmulator, make_detection: Callable[..., CloudDetection]
) -> None:
    azure_emulator.settings.outage_mode = "hang"
    azure_emulator.set_outage(True)
    section = {"provider": "azure", "limits": {"timeout_seconds": 0.1, "max_attempts": 2}}
    async with make_detection([section], unavailable="dead-letter") as cloud:
        batch = await cloud.detect_payloads([[(CANARY_TEXT, "")]])
    azure_emulator.set_outage(False)
    assert batch.routes == [CloudRoute.DEAD_LETTER]
    (failure,) = batch.failures
    assert failure is not None and failure.code == "cloud_unavailable"
    assert "no answer within 0.1s" in failure.message
    assert find_canaries(failure.message) == []


async def test_a_rejected_record_is_dead_lettered_even_under_block(
    make_detection: Callable[..., CloudDetection],
) -> None:
    async with make_detection(["aws"], unavailable="block") as cloud:
        object.__setattr__(cloud.providers[0].provider.config, "language", "fr")
        batch = await cloud.detect_payloads([[("bonjour", "")]])
    assert batch.routes == [CloudRoute.DEAD_LETTER]
    assert batch.failures[0] is not None and batch.failures[0].code == "cloud_rejected"


@contextlib.asynccontextmanager
async def _endpoint_answering(
    provider: str, body: bytes, content_type: str = "application/json"
) -> AsyncIterator[dict[str, Any]]:
    """A real HTTP server answering every request with ``body`` (HTTP 200), as a gateway
    or proxy at a wrong endpoint does; the cloud section pointing ``provider`` at it."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield {
            "provider": provider,
            "endpoint" if provider == "azure" else "endpoint_url": f"http://127.0.0.1:{port}",
            "limits": {"max_attempts": 1, "breaker_failures": 1},
        }
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_web_page_at_the_endpoint_is_an_outage_not_an_answer(
    make_detection: Callable[..., CloudDetection], provider: str
) -> None:
    # A web server or proxy at the endpoint answering 200 with a page (a real server, not
    # a mock): AWS took it as "no entities", so cloud-only mode let every text through
    # unredacted; Azure's DeserializationError stopped `streamer run` with a traceback.
    page = b"<html><body>Welcome</body></html>"
    async with (
        _endpoint_answering(provider, page, "text/html") as section,
        make_detection([section], mode="cloud-only", unavailable="block") as cloud,
    ):
        batch = await cloud.detect_payloads([[(CANARY_TEXT, "note")]])
    assert batch.routes == [CloudRoute.BLOCKED]
    (failure,) = batch.failures
    assert failure is not None and "not an" in failure.message
    assert find_canaries(failure.message) == []


MALFORMED_ANSWERS = {
    "another service's JSON": b'{"message": "Forbidden"}',
    "a JSON list": b"[1, 2]",
    "JSON null": b"null",
    "cut short": b'{"kind": "PiiEntityRecognitionResults", "results": {"documents": [',
    "azure, entities without offsets": orjson.dumps(
        {
            "kind": "PiiEntityRecognitionResults",
            "results": {
                "documents": [{"id": "0", "entities": [{"text": "x", "category": "Person"}]}],
                "errors": [],
                "modelVersion": "2023-09-01",
            },
        }
    ),
    "aws, entities without offsets": b'{"Entities": [{"Type": "NAME", "Score": 0.9}]}',
    "aws, entities not a list": b'{"Entities": 5}',
}


@pytest.mark.parametrize("answer", sorted(MALFORMED_ANSWERS))
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_json_of_another_shape_at_the_endpoint_is_an_outage_not_a_crash(
    make_detection: Callable[..., CloudDetection], provider: str, answer: str
) -> None:
    # A gateway or proxy answering 200 with JSON that is not the service's (a real server,
    # not a mock): the SDKs' parsers and the entity fields raised AttributeError, KeyError
    # or TypeError out of detect(), and `streamer run` stopped on "an unexpected
    # AttributeError"; a body cut short was "request rejected (HTTP 200)", which
    # dead-letters every record under block.
    async with (
        _endpoint_answering(provider, MALFORMED_ANSWERS[answer]) as section,
        make_detection([section], unavailable="block") as cloud,
    ):
        batch = await cloud.detect_payloads([[(CANARY_TEXT, "note")]])
    assert batch.routes == [CloudRoute.BLOCKED]
    (failure,) = batch.failures
    assert failure is not None and failure.code == "cloud_unavailable"
    assert "not an" in failure.message
    assert find_canaries(failure.message) == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_wrong_endpoint_blocks_under_block_rather_than_rejecting_records(
    emulators: dict[str, Emulator], make_detection: Callable[..., CloudDetection], provider: str
) -> None:
    # The endpoints swapped (each answers the other's requests with 404) used to be
    # "request rejected (404)": every record dead-lettered as cloud_rejected under block.
    other = emulators["aws" if provider == "azure" else "azure"]
    section = {
        "provider": provider,
        "endpoint" if provider == "azure" else "endpoint_url": other.url,
        "limits": {"max_attempts": 1, "breaker_failures": 1},
    }
    async with make_detection([section], unavailable="block") as cloud:
        batch = await cloud.detect_payloads([[("mail " + CANARIES["EMAIL_ADDRESS"], "note")]])
    assert batch.routes == [CloudRoute.BLOCKED]
    (failure,) = batch.failures
    assert failure is not None and failure.code == "cloud_unavailable"
    setting = "AZURE_TEXT_ANALYTICS_ENDPOINT" if provider == "azure" else "endpoint_url"
    assert "not an" in failure.message and setting in failure.message
    assert other.url not in failure.message


async def test_sequential_failover_uses_the_next_provider(
    azure_emulator: AzureLanguageEmulator,
    aws_emulator: ComprehendEmulator,
    make_detection: Callable[..., CloudDetection],
) -> None:
    azure_emulator.set_outage(True)
    azure = {"provider": "azure", "limits": {"max_attempts": 1}}
    async with make_detection([azure, "aws"], failover="sequential") as cloud:
        result = await cloud.detect([CANARY_TEXT])
    assert result.ok
    (spans,) = result.spans
    assert spans and {s.detector for s in spans} == {"aws"}
    assert azure_emulator.stats.failed == 1 and aws_emulator.stats.answered == 1


@pytest.mark.parametrize("slow", PROVIDERS)
async def test_concurrent_failover_takes_the_first_success(
    slow: str,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
) -> None:
    fast = "aws" if slow == "azure" else "azure"
    emulators[slow].settings.latency_seconds = 30  # would fail the test if waited for
    async with make_detection(["azure", "aws"], failover="concurrent") as cloud:
        result = await cloud.detect([CANARY_TEXT])
        assert result.ok
        (spans,) = result.spans
        assert spans and {s.detector for s in spans} == {fast}
        assert emulators[slow].stats.requests == 1  # asked, then cancelled


async def test_concurrent_failover_survives_one_provider_down(
    azure_emulator: AzureLanguageEmulator, make_detection: Callable[..., CloudDetection]
) -> None:
    azure_emulator.set_outage(True)
    azure = {"provider": "azure", "limits": {"max_attempts": 1}}
    async with make_detection([azure, "aws"], failover="concurrent") as cloud:
        result = await cloud.detect([CANARY_TEXT])
    (spans,) = result.spans
    assert result.ok and spans and {s.detector for s in spans} == {"aws"}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_refused_credentials_are_logged_once_not_only_counted(
    caplog: pytest.LogCaptureFixture,
    provider: str,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
) -> None:
    # A wrong key sends every record to fallback; fewer failures than the breaker needs
    # must still tell the operator why, once, without the key or the text.
    emulators[provider].settings.api_key = "another-credential"
    caplog.set_level(logging.WARNING, logger="streamer.cloud")
    async with make_detection([provider], unavailable="fallback") as cloud:
        for round_ in range(2):
            result = await cloud.detect([f"{CANARY_TEXT} ({round_})"])
            assert {f.kind for f in result.failures.values()} == {"auth"}
    warned = [r for r in caplog.records if r.name == "streamer.cloud.guard"]
    assert len(warned) == 1
    assert "credentials were refused" in warned[0].getMessage()
    assert find_canaries(caplog.text) == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unreachable_endpoint_is_named_when_the_breaker_stops_the_retries(
    caplog: pytest.LogCaptureFixture,
    provider: str,
    make_detection: Callable[..., CloudDetection],
) -> None:
    # A wrong port opens the breaker before the retries run out: the log must still say
    # why (the endpoint cannot be reached), not only that the breaker opened.
    url = f"http://127.0.0.1:{free_port()}"
    section = {
        "provider": provider,
        "endpoint" if provider == "azure" else "endpoint_url": url,
        "limits": {"max_attempts": 5, "breaker_failures": 2, **FAST_RETRIES},
    }
    caplog.set_level(logging.WARNING, logger="streamer.cloud")
    async with make_detection([section], unavailable="fallback") as cloud:
        result = await cloud.detect([CANARY_TEXT])
    assert {f.kind for f in result.failures.values()} == {"circuit_open"}
    messages = [r.getMessage() for r in caplog.records if r.name == "streamer.cloud.guard"]
    assert any("could not reach the endpoint" in m for m in messages), messages
    # ... and which setting to fix (it said only "(ServiceRequestError)").
    setting = "AZURE_TEXT_ANALYTICS_ENDPOINT" if provider == "azure" else "endpoint_url"
    assert any(setting in m for m in messages), messages
    assert find_canaries(caplog.text) == []
