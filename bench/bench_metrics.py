"""What metrics and probes cost the stream processor, side by side on one broker.

- ``pipeline``: :class:`~streamer.stream.runtime.StreamRuntime` with pattern detectors and
  no metrics endpoint (its per-batch counters and latency histograms are always kept).
- ``pipeline_scraped``: the same with ``/metrics``, ``/healthz`` and ``/readyz`` served
  from its event loop and scraped four times a second (Prometheus usually scrapes every
  5 to 30 s: this is the pessimistic case), ``/readyz`` probed as often.
- ``metrics_scrape``: scrapes per second one ``/metrics`` answer allows, measured during
  the scraped runs (collecting every family from the runtime and rendering the text).

Runs interleave (``BENCH_METRICS_REPEATS``, default 3) and medians are reported.
Environment: ``BENCH_METRICS_EVENTS`` (default 20000), ``BENCH_METRICS_WORKERS`` (default:
the CPU count), ``BENCH_METRICS_REPEATS``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.report import ratio, result
from streamer.broker import EmbeddedBroker
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.policy import Policy
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.stream.monitoring import RuntimeMonitor
from streamer.stream.runtime import StreamRuntime
from streamer.stream.tools import end_offsets
from streamer.stream.topology import Topology
from streamer.testing.kafka import FAST_GROUP_SETTINGS, create_topics, produce_values

PARTITIONS = 4
RAW_TOPIC = "bench.metrics.raw"
SCRAPE_INTERVAL = 0.25


def _runtime(bootstrap: str, workers: int, name: str) -> StreamRuntime:
    settings = StreamerSettings(
        bootstrap_servers=bootstrap,
        data_dir=Path(tempfile.mkdtemp(prefix="bench-metrics-")),
        workers=workers,
        commit_interval_ms=200,
        **FAST_GROUP_SETTINGS,
    )
    topology = Topology(
        name=name,
        group_id=f"bench-{name}",
        inputs=[RAW_TOPIC],
        outputs={"output": f"bench.{name}.clean", "tokens": f"bench.{name}.tokens",
                 "dlq": f"bench.{name}.dlq"},
        policy=Policy(detectors=list(PATTERN_DETECTOR_NAMES)),
    )  # fmt: skip
    return StreamRuntime(topology, settings)


async def plain(bootstrap: str, ends: dict[Any, int], workers: int, name: str) -> float:
    runtime = _runtime(bootstrap, workers, name)
    runtime.stop_after(ends)
    return (await runtime.run()).rate()


async def scraped(
    bootstrap: str, ends: dict[Any, int], workers: int, name: str, scrape_seconds: list[float]
) -> float:
    runtime = _runtime(bootstrap, workers, name)
    runtime.stop_after(ends)
    server = await RuntimeMonitor(runtime).serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.port}"

    async def scrape_forever(http: aiohttp.ClientSession) -> None:
        while True:
            started = time.perf_counter()
            async with http.get(f"{base}/metrics") as response:
                await response.read()
            scrape_seconds.append(time.perf_counter() - started)
            async with http.get(f"{base}/readyz") as response:
                await response.read()
            await asyncio.sleep(SCRAPE_INTERVAL)

    try:
        async with aiohttp.ClientSession() as http:
            scraper = asyncio.create_task(scrape_forever(http))
            try:
                stats = await runtime.run()
            finally:
                scraper.cancel()
    finally:
        await server.stop()
    return stats.rate()


async def _main(broker: EmbeddedBroker, events: int, workers: int, repeats: int) -> None:
    bootstrap = broker.bootstrap_servers
    await create_topics(bootstrap, {RAW_TOPIC: PARTITIONS})
    values = [orjson.dumps(e) for e in support_tickets(events, customers=events // 20 or 1)]
    keys = [orjson.loads(v)["customer"]["id"].encode() for v in values]
    ends = end_offsets(await produce_values(bootstrap, RAW_TOPIC, values, keys=keys))
    print(f"# {events} support-ticket events, {PARTITIONS} partitions, {workers} worker(s)")
    runs: dict[str, list[float]] = {"pipeline": [], "pipeline_scraped": []}
    scrape_seconds: list[float] = []
    for run in range(repeats):
        runs["pipeline"].append(await plain(bootstrap, ends, workers, f"plain-{run}"))
        runs["pipeline_scraped"].append(
            await scraped(bootstrap, ends, workers, f"scraped-{run}", scrape_seconds)
        )
    medians = {name: statistics.median(rates) for name, rates in runs.items()}
    for name, rates in runs.items():
        result(name, medians[name], events=events, runs=len(rates), workers=workers,
               min=round(min(rates), 1), max=round(max(rates), 1))  # fmt: skip
    per_scrape = statistics.median(scrape_seconds)
    result("metrics_scrape", 1 / per_scrape, scrapes=len(scrape_seconds),
           median_ms=round(per_scrape * 1000, 2))  # fmt: skip
    ratio("pipeline_scraped_to_pipeline", medians["pipeline_scraped"] / medians["pipeline"])


def main() -> None:
    events = int(os.environ.get("BENCH_METRICS_EVENTS", "20000"))
    workers = int(os.environ.get("BENCH_METRICS_WORKERS", str(os.cpu_count() or 2)))
    repeats = int(os.environ.get("BENCH_METRICS_REPEATS", "3"))
    with EmbeddedBroker() as broker:
        asyncio.run(_main(broker, events, workers, repeats))


if __name__ == "__main__":
    main()
