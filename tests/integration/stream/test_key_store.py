"""The stream runtime with a production key setup: a root key wrapped by AWS KMS (moto's
server mode, through the real SDK), and replicas sharing keys through the keys topic."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.redaction.keystore import Keystore
from streamer.redaction.policy import Policy
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.testing.kafka import create_topics, end_offsets, produce_values, read_all
from streamer.testing.kms import KMS_TEST_REGION, create_kms_key
from streamer.vault.keyring import open_keyring
from streamer.vault.mapping import TokenMapping

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_test_credentials")]

EMAILS = [f"replica.user{n}@corp-mail.example.com" for n in range(3)]


def topology_for(topics: Any) -> Topology:
    return Topology(
        name="keys",
        group_id=topics.group,
        inputs=[topics.raw],
        outputs=topics.outputs,
        key_scope={"header": "tenant"},
        policy=Policy(detectors=list(PATTERN_DETECTOR_NAMES)),
    )


async def run_over_emails(bootstrap: str, topics: Any, settings: StreamerSettings) -> list[Any]:
    """Run the pipeline over one event per address (tenant acme); the token records."""
    await create_topics(bootstrap, {topics.raw: 1})
    metadata = await produce_values(
        bootstrap,
        topics.raw,
        [orjson.dumps({"note": f"write to {email}"}) for email in EMAILS],
        headers=[[("tenant", b"acme")]] * len(EMAILS),
    )
    runtime = StreamRuntime(topology_for(topics), settings)
    runtime.stop_after(end_offsets(metadata))
    await asyncio.wait_for(runtime.run(), 90)
    return await read_all(bootstrap, topics.tokens, expected=len(EMAILS))


async def test_a_root_key_wrapped_by_kms_runs_the_pipeline(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings, kms_endpoint: str
) -> None:
    settings = stream_settings.model_copy(
        update={
            "key_provider": "aws-kms",
            "aws_kms_key_id": create_kms_key(kms_endpoint),
            "aws_region": KMS_TEST_REGION,
            "aws_endpoint_url": kms_endpoint,
        }
    )
    records = await run_over_emails(bootstrap, topics, settings)
    (wrapping,) = Keystore.open(settings.resolved_key_file()).root_wrappings()
    assert wrapping.provider == "aws-kms"
    assert not settings.resolved_kek_file().exists(), "no local KEK with KMS"
    keyring = await open_keyring(settings)  # as unmask does, later: KMS unwraps the root
    originals = {TokenMapping.from_json(r.value).open(keyring) for r in records}
    assert originals == set(EMAILS)


async def test_replicas_share_the_scopes_they_create_through_the_keys_topic(
    bootstrap: str, topics: Any, stream_settings: StreamerSettings, tmp_path: Path
) -> None:
    shared = {
        "key_provider": "env",
        "kek": SecretStr("7a" * 32),  # every replica has the same KEK (a KMS key, in production)
        "keys_topic": f"keys-{uuid.uuid4().hex[:8]}",
        "key_refresh_seconds": 1.0,
    }
    replica = stream_settings.model_copy(update={**shared, "data_dir": tmp_path / "replica"})
    records = await run_over_emails(bootstrap, topics, replica)

    # Another host (the one that unmasks) has a key file of its own: it learns the root key
    # and the scope acme the replica created from the keys topic alone.
    other = stream_settings.model_copy(update={**shared, "data_dir": tmp_path / "other"})
    keyring = await open_keyring(other)
    mappings = [TokenMapping.from_json(r.value) for r in records]
    assert {m.scope for m in mappings} == {"acme"}
    assert {m.open(keyring) for m in mappings} == set(EMAILS)
