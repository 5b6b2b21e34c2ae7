"""Audit: every unmask, allowed or not, writes a record to the audit topic.

A record says who asked (the API client or the OS user of the CLI, and the channel),
when, for which tokens and scopes, and what happened; never an original value. The
shape is ``schemas/audit_record.schema.json``. Unmasking fails closed: the originals
are handed out only after the broker acknowledged the audit record.
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from streamer.vault.exceptions import AuditUnavailableError

SCHEMA_VERSION = 1
#: Most tokens one audit record lists; a bigger request is written as several parts.
TOKENS_PER_RECORD = 1000
#: Settings of the audit topic when it is missing: records are kept until someone sets a
#: retention (a topic the broker creates on first write gets its default, 7 days on
#: Apache Kafka, and the trail of older unmasks is deleted).
AUDIT_TOPIC_CONFIG = {"retention.ms": "-1"}

Channel = Literal["cli", "http"]
Action = Literal["unmask.text", "unmask.event", "unmask.tokens", "unmask.topic"]
Outcome = Literal["allowed", "partial", "denied", "failed", "unauthenticated"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked: a name, the channel, and for HTTP the network address."""

    name: str
    channel: Channel
    address: str | None = None

    @classmethod
    def os_user(cls) -> Actor:
        """The user running the CLI: the login name, or ``uid:N`` for a user without one
        (a container run under an arbitrary uid has no passwd entry)."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = f"uid:{os.getuid()}"
        return cls(name, "cli")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One unmask request and its outcome, before it is split into records."""

    actor: Actor
    action: Action
    allowed_scopes: tuple[str, ...]
    scopes: tuple[str, ...]
    tokens: tuple[str, ...]
    restored: int
    outcome: Outcome
    errors: dict[str, int] = field(default_factory=dict)
    source_topic: str | None = None
    source_partitions: dict[int, tuple[int, int]] | None = None
    target_topic: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def records(self) -> list[dict[str, Any]]:
        """The audit topic records of this event (one per ``TOKENS_PER_RECORD`` tokens)."""
        from streamer import __version__

        request_id = uuid.uuid4().hex
        chunks = [
            list(self.tokens[i : i + TOKENS_PER_RECORD])
            for i in range(0, len(self.tokens), TOKENS_PER_RECORD)
        ] or [[]]
        records = []
        for part, tokens in enumerate(chunks, start=1):
            record: dict[str, Any] = {
                "schema_version": SCHEMA_VERSION,
                "audit_id": uuid.uuid4().hex,
                "request_id": request_id,
                "part": part,
                "parts": len(chunks),
                "time": self.time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "actor": {
                    "name": self.actor.name,
                    "channel": self.actor.channel,
                    "address": self.actor.address,
                },
                "action": self.action,
                "allowed_scopes": list(self.allowed_scopes),
                "scopes": sorted(self.scopes),
                "tokens": tokens,
                "token_count": len(self.tokens),
                "restored": self.restored,
                "outcome": self.outcome,
                "errors": dict(self.errors),
                "host": _HOSTNAME,
                "streamer_version": __version__,
            }
            if self.source_topic is not None:
                record["source"] = {
                    "topic": self.source_topic,
                    "partitions": {
                        str(p): [first, last]
                        for p, (first, last) in sorted((self.source_partitions or {}).items())
                    },
                }
            if self.target_topic is not None:
                record["target_topic"] = self.target_topic
            records.append(record)
        return records


_HOSTNAME = socket.gethostname()


class AuditLog(Protocol):
    """Where audit records go. ``write`` returns once they are stored for good."""

    async def write(self, event: AuditEvent) -> None: ...


class KafkaAuditLog:
    """Audit records on a Kafka topic, keyed by the actor's name (so per-actor order holds),
    acknowledged by all in-sync replicas before ``write`` returns."""

    def __init__(self, bootstrap_servers: str, topic: str, **client_options: Any) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self._client_options = client_options
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, acks="all", **self._client_options
        )
        try:
            await producer.start()
            await self._ensure_topic()
        except KafkaError as exc:
            await producer.stop()
            raise AuditUnavailableError(
                f"cannot connect to Kafka at {self.bootstrap_servers} to write audit records "
                f"({type(exc).__name__}); nothing is unmasked without an audit record: check "
                "--bootstrap-servers"
            ) from None
        self._producer = producer

    async def _ensure_topic(self) -> None:
        """Create the audit topic with :data:`AUDIT_TOPIC_CONFIG` when it does not exist. A
        refusal (no permission to create topics) is left to the first write to report."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, **self._client_options
        )
        await admin.start()
        try:
            if self.topic not in await admin.list_topics():
                await admin.create_topics(
                    [NewTopic(self.topic, 1, 1, topic_configs=AUDIT_TOPIC_CONFIG)]
                )
        finally:
            await admin.close()

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def __aenter__(self) -> KafkaAuditLog:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def write(self, event: AuditEvent) -> None:
        await self.write_records(event.records())

    async def write_records(self, records: Iterable[dict[str, Any]]) -> None:
        if self._producer is None:
            raise AuditUnavailableError("the audit log is not started; call start() first")
        try:
            for record in records:
                await self._producer.send_and_wait(
                    self.topic, orjson.dumps(record), key=record["actor"]["name"].encode()
                )
        except KafkaError as exc:
            raise AuditUnavailableError(
                f"writing to audit topic {self.topic!r} failed ({type(exc).__name__}); nothing "
                "was unmasked: check the broker and --audit-topic"
            ) from None
