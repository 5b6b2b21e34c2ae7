"""Re-identification end to end on the embedded broker: raw events are redacted per
tenant, the clean records and token mappings are produced, and unmasking the clean topic
through the token topic gives back the original events, audited and scope-checked."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streamer.redaction.service import RedactionService
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.testing import CANARIES, CANARY_TEXT, find_canaries
from streamer.testing.kafka import read_topic
from streamer.testing.token_topic import publish_redacted
from streamer.vault import Actor, Caller, OffsetRange, UnmaskSession, keyring_from_settings
from streamer.vault.exceptions import ScopeNotAllowedError, UnknownTokenError
from streamer.vault.topic_unmask import ERROR_HEADER, unmask_topic

pytestmark = pytest.mark.integration

SCHEMA = json.loads(
    (Path(__file__).parents[3] / "schemas" / "audit_record.schema.json").read_text()
)


def tenant_events(count: int) -> tuple[list[dict], list[str]]:
    """Sample tickets (plus canary tickets) spread over two tenants."""
    events = list(support_tickets(count, seed=7))
    events.append({"ticket_id": "T-canary-a", "message": CANARY_TEXT, "customer": {
        "email": CANARIES["EMAIL_ADDRESS"], "phone": CANARIES["PHONE_NUMBER"]}})  # fmt: skip
    events.append({"ticket_id": "T-canary-b", "message": CANARY_TEXT, "amount": 12})
    scopes = ["tenant-a" if i % 2 == 0 else "tenant-b" for i in range(len(events))]
    return events, scopes


def caller(*scopes: str) -> Caller:
    return Caller(Actor("analyst", "cli"), scopes)


async def audit_records(settings: StreamerSettings) -> list[dict]:
    records = await read_topic(settings.bootstrap_servers, settings.audit_topic)
    documents = [orjson.loads(r.value) for r in records]
    for document in documents:
        jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    return documents


async def test_clean_topic_unmasks_back_to_the_original_events(
    vault_settings: StreamerSettings,
) -> None:
    events, scopes = tenant_events(60)
    clean_topic, restored_topic = (
        f"clean-{uuid.uuid4().hex[:6]}",
        f"restored-{uuid.uuid4().hex[:6]}",
    )
    keyring = keyring_from_settings(vault_settings)
    with RedactionService(settings=vault_settings, keyring=keyring) as service:
        batch = await publish_redacted(
            service,
            [orjson.dumps(e) for e in events],
            bootstrap_servers=vault_settings.bootstrap_servers,
            clean_topic=clean_topic,
            token_topic=vault_settings.token_topic,
            scopes=scopes,
            keys=[e["ticket_id"].encode() for e in events],
        )
    assert batch.mappings, "the sample events hold personal data to tokenize"
    clean = await read_topic(vault_settings.bootstrap_servers, clean_topic)
    tokens = await read_topic(vault_settings.bootstrap_servers, vault_settings.token_topic)
    assert len(clean) == len(events)
    assert not find_canaries(b"".join(r.value for r in clean))
    assert not find_canaries(b"".join(r.value for r in tokens))

    async with UnmaskSession(vault_settings, keyring=keyring) as session:
        assert len(session.index) == len(batch.mappings)
        report = await unmask_topic(
            session.reidentifier,
            caller("tenant-*"),
            bootstrap_servers=vault_settings.bootstrap_servers,
            source_topic=clean_topic,
            target_topic=restored_topic,
        )
    assert report.records == len(events)
    assert report.records_with_errors == 0
    restored = await read_topic(vault_settings.bootstrap_servers, restored_topic)
    by_key = {r.key.decode(): orjson.loads(r.value) for r in restored}
    assert by_key == {e["ticket_id"]: e for e in events}

    audit = await audit_records(vault_settings)
    assert audit, "every unmask writes an audit record"
    assert {a["outcome"] for a in audit} == {"allowed"}
    assert {a["action"] for a in audit} == {"unmask.topic"}
    assert set().union(*(a["tokens"] for a in audit)) == set(batch.mappings)
    assert all(a["source"]["topic"] == clean_topic for a in audit)
    assert not find_canaries(b"".join(orjson.dumps(a) for a in audit))
    originals = {m.open(keyring) for m in batch.mappings.values()}
    assert not any(original in json.dumps(audit) for original in originals)


async def test_tokens_of_a_scope_the_caller_lacks_are_refused_and_audited(
    vault_settings: StreamerSettings,
) -> None:
    keyring = keyring_from_settings(vault_settings)
    payloads = [orjson.dumps({"note": f"mail {CANARIES['EMAIL_ADDRESS']}"})] * 2
    with RedactionService(settings=vault_settings, keyring=keyring) as service:
        batch = await publish_redacted(
            service,
            payloads,
            bootstrap_servers=vault_settings.bootstrap_servers,
            clean_topic=f"clean-{uuid.uuid4().hex[:6]}",
            token_topic=vault_settings.token_topic,
            scopes=["tenant-a", "tenant-b"],
        )
    token_a, token_b = (orjson.loads(v)["note"].split()[1] for v in batch.clean_values)
    assert token_a != token_b, "tokens differ between scopes"

    async with UnmaskSession(vault_settings, keyring=keyring) as session:
        reidentifier = session.reidentifier
        assert await reidentifier.unmask_text(f"to {token_a}", caller("tenant-a")) == (
            f"to {CANARIES['EMAIL_ADDRESS']}"
        )
        with pytest.raises(ScopeNotAllowedError) as refused:
            await reidentifier.unmask_text(f"to {token_a} and {token_b}", caller("tenant-a"))
        assert refused.value.exit_code == 8
        assert not find_canaries(str(refused.value))
        partial = await reidentifier.unmask_text(
            f"to {token_a} and {token_b}", caller("tenant-a"), strict=False
        )
        assert partial == f"to {CANARIES['EMAIL_ADDRESS']} and {token_b}"
        with pytest.raises(UnknownTokenError) as unknown:
            await reidentifier.unmask_text("[EMAIL_ADDRESS_0123456789abcdef]", caller("*"))
        assert unknown.value.exit_code == 4

    audit = await audit_records(vault_settings)
    assert [a["outcome"] for a in audit] == ["allowed", "denied", "partial", "failed"]
    denied = audit[1]
    assert denied["restored"] == 0
    assert denied["errors"] == {"scope_not_allowed": 1}
    assert denied["scopes"] == ["tenant-a", "tenant-b"]
    assert denied["allowed_scopes"] == ["tenant-a"]
    assert audit[3]["errors"] == {"unknown_token": 1}
    assert not find_canaries(b"".join(orjson.dumps(a) for a in audit))


async def test_topic_unmask_keeps_records_it_cannot_fully_restore(
    vault_settings: StreamerSettings,
) -> None:
    keyring = keyring_from_settings(vault_settings)
    clean_topic, restored_topic = (
        f"clean-{uuid.uuid4().hex[:6]}",
        f"restored-{uuid.uuid4().hex[:6]}",
    )
    events = [{"id": i, "email": f"user{i}@corp-mail.example.com"} for i in range(6)]
    with RedactionService(settings=vault_settings, keyring=keyring) as service:
        await publish_redacted(
            service,
            [orjson.dumps(e) for e in events],
            bootstrap_servers=vault_settings.bootstrap_servers,
            clean_topic=clean_topic,
            token_topic=vault_settings.token_topic,
            scopes=["tenant-a", "tenant-b"] * 3,
            keys=[str(e["id"]).encode() for e in events],
        )
    async with UnmaskSession(vault_settings, keyring=keyring) as session:
        report = await unmask_topic(
            session.reidentifier,
            caller("tenant-a"),
            bootstrap_servers=vault_settings.bootstrap_servers,
            source_topic=clean_topic,
            target_topic=restored_topic,
            offsets=OffsetRange(start=0),
        )
    assert report.records == 6
    assert report.records_with_errors == 3
    assert report.errors == {"scope_not_allowed": 3}
    restored = await read_topic(vault_settings.bootstrap_servers, restored_topic)
    assert len(restored) == 6
    for record in restored:
        event = orjson.loads(record.value)
        headers = dict(record.headers)
        if event["id"] % 2 == 0:
            assert event["email"] == f"user{event['id']}@corp-mail.example.com"
            assert ERROR_HEADER not in headers
        else:
            assert event["email"].startswith("[EMAIL_ADDRESS_")
            assert headers[ERROR_HEADER] == b"scope_not_allowed"


def six_events() -> list[dict]:
    return [{"id": i, "email": f"user{i}@corp-mail.example.com"} for i in range(6)]


async def redact_events(
    settings: StreamerSettings,
    keyring: Any,
    events: list[dict],
    *,
    clean_topic: str,
    token_topic: str | None = None,
) -> Any:
    """``events`` redacted and published (the token topic: the settings' by default)."""
    with RedactionService(settings=settings, keyring=keyring) as service:
        return await publish_redacted(
            service,
            [orjson.dumps(e) for e in events],
            bootstrap_servers=settings.bootstrap_servers,
            clean_topic=clean_topic,
            token_topic=token_topic or settings.token_topic,
        )


async def produce_as_two_batches(
    bootstrap_servers: str, topic: str, records: list[tuple[bytes | None, bytes]]
) -> None:
    """The first record alone, then the rest in one record batch, to partition 0: the
    embedded broker reports the partition's end as the start of that last batch."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        (first_key, first_value), rest = records[0], records[1:]
        await producer.send_and_wait(topic, first_value, key=first_key, partition=0)
        last_batch = producer.create_batch()
        for key, value in rest:
            last_batch.append(key=key, value=value, timestamp=None)
        await (await producer.send_batch(last_batch, topic, partition=0))
    finally:
        await producer.stop()


async def test_topic_unmask_copies_the_last_record_batch_too(
    vault_settings: StreamerSettings,
) -> None:
    """`streamer run` produces in batches; a broker that reports a partition's end as the
    start of its last batch (the embedded one does) must not cost the records after it."""
    keyring = keyring_from_settings(vault_settings)
    clean_topic, restored_topic = (
        f"clean-{uuid.uuid4().hex[:6]}",
        f"restored-{uuid.uuid4().hex[:6]}",
    )
    events = six_events()
    batch = await redact_events(
        vault_settings, keyring, events, clean_topic=f"staging-{uuid.uuid4().hex[:6]}"
    )
    await produce_as_two_batches(
        vault_settings.bootstrap_servers,
        clean_topic,
        [(None, value) for value in batch.clean_values],
    )
    assert len(await read_topic(vault_settings.bootstrap_servers, clean_topic)) == 6

    async with UnmaskSession(vault_settings, keyring=keyring) as session:
        report = await unmask_topic(
            session.reidentifier,
            caller("default"),
            bootstrap_servers=vault_settings.bootstrap_servers,
            source_topic=clean_topic,
            target_topic=restored_topic,
        )
    assert (report.records, report.records_with_errors) == (6, 0)
    restored = await read_topic(vault_settings.bootstrap_servers, restored_topic)
    assert sorted((orjson.loads(r.value) for r in restored), key=lambda e: e["id"]) == events


async def test_token_index_resumes_where_it_stopped(vault_settings: StreamerSettings) -> None:
    """A second session reads only what is new on the token topic, even on a broker that
    reports a partition's end as the start of its last record batch (the embedded one
    does): it used to take that for a recreated topic and read everything again."""
    keyring = keyring_from_settings(vault_settings)
    staging_tokens = f"staging-tokens-{uuid.uuid4().hex[:6]}"
    events = six_events()
    batch = await redact_events(
        vault_settings, keyring, events, clean_topic=f"clean-{uuid.uuid4().hex[:6]}",
        token_topic=staging_tokens,
    )  # fmt: skip
    mappings = await read_topic(vault_settings.bootstrap_servers, staging_tokens)
    assert len(mappings) == len(batch.mappings) == 6
    await produce_as_two_batches(
        vault_settings.bootstrap_servers,
        vault_settings.token_topic,
        [(record.key, record.value) for record in mappings],
    )

    async with UnmaskSession(vault_settings, keyring=keyring) as session:
        assert session.caught_up is not None
        assert session.caught_up.records == 6
        token = next(iter(batch.mappings))
        assert await session.reidentifier.unmask_text(token, caller("default")) in {
            e["email"] for e in events
        }
    async with UnmaskSession(vault_settings, keyring=keyring) as session:
        assert session.caught_up is not None
        assert session.caught_up.records == 0
        assert len(session.index) == 6
