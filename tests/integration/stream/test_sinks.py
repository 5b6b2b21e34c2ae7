"""OutputSinks against a real broker that goes away while a batch is being published."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from streamer.stream.headers import ProvenanceHeaders
from streamer.stream.processor import BatchResult, RecordBatch
from streamer.stream.sinks import OutputSinks, OutputTopics
from streamer.testing.kafka import create_topics, running_broker

pytestmark = pytest.mark.integration


async def test_publish_cancelled_on_a_lost_broker_leaves_no_unretrieved_delivery_errors() -> None:
    # kill -9 of the broker under `streamer run`: the producer blocks in publish, the run
    # stops and cancels it; the deliveries handed out before it blocked then fail unsealed,
    # and used to end the run with "Future exception was never retrieved" tracebacks.
    loop = asyncio.get_running_loop()
    unretrieved: list[dict[str, Any]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
    try:
        with running_broker() as broker:
            await create_topics(broker.bootstrap_servers, {"sinks.clean": 1})
            producer = AIOKafkaProducer(
                bootstrap_servers=broker.bootstrap_servers,
                max_batch_size=1024,
                request_timeout_ms=1000,
                retry_backoff_ms=50,
            )
            await producer.start()
            await (await producer.send("sinks.clean", b"warm-up", partition=0))
            topics = OutputTopics("sinks.clean", "sinks.tokens", "sinks.dlq", 1, 1, 1)
            sinks = OutputSinks(producer, topics)
            count = 20
            batch = RecordBatch(
                topic="sinks.raw",
                partition=0,
                offsets=list(range(count)),
                timestamps=[-1] * count,
                keys=[None] * count,
                payloads=[b"x" * 2000] * count,
            )
            result = BatchResult(values=[b"y" * 2000] * count)
            headers = ProvenanceHeaders.for_partition("1", "sinks.raw", 0, ["email"])
        # The broker is gone: the second producer batch of the partition waits for the first.
        publishing = asyncio.create_task(sinks.publish(batch, result, headers))
        await asyncio.sleep(0.5)
        assert not publishing.done()
        publishing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publishing
        await asyncio.sleep(3)  # the handed-out deliveries time out
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), 10)
        del publishing
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous_handler)
    never_retrieved = [c for c in unretrieved if "never retrieved" in str(c.get("message"))]
    assert never_retrieved == []
