"""Rotation, shredding and tampering seen through the token topic and the token index."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streamer.redaction.service import RedactionService
from streamer.settings import StreamerSettings
from streamer.testing.kafka import read_topic
from streamer.testing.token_topic import publish_redacted
from streamer.vault import (
    Actor,
    Caller,
    TokenIndex,
    TokenTopicReader,
    UnmaskSession,
    keyring_from_settings,
)
from streamer.vault.exceptions import KeyShreddedError, TamperedCiphertextError
from streamer.vault.key_admin import rotate_scopes, shred_scopes

pytestmark = pytest.mark.integration

ANYONE = Caller(Actor("analyst", "cli"), ("*",))


async def publish(settings: StreamerSettings, keyring, events: list[dict], scopes: list[str]):
    with RedactionService(settings=settings, keyring=keyring) as service:
        return await publish_redacted(
            service,
            [orjson.dumps(e) for e in events],
            bootstrap_servers=settings.bootstrap_servers,
            clean_topic=f"clean-{uuid.uuid4().hex[:6]}",
            token_topic=settings.token_topic,
            scopes=scopes,
        )


async def test_after_rotation_old_and_new_records_unmask_and_tokens_stay(
    vault_settings: StreamerSettings,
) -> None:
    keyring = keyring_from_settings(vault_settings)
    before = await publish(
        vault_settings, keyring, [{"m": "mail old.one@corp-mail.example.com"}], ["t"]
    )
    (rotation,) = rotate_scopes(keyring, ["t"])
    after = await publish(
        vault_settings,
        keyring,
        [{"m": "mail new.one@corp-mail.example.com"}, {"m": "mail old.one@corp-mail.example.com"}],
        ["t", "t"],
    )
    old_token = orjson.loads(before.clean_values[0])["m"]
    assert orjson.loads(after.clean_values[1])["m"] == old_token, "tokens survive rotation"
    new_token = orjson.loads(after.clean_values[0])["m"]
    assert before.mappings[old_token.split()[1]].key_id == rotation.old_key_id
    assert after.mappings[new_token.split()[1]].key_id == rotation.new_key_id

    async with UnmaskSession(vault_settings, keyring=keyring_from_settings(vault_settings)) as s:
        assert await s.reidentifier.unmask_text(old_token, ANYONE) == (
            "mail old.one@corp-mail.example.com"
        )
        assert await s.reidentifier.unmask_text(new_token, ANYONE) == (
            "mail new.one@corp-mail.example.com"
        )
    # the record sealed before rotation still opens on its own
    assert before.mappings[old_token.split()[1]].open(keyring) == "old.one@corp-mail.example.com"


async def test_shredded_tenant_is_gone_and_others_are_not(vault_settings: StreamerSettings) -> None:
    keyring = keyring_from_settings(vault_settings)
    batch = await publish(
        vault_settings,
        keyring,
        [{"m": "erase.me@corp-mail.example.com"}, {"m": "keep.me@corp-mail.example.com"}],
        ["tenant-gone", "tenant-kept"],
    )
    gone, kept = (orjson.loads(v)["m"] for v in batch.clean_values)
    shred_scopes(keyring.keystore, ["tenant-gone"])
    async with UnmaskSession(vault_settings, keyring=keyring_from_settings(vault_settings)) as s:
        with pytest.raises(KeyShreddedError):
            await s.reidentifier.unmask_text(gone, ANYONE)
        assert await s.reidentifier.unmask_text(kept, ANYONE) == "keep.me@corp-mail.example.com"
        partial = await s.reidentifier.unmask_text(f"{gone} {kept}", ANYONE, strict=False)
        assert partial == f"{gone} keep.me@corp-mail.example.com"
    audit = [orjson.loads(r.value) for r in await read_topic(
        vault_settings.bootstrap_servers, vault_settings.audit_topic)]  # fmt: skip
    assert audit[0]["errors"] == {"key_shredded": 1}
    assert audit[2]["outcome"] == "partial"


async def test_tampered_or_swapped_ciphertext_on_the_token_topic_is_detected(
    vault_settings: StreamerSettings,
) -> None:
    keyring = keyring_from_settings(vault_settings)
    batch = await publish(
        vault_settings,
        keyring,
        [{"m": "first.person@corp-mail.example.com"}, {"m": "second.person@corp-mail.example.com"}],
        ["t", "t"],
    )
    first, second = (orjson.loads(v)["m"] for v in batch.clean_values)
    flipped = orjson.loads(batch.mappings[first].to_json())
    ciphertext = bytearray(base64.b64decode(flipped["ciphertext"]))
    ciphertext[-3] ^= 0x40
    flipped["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    swapped = orjson.loads(batch.mappings[second].to_json())
    swapped["ciphertext"] = orjson.loads(batch.mappings[first].to_json())["ciphertext"]
    producer = AIOKafkaProducer(bootstrap_servers=vault_settings.bootstrap_servers)
    await producer.start()
    try:
        for document in (flipped, swapped):
            await producer.send_and_wait(
                vault_settings.token_topic, orjson.dumps(document), key=document["token"].encode()
            )
    finally:
        await producer.stop()
    async with UnmaskSession(vault_settings, keyring=keyring) as s:
        for token in (first, second):
            with pytest.raises(TamperedCiphertextError) as caught:
                await s.reidentifier.unmask_text(token, ANYONE)
            assert caught.value.exit_code == 6


async def test_index_resumes_from_its_offsets_and_rebuilds_from_the_topic(
    vault_settings: StreamerSettings,
) -> None:
    keyring = keyring_from_settings(vault_settings)
    await publish(vault_settings, keyring, [{"m": f"a{i}@corp-mail.example.com"} for i in range(5)],
                  ["t"] * 5)  # fmt: skip
    path = vault_settings.resolved_vault_index()
    with TokenIndex(path, vault_settings.token_topic) as index:
        async with TokenTopicReader(index, vault_settings.bootstrap_servers) as reader:
            first = await reader.catch_up()
        assert (first.records, len(index)) == (5, 5)
    # a bad record and a tombstone do not stop it
    producer = AIOKafkaProducer(bootstrap_servers=vault_settings.bootstrap_servers)
    await producer.start()
    some_token = next(iter(orjson.loads(r.value)["token"] for r in await read_topic(
        vault_settings.bootstrap_servers, vault_settings.token_topic)))  # fmt: skip
    await producer.send_and_wait(
        vault_settings.token_topic, b"not json", key=b"[X_0000000000000000]"
    )
    await producer.send_and_wait(vault_settings.token_topic, None, key=some_token.encode())
    await producer.stop()
    await publish(vault_settings, keyring, [{"m": "b@corp-mail.example.com"}], ["t"])
    with TokenIndex(path, vault_settings.token_topic) as index:
        async with TokenTopicReader(index, vault_settings.bootstrap_servers) as reader:
            second = await reader.catch_up()
        assert second.records == 3, "resumes after what it had read"
        assert (second.skipped, second.deleted, second.stored) == (1, 1, 1)
        assert len(index) == 5
        assert index.get(some_token) is None
        index.clear()
        async with TokenTopicReader(index, vault_settings.bootstrap_servers) as reader:
            rebuilt = await reader.catch_up()
        assert rebuilt.records == 8
        assert len(index) == 5
