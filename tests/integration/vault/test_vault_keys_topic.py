"""Hosts that share a key store through the keys topic: the same tokens everywhere,
rotations and shreds reaching every host, and races settled by the topic's order."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from streamer.redaction.envelope import EnvelopeKeyring
from streamer.redaction.keystore import Keystore
from streamer.redaction.service import RedactionService
from streamer.settings import StreamerSettings
from streamer.testing import CANARIES
from streamer.testing.kafka import read_topic
from streamer.testing.token_topic import publish_redacted
from streamer.vault import Actor, Caller, UnmaskSession
from streamer.vault.exceptions import KeyShreddedError
from streamer.vault.key_admin import rotate_scopes, shred_scopes
from streamer.vault.keyring import open_keyring, sync_key_store

pytestmark = pytest.mark.integration

KEK = "5e" * 32  # the KEK every host shares (in production: the same KMS key)


def host(base: StreamerSettings, tmp_path: Path, name: str, keys_topic: str) -> StreamerSettings:
    changes = {"data_dir": tmp_path / name, "key_provider": "env", "kek": SecretStr(KEK)}
    return base.model_copy(update={**changes, "keys_topic": keys_topic})


async def keyring_of(settings: StreamerSettings) -> EnvelopeKeyring:
    keyring = await open_keyring(settings)
    assert isinstance(keyring, EnvelopeKeyring)
    return keyring


async def test_hosts_share_keys_rotations_and_shreds(
    vault_settings: StreamerSettings, tmp_path: Path
) -> None:
    topic = f"keys-{uuid.uuid4().hex[:8]}"
    a, b, c = (host(vault_settings, tmp_path, name, topic) for name in "abc")
    on_a = await keyring_of(a)
    with RedactionService(settings=a, keyring=on_a) as service:  # host A runs the stream
        batch = await publish_redacted(
            service,
            [orjson.dumps({"m": CANARIES["EMAIL_ADDRESS"]})],
            bootstrap_servers=a.bootstrap_servers,
            clean_topic=f"clean-{uuid.uuid4().hex[:6]}",
            token_topic=a.token_topic,
            scopes=["acme"],
        )
    await sync_key_store(a)  # what the stream runtime's background sync does

    on_b = await keyring_of(b)
    assert on_b.root_key_id == on_a.root_key_id
    assert on_b.token_key("acme") == on_a.token_key("acme")
    blob = on_a.encrypt(b"x", scope="acme")
    assert on_b.decrypt(blob, scope="acme") == b"x"

    # host C, which never saw the stream, unmasks what host A published
    token = orjson.loads(batch.clean_values[0])["m"]
    async with UnmaskSession(c) as session:
        caller = Caller(Actor("analyst", "cli"), ("acme",))
        assert await session.reidentifier.unmask_text(token, caller) == CANARIES["EMAIL_ADDRESS"]

    (rotation,) = rotate_scopes(on_b, ["acme"])  # an operator on host B
    await sync_key_store(b)
    await sync_key_store(a)
    on_a.refresh(force=True)
    assert on_a.encrypt(b"x", scope="acme")[2 : 2 + len(rotation.new_key_id)] == (
        rotation.new_key_id.encode()
    )
    assert on_a.token_key("acme") == on_b.token_key("acme"), "rotation keeps tokens"

    shred_scopes(Keystore.open(a.resolved_key_file()), ["acme"])  # an erasure on host A
    await sync_key_store(a)
    await sync_key_store(b)
    on_b.refresh(force=True)
    with pytest.raises(KeyShreddedError):
        on_b.decrypt(blob, scope="acme")
    latest: dict[bytes, bytes] = {}
    for record in await read_topic(a.bootstrap_servers, topic):
        latest[record.key] = record.value
    acme_keys = [orjson.loads(v) for v in latest.values() if b'"scope":"acme"' in v]
    assert acme_keys and all(k["wrapped"] is None for k in acme_keys), (
        "what compaction keeps of acme's keys holds no key material"
    )


async def test_racing_hosts_settle_on_the_first_published_root_and_token_secret(
    vault_settings: StreamerSettings, tmp_path: Path
) -> None:
    topic = f"keys-{uuid.uuid4().hex[:8]}"
    a, b = (host(vault_settings, tmp_path, name, topic) for name in "ab")
    on_a, on_b = await asyncio.gather(keyring_of(a), keyring_of(b))
    assert on_a.root_key_id == on_b.root_key_id, "one root key for all hosts"

    # both meet a new scope before either has synced
    token_a, token_b = on_a.token_key("new-tenant"), on_b.token_key("new-tenant")
    assert token_a != token_b
    blob_from_b = on_b.encrypt(b"made on b", scope="new-tenant")
    await sync_key_store(a)
    await sync_key_store(b)
    await sync_key_store(a)
    on_a.refresh(force=True)
    on_b.refresh(force=True)
    assert on_a.token_key("new-tenant") == on_b.token_key("new-tenant") == token_a
    assert on_a.decrypt(blob_from_b, scope="new-tenant") == b"made on b"
