"""The vault's costs, each next to its baseline in the same run.

- redaction with the default keyring (the key file: random per-scope keys) against a
  stateless keyring (keys derived from one secret): what the key file costs the engine;
- sealing token mappings (AES-GCM per token);
- token index lookups, and restoring texts through the index (audit in memory);
- restoring a clean topic into another topic on the embedded broker (index lookups,
  decryption, an acknowledged audit record per batch) against a plain aiokafka
  consume-produce copy of the same records.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.report import peak_rss_mib, ratio, result
from streamer.broker import EmbeddedBroker
from streamer.redaction.keys import LocalKeyring
from streamer.redaction.service import RedactionService
from streamer.samples import support_tickets
from streamer.settings import StreamerSettings
from streamer.testing.token_topic import publish_redacted
from streamer.vault import (
    Actor,
    AuditEvent,
    Caller,
    Reidentifier,
    TokenIndex,
    TokenMapping,
    UnmaskSession,
    keyring_from_settings,
    unmask_topic,
)
from streamer.vault.store import TopicRecord

EVENTS = 4000
TENANTS = 20
TOPIC_EVENTS = 3000


class _MemoryAudit:
    async def write(self, event: AuditEvent) -> None:
        pass


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_engine(settings: StreamerSettings) -> None:
    payloads = [orjson.dumps(e) for e in support_tickets(EVENTS, seed=11)]
    scopes = [f"tenant-{i % TENANTS}" for i in range(EVENTS)]
    keyrings = {
        "redact_stateless_keyring": LocalKeyring(secrets.token_bytes(32)),
        "redact_key_file_keyring": keyring_from_settings(settings),
    }
    rates: dict[str, float] = dict.fromkeys(keyrings, 0.0)
    for _ in range(2):  # alternate, keep the best of each: the machine is shared
        for name, keyring in keyrings.items():
            with RedactionService(settings=settings, keyring=keyring) as service:
                service.redact_payloads(payloads[:100], scopes=scopes[:100])
                elapsed = _timed(lambda s=service: s.redact_payloads(payloads, scopes=scopes))
            rates[name] = max(rates[name], EVENTS / elapsed)
    for name, rate in rates.items():
        result(name, rate, events=EVENTS, scopes=TENANTS)
    ratio(
        "key_file_vs_stateless_keyring",
        rates["redact_key_file_keyring"] / rates["redact_stateless_keyring"],
    )


def bench_index(settings: StreamerSettings, tmp: Path) -> None:
    keyring = keyring_from_settings(settings)
    with RedactionService(settings=settings, keyring=keyring) as service:
        results = service.batch_redact(
            [f"mail user{i}@corp-mail.example.com" for i in range(EVENTS)], scope="tenant-0"
        )
    tokens = [r.tokens[0] for r in results]
    mappings: list[TokenMapping] = []
    elapsed = _timed(lambda: mappings.extend(
        TokenMapping.seal(t.token_id, t.entity_type, t.original_value, scope="tenant-0",
                          keyring=keyring, policy_version="1") for t in tokens))  # fmt: skip
    result("seal_token_mapping", len(tokens) / elapsed)
    index = TokenIndex(tmp / "bench-index.db", "tokens")
    records = [TopicRecord(0, i, m.key(), m.to_json()) for i, m in enumerate(mappings)]
    elapsed = _timed(lambda: index.apply(records, {0: len(records)}))
    result("index_apply", len(records) / elapsed)
    ids = [t.token_id for t in tokens]
    elapsed = _timed(lambda: [index.get(token_id) for token_id in ids])
    result("index_lookup_one_by_one", len(ids) / elapsed)
    elapsed = _timed(lambda: index.get_many(ids))
    result("index_lookup_batched", len(ids) / elapsed)
    reidentifier = Reidentifier(keyring, index, _MemoryAudit())
    caller = Caller(Actor("bench", "cli"), ("tenant-*",))
    texts = [r.redacted_text for r in results]

    async def restore_all() -> None:
        for text in texts:
            await reidentifier.unmask_text(text, caller)

    elapsed = _timed(lambda: asyncio.run(restore_all()))
    result("unmask_text_memory_audit", len(texts) / elapsed)
    index.close()


async def bench_topic(settings: StreamerSettings) -> None:
    with EmbeddedBroker() as broker:
        settings = settings.model_copy(update={
            "bootstrap_servers": broker.bootstrap_servers, "token_topic": "bench-tokens",
            "audit_topic": "bench-audit", "vault_index": None,
        })  # fmt: skip
        keyring = keyring_from_settings(settings)
        events = list(support_tickets(TOPIC_EVENTS, seed=5))
        with RedactionService(settings=settings, keyring=keyring) as service:
            await publish_redacted(
                service, [orjson.dumps(e) for e in events],
                bootstrap_servers=broker.bootstrap_servers, clean_topic="bench-clean",
                token_topic=settings.token_topic,
                scopes=[f"tenant-{i % TENANTS}" for i in range(TOPIC_EVENTS)],
            )  # fmt: skip
        started = time.perf_counter()
        copied = await _copy_topic(broker.bootstrap_servers, "bench-clean", "bench-copy")
        copy_rate = copied / (time.perf_counter() - started)
        result("copy_topic_baseline", copy_rate, records=copied)
        async with UnmaskSession(settings, keyring=keyring) as session:
            started = time.perf_counter()
            report = await unmask_topic(
                session.reidentifier, Caller(Actor("bench", "cli"), ("tenant-*",)),
                bootstrap_servers=broker.bootstrap_servers, source_topic="bench-clean",
                target_topic=f"bench-restored-{uuid.uuid4().hex[:4]}",
            )  # fmt: skip
            unmask_rate = report.records / (time.perf_counter() - started)
        result("unmask_topic", unmask_rate, records=report.records, tokens=report.restored_tokens)
        ratio("unmask_topic_vs_copy", unmask_rate / copy_rate)


async def _copy_topic(bootstrap: str, source: str, target: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(source, p) for p in sorted(consumer.partitions_for_topic(source))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        copied = 0
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            futures = [
                await producer.send(target, m.value, key=m.key, headers=list(m.headers or ()))
                for batch in batches.values()
                for m in batch
            ]
            for future in futures:
                await future
            copied += len(futures)
        return copied
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        settings = StreamerSettings(data_dir=tmp)
        bench_engine(settings)
        bench_index(settings, tmp)
        asyncio.run(bench_topic(settings))
    result("vault_peak_rss", 0.0, peak_rss_mib=round(peak_rss_mib(), 1))
