"""Following the token topic (``streamer serve``) while the broker is gone: retried
quietly, said once when it starts failing and once when it reads again."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from streamer.broker import EmbeddedBroker
from streamer.vault.store import TokenIndex
from streamer.vault.token_topic import CatchUpStats, TokenTopicReader

pytestmark = pytest.mark.integration


class CountingReader(TokenTopicReader):
    """Counts its catch-ups, failed or not, so the test knows how often it retried."""

    attempts = 0

    async def catch_up(self, *, require_topic: bool = True) -> CatchUpStats:
        self.attempts += 1
        return await super().catch_up(require_topic=require_topic)


async def test_a_lost_broker_is_logged_once_not_on_every_retry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # serve logged "token topic read failed; retrying" twice a second for as long as the
    # broker was away, without saying why.
    broker = EmbeddedBroker().start()
    try:
        with TokenIndex(tmp_path / "index.db", "tokens-follow") as index:
            reader = CountingReader(index, broker.bootstrap_servers, poll_interval=0.01)
            async with reader:
                broker.stop()
                with caplog.at_level(logging.WARNING, "streamer.vault.token_topic"):
                    following = asyncio.create_task(reader.follow())
                    while reader.attempts < 5:
                        await asyncio.sleep(0.01)
                    following.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await following
    finally:
        broker.stop()
    said = [r.getMessage() for r in caplog.records if r.name == "streamer.vault.token_topic"]
    assert len(said) == 1, said
    assert said[0].startswith("reading token topic 'tokens-follow' failed (")
    assert said[0].endswith("; retrying until it can be read")
