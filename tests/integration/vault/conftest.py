"""Fixtures for vault tests on the embedded broker: one broker per session, fresh topics
and a fresh key file per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamer.broker import EmbeddedBroker
from streamer.settings import StreamerSettings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def vault_broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture
def vault_settings(tmp_path: Path, vault_broker: EmbeddedBroker) -> StreamerSettings:
    """Settings with their own key file, index and topics on the session's broker."""
    suffix = uuid.uuid4().hex[:8]
    return StreamerSettings(
        data_dir=tmp_path,
        bootstrap_servers=vault_broker.bootstrap_servers,
        token_topic=f"tokens-{suffix}",
        audit_topic=f"audit-{suffix}",
        key_refresh_seconds=0,
    )
