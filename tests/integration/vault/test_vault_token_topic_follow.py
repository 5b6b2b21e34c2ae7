"""Reading the token topic as unmask and serve do: records that are not token mappings
reported once per catch-up, and a lost broker retried quietly (said once when it starts
failing and once when it reads again)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest

from streamer.broker import EmbeddedBroker
from streamer.testing.kafka import produce_values
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


async def test_records_that_are_not_token_mappings_are_reported_once_per_catch_up(
    tmp_path: Path, bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    # --token-topic naming the clean topic by mistake logged one line per record read
    # (millions on a real clean topic), and never asked whether it was the token topic.
    topic = f"clean-not-tokens-{uuid.uuid4().hex[:6]}"
    await produce_values(bootstrap, topic, [b'{"m": "[EMAIL_ADDRESS_0e6f1a2b3c4d5e6f]"}'] * 3,
                         keys=[b"c1", b"c2", b"c3"], partition=0)  # fmt: skip
    with TokenIndex(tmp_path / "index.db", topic) as index:
        async with TokenTopicReader(index, bootstrap) as reader:
            with caplog.at_level(logging.WARNING, "streamer.vault.token_topic"):
                stats = await reader.catch_up()
                again = await reader.catch_up()
    assert (stats.skipped, stats.stored, again.records) == (3, 0, 0)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("streamer.vault")]
    assert said == [
        f"skipped 3 record(s) of token topic {topic!r} that are not token mappings for their "
        "key (the first at partition 0, offset 0); is it the token topic the pipeline writes "
        "(the topology's outputs.tokens)?"
    ]
