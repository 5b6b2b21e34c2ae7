"""The work a worker process does on one batch: redact, then build every record to publish.

Everything CPU-bound happens here, next to the engine, so the process that talks to
Kafka only appends ready bytes to producer batches: clean values, sealed token
mappings (new tokens only) and sealed dead letters. Nothing here touches Kafka.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from streamer.redaction.engine import (
    EventFormat,
    RedactionEngine,
    decode_event,
    scope_from_field,
)
from streamer.redaction.exceptions import (
    InvalidEventError,
    InvalidKeyScopeError,
    UnknownKeyScopeError,
)
from streamer.redaction.result import PayloadFailure, PayloadOutcome
from streamer.redaction.service import EngineSpec
from streamer.redaction.spans import Span
from streamer.stream.dead_letter import DeadLetter
from streamer.stream.headers import DETECTORS, Header
from streamer.stream.partitioner import key_hash
from streamer.vault.mapping import TokenRecordSealer

#: Per payload, per scanned text: spans found outside the engine (cloud detectors).
ExtraSpans = list[list[list[Span]] | None]


@dataclass(slots=True)
class RecordBatch:
    """Consecutive records of one partition, as a worker needs them."""

    topic: str
    partition: int
    offsets: list[int]
    timestamps: list[int]
    keys: list[bytes | None]
    #: Record values; ``None`` for a tombstone.
    payloads: list[bytes | None]
    #: Key scope per record, from a header; ``None`` uses the field or the default.
    scopes: list[str] | None = None
    #: Whether the clean records are partitioned by key hash (not by input partition).
    hash_keys: bool = False

    def __len__(self) -> int:
        return len(self.payloads)

    def slice(self, start: int, stop: int) -> RecordBatch:
        return RecordBatch(
            self.topic,
            self.partition,
            self.offsets[start:stop],
            self.timestamps[start:stop],
            self.keys[start:stop],
            self.payloads[start:stop],
            self.scopes[start:stop] if self.scopes is not None else None,
            self.hash_keys,
        )


@dataclass(slots=True)
class BatchResult:
    """Everything to publish for one batch, in record order."""

    #: Clean value per record; ``None`` for a dead-lettered record (see ``dead_letters``)
    #: and for a tombstone, which is published as a tombstone.
    values: list[bytes | None]
    #: ``(index in the batch, reason code, dead-letter record value)``.
    dead_letters: list[tuple[int, str, bytes]] = field(default_factory=list)
    #: ``(token id, token mapping value, key hash)`` for tokens not emitted recently.
    token_records: list[tuple[bytes, bytes, int]] = field(default_factory=list)
    #: Key hash per record when the batch asked for them (``None`` keys: -1).
    key_hashes: list[int] | None = None
    #: Replaced values per entity type.
    entities: dict[str, int] = field(default_factory=dict)
    #: Headers added to the clean record of some records, by index in the batch (the
    #: cloud fallback mark, say).
    headers: dict[int, list[Header]] = field(default_factory=dict)
    #: Replaced values per ``(entity type, detector)`` (for metrics).
    detections: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def merge(cls, parts: list[BatchResult]) -> BatchResult:
        """One result from the results of consecutive slices of a batch."""
        merged = cls([], key_hashes=[] if parts and parts[0].key_hashes is not None else None)
        entities: Counter[str] = Counter()
        detections: Counter[tuple[str, str]] = Counter()
        for part in parts:
            base = len(merged.values)
            merged.values.extend(part.values)
            merged.dead_letters.extend((base + i, r, v) for i, r, v in part.dead_letters)
            merged.token_records.extend(part.token_records)
            if merged.key_hashes is not None and part.key_hashes is not None:
                merged.key_hashes.extend(part.key_hashes)
            entities.update(part.entities)
            merged.headers.update((base + i, h) for i, h in part.headers.items())
            detections.update(part.detections)
        merged.entities = dict(entities)
        merged.detections = dict(detections)
        return merged


@dataclass(slots=True)
class ExternalDetection:
    """Detection done for a batch before it reaches a worker (the cloud detectors), in
    record order. Small and picklable: spans hold offsets, never text.

    ``spans`` are merged with local detection by the engine's merge rule; records in
    ``dead_letters`` are not redacted at all but dead-lettered with their failure (no
    provider could analyse them); records in ``fallback`` are redacted by the spec's
    fallback engine when it has one (cloud-only mode: the local detectors that are
    otherwise off), else by the usual engine. ``headers`` are added to the clean record
    of the records they are given for (the cloud fallback mark).
    """

    spans: ExtraSpans
    dead_letters: dict[int, PayloadFailure] = field(default_factory=dict)
    fallback: frozenset[int] = frozenset()
    headers: dict[int, list[Header]] = field(default_factory=dict)

    @classmethod
    def of(cls, extra: ExternalDetection | ExtraSpans | None) -> ExternalDetection | None:
        return extra if extra is None or isinstance(extra, ExternalDetection) else cls(extra)

    def slice(self, start: int, stop: int) -> ExternalDetection:
        return ExternalDetection(
            self.spans[start:stop],
            {i - start: f for i, f in self.dead_letters.items() if start <= i < stop},
            frozenset(i - start for i in self.fallback if start <= i < stop),
            {i - start: h for i, h in self.headers.items() if start <= i < stop},
        )


class EmittedTokens:
    """A bounded LRU of token ids recently published, so repeats are not published again.

    It lives only in memory: after a restart tokens are published again (the token topic
    is compacted by token id, so that is harmless), never less.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._seen: OrderedDict[str | bytes, None] = OrderedDict()

    def first_time(self, token_id: str | bytes) -> bool:
        """True (and remembered) when ``token_id`` was not emitted recently."""
        seen = self._seen
        if token_id in seen:
            seen.move_to_end(token_id)
            return False
        if self.max_entries > 0:  # else nothing is remembered and ``seen`` stays empty
            seen[token_id] = None
            if len(seen) > self.max_entries:
                seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class ProcessorSpec:
    """Everything a worker process needs to build its :class:`BatchProcessor`."""

    engine: EngineSpec
    event_format: EventFormat = "json"
    scope_field: str | None = None
    default_scope: str = "default"
    detector_retries: int = 2
    token_cache_size: int = 100_000
    max_dead_letter_payload: int = 750_000
    #: Largest clean value published; a record redacted into more goes to the DLQ.
    max_output_bytes: int = 1_000_000
    #: The engine for records whose cloud detection fell back to local detection, when
    #: ``engine`` has no local detectors of its own (cloud-only mode).
    fallback_engine: EngineSpec | None = None

    def build(self) -> BatchProcessor:
        fallback = self.fallback_engine.build() if self.fallback_engine is not None else None
        return BatchProcessor(self, self.engine.build(), fallback)


class BatchProcessor:
    """Redacts a :class:`RecordBatch` and seals its token mappings and dead letters."""

    def __init__(
        self,
        spec: ProcessorSpec,
        engine: RedactionEngine,
        fallback_engine: RedactionEngine | None = None,
    ) -> None:
        self.spec = spec
        self.engine = engine
        self.fallback_engine = fallback_engine
        self.keyring = engine.keyring
        self.policy_version = engine.policy.version
        self.emitted = EmittedTokens(spec.token_cache_size)
        self.token_sealer = TokenRecordSealer(self.keyring, self.policy_version)

    def close(self) -> None:
        self.engine.close()
        if self.fallback_engine is not None:
            self.fallback_engine.close()

    def process(
        self, batch: RecordBatch, extra: ExternalDetection | ExtraSpans | None = None
    ) -> BatchResult:
        """Redact ``batch``; ``extra`` is what detection outside the worker found (plain
        spans per record, or an :class:`ExternalDetection`)."""
        spec = self.spec
        external = ExternalDetection.of(extra)
        extra_spans = external.spans if external is not None else None
        set_aside = external.dead_letters if external is not None else {}
        scopes = batch.scopes or [spec.default_scope] * len(batch)
        payloads, keys = batch.payloads, batch.keys
        # Tombstones (no value) pass through as tombstones: there is nothing to redact.
        indices = [i for i, p in enumerate(payloads) if p is not None and i not in set_aside]
        groups = [(self.engine, indices)]
        if external is not None and external.fallback and self.fallback_engine is not None:
            groups = [
                (self.engine, [i for i in indices if i not in external.fallback]),
                (self.fallback_engine, [i for i in indices if i in external.fallback]),
            ]
        outcomes: dict[int, PayloadOutcome] = {}
        fallback: frozenset[int] = frozenset()
        for engine, chosen in groups:
            if not chosen:
                continue
            found = self._redact(
                engine,
                [payloads[i] or b"" for i in chosen],
                [scopes[i] for i in chosen],
                [extra_spans[i] for i in chosen] if extra_spans is not None else None,
            )
            outcomes.update(zip(chosen, found, strict=True))
            if engine is not self.engine:
                fallback = frozenset(chosen)
        result = BatchResult([None] * len(batch))
        values = result.values
        added = external.headers if external is not None else {}
        max_output_bytes = spec.max_output_bytes
        with_tokens: list[tuple[int, PayloadOutcome]] = []
        for index in range(len(batch)):
            failure = set_aside.get(index)
            if failure is not None:
                outcome = PayloadOutcome(None, [], failure)
            elif index in outcomes:
                outcome = outcomes[index]
                if outcome.failure is not None and outcome.failure.code == "detector_failed":
                    outcome = self._retry(
                        self._engine_of(index, fallback), batch, index, scopes, extra_spans, outcome
                    )
            else:  # a tombstone: passed on unless its key alone is over the limit
                key = keys[index]
                if key is None or len(key) <= max_output_bytes:
                    continue
                outcome = PayloadOutcome(None, [], _output_too_large(len(key), spec))
            value = outcome.value
            if value is not None:
                size = len(value) + len(keys[index] or b"")
                if size > max_output_bytes:
                    outcome = PayloadOutcome(None, [], _output_too_large(size, spec))
            if outcome.failure is not None:
                result.dead_letters.append(
                    (index, outcome.failure.code, self._dead_letter(batch, index, scopes, outcome))
                )
                continue
            values[index] = value
            if added and index in added:
                result.headers[index] = list(added[index])
                engine = self._engine_of(index, fallback)
                if engine is not self.engine:  # the fallback detectors scanned it
                    names = ",".join(engine.detector_names).encode()
                    result.headers[index].append((DETECTORS, names))
            if outcome.tokens:
                with_tokens.append((index, outcome))
        detections = self._collect_tokens(batch, scopes, with_tokens, result)
        result.detections = dict(detections)
        entities: Counter[str] = Counter()
        for (entity_type, _), count in detections.items():
            entities[entity_type] += count
        result.entities = dict(entities)
        if batch.hash_keys:
            result.key_hashes = [-1 if key is None else key_hash(key) for key in batch.keys]
        return result

    def _engine_of(self, index: int, fallback: frozenset[int]) -> RedactionEngine:
        """The engine that redacted record ``index`` (``fallback``: the fallback engine's)."""
        if index in fallback and self.fallback_engine is not None:
            return self.fallback_engine
        return self.engine

    def _retry(
        self,
        engine: RedactionEngine,
        batch: RecordBatch,
        index: int,
        scopes: list[str],
        extra_spans: ExtraSpans | None,
        outcome: PayloadOutcome,
    ) -> PayloadOutcome:
        for _ in range(self.spec.detector_retries):
            [outcome] = self._redact(
                engine,
                [batch.payloads[index] or b""],
                [scopes[index]],
                [extra_spans[index]] if extra_spans is not None else None,
            )
            if outcome.failure is None or outcome.failure.code != "detector_failed":
                break
        return outcome

    def _redact(
        self,
        engine: RedactionEngine,
        payloads: list[bytes],
        scopes: list[str],
        extra_spans: ExtraSpans | None,
    ) -> list[PayloadOutcome]:
        """The engine's outcomes, a failing payload's among them as a failure."""
        return engine.redact_payloads(
            payloads,
            self.spec.event_format,
            scopes,
            scope_field=self.spec.scope_field,
            extra_spans=extra_spans,
        )

    def _record_scope(self, batch: RecordBatch, index: int, scopes: list[str]) -> str:
        """The key scope the engine used for this record (field beats header/default)."""
        if self.spec.scope_field is None:
            return scopes[index]
        try:  # read as the engine read it (a byte order mark, say, which orjson refuses)
            document = decode_event(batch.payloads[index] or b"", self.spec.event_format)
        except InvalidEventError:
            return scopes[index]
        return scope_from_field(document, self.spec.scope_field) or scopes[index]

    def _collect_tokens(
        self,
        batch: RecordBatch,
        scopes: list[str],
        with_tokens: list[tuple[int, PayloadOutcome]],
        result: BatchResult,
    ) -> Counter[tuple[str, str]]:
        """Seal the mappings of the tokens not emitted recently (in record order, into
        ``result``); replaced values per ``(entity type, detector)``."""
        found: list[tuple[str, str]] = []
        count = found.append
        first_time = self.emitted.first_time
        seal = self.token_sealer.seal
        token_records = result.token_records
        for index, outcome in with_tokens:
            scope: str | None = None
            source: tuple[str, int, int] | None = None
            for token in outcome.tokens:
                metadata = token.metadata
                entity_type = str(metadata.get("entity_type", ""))  # = token.entity_type
                count((entity_type, metadata.get("detector") or "unknown"))
                if token.redaction_type != "tokenize" or not first_time(token.token_id):
                    continue
                if scope is None:
                    scope = self._record_scope(batch, index, scopes)
                    source = (batch.topic, batch.partition, batch.offsets[index])
                key, value = seal(
                    token.token_id,
                    entity_type,
                    token.original_value,
                    scope,
                    source,
                    batch.timestamps[index],
                )
                token_records.append((key, value, key_hash(key)))
        return Counter(found)

    def _dead_letter(
        self, batch: RecordBatch, index: int, scopes: list[str], outcome: PayloadOutcome
    ) -> bytes:
        failure = outcome.failure or PayloadFailure("redaction_failed", "unknown failure")
        return dead_letter_value(
            self, batch, index, self._record_scope(batch, index, scopes), failure
        )


def dead_letter_value(
    processor: BatchProcessor | DeadLetterSealer,
    batch: RecordBatch,
    index: int,
    scope: str,
    failure: PayloadFailure,
) -> bytes:
    """The dead-letter record value for record ``index`` of ``batch``, its payload sealed
    under ``scope``; under the default scope when ``scope`` has no usable keys (unknown
    with key scope creation off, or not valid Unicode: the record's failure, likely), and
    left out when neither has."""

    def seal(sealing_scope: str, omit_payload: str | None = None) -> bytes:
        return DeadLetter.seal(
            reason=failure.code,
            message=failure.message,
            topic=batch.topic,
            partition=batch.partition,
            offset=batch.offsets[index],
            timestamp=batch.timestamps[index],
            key=batch.keys[index],
            payload=batch.payloads[index] or b"",
            scope=sealing_scope,
            keyring=processor.keyring,
            policy_version=processor.policy_version,
            max_payload_bytes=processor.spec.max_dead_letter_payload,
            omit_payload=omit_payload,
        ).to_json()

    for sealing_scope in dict.fromkeys((scope, processor.spec.default_scope)):
        try:
            return seal(sealing_scope)
        except UnknownKeyScopeError:
            continue
        except InvalidKeyScopeError:
            scope = processor.spec.default_scope  # nor can it be written in the dead letter
    return seal(scope, omit_payload="no_key_for_scope")


class DeadLetterSealer:
    """Dead letters made outside a worker: for records a worker process died on."""

    def __init__(self, spec: ProcessorSpec) -> None:
        self.spec = spec
        self.keyring = spec.engine.keyring
        self.policy_version = spec.engine.policy.version

    def result_for(self, batch: RecordBatch, failure: PayloadFailure) -> BatchResult:
        """Every record of ``batch`` dead-lettered with ``failure``."""
        scopes = batch.scopes or [self.spec.default_scope] * len(batch)
        result = BatchResult([None] * len(batch))
        for index in range(len(batch)):
            value = dead_letter_value(self, batch, index, scopes[index], failure)
            result.dead_letters.append((index, failure.code, value))
        if batch.hash_keys:
            result.key_hashes = [-1 if key is None else key_hash(key) for key in batch.keys]
        return result


def _output_too_large(size: int, spec: ProcessorSpec) -> PayloadFailure:
    return PayloadFailure(
        "too_large",
        f"the redacted record (key and value) is {size} bytes, over the output limit of "
        f"{spec.max_output_bytes} bytes (replacements can be longer than what they replace); "
        "raise STREAMER_MAX_RECORD_BYTES and the topics' max.message.bytes, or split the record",
    )
