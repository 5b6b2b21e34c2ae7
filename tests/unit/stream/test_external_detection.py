"""What detection outside the workers (the cloud) hands the worker pool: spans merged with
local ones, records dead-lettered with their failure instead of redacted, records redacted
by the fallback engine, and headers for their clean records. No broker, no cloud."""

from __future__ import annotations

from pathlib import Path

import orjson

from streamer.redaction.keys import LocalKeyring
from streamer.redaction.policy import Policy
from streamer.redaction.result import PayloadFailure
from streamer.redaction.service import EngineSpec
from streamer.redaction.spans import Span
from streamer.settings import StreamerSettings
from streamer.stream.dead_letter import DeadLetter
from streamer.stream.pool import RedactionPool
from streamer.stream.processor import ExternalDetection, ProcessorSpec, RecordBatch
from streamer.testing.detectors import CrashingDetector

KEYRING = LocalKeyring(bytes(range(32)))
NAME = "Ysolde Brackwater"
FALLBACK = [("pii.cloud.fallback", b"cloud_timeout")]


def spec(
    tmp_path: Path, detectors: tuple[object, ...], fallback: tuple[str, ...] | None = None
) -> ProcessorSpec:
    settings = StreamerSettings(data_dir=tmp_path)
    engine = EngineSpec(Policy(), detectors, KEYRING, settings)  # type: ignore[arg-type]
    return ProcessorSpec(
        engine,
        fallback_engine=EngineSpec(Policy(), fallback, KEYRING, settings)
        if fallback is not None
        else None,
    )


def batch(payloads: list[bytes | None]) -> RecordBatch:
    count = len(payloads)
    return RecordBatch("raw", 0, list(range(count)), [0] * count, [None] * count, payloads)


def name_span(text: str) -> list[Span]:
    start = text.index(NAME)
    return [Span(start, start + len(NAME), "PERSON", 0.9, "azure")]


def message(i: int) -> str:
    return f"{NAME} wrote from u{i}@example.com"


async def test_cloud_spans_dead_letters_fallbacks_and_headers_in_one_batch(
    tmp_path: Path,
) -> None:
    # cloud-only: the workers' engine has no detectors, the fallback engine has email
    pool = RedactionPool(spec(tmp_path, (), fallback=("email",)), workers=0)
    await pool.start()
    try:
        payloads: list[bytes | None] = [orjson.dumps({"m": message(i)}) for i in range(4)]
        payloads.append(None)  # a tombstone passes through
        failure = PayloadFailure("cloud_unavailable", "no provider could analyse it")
        external = ExternalDetection(
            spans=[[name_span(message(0))], [name_span(message(1))], None, [[]], []],
            dead_letters={2: failure},
            fallback=frozenset({3}),
            headers={3: FALLBACK},
        )
        result = await pool.process(batch(payloads), external)
    finally:
        pool.close()

    clean0, clean1, dead, fallback, tombstone = result.values
    assert clean0 is not None and NAME.encode() not in clean0
    assert b"u0@example.com" in clean0  # cloud-only: no local email detector here
    assert clean1 is not None and NAME.encode() not in clean1
    assert dead is None and tombstone is None
    [(index, reason, value)] = result.dead_letters
    assert (index, reason) == (2, "cloud_unavailable")
    assert DeadLetter.from_json(value).open(KEYRING) == payloads[2]
    assert fallback is not None and b"u3@example.com" not in fallback  # local fallback
    # and the last pii.detectors header names the fallback detectors that scanned it
    assert result.headers == {3: [*FALLBACK, ("pii.detectors", b"email")]}
    assert result.entities == {"PERSON": 2, "EMAIL_ADDRESS": 1}


async def test_plain_spans_still_work_as_extra_spans(tmp_path: Path) -> None:
    pool = RedactionPool(spec(tmp_path, ("email",)), workers=0)
    await pool.start()
    try:
        payloads: list[bytes | None] = [orjson.dumps({"m": message(0)})]
        result = await pool.process(batch(payloads), [[name_span(message(0))]])
    finally:
        pool.close()
    [value] = result.values
    assert value is not None and NAME.encode() not in value and b"@example.com" not in value


def test_slicing_keeps_each_record_with_its_own_detection() -> None:
    external = ExternalDetection(
        spans=[None, [[]], [[]], None],
        dead_letters={0: PayloadFailure("a", "a"), 3: PayloadFailure("b", "b")},
        fallback=frozenset({1, 2}),
        headers={2: FALLBACK},
    )
    second = external.slice(2, 4)
    assert second.spans == [[[]], None]
    assert second.dead_letters == {1: PayloadFailure("b", "b")}
    assert second.fallback == frozenset({0})
    assert second.headers == {0: FALLBACK}


async def test_a_worker_crash_isolates_the_record_and_keeps_the_others_detection(
    tmp_path: Path,
) -> None:
    pool = RedactionPool(spec(tmp_path, ("email", CrashingDetector("KILLER"))), workers=1)
    await pool.start()
    try:
        payloads: list[bytes | None] = [orjson.dumps({"m": message(i)}) for i in range(6)]
        payloads[4] = b'{"m": "KILLER"}'
        spans: list[list[list[Span]] | None] = [[name_span(message(i))] for i in range(6)]
        spans[4] = [[]]
        failure = PayloadFailure("cloud_unavailable", "down")
        external = ExternalDetection(
            spans, dead_letters={1: failure}, fallback=frozenset({5}), headers={5: FALLBACK}
        )
        result = await pool.process(batch(payloads), external)
    finally:
        pool.close()
    reasons = sorted((i, r) for i, r, _ in result.dead_letters)
    assert reasons == [(1, "cloud_unavailable"), (4, "worker_crashed")]
    for index in (0, 2, 3, 5):
        value = result.values[index]
        assert value is not None and NAME.encode() not in value
    assert result.headers == {5: FALLBACK}
