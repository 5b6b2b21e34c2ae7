"""NER on worker processes between two topics of the embedded broker.

A stand-in for the stream runtime (issue 3): consume a batch, redact it with
``RedactionService(parallel=True)``, produce it. Names, places, organisations and the
canary values must not reach the clean topic, and every record must arrive.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamer.testing import CANARIES, find_canaries

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PEOPLE = ("Zofia Wrzesniewska", "Maria Garcia", "Tom Hardy")


def _events() -> list[bytes]:
    events = []
    for index, person in enumerate(PEOPLE * 4):
        events.append(
            orjson.dumps(
                {
                    "id": f"T-{index:07d}",
                    "customer": {"name": person},
                    "note": f"{person} moved to Lisbon and now works for Acme Holdings Ltd. "
                    f"Mail {CANARIES['EMAIL_ADDRESS']}, call {CANARIES['PHONE_NUMBER']}.",
                }
            )
        )
    return events


async def test_ner_pipeline_between_topics(settings: Any) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from streamer.broker import EmbeddedBroker
    from streamer.redaction.service import RedactionService

    events = _events()
    with EmbeddedBroker() as broker:
        bootstrap = broker.bootstrap_servers
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for event in events:
                await producer.send("raw", event)
            await producer.flush()
            consumer = AIOKafkaConsumer(
                "raw", bootstrap_servers=bootstrap, group_id="ner-test",
                auto_offset_reset="earliest", session_timeout_ms=6000,
                heartbeat_interval_ms=500, rebalance_timeout_ms=3000,
            )  # fmt: skip
            await consumer.start()
            with RedactionService(settings=settings, parallel=True, max_workers=2) as service:
                done = 0
                while done < len(events):
                    batches = await consumer.getmany(timeout_ms=1000, max_records=5)
                    values = [r.value for records in batches.values() for r in records]
                    for outcome in await service.redact_payloads_async(values):
                        assert outcome.failure is None
                        await producer.send("clean", outcome.value)
                    done += len(values)
            await consumer.stop()
            await producer.flush()
        finally:
            await producer.stop()
        reader = AIOKafkaConsumer(
            "clean", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        await reader.start()
        clean: list[bytes] = []
        try:
            while len(clean) < len(events):
                batches = await reader.getmany(timeout_ms=2000)
                if not batches:
                    break
                clean.extend(r.value for records in batches.values() for r in records)
        finally:
            await reader.stop()
    assert len(clean) == len(events)
    everything = b"\n".join(clean).decode()
    assert find_canaries(everything) == []
    for value in (*PEOPLE, "Lisbon", "Acme Holdings"):
        assert value not in everything
    assert "T-0000000" in everything  # ids are not names
