"""The end-to-end demo behind ``streamer demo``: broker, topics, sample events, the
pipeline, and what came out. The CLI only prints the :class:`DemoReport`. With
``cloud="emulated"`` the pipeline also asks the Azure and AWS emulators (see
:mod:`streamer.cloud.demo`), as ``streamer run`` does with a ``cloud:`` section."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from streamer.broker import EmbeddedBroker
from streamer.cloud.demo import EmulatedCloud, ProviderSummary, cost_summary, emulated_cloud
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings
from streamer.stream.admin import ensure_topics
from streamer.stream.headers import SOURCE_OFFSET, SOURCE_PARTITION, header_value
from streamer.stream.runtime import StreamRuntime
from streamer.stream.schemas import SCHEMA_DIR
from streamer.stream.stats import StreamStats
from streamer.stream.tools import end_offsets, produce_values, read_all
from streamer.stream.topology import Topology

#: The realistic example topology the demo runs (its topics get a per-run prefix).
DEMO_TOPOLOGY = SCHEMA_DIR.parent / "topologies" / "support-tickets.yaml"


@dataclass
class DemoReport:
    """What the demo did: counts, a few before/after pairs, and the pipeline's counters."""

    bootstrap_servers: str
    embedded: bool
    topology: Topology
    events: int
    pairs: list[tuple[bytes, bytes]]
    stats: StreamStats
    clean_records: int
    dead_letters: int
    token_records: int
    workers: int
    elapsed: float
    #: What cloud detection cost, per provider (empty without ``cloud``).
    cloud_costs: list[ProviderSummary] = field(default_factory=list)


@contextlib.contextmanager
def _broker(settings: StreamerSettings) -> Iterator[tuple[str, bool]]:
    if "bootstrap_servers" in settings.model_fields_set:
        yield settings.bootstrap_servers, False
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers, True


def demo_topology(run_id: str, topology_file: Path | None = None) -> Topology:
    """The support-tickets topology with topics and group unique to this run."""
    path = topology_file or DEMO_TOPOLOGY
    base = Topology.from_file(path) if path.exists() else Topology(name="support-tickets")
    prefix = f"demo.{run_id}"
    data: dict[str, Any] = base.model_dump()
    data.update(
        inputs=[f"{prefix}.tickets.raw"],
        outputs={
            "output": f"{prefix}.tickets.clean",
            "tokens": f"{prefix}.tickets.tokens",
            "dlq": f"{prefix}.tickets.dlq",
        },
        group_id=f"pii-streamer.{prefix}",
        source=str(path) if path.exists() else "the built-in demo topology",
    )
    data["topics"] = {**data["topics"], "partitions": 4}
    return Topology.model_validate(data)


async def run_demo(
    settings: StreamerSettings,
    *,
    events: int,
    pairs: int,
    policy: Policy | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
    cloud: Literal["off", "emulated"] = "off",
) -> DemoReport:
    """Run the whole demo; the embedded broker unless bootstrap servers were given.
    ``policy`` replaces the demo topology's policy; ``cloud="emulated"`` adds both
    emulated cloud providers."""
    started = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        emulated = None
        if cloud == "emulated":
            emulated = await stack.enter_async_context(emulated_cloud(settings))
            urls = ", ".join(f"{name} {url}" for name, url in emulated.urls.items())
            on_stage(f"cloud emulators at {urls} (asked at once: failover concurrent)")
        report = await _run_demo(settings, events, pairs, policy, on_stage, emulated)
    report.elapsed = time.perf_counter() - started
    return report


async def _run_demo(
    settings: StreamerSettings,
    events: int,
    pairs: int,
    policy: Policy | None,
    on_stage: Callable[[str], None],
    emulated: EmulatedCloud | None,
) -> DemoReport:
    from streamer.samples import support_tickets

    started = time.perf_counter()
    with _broker(settings) as (bootstrap, embedded):
        on_stage(
            f"broker at {bootstrap} "
            + ("(embedded)" if embedded else "(--bootstrap-servers / STREAMER_BOOTSTRAP_SERVERS)")
        )
        settings = settings.model_copy(
            update={
                "bootstrap_servers": bootstrap,
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 500,
                "rebalance_timeout_ms": 3000,
                "commit_interval_ms": 200,
            }
        )
        topology = demo_topology(uuid.uuid4().hex[:8])
        if policy is not None:
            topology = topology.model_copy(update={"policy": policy})
        if emulated is not None:
            topology = topology.model_copy(update={"cloud": emulated.config})
        await ensure_topics(settings, topology, include_inputs=True)
        on_stage(f"created topics {', '.join([*topology.inputs, topology.output_topic])}, ...")
        sample = [orjson.dumps(event) for event in support_tickets(events)]
        keys = [orjson.loads(value)["customer"]["id"].encode() for value in sample]
        metadata = await produce_values(settings, topology.inputs[0], sample, keys=keys)
        on_stage(f"produced {len(sample)} support-ticket events")
        runtime = StreamRuntime(
            topology, settings, cloud_options=emulated.provider_options if emulated else None
        )
        runtime.stop_after(end_offsets(metadata))
        on_stage("running the pipeline until every event is committed")
        stats = await runtime.run()
        clean = await read_all(settings, topology.output_topic, expected=stats.clean_out)
        dead = stats.dead_letters.total()
        coordinates = {(m.partition, m.offset): i for i, m in enumerate(metadata)}
        shown: list[tuple[bytes, bytes]] = []
        for record in sorted(clean, key=_source_position(coordinates))[:pairs]:
            index = coordinates.get(_source(record))
            if index is not None:
                shown.append((sample[index], record.value))
        return DemoReport(
            bootstrap_servers=bootstrap,
            embedded=embedded,
            topology=topology,
            events=len(sample),
            pairs=shown,
            stats=stats,
            clean_records=len(clean),
            dead_letters=dead,
            token_records=stats.token_records,
            workers=runtime.pool.workers,
            elapsed=time.perf_counter() - started,
            cloud_costs=cost_summary(runtime.registry, emulated.config) if emulated else [],
        )


def _source(record: Any) -> tuple[int, int]:
    partition = header_value(record.headers, SOURCE_PARTITION) or b"-1"
    offset = header_value(record.headers, SOURCE_OFFSET) or b"-1"
    return int(partition), int(offset)


def _source_position(coordinates: dict[tuple[int, int], int]) -> Callable[[Any], int]:
    return lambda record: coordinates.get(_source(record), len(coordinates))
