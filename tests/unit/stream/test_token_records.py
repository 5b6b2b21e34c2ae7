"""The worker's fast paths for token records give exactly what the plain paths give:
``TokenRecordSealer`` the bytes of ``TokenMapping.seal(...).to_json()``, ``murmur2``
Kafka's hash for keys of every length. Real keyrings, real encryption."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from streamer.redaction.keys import Keyring, LocalKeyring, keyring_from_settings
from streamer.settings import StreamerSettings
from streamer.stream.partitioner import key_hash, murmur2
from streamer.stream.processor import EmittedTokens
from streamer.vault.mapping import SourceCoordinates, TokenMapping, TokenRecordSealer

ORIGINALS = ["jane.doe@example.com", "Jürgen Müller 😀", "lone \ud800 surrogate", ""]


@pytest.fixture(params=["local", "envelope"])
def keyring(request: pytest.FixtureRequest, settings: StreamerSettings) -> Keyring:
    if request.param == "local":
        return LocalKeyring(bytes(range(32)))
    return keyring_from_settings(settings)


@pytest.mark.parametrize("original", ORIGINALS)
@pytest.mark.parametrize(
    ("source", "first_seen_ms"),
    [(("orders.raw", 3, 12345), 1_700_000_000_000), (None, None), (("t", 0, 0), None)],
)
def test_sealer_builds_the_record_token_mapping_builds(
    keyring: Keyring,
    original: str,
    source: tuple[str, int, int] | None,
    first_seen_ms: int | None,
) -> None:
    token = "[EMAIL_ADDRESS_9f2c4e1ab37d5c08]"
    key, value = TokenRecordSealer(keyring, "v7").seal(
        token, "EMAIL_ADDRESS", original, "tenant-a", source, first_seen_ms
    )
    mapping = TokenMapping.seal(
        token,
        "EMAIL_ADDRESS",
        original,
        scope="tenant-a",
        keyring=keyring,
        policy_version="v7",
        source=SourceCoordinates(*source) if source is not None else None,
        first_seen_ms=first_seen_ms,
    )
    assert (key, value) == (mapping.key(), mapping.to_json())
    assert TokenMapping.from_json(value) == mapping
    assert TokenMapping.from_json(value).open(keyring) == original


def test_one_sealer_builds_the_records_of_many_tokens_scopes_and_partitions(
    keyring: Keyring,
) -> None:
    """What a sealer keeps from one token (serialized entity type, scope, key id, source
    partition) is right for the next: a worker seals tokens of many of each."""
    sealer = TokenRecordSealer(keyring, 'v"7')
    rng = random.Random(7)
    scopes = ["tenant-a", "tenant-b", "t\u00e9nant"]
    types = ["EMAIL_ADDRESS", "PERSON", 'ODD"TYPE\\']
    topics = ["orders.raw", 't"x', "ünï"]
    for number in range(300):
        token = f"[{rng.choice(types)}_{number:016x}]"
        entity_type, scope = rng.choice(types), rng.choice(scopes)
        source = (rng.choice(topics), rng.randint(0, 3), rng.randint(0, 2**40))
        source_or_none = source if number % 7 else None
        first_seen_ms = rng.choice([None, 0, -1, 1_700_000_000_000 + number])
        original = rng.choice(ORIGINALS)
        key, value = sealer.seal(token, entity_type, original, scope, source_or_none, first_seen_ms)
        mapping = TokenMapping.seal(
            token,
            entity_type,
            original,
            scope=scope,
            keyring=keyring,
            policy_version='v"7',
            source=SourceCoordinates(*source) if source_or_none is not None else None,
            first_seen_ms=first_seen_ms,
        )
        assert (key, value) == (mapping.key(), mapping.to_json())


def test_murmur2_matches_kafka_for_random_keys_of_every_length() -> None:
    rng = random.Random(20_000)
    for _ in range(3000):
        data = rng.randbytes(rng.randint(0, 200))
        assert murmur2(data) & 0x7FFFFFFF == aiokafka_murmur2(data) & 0x7FFFFFFF
        assert key_hash(data) == aiokafka_murmur2(data) & 0x7FFFFFFF


def test_a_cache_of_size_zero_remembers_nothing() -> None:
    emitted = EmittedTokens(0)
    assert emitted.first_time("a") and emitted.first_time("a")
    assert len(emitted) == 0
