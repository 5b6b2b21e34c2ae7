"""Fetched record batches whose header names are not all UTF-8.

Kafka header names are strings, but a producer can write any bytes, and aiokafka decodes
them as UTF-8 while it reads a fetched batch: one such record raised out of ``getmany``
on every fetch, so it stopped ``streamer run`` and blocked its partition for good. With
:func:`tolerate_undecodable_header_names` the consumer reads a batch as before, and only
when a header name does not decode reads that batch again here, the name's bytes kept as
surrogate escapes (``b"\\xff"`` is ``"\\udcff"``). Such a record is dead-lettered
(:func:`has_undecodable_header_name`, :data:`UNDECODABLE_HEADER_NAME`); the records
after it in the batch go on as usual.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiokafka.consumer.fetcher as fetcher
from aiokafka.codec import gzip_decode, lz4_decode, snappy_decode, zstd_decode
from aiokafka.errors import CorruptRecordException
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.record.util import decode_varint

from streamer.redaction.result import PayloadFailure

#: The dead-letter failure of a record with a header name that is not UTF-8.
UNDECODABLE_HEADER_NAME = PayloadFailure(
    "invalid_header",
    "a header name of the record is not valid UTF-8 (Kafka header names are strings); "
    "fix the producer that wrote it. The record is not redacted",
)

# A v2 record batch: base offset, length, leader epoch, magic, CRC, attributes, last
# offset delta, first and max timestamps, producer id and epoch, base sequence, count.
_BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")
_LENGTH = struct.Struct(">i")
_LOG_OVERHEAD = 12  # base offset and length, before the length's bytes
_CODECS: dict[int, Callable[[bytes], bytes]] = {
    1: gzip_decode,
    2: snappy_decode,
    3: lz4_decode,
    4: zstd_decode,
}


def tolerate_undecodable_header_names() -> None:
    """Make aiokafka consumers in this process read a batch with a header name that is
    not UTF-8 instead of failing on it (idempotent)."""
    if fetcher.MemoryRecords is not MemoryRecords:
        return
    fetcher.MemoryRecords = HeaderTolerantRecords


def has_undecodable_header_name(headers: Sequence[tuple[str, Any]]) -> bool:
    """Whether one of these header names was not UTF-8 on the wire."""
    for name, _ in headers:
        if not name.isascii():
            try:
                name.encode()
            except UnicodeEncodeError:
                return True
    return False


class HeaderTolerantRecords:
    """aiokafka's ``MemoryRecords`` (compiled, fast) over a fetched buffer, each v2 batch
    handed out as a :class:`_HeaderTolerantBatch` that can be read again."""

    __slots__ = ("_data", "_position", "_records")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._records = MemoryRecords(data)
        self._position = 0

    def size_in_bytes(self) -> int:
        return self._records.size_in_bytes()

    def has_next(self) -> bool:
        return self._records.has_next()

    def next_batch(self) -> Any:
        batch = self._records.next_batch()
        if batch is None:
            return None
        start = self._position
        (length,) = _LENGTH.unpack_from(self._data, start + 8)
        self._position = end = start + _LOG_OVERHEAD + length
        if batch.magic < 2:  # the message formats before headers existed
            return batch
        return _HeaderTolerantBatch(batch, memoryview(self._data)[start:end])


class _HeaderTolerantBatch:
    """One v2 batch: aiokafka's reading, and this module's from the first record it could
    not decode."""

    __slots__ = ("_batch", "_data")

    def __init__(self, batch: Any, data: memoryview) -> None:
        self._batch = batch
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def __iter__(self) -> Iterator[Any]:
        read = -1
        try:
            for record in self._batch:
                read = record.offset
                yield record
        except UnicodeDecodeError:
            for record in _read_batch(self._data):
                if record.offset > read:
                    yield record


@dataclass(frozen=True, slots=True)
class _Record:
    """A record as aiokafka's fetcher takes it from a batch."""

    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    checksum: None = None


def _read_batch(data: memoryview) -> Iterator[_Record]:
    """The records of a v2 batch, header names decoded with surrogate escapes."""
    (base_offset, _, _, _, _, attributes, _, first_timestamp, max_timestamp, _, _, _,
     count) = _BATCH_HEADER.unpack_from(data)  # fmt: skip
    body: bytes = bytes(data[_BATCH_HEADER.size :])
    codec = attributes & 0x07
    if codec:
        body = _CODECS[codec](body)
    log_append_time = bool(attributes & 0x08)
    try:
        position = 0
        for _ in range(count):
            length, position = decode_varint(body, position)
            end = position + length
            _, position = decode_varint(body, position)  # record attributes: unused
            timestamp_delta, position = decode_varint(body, position)
            offset_delta, position = decode_varint(body, position)
            key, position = _bytes(body, position)
            value, position = _bytes(body, position)
            header_count, position = decode_varint(body, position)
            headers: list[tuple[str, bytes | None]] = []
            for _ in range(header_count):
                name, position = _bytes(body, position)
                header, position = _bytes(body, position)
                headers.append(((name or b"").decode("utf-8", "surrogateescape"), header))
            if position != end:
                raise CorruptRecordException(f"record at offset delta {offset_delta}: bad size")
            yield _Record(
                base_offset + offset_delta,
                max_timestamp if log_append_time else first_timestamp + timestamp_delta,
                int(log_append_time),
                key,
                value,
                headers,
            )
    except (ValueError, IndexError) as exc:
        raise CorruptRecordException(f"invalid record structure: {exc!r}") from exc


def _bytes(body: bytes, position: int) -> tuple[bytes | None, int]:
    length, position = decode_varint(body, position)
    if length < 0:
        return None, position
    return body[position : position + length], position + length


__all__ = [
    "HeaderTolerantRecords",
    "UNDECODABLE_HEADER_NAME",
    "has_undecodable_header_name",
    "tolerate_undecodable_header_names",
]
