"""The keys topic: one key store shared by every host, through Kafka.

A key store is a local SQLite file; hosts that redact or unmask the same scopes need the
same keys. With ``STREAMER_KEYS_TOPIC`` set, each host's key file is a replica of a
compacted, single-partition topic that holds every key, wrapped (never plaintext):

- **push** publishes local changes: a root key, keys created for a new scope, a rotation,
  a shred (the same record key with no key material, so compaction drops the key), a
  retired KEK wrapping;
- **pull** applies what other hosts published, in topic order.

The topic's order settles races: the first root key published is everyone's root key (a
host that lost discards its own before using it), a scope's token secret is the first
one published and its active data key the last one. Two hosts that meet a new scope at
the same moment may tokenize a few records differently until they pull; their mappings
still decrypt everywhere. Create scopes ahead (``streamer keys create``) to avoid that.
Crypto-shredding reaches every host on its next pull; the wrapped key leaves the topic
when Kafka compacts it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from streamer.errors import ConfigurationError
from streamer.redaction.keystore import Keystore, KeystoreReplica, RootWrapping, ScopeKeyRecord
from streamer.vault.exceptions import TopicUnavailableError

log = logging.getLogger(__name__)

#: Topic settings: compacted, and compacted soon, so shredded keys leave the log.
KEYS_TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "min.compaction.lag.ms": "0",
    "segment.ms": "3600000",
    "min.insync.replicas": "1",
}


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text, validate=True) if text is not None else None


def encode_record(record: RootWrapping | ScopeKeyRecord) -> tuple[bytes, bytes]:
    """The keys topic's ``(key, value)`` for a root wrapping or a scope key."""
    value: dict[str, object]
    if isinstance(record, RootWrapping):
        kek = hashlib.sha256(record.kek_id.encode()).hexdigest()[:16]
        key = f"root/{record.root_key_id}/{record.provider}/{kek}"
        value = {
            "kind": "root_wrapping",
            "root_key_id": record.root_key_id,
            "provider": record.provider,
            "kek_id": record.kek_id,
            "wrapped": _b64(record.wrapped),
        }
    else:
        key = f"key/{record.key_id}"
        value = {
            "kind": "scope_key",
            "key_id": record.key_id,
            "scope": record.scope,
            "purpose": record.purpose,
            "version": record.version,
            "wrapped": _b64(record.wrapped),
            "root_key_id": record.root_key_id,
            "created_ms": record.created_ms,
            "shredded_ms": record.shredded_ms,
        }
    return key.encode(), orjson.dumps(value)


def decode_record(value: bytes) -> RootWrapping | ScopeKeyRecord:
    """The record in a keys topic value; ``ValueError`` when it is not one."""
    try:
        document = orjson.loads(value)
        if document["kind"] == "root_wrapping":
            return RootWrapping(
                str(document["root_key_id"]),
                str(document["provider"]),
                str(document["kek_id"]),
                _unb64(document["wrapped"]),
            )
        if document["kind"] == "scope_key" and document["purpose"] in ("token", "data"):
            return ScopeKeyRecord(
                key_id=str(document["key_id"]),
                scope=str(document["scope"]),
                purpose=document["purpose"],
                version=int(document["version"]),
                wrapped=_unb64(document["wrapped"]),
                root_key_id=str(document["root_key_id"]),
                created_ms=int(document["created_ms"]),
                shredded_ms=document["shredded_ms"],
            )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error):
        pass
    raise ValueError("not a keys topic record")


class KeyTopicSync:
    """Publishes the local key file's changes to the keys topic and applies the topic's.

    ``async with KeyTopicSync(key_file, bootstrap, topic) as sync: await sync.sync()``;
    long-running processes run :meth:`run` as a background task.
    """

    max_empty_polls = 3

    def __init__(
        self, key_file: Path, bootstrap_servers: str, topic: str, **client_options: Any
    ) -> None:
        self.key_file = key_file
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self._client_options = client_options
        self._keystore: Keystore | None = None
        self._replica: KeystoreReplica | None = None
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._partition = TopicPartition(topic, 0)
        self._lock = asyncio.Lock()
        self._following: asyncio.Task[None] | None = None

    @property
    def replica(self) -> KeystoreReplica:
        assert self._replica is not None, "call start() first"
        return self._replica

    async def start(self) -> None:
        self._keystore = Keystore.open(self.key_file)
        self._replica = KeystoreReplica(self._keystore)
        try:
            await self._ensure_topic()
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers, acks="all", **self._client_options
            )
            await self._producer.start()
            self._consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap_servers,
                enable_auto_commit=False,
                fetch_max_wait_ms=100,
                **self._client_options,
            )
            await self._consumer.start()
            self._consumer.assign([self._partition])
        except KafkaError as exc:
            await self.stop()
            raise TopicUnavailableError(
                f"cannot reach the keys topic {self.topic!r} at {self.bootstrap_servers} "
                f"({type(exc).__name__}); check --bootstrap-servers and STREAMER_KEYS_TOPIC"
            ) from None

    async def stop(self) -> None:
        await self.stop_following()
        producer, self._producer = self._producer, None
        consumer, self._consumer = self._consumer, None
        if producer is not None:
            await producer.stop()
        if consumer is not None:
            await consumer.stop()
        if self._keystore is not None:
            self._keystore.close()
            self._keystore = None

    async def __aenter__(self) -> KeyTopicSync:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _ensure_topic(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, **self._client_options
        )
        await admin.start()
        try:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(self.topic, 1, 1, topic_configs=KEYS_TOPIC_CONFIG)]
                )
            described = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        partitions = described[0].get("partitions", []) if described else []
        if len(partitions) != 1:
            raise ConfigurationError(
                f"keys topic {self.topic!r} has {len(partitions)} partitions; it needs exactly "
                "one (its order decides between hosts): recreate it with one partition"
            )

    async def push(self) -> int:
        """Publish local changes; returns how many records were published."""
        assert self._producer is not None, "call start() first"
        roots, keys = self.replica.unpublished()
        records: list[RootWrapping | ScopeKeyRecord] = [*roots, *keys]
        futures = []
        for record in records:
            key, value = encode_record(record)
            futures.append(await self._producer.send(self.topic, value, key=key, partition=0))
        for future in futures:
            await future
        if records:
            self.replica.mark_published(roots, keys)
        return len(records)

    async def pull(self) -> int:
        """Apply what the keys topic holds past the local position; returns how many
        records changed the key file."""
        consumer = self._consumer
        assert consumer is not None, "call start() first"
        async with self._lock:
            position = self.replica.position(self.topic)
            beginning = (await consumer.beginning_offsets([self._partition]))[self._partition]
            end = (await consumer.end_offsets([self._partition]))[self._partition]
            consumer.seek(self._partition, max(position, beginning))
            changed = 0
            empty_polls = 0
            # Read to the reported end, then until a poll comes back empty: some brokers
            # report the end offset behind what can already be read.
            while empty_polls < self.max_empty_polls:
                caught_up = await consumer.position(self._partition) >= end
                if caught_up and empty_polls:
                    break
                batch = await consumer.getmany(
                    self._partition, timeout_ms=200 if caught_up else 500, max_records=2000
                )
                messages = batch.get(self._partition, [])
                if not messages:
                    empty_polls += 1
                    continue
                empty_polls = 0
                records: list[tuple[int, RootWrapping | ScopeKeyRecord]] = []
                for message in messages:
                    if message.value is None:
                        continue
                    try:
                        records.append((message.offset, decode_record(message.value)))
                    except ValueError:
                        log.warning(
                            "skipped a record that is not a key in the keys topic",
                            extra={"offset": message.offset},
                        )
                next_offset = await consumer.position(self._partition)
                changed += self.replica.apply(self.topic, next_offset, records)
            return changed

    async def sync(self) -> int:
        """Push, then pull; returns how many records changed the key file."""
        await self.push()
        return await self.pull()

    async def run(self, interval: float = 5.0) -> None:
        """Sync every ``interval`` seconds until cancelled; failures are logged and retried."""
        while True:
            try:
                await self.sync()
            except (KafkaError, TopicUnavailableError) as exc:
                log.warning("keys topic sync failed; retrying", extra={"error": type(exc).__name__})
            await asyncio.sleep(interval)

    def follow(self, interval: float) -> None:
        """:meth:`run` in the background, until :meth:`stop_following` or :meth:`stop`."""
        self._following = asyncio.create_task(self.run(interval), name="keys-topic-sync")

    async def stop_following(self) -> None:
        task, self._following = self._following, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
