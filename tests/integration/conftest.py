"""Fixtures for tests against the embedded Kafka-compatible broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamer.broker import EmbeddedBroker
from streamer.settings import StreamerSettings
from streamer.testing.kafka import FAST_GROUP_SETTINGS, running_broker
from streamer.testing.kms import moto_kms


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One embedded broker for the session; tests keep apart by topic names."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with running_broker(log_file=log) as embedded:
        yield embedded


@pytest.fixture
def bootstrap(broker: EmbeddedBroker) -> str:
    return broker.bootstrap_servers


@dataclass(frozen=True)
class PipelineTopics:
    """Topic and group names unique to one test."""

    raw: str
    clean: str
    tokens: str
    dlq: str
    group: str

    @property
    def outputs(self) -> dict[str, str]:
        return {"output": self.clean, "tokens": self.tokens, "dlq": self.dlq}


@pytest.fixture
def topics() -> PipelineTopics:
    base = f"t{uuid.uuid4().hex[:10]}"
    return PipelineTopics(
        f"{base}.raw", f"{base}.clean", f"{base}.tokens", f"{base}.dlq", f"{base}-group"
    )


@pytest.fixture
def stream_settings(tmp_path: Path, bootstrap: str) -> StreamerSettings:
    """Settings for an in-process runtime: quick group joins and commits, one worker."""
    return StreamerSettings(
        bootstrap_servers=bootstrap,
        data_dir=tmp_path / "data",
        workers=1,
        commit_interval_ms=200,
        shutdown_timeout=15,
        **FAST_GROUP_SETTINGS,
    )


@pytest.fixture(scope="module")
def kms_endpoint() -> Iterator[str]:
    """moto's KMS in server mode, on a free port of this machine."""
    with moto_kms() as endpoint:
        yield endpoint


@pytest.fixture
def aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials for the AWS SDK's default chain (moto takes any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
