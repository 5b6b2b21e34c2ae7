"""Topic administration: create a topology's topics with the right settings.

- **clean** and **dead-letter** topics get as many partitions as the input (the largest
  input, when there are several), so records keep their partition number (see
  :mod:`streamer.stream.sinks`).
- the **token** topic is compacted (``cleanup.policy=compact``): one record per token
  id survives, and mappings are kept as long as ``token_retention_ms`` says (forever by
  default).
- the **dead-letter** topic keeps records ``dlq_retention_ms`` (30 days by default) and
  accepts records large enough for an encrypted payload.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from streamer.counts import counted
from streamer.settings import StreamerSettings
from streamer.stream.connection import client_options, unavailable
from streamer.stream.dead_letter import DEFAULT_MAX_PAYLOAD_BYTES
from streamer.stream.exceptions import StreamError
from streamer.stream.topology import Topology

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36


@dataclass
class TopicPlan:
    """One topic to have: its role, name, partitions and configs."""

    role: str
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


@dataclass
class TopicsReport:
    """What :func:`ensure_topics` found and did."""

    created: list[TopicPlan] = field(default_factory=list)
    existing: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    missing_inputs: list[str] = field(default_factory=list)


def dead_letter_message_bytes(max_payload_bytes: int) -> int:
    """``max.message.bytes`` for a dead-letter topic holding payloads up to the given size
    (encrypted, base64, inside a JSON record)."""
    return max(1_048_588, max_payload_bytes * 4 // 3 + 64 * 1024)


def record_limits(max_record_bytes: int) -> tuple[int, int]:
    """The largest dead-letter payload kept and the largest clean record published by a
    run whose record limit is ``max_record_bytes``: the topics must accept both."""
    return max(DEFAULT_MAX_PAYLOAD_BYTES, max_record_bytes), max(1_000_000, max_record_bytes)


def plan_topics(
    topology: Topology,
    input_partitions: dict[str, int],
    *,
    include_inputs: bool,
    dead_letter_payload_bytes: int,
    max_output_bytes: int = 1_000_000,
) -> list[TopicPlan]:
    """The topics a topology needs, with their partitions and configs."""
    known = [input_partitions[t] for t in topology.inputs if t in input_partitions]
    partitions = max(known) if known else topology.topics.partitions
    topics = topology.topics
    plans: list[TopicPlan] = []
    if include_inputs:
        plans.extend(
            TopicPlan("input", name, topics.partitions)
            for name in topology.inputs
            if name not in input_partitions
        )
    plans.append(
        TopicPlan(
            "output",
            topology.output_topic,
            partitions,
            {"max.message.bytes": str(max(1_048_588, max_output_bytes + 64 * 1024))},
        )
    )
    plans.append(
        TopicPlan(
            "tokens",
            topology.token_topic,
            partitions,
            {"cleanup.policy": "compact", "retention.ms": str(topics.token_retention_ms)},
        )
    )
    plans.append(
        TopicPlan(
            "dlq",
            topology.dlq_topic,
            partitions,
            {
                "retention.ms": str(topics.dlq_retention_ms),
                "max.message.bytes": str(dead_letter_message_bytes(dead_letter_payload_bytes)),
            },
        )
    )
    return plans


async def partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partition counts of the topics in ``names`` that exist (others are left out:
    asking for a missing topic's metadata would create it on some brokers)."""
    existing = set(await admin.list_topics())
    wanted = [name for name in names if name in existing]
    if not wanted:
        return {}
    described = await admin.describe_topics(wanted)
    return {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}


async def ensure_topics(
    settings: StreamerSettings,
    topology: Topology,
    *,
    include_inputs: bool = False,
    create: bool = True,
) -> TopicsReport:
    """Create the topology's missing topics (unless ``create`` is off: then a missing
    output topic is an error); report existing ones and their problems. The clean and
    dead-letter topics take records as large as the run's record limit allows (the
    topology's ``limits.max_record_bytes``, or ``settings.max_record_bytes``)."""
    dead_letter_payload_bytes, max_output_bytes = record_limits(
        topology.engine_settings(settings).max_record_bytes
    )
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    try:
        return await _ensure(
            admin, topology, include_inputs, dead_letter_payload_bytes, max_output_bytes, create
        )
    except KafkaError as exc:
        raise StreamError(
            f"topic administration failed ({type(exc).__name__}); check that this client may "
            "create and describe topics (ACLs) and that the brokers are up"
        ) from None
    finally:
        await admin.close()


async def _ensure(
    admin: AIOKafkaAdminClient,
    topology: Topology,
    include_inputs: bool,
    dead_letter_payload_bytes: int,
    max_output_bytes: int,
    create: bool,
) -> TopicsReport:
    outputs = [topology.output_topic, topology.token_topic, topology.dlq_topic]
    counts = await partition_counts(admin, [*topology.inputs, *outputs])
    inputs = {t: counts[t] for t in topology.inputs if t in counts}
    report = TopicsReport()
    plans = plan_topics(
        topology,
        inputs,
        include_inputs=include_inputs,
        dead_letter_payload_bytes=dead_letter_payload_bytes,
        max_output_bytes=max_output_bytes,
    )
    missing = [plan for plan in plans if plan.name not in counts]
    report.existing = dict(counts)
    report.missing_inputs = [name for name in topology.inputs if name not in counts]
    if missing and not create:
        names = ", ".join(repr(plan.name) for plan in missing)
        raise StreamError(
            f"topic(s) {names} do not exist; create them with `streamer topics` or let "
            "streamer run create them (--create-topics)"
        )
    if missing:
        response = await admin.create_topics(
            [
                NewTopic(
                    plan.name,
                    plan.partitions,
                    topology.topics.replication_factor,
                    topic_configs=plan.configs,
                )
                for plan in missing
            ]
        )
        by_name = {plan.name: plan for plan in missing}
        for name, code, message in _topic_errors(response):
            if code == 0:
                report.created.append(by_name[name])
            elif code != _TOPIC_ALREADY_EXISTS:
                raise StreamError(
                    f"cannot create topic {name!r}: error {code} ({message}); create it "
                    "yourself with the settings `streamer topics --help` describes"
                )
    if topology.token_topic in counts:
        policy = await _topic_config(admin, topology.token_topic, "cleanup.policy")
        if policy is not None and "compact" not in policy:
            report.warnings.append(
                f"token topic {topology.token_topic!r} has cleanup.policy={policy}; set it to "
                "compact, or token mappings are deleted with old segments"
            )
    for role, name in (("clean", topology.output_topic), ("dead-letter", topology.dlq_topic)):
        if name in counts and inputs and counts[name] not in inputs.values():
            report.warnings.append(
                f"{role} topic {name!r} has {counted(counts[name], 'partition')}, the input "
                f"has {max(inputs.values())}: records are partitioned by key hash instead of "
                "keeping their partition number"
            )
    return report


def _topic_errors(response: Any) -> list[tuple[str, int, str | None]]:
    errors = []
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        errors.append((name, code, message))
    return errors


async def _topic_config(admin: AIOKafkaAdminClient, topic: str, name: str) -> str | None:
    try:
        # All configs: some brokers (the embedded one) drop the connection on a filter.
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    except KafkaError:
        return None
    for response in responses:
        for resource in response.resources:
            for entry in resource[4]:
                if entry[0] == name:
                    return str(entry[1])
    return None
