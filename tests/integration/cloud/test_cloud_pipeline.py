"""Cloud detection in the redaction pipeline, and what must never leak from it."""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streamer.cloud import CloudDetection, CloudRoute
from streamer.cloud.emulators import (
    AzureLanguageEmulator,
    ComprehendEmulator,
    Emulator,
    build_engine,
)
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.keys import LocalKeyring
from streamer.redaction.policy import Policy
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries

pytestmark = pytest.mark.integration

PROVIDERS = ["azure", "aws"]
EMPLOYEE_POLICY = Policy.from_dict(
    {
        "custom_detectors": [
            {"name": "employee_id", "entity_type": "EMPLOYEE_ID", "pattern": r"\bEMP-\d{6}\b"}
        ]
    }
)


@pytest.fixture
def emulators(
    azure_emulator: AzureLanguageEmulator, aws_emulator: ComprehendEmulator
) -> dict[str, Emulator]:
    return {"azure": azure_emulator, "aws": aws_emulator}


def engine_with(settings: StreamerSettings, detectors: list[str] | None) -> RedactionEngine:
    return RedactionEngine.build(
        detectors=detectors, keyring=LocalKeyring(b"k" * 32), settings=settings
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_union_mode_redacts_tickets_exactly_as_local_detection(
    provider: str, make_detection: Callable[..., CloudDetection], settings: StreamerSettings
) -> None:
    # the emulators detect with the same local detectors, so merged spans change nothing:
    # any offset error would show up as a different output
    payloads = [orjson.dumps(event) for event in support_tickets(300, seed=11)]
    engine = engine_with(settings, list(PATTERN_DETECTOR_NAMES))  # as the emulators do
    expected = engine_with(settings, list(PATTERN_DETECTOR_NAMES)).redact_payloads(payloads)
    async with make_detection([provider]) as cloud:
        batch = await cloud.detect_payloads(engine.extract_texts(payloads))
    assert batch.routes == [CloudRoute.CLOUD] * len(payloads)
    outcomes = engine.redact_payloads(payloads, extra_spans=batch.extra_spans)
    assert [o.value for o in outcomes] == [o.value for o in expected]
    cloud_tokens = [t for o in outcomes for t in o.tokens if t.metadata["detector"] == provider]
    assert cloud_tokens  # ties go to the cloud span or the local one; both are used


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_cloud_only_mode_redacts_what_only_the_cloud_finds(
    provider: str,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
    settings: StreamerSettings,
) -> None:
    emulators[provider].engine = build_engine(policy=EMPLOYEE_POLICY)
    payloads = [
        orjson.dumps({"note": f"employee EMP-12345{i} wrote from {CANARY_TEXT}"}) for i in range(3)
    ]
    async with make_detection([provider], mode="cloud-only", unavailable="dead-letter") as cloud:
        engine = engine_with(settings, cloud.config.worker_detectors(None))
        assert engine.detectors == []
        batch = await cloud.detect_payloads(engine.extract_texts(payloads))
    outcomes = engine.redact_payloads(payloads, extra_spans=batch.extra_spans)
    for index, outcome in enumerate(outcomes):
        assert outcome.ok and outcome.value is not None
        assert f"EMP-12345{index}".encode() not in outcome.value
        assert find_canaries(outcome.value) == []
        assert {t.metadata["detector"] for t in outcome.tokens} == {provider}
        assert "EMPLOYEE_ID" in outcome.entity_counts


async def test_cloud_only_falls_back_to_the_local_analyzer_and_marks_the_record(
    azure_emulator: AzureLanguageEmulator,
    make_detection: Callable[..., CloudDetection],
    settings: StreamerSettings,
) -> None:
    azure_emulator.set_outage(True)
    local = engine_with(settings, None)
    section = {"provider": "azure", "limits": {"max_attempts": 1}}
    payloads = [orjson.dumps({"note": CANARY_TEXT}), b"not json"]
    async with make_detection(
        [section], mode="cloud-only", unavailable="fallback", fallback_analyzer=local.analyze
    ) as cloud:
        workers = engine_with(settings, cloud.config.worker_detectors(None))
        batch = await cloud.detect_payloads(workers.extract_texts(payloads))
    assert batch.routes == [CloudRoute.FALLBACK, CloudRoute.NOT_EXTRACTED]
    assert batch.failures[0] is not None and batch.failures[0].code == "cloud_server_error"
    outcomes = workers.redact_payloads(payloads, extra_spans=batch.extra_spans)
    assert outcomes[0].ok and find_canaries(outcomes[0].value or b"") == []
    assert not outcomes[1].ok  # the engine reports the bad record itself


def test_cloud_only_with_fallback_needs_a_local_analyzer(
    make_detection: Callable[..., CloudDetection],
) -> None:
    with pytest.raises(Exception, match="fallback_analyzer"):
        make_detection(["aws"], mode="cloud-only", unavailable="fallback")


async def test_no_personal_data_or_credentials_in_logs_errors_or_metrics(
    caplog: pytest.LogCaptureFixture,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
    registry: CollectorRegistry,
    credentials: tuple[str, ...],
) -> None:
    caplog.set_level(logging.DEBUG)
    failures = []
    fast = {"max_attempts": 2, "backoff_initial_seconds": 0.01, "breaker_failures": 2}
    sections = [{"provider": p, "limits": fast} for p in PROVIDERS]
    texts = [CANARY_TEXT, *CANARIES.values()]
    async with make_detection(sections, failover="concurrent") as cloud:
        # success, throttling, server errors, an outage with the breaker, wrong credentials
        assert (await cloud.detect(texts)).ok
        for emulator in emulators.values():
            emulator.settings.throttle_next = 1
            emulator.settings.retry_after_seconds = 0.01
        assert (await cloud.detect([f"{text} (again)" for text in texts])).ok
        for emulator in emulators.values():
            emulator.set_outage(True)
        for attempt in range(3):
            result = await cloud.detect([f"{text} (outage {attempt})" for text in texts])
            failures.extend(result.failures.values())
        for emulator in emulators.values():
            emulator.set_outage(False)
            emulator.settings.api_key = "some-other-credential"
    async with make_detection(sections) as cloud:
        failures.extend((await cloud.detect(texts)).failures.values())
    assert {f.kind for f in failures} >= {"server_error", "circuit_open", "auth"}

    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    errors = " ".join(f"{f!s} {f!r} {f.detail}" for f in failures)
    metrics = generate_latest(registry).decode()
    for where, text in (("logs", logged), ("errors", errors), ("metrics", metrics)):
        assert find_canaries(text) == [], where
        for credential in credentials:
            assert credential not in text, where
    assert "streamer_cloud_requests_total" in metrics


async def test_sdk_request_logging_stays_out_of_the_info_log(
    caplog: pytest.LogCaptureFixture,
    emulators: dict[str, Emulator],
    make_detection: Callable[..., CloudDetection],
) -> None:
    # azure-core logs every request and response (URL, headers) at INFO; at the default
    # level a stream asking the cloud many times a second must not log each request.
    caplog.set_level(logging.INFO)
    async with make_detection(PROVIDERS, failover="concurrent") as cloud:
        for round_ in range(3):
            assert (await cloud.detect([f"{CANARY_TEXT} (round {round_})"])).ok
    assert emulators["azure"].stats.requests >= 3
    per_request = [r for r in caplog.records if r.name.startswith(("azure.core", "botocore"))]
    assert [r for r in per_request if r.levelno < logging.WARNING] == []
