"""A stand-in for the stream processor in tests of re-identification: redact events,
produce the clean records and their token mappings (the token topic) with aiokafka.

The real producer of the token topic is the stream runtime; this does the same for
one batch so that vault tests (and users' own) do not need the whole pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from streamer.redaction.engine import EventFormat
from streamer.redaction.service import RedactionService
from streamer.vault.mapping import SourceCoordinates, TokenMapping


@dataclass(slots=True)
class PublishedBatch:
    """What :func:`publish_redacted` produced: clean values in order, and the mappings."""

    clean_values: list[bytes] = field(default_factory=list)
    mappings: dict[str, TokenMapping] = field(default_factory=dict)


async def publish_redacted(
    service: RedactionService,
    payloads: Sequence[bytes],
    *,
    bootstrap_servers: str,
    clean_topic: str,
    token_topic: str,
    scopes: Sequence[str] | None = None,
    keys: Sequence[bytes | None] | None = None,
    event_format: EventFormat = "json",
) -> PublishedBatch:
    """Redact ``payloads`` (one scope each) and produce the clean records to
    ``clean_topic`` and one token mapping per distinct token to ``token_topic``."""
    outcomes = service.redact_payloads(payloads, event_format, scopes)
    scopes = list(scopes) if scopes is not None else ["default"] * len(payloads)
    batch = PublishedBatch()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for index, outcome in enumerate(outcomes):
            if outcome.value is None:
                raise ValueError(f"payload {index} could not be redacted: {outcome.failure}")
            key = keys[index] if keys is not None else None
            metadata = await producer.send_and_wait(clean_topic, outcome.value, key=key)
            batch.clean_values.append(outcome.value)
            for token in outcome.tokens:
                if token.redaction_type != "tokenize" or token.token_id in batch.mappings:
                    continue
                mapping = TokenMapping.seal(
                    token.token_id,
                    token.entity_type,
                    token.original_value,
                    scope=scopes[index],
                    keyring=service.keyring,
                    policy_version=service.policy.version,
                    source=SourceCoordinates(clean_topic, metadata.partition, metadata.offset),
                    first_seen_ms=int(time.time() * 1000),
                )
                batch.mappings[token.token_id] = mapping
                await producer.send_and_wait(token_topic, mapping.to_json(), key=mapping.key())
    finally:
        await producer.stop()
    return batch
