"""Emulators of both services in process, and settings pointing real SDK clients at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from streamer.cloud import CloudConfig, CloudDetection
from streamer.cloud.emulators import (
    AzureLanguageEmulator,
    ComprehendEmulator,
    EmulatorSettings,
    build_engine,
)
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.engine import RedactionEngine
from streamer.settings import StreamerSettings

AZURE_KEY = "azure-key-canary-7f3e9d1c"
AWS_ACCESS_KEY_ID = "AKIACANARY7F3E9D1C00"
AWS_SECRET_ACCESS_KEY = "aws-secret-canary-0b8a6c4e2f1d3b5a7c9e"
#: Every credential the tests use: none may appear in logs, errors or metrics.
CREDENTIALS = (AZURE_KEY, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)


@pytest.fixture
def credentials() -> tuple[str, ...]:
    """Every credential the tests use: none may appear in logs, errors or metrics."""
    return CREDENTIALS


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy AWS credentials through the standard chain, and no user AWS config."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)


def _pattern_engine() -> RedactionEngine:
    # The emulators detect with the pattern detectors: their spans do not depend on how
    # texts are packed into documents, as NER's (which reads context) would.
    return build_engine(detectors=list(PATTERN_DETECTOR_NAMES))


@pytest.fixture
async def azure_emulator() -> AsyncIterator[AzureLanguageEmulator]:
    emulator = AzureLanguageEmulator(
        EmulatorSettings(api_key=AZURE_KEY, seed=5), engine=_pattern_engine()
    )
    async with emulator.running():
        yield emulator


@pytest.fixture
async def aws_emulator() -> AsyncIterator[ComprehendEmulator]:
    emulator = ComprehendEmulator(
        EmulatorSettings(api_key=AWS_ACCESS_KEY_ID, seed=5), engine=_pattern_engine()
    )
    async with emulator.running():
        yield emulator


@pytest.fixture
def cloud_settings(tmp_path: Path, azure_emulator: AzureLanguageEmulator) -> StreamerSettings:
    return StreamerSettings(
        data_dir=tmp_path,
        azure_language_endpoint=azure_emulator.url,
        azure_language_key=AZURE_KEY,
        aws_region="us-east-1",
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def make_detection(
    cloud_settings: StreamerSettings,
    aws_emulator: ComprehendEmulator,
    registry: CollectorRegistry,
) -> Callable[..., CloudDetection]:
    """``make_detection(providers, **section)``: providers are ``"azure"``, ``"aws"`` or
    dicts; the AWS ones get the emulator's endpoint."""

    def make(providers: list[Any], fallback_analyzer: Any = None, **section: Any) -> CloudDetection:
        items = []
        for item in providers:
            item = {"provider": item} if isinstance(item, str) else dict(item)
            if item["provider"] == "aws":
                item.setdefault("endpoint_url", aws_emulator.url)
            items.append(item)
        config = CloudConfig.load({"providers": items, **section})
        return CloudDetection.from_config(
            config, cloud_settings, registry=registry, fallback_analyzer=fallback_analyzer
        )

    return make


@pytest.fixture
def metric(registry: CollectorRegistry) -> Callable[..., float]:
    """``metric(name, **labels)``: a sample of the test's metrics registry (0 if absent)."""

    def read(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    return read
