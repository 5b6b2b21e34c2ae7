"""Cloud detection in the pipeline, with each emulated provider (the official SDK
clients, against the emulator in a process of its own, with 50 ms added to every answer).

- ``cloud_<provider>_pipeline``: the engine alone: support-ticket events through
  ``extract_texts`` -> ``CloudDetection.detect_payloads`` -> ``redact_payloads``, batches
  pipelined (several batches' requests in flight while the oldest is redacted), against
  ``cloud_local_baseline``, the same redaction without cloud detection.
- ``cloud_<provider>_stream``: the Kafka stream runtime (what ``streamer run`` runs with
  a ``cloud:`` section) on the embedded broker: events produced to a raw topic, the
  runtime with its worker processes run until every event is committed, rates from the
  first record fetched to the last acknowledged; against ``cloud_stream_local_baseline``,
  the same runtime without the ``cloud:`` section.

Local detection and the emulators' detection are the pattern detectors: what is measured
is the cloud path (throughput follows requests in flight divided by latency), not NER,
which has its own benchmark. Each line carries the requests, documents and billed units
the run cost. Environment: ``BENCH_CLOUD_EVENTS`` (default 20000).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from bench.report import ratio, result
from streamer.broker import EmbeddedBroker
from streamer.cloud import CloudConfig, CloudDetection, CloudRoute
from streamer.cloud.emulators.server import EmulatorProcess
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.keys import LocalKeyring
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.stream.runtime import StreamRuntime
from streamer.stream.schemas import SCHEMA_DIR
from streamer.stream.tools import end_offsets
from streamer.stream.topology import Topology
from streamer.testing.kafka import FAST_GROUP_SETTINGS, create_topics, produce_values

EVENTS = int(os.environ.get("BENCH_CLOUD_EVENTS", "20000"))
BATCH = 500
BATCHES_IN_FLIGHT = 4
LATENCY_MS = 50
DETECTORS = list(PATTERN_DETECTOR_NAMES)
PARTITIONS = 4
RAW_TOPIC = "bench.cloud.tickets.raw"
TOPOLOGY = SCHEMA_DIR.parent / "topologies" / "support-tickets.yaml"
UNITS = {"azure": "text_record", "aws": "unit_100_chars"}


async def run_pipeline(
    cloud: CloudDetection, engine: RedactionEngine, payloads: list[bytes]
) -> tuple[float, int]:
    """Seconds to push every payload through; the number of records redacted."""
    pending: deque[tuple[list[bytes], asyncio.Task[Any]]] = deque()
    redacted = 0
    started = time.perf_counter()

    async def finish_oldest() -> int:
        batch, task = pending.popleft()
        detected = await task
        if detected.blocked or detected.indices(CloudRoute.DEAD_LETTER):
            raise RuntimeError("the emulator failed during the benchmark")
        outcomes = engine.redact_payloads(batch, extra_spans=detected.extra_spans)
        return sum(1 for outcome in outcomes if outcome.ok)

    for start in range(0, len(payloads), BATCH):
        batch = payloads[start : start + BATCH]
        texts = engine.extract_texts(batch)
        pending.append((batch, asyncio.create_task(cloud.detect_payloads(texts))))
        if len(pending) >= BATCHES_IN_FLIGHT:
            redacted += await finish_oldest()
    while pending:
        redacted += await finish_oldest()
    return time.perf_counter() - started, redacted


def provider_section(provider: str, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The provider's ``cloud.providers`` entry for the emulator at ``url``, and its
    constructor options (emulated credentials)."""
    section: dict[str, Any] = {"provider": provider, "limits": {"max_concurrency": 32}}
    if provider == "azure":
        from azure.core.credentials import AzureKeyCredential

        section["endpoint"] = url
        return section, {"credential": AzureKeyCredential("bench")}
    import aioboto3

    section["endpoint_url"] = url
    session = aioboto3.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    return section, {"session": session}


def cost(registry: CollectorRegistry, provider: str) -> dict[str, float]:
    """Requests, documents and billed units counted in ``registry`` for ``provider``."""
    names = {
        "requests": ("streamer_cloud_requests_total", {}),
        "documents": ("streamer_cloud_documents_total", {}),
        "billed_units": ("streamer_cloud_billed_units_total", {"unit": UNITS[provider]}),
    }
    return {
        key: registry.get_sample_value(name, {"provider": provider, **labels}) or 0.0
        for key, (name, labels) in names.items()
    }


async def measure_provider(
    provider: str, url: str, settings: StreamerSettings, payloads: list[bytes]
) -> dict[str, float]:
    section, provider_options = provider_section(provider, url)
    options = {provider: provider_options}
    registry = CollectorRegistry()
    config = CloudConfig.load({"providers": [section]})
    engine = RedactionEngine.build(
        detectors=DETECTORS, keyring=LocalKeyring(b"b" * 32), settings=settings
    )
    cloud = CloudDetection.from_config(
        config, settings, registry=registry, provider_options=options
    )
    async with cloud:
        await run_pipeline(cloud, engine, payloads[:BATCH])  # warm up connections
        warm = cost(registry, provider)
        seconds, redacted = await run_pipeline(cloud, engine, payloads[BATCH:])
        measured = cost(registry, provider)
    return {
        "per_s": redacted / seconds,
        "events": redacted,
        **{key: measured[key] - warm[key] for key in measured},
    }


def measure_local(settings: StreamerSettings, payloads: list[bytes]) -> float:
    engine = RedactionEngine.build(
        detectors=DETECTORS, keyring=LocalKeyring(b"b" * 32), settings=settings
    )
    engine.redact_payloads(payloads[:BATCH])
    started = time.perf_counter()
    for start in range(BATCH, len(payloads), BATCH):
        engine.redact_payloads(payloads[start : start + BATCH])
    return (len(payloads) - BATCH) / (time.perf_counter() - started)


async def produce_raw(bootstrap: str, payloads: list[bytes]) -> dict[Any, int]:
    """The events on the raw topic, keyed by customer; its end offsets."""
    await create_topics(bootstrap, {RAW_TOPIC: PARTITIONS})
    keys = [orjson.loads(value)["customer"]["id"].encode() for value in payloads]
    return end_offsets(await produce_values(bootstrap, RAW_TOPIC, payloads, keys=keys))


async def measure_stream(
    name: str,
    bootstrap: str,
    ends: dict[Any, int],
    cloud: dict[str, Any] | None = None,
    cloud_options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, float]:
    """The stream runtime over the raw topic with the support-tickets topology (its
    policy and field rules), pattern detectors locally, and ``cloud`` as its section."""
    settings = StreamerSettings(
        bootstrap_servers=bootstrap,
        data_dir=Path(tempfile.mkdtemp(prefix="bench-cloud-stream-")),
        commit_interval_ms=200,
        **FAST_GROUP_SETTINGS,
    )
    data = Topology.from_file(TOPOLOGY).model_dump()
    data.update(
        name=name,
        group_id=f"bench-{name}",
        inputs=[RAW_TOPIC],
        outputs={f: f"bench.{name}.{f}" for f in ("output", "tokens", "dlq")},
        cloud=cloud,
    )
    topology = Topology.model_validate(data)
    runtime = StreamRuntime(topology, settings, detectors=DETECTORS, cloud_options=cloud_options)
    runtime.stop_after(ends)
    stats = await runtime.run()
    if stats.dead_letters.total():
        raise RuntimeError(f"dead letters during the benchmark: {dict(stats.dead_letters)}")
    measured: dict[str, float] = {"per_s": stats.rate(), "events": stats.processed}
    if cloud is not None:
        provider = cloud["providers"][0]["provider"]
        measured.update(cost(runtime.registry, provider))
        fallbacks = runtime.registry.get_sample_value(
            "streamer_cloud_texts_total", {"outcome": "fallback"}
        )
        if fallbacks:
            raise RuntimeError("the emulator failed during the benchmark (fallbacks)")
    return measured


def main() -> None:
    settings = StreamerSettings(data_dir=Path(tempfile.mkdtemp(prefix="bench-cloud-")))
    payloads = [orjson.dumps(event) for event in support_tickets(EVENTS + BATCH, seed=3)]
    local = measure_local(settings, payloads)
    result("cloud_local_baseline", local, events=EVENTS)
    with EmbeddedBroker() as broker:
        bootstrap = broker.bootstrap_servers
        ends = asyncio.run(produce_raw(bootstrap, payloads[BATCH:]))
        stream_local = asyncio.run(measure_stream("stream-local", bootstrap, ends))
        result(
            "cloud_stream_local_baseline",
            stream_local["per_s"],
            events=int(stream_local["events"]),
            partitions=PARTITIONS,
        )
        for provider in ("azure", "aws"):
            with EmulatorProcess(provider, latency_ms=LATENCY_MS, detector=DETECTORS) as emulator:
                measured = asyncio.run(measure_provider(provider, emulator.url, settings, payloads))
                peak = emulator.stats()["max_in_flight"]
                result(
                    f"cloud_{provider}_pipeline",
                    measured["per_s"],
                    events=int(measured["events"]),
                    latency_ms=LATENCY_MS,
                    requests=int(measured["requests"]),
                    documents=int(measured["documents"]),
                    billed_units=int(measured["billed_units"]),
                    max_in_flight=int(peak),
                )
                ratio(f"cloud_{provider}_pipeline_vs_local", measured["per_s"] / local)
                emulator.reset()
                section, options = provider_section(provider, emulator.url)
                stream = asyncio.run(
                    measure_stream(
                        f"stream-{provider}",
                        bootstrap,
                        ends,
                        {"providers": [section]},
                        {provider: options},
                    )
                )
                peak = emulator.stats()["max_in_flight"]
            result(
                f"cloud_{provider}_stream",
                stream["per_s"],
                events=int(stream["events"]),
                latency_ms=LATENCY_MS,
                requests=int(stream["requests"]),
                documents=int(stream["documents"]),
                billed_units=int(stream["billed_units"]),
                max_in_flight=int(peak),
            )
            ratio(
                f"cloud_{provider}_stream_vs_stream_local", stream["per_s"] / stream_local["per_s"]
            )


if __name__ == "__main__":
    main()
