"""NER throughput through Kafka: the parallel pipeline next to a naive per-event Presidio loop.

Both sides read the same generated support-ticket events from the same topic on the same
embedded broker and write redacted events to a topic of their own:

- ``ner_pipeline``: consume a batch -> ``RedactionService(parallel=True)
  .redact_payloads_async`` (pattern detectors + NER on worker processes, each loading
  the model once, batched ``nlp.pipe``, skip rule, span cache) -> produce;
- ``naive_presidio``: consume -> for each event, Presidio ``AnalyzerEngine.analyze`` and
  ``AnonymizerEngine.anonymize`` on every string value (as ``analyze_dict`` would) ->
  produce, one event at a time.

The naive loop is slow, so it processes the first ``NAIVE_EVENTS`` of the same events;
rates are per event. This is a stand-in for the stream runtime (issue 3): once it lands,
the pipeline side should run through it instead of this loop.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import orjson

from bench.presidio_baseline import presidio_engines
from bench.report import peak_rss_mib, ratio, result
from streamer.broker import EmbeddedBroker
from streamer.redaction.service import RedactionService
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings

EVENTS = int(os.environ.get("BENCH_NER_EVENTS", "6000"))
NAIVE_EVENTS = int(os.environ.get("BENCH_NER_NAIVE_EVENTS", "300"))
WORKERS = os.cpu_count() or 1
BATCH = 500
_CONSUMER = {
    "auto_offset_reset": "earliest",
    "enable_auto_commit": False,
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 500,
    "rebalance_timeout_ms": 3000,
    "max_poll_records": BATCH,
}


async def _produce(bootstrap: str, topic: str, payloads: list[bytes]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for payload in payloads:
            await producer.send(topic, payload)
        await producer.flush()
    finally:
        await producer.stop()


async def _consume_transform_produce(
    bootstrap: str, source: str, sink: str, group: str, count: int, transform: Any
) -> float:
    """Seconds to read ``count`` records of ``source``, transform them, write them to ``sink``."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, **_CONSUMER)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        done = 0
        started: float | None = None
        while done < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            values = [r.value for records in batches.values() for r in records][: count - done]
            if not values:
                continue
            if started is None:
                started = time.perf_counter()
            for value in await transform(values):
                await producer.send(sink, value)
            done += len(values)
        await producer.flush()
        assert started is not None
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()


def _naive_event(analyzer: Any, anonymizer: Any, value: Any) -> Any:
    if isinstance(value, str):
        found = analyzer.analyze(value, language="en")
        return anonymizer.anonymize(value, found).text if found else value
    if isinstance(value, dict):
        return {k: _naive_event(analyzer, anonymizer, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_naive_event(analyzer, anonymizer, v) for v in value]
    return value


async def _run(bootstrap: str, payloads: list[bytes]) -> None:
    await _produce(bootstrap, "raw", payloads)
    settings = StreamerSettings()
    with RedactionService(settings=settings, parallel=True, max_workers=WORKERS) as service:
        # Start every worker (each loads the model once) before the clock starts.
        await asyncio.gather(*(service.redact_payloads_async(payloads[:2]) for _ in range(4)))
        failures = 0

        async def pipeline(values: list[bytes]) -> list[bytes]:
            nonlocal failures
            outcomes = await service.redact_payloads_async(values)
            failures += sum(1 for o in outcomes if o.value is None)
            return [o.value or b"" for o in outcomes]

        seconds = await _consume_transform_produce(
            bootstrap, "raw", "clean", "ner-pipeline", len(payloads), pipeline
        )
    pipeline_rate = len(payloads) / seconds
    result("ner_pipeline", pipeline_rate, events=len(payloads), workers=WORKERS,
           failures=failures, peak_rss_mib=peak_rss_mib())  # fmt: skip

    analyzer, anonymizer = presidio_engines()
    analyzer.analyze("warm up John Smith", language="en")

    async def naive(values: list[bytes]) -> list[bytes]:
        return [orjson.dumps(_naive_event(analyzer, anonymizer, orjson.loads(v))) for v in values]

    naive_count = min(NAIVE_EVENTS, len(payloads))
    seconds = await _consume_transform_produce(
        bootstrap, "raw", "clean-naive", "naive-presidio", naive_count, naive
    )
    naive_rate = naive_count / seconds
    result("naive_presidio", naive_rate, events=naive_count)
    ratio("ner_pipeline_to_naive_presidio", pipeline_rate / naive_rate)


def main() -> None:
    payloads = [orjson.dumps(event) for event in support_tickets(EVENTS)]
    with EmbeddedBroker() as broker:
        asyncio.run(_run(broker.bootstrap_servers, payloads))


if __name__ == "__main__":
    main()
