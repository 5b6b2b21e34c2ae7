"""Topic creation on the embedded broker: the right partitions and configs, existing
topics left alone and checked, missing ones refused when creation is off."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streamer.settings import StreamerSettings
from streamer.stream.admin import ensure_topics
from streamer.stream.exceptions import StreamError
from streamer.stream.topology import Topology
from streamer.testing.kafka import create_topics

pytestmark = pytest.mark.integration


async def describe(bootstrap: str, topic: str) -> tuple[int, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]}
    return len(described["partitions"]), configs


def topology_for(topics: Any) -> Topology:
    return Topology(name="admin", inputs=[topics.raw], outputs=topics.outputs)


async def test_topics_get_the_inputs_partitions_and_the_token_topic_is_compacted(
    bootstrap: str, topics: Any
) -> None:
    await create_topics(bootstrap, {topics.raw: 5})
    settings = StreamerSettings(bootstrap_servers=bootstrap)
    report = await ensure_topics(settings, topology_for(topics))
    assert {plan.role for plan in report.created} == {"output", "tokens", "dlq"}
    assert report.existing == {topics.raw: 5}
    partitions, configs = await describe(bootstrap, topics.tokens)
    assert partitions == 5
    assert configs["cleanup.policy"] == "compact"
    assert configs["retention.ms"] == "-1"
    assert (await describe(bootstrap, topics.clean))[0] == 5
    dlq_partitions, dlq_configs = await describe(bootstrap, topics.dlq)
    assert dlq_partitions == 5
    assert int(dlq_configs["max.message.bytes"]) >= 1_048_588

    again = await ensure_topics(settings, topology_for(topics))
    assert again.created == []
    assert again.warnings == []


async def test_a_token_topic_that_is_not_compacted_is_reported(bootstrap: str, topics: Any) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(topics.raw, 2, 1),
                NewTopic(topics.tokens, 2, 1, topic_configs={"cleanup.policy": "delete"}),
                NewTopic(topics.clean, 3, 1),
            ]
        )
    finally:
        await admin.close()
    report = await ensure_topics(
        StreamerSettings(bootstrap_servers=bootstrap), topology_for(topics)
    )
    joined = " ".join(report.warnings)
    assert "cleanup.policy=delete" in joined
    assert "partitioned by key hash" in joined


async def test_without_creation_a_missing_output_topic_is_an_error(
    bootstrap: str, topics: Any
) -> None:
    await create_topics(bootstrap, {topics.raw: 1})
    with pytest.raises(StreamError, match="do not exist; create them with `streamer topics`"):
        await ensure_topics(
            StreamerSettings(bootstrap_servers=bootstrap), topology_for(topics), create=False
        )


async def test_missing_inputs_are_reported_and_created_on_request(
    bootstrap: str, topics: Any
) -> None:
    settings = StreamerSettings(bootstrap_servers=bootstrap)
    report = await ensure_topics(settings, topology_for(topics))
    assert report.missing_inputs == [topics.raw]
    with_inputs = await ensure_topics(settings, topology_for(topics), include_inputs=True)
    assert [plan.name for plan in with_inputs.created] == [topics.raw]


async def test_the_clean_and_dead_letter_topics_take_records_up_to_the_record_limit(
    bootstrap: str, topics: Any
) -> None:
    """`streamer topics` before `streamer run`: a topology allowing 4 MiB records got
    topics that take 1 MiB, and a broker enforcing max.message.bytes refused every clean
    record between the two, stopping the run on it again after each restart."""
    limit = 4 * 1024 * 1024
    topology = Topology(
        name="admin",
        inputs=[topics.raw],
        outputs=topics.outputs,
        limits={"max_record_bytes": limit},
    )
    await ensure_topics(StreamerSettings(bootstrap_servers=bootstrap), topology)
    assert int((await describe(bootstrap, topics.clean))[1]["max.message.bytes"]) > limit
    assert int((await describe(bootstrap, topics.dlq))[1]["max.message.bytes"]) > limit * 4 // 3
