"""Cloud detection in the pipeline: support-ticket events through ``extract_texts`` ->
``CloudDetection.detect_payloads`` (the official SDK clients, against each emulator in a
process of its own, with 50 ms added to every answer) -> ``redact_payloads(extra_spans)``.

Batches are pipelined the way the stream runtime runs them: several batches' cloud
requests are in flight while the event loop redacts the oldest finished one, so the
throughput follows requests in flight divided by latency, not latency alone. The
baseline is the same redaction without cloud detection, in the same run.

Prints ``RESULT name=cloud_azure_pipeline``, ``cloud_aws_pipeline`` and
``cloud_local_baseline`` lines, with the requests, documents and billed units the run
cost, and ``RATIO`` lines of each against the baseline.
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
from streamer.cloud import CloudConfig, CloudDetection, CloudRoute
from streamer.cloud.emulators.server import EmulatorProcess
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.keys import LocalKeyring
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings

EVENTS = int(os.environ.get("BENCH_CLOUD_EVENTS", "20000"))
BATCH = 500
BATCHES_IN_FLIGHT = 4
LATENCY_MS = 50


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


async def measure_provider(
    provider: str, url: str, settings: StreamerSettings, payloads: list[bytes]
) -> dict[str, float]:
    section: dict[str, Any] = {"provider": provider, "limits": {"max_concurrency": 32}}
    options: dict[str, dict[str, Any]] = {}
    if provider == "azure":
        from azure.core.credentials import AzureKeyCredential

        section["endpoint"] = url
        options["azure"] = {"credential": AzureKeyCredential("bench")}
    else:
        import aioboto3

        section["endpoint_url"] = url
        options["aws"] = {
            "session": aioboto3.Session(
                aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
            )
        }
    registry = CollectorRegistry()
    config = CloudConfig.load({"providers": [section]})
    engine = RedactionEngine.build(keyring=LocalKeyring(b"b" * 32), settings=settings)
    cloud = CloudDetection.from_config(
        config, settings, registry=registry, provider_options=options
    )
    async with cloud:
        await run_pipeline(cloud, engine, payloads[:BATCH])  # warm up connections
        unit = "text_record" if provider == "azure" else "unit_100_chars"
        names = {
            "requests": ("streamer_cloud_requests_total", {}),
            "documents": ("streamer_cloud_documents_total", {}),
            "billed_units": ("streamer_cloud_billed_units_total", {"unit": unit}),
        }

        def counters() -> dict[str, float]:
            return {
                key: registry.get_sample_value(name, {"provider": provider, **labels}) or 0.0
                for key, (name, labels) in names.items()
            }

        warm = counters()
        seconds, redacted = await run_pipeline(cloud, engine, payloads[BATCH:])
        measured = counters()
    return {
        "per_s": redacted / seconds,
        "events": redacted,
        **{key: measured[key] - warm[key] for key in names},
    }


def measure_local(settings: StreamerSettings, payloads: list[bytes]) -> float:
    engine = RedactionEngine.build(keyring=LocalKeyring(b"b" * 32), settings=settings)
    engine.redact_payloads(payloads[:BATCH])
    started = time.perf_counter()
    for start in range(BATCH, len(payloads), BATCH):
        engine.redact_payloads(payloads[start : start + BATCH])
    return (len(payloads) - BATCH) / (time.perf_counter() - started)


def main() -> None:
    settings = StreamerSettings(data_dir=Path(tempfile.mkdtemp(prefix="bench-cloud-")))
    payloads = [orjson.dumps(event) for event in support_tickets(EVENTS + BATCH, seed=3)]
    local = measure_local(settings, payloads)
    result("cloud_local_baseline", local, events=EVENTS)
    for provider in ("azure", "aws"):
        with EmulatorProcess(provider, latency_ms=LATENCY_MS) as emulator:
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


if __name__ == "__main__":
    main()
