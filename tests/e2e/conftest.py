"""Fixtures for tests that run the ``streamer`` command (see ``streamer.testing.cli``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamer.broker import EmbeddedBroker


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    """The address of an embedded broker of this test module's own."""
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers
