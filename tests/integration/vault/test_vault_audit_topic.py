"""The audit topic on the embedded broker: created to keep its records when missing, left
alone when it exists."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streamer.settings import StreamerSettings
from streamer.testing.kafka import create_topics, read_topic
from streamer.vault.audit import Actor, AuditEvent, KafkaAuditLog

pytestmark = pytest.mark.integration


async def retention_ms(bootstrap: str, topic: str) -> str | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]}
    return configs.get("retention.ms")


def event() -> AuditEvent:
    return AuditEvent(
        actor=Actor("auditor", "cli"),
        action="unmask.text",
        allowed_scopes=("default",),
        scopes=("default",),
        tokens=("[EMAIL_ADDRESS_0e6f1a2b3c4d5e6f]",),
        restored=1,
        outcome="allowed",
    )


async def test_a_missing_audit_topic_is_created_to_keep_its_records(
    vault_settings: StreamerSettings,
) -> None:
    # Left to the broker's auto-creation, the topic got its default retention (7 days on
    # Apache Kafka): the trail of older unmasks was deleted.
    bootstrap, topic = vault_settings.bootstrap_servers, vault_settings.audit_topic
    async with KafkaAuditLog(bootstrap, topic) as audit:
        await audit.write(event())
    assert await retention_ms(bootstrap, topic) == "-1"
    assert len(await read_topic(bootstrap, topic)) == 1


async def test_an_existing_audit_topic_is_left_as_it_is(vault_settings: StreamerSettings) -> None:
    bootstrap, topic = vault_settings.bootstrap_servers, vault_settings.audit_topic
    await create_topics(bootstrap, {topic: 3})
    before = await retention_ms(bootstrap, topic)
    async with KafkaAuditLog(bootstrap, topic) as audit:
        await audit.write(event())
    assert await retention_ms(bootstrap, topic) == before != "-1"
    assert len(await read_topic(bootstrap, topic)) == 1
