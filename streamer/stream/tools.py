"""Small Kafka tools behind ``streamer produce`` and ``streamer tail``, also used by the
test kit: write lines to a topic, read a topic from its beginning without a group."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import threading
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from streamer.kafka_offsets import log_ends
from streamer.redaction.engine import may_hold_wide_integer
from streamer.settings import StreamerSettings
from streamer.stream.connection import client_options, unavailable
from streamer.stream.exceptions import StreamError, TopicNameError
from streamer.stream.fetched import tolerate_undecodable_header_names
from streamer.stream.headers import decode_headers

#: aiokafka's (and Kafka's) default ``max.request.size``: one record can be no larger.
_MAX_REQUEST_BYTES = 1048576


@dataclass
class ProduceReport:
    records: int = 0
    bytes: int = 0
    skipped_blank: int = 0
    #: Records sent without a key: ``key_field`` was given but missing, null or not a
    #: string or number in them (or the line was not JSON).
    without_key: int = 0
    #: Lines sent that are not JSON, and where the first of them is (``line 3 of x.json``).
    not_json: int = 0
    first_not_json: str = ""
    #: The topic was not on the cluster before the first record: a broker that creates
    #: topics on first use made it with its own defaults (partitions, retention).
    topic_was_missing: bool = False


#: The names Kafka accepts for a topic.
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def check_topic_name(topic: str, flag: str = "--topic") -> None:
    """Raise :class:`TopicNameError` for a name Kafka refuses: a client sending to one
    retries until its timeout (aiokafka logs each attempt) and then blames the topic's
    existence."""
    if not _TOPIC_NAME.fullmatch(topic) or topic in (".", ".."):
        raise TopicNameError(
            f"{flag} {topic!r}: not a valid Kafka topic name; use 1 to 249 letters, digits, "
            "'.', '_' or '-'"
        )


#: The UTF-8 byte order mark Windows editors and PowerShell put at the start of a file.
_UTF8_BOM = b"\xef\xbb\xbf"

#: How a gzip file (or stream) starts.
_GZIP_MAGIC = b"\x1f\x8b"

#: Bytes read from an input at a time.
_READ_SIZE = 1 << 16


class _InputError(Exception):
    """An input that cannot be read as lines; the message names it and the fix."""


async def _chunks(handle: BinaryIO) -> AsyncGenerator[bytes, None]:
    """The bytes of ``handle`` as they come, read by a thread: while a pipe (``tail -f ... |``,
    a terminal) waits for more, the lines read so far are sent, and a Ctrl-C is not held
    up by the wait. The thread reads the file descriptor, not the buffered file, so one
    still blocked in a read when the command ends holds no lock the exit needs."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | OSError] = asyncio.Queue(maxsize=4)
    done = threading.Event()  # no more reads: the caller stopped (an error, a Ctrl-C)
    try:
        fileno: int | None = handle.fileno()
    except (AttributeError, OSError):  # io.BytesIO
        fileno = None

    def read() -> None:
        while not done.is_set():
            chunk: bytes | OSError
            try:
                chunk = (
                    os.read(fileno, _READ_SIZE) if fileno is not None else handle.read(_READ_SIZE)
                )
            except OSError as exc:
                chunk = exc
            try:
                asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
            except Exception:  # the loop closed or dropped the put: the command has ended
                return
            if not chunk or isinstance(chunk, OSError):
                return

    threading.Thread(target=read, name="produce-input", daemon=True).start()
    try:
        while chunk := await queue.get():
            if isinstance(chunk, OSError):
                raise _InputError(f"cannot read {_name(handle)} ({chunk.strerror or chunk})")
            yield chunk
    finally:
        done.set()


class _Gunzip:
    """Decompresses gzip data fed in pieces, of one member or several (``cat a.gz b.gz``)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._member = zlib.decompressobj(wbits=31)
        self._started = False

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        try:
            while data:
                out.append(self._member.decompress(data))
                self._started = True
                if not self._member.eof:
                    break
                data = self._member.unused_data
                self._member, self._started = zlib.decompressobj(wbits=31), False
        except zlib.error:
            raise _InputError(
                f"{self._name} starts as gzip but is not valid gzip data; check the file "
                "with gzip -t"
            ) from None
        return b"".join(out)

    def finish(self) -> None:
        if self._started:
            raise _InputError(
                f"{self._name} ends in the middle of its gzip data (cut short?); check the "
                "file with gzip -t"
            )


async def _content(
    handle: BinaryIO, on_read: Callable[[int], None] | None
) -> AsyncGenerator[bytes, None]:
    """The bytes of ``handle``, decompressed if it is gzip; ``on_read`` is called with the
    size of each piece read (as stored)."""
    async with contextlib.aclosing(_chunks(handle)) as chunks:
        head = b""  # enough of the start to tell gzip
        async for chunk in chunks:
            if on_read is not None:
                on_read(len(chunk))
            head += chunk
            if len(head) >= len(_GZIP_MAGIC):
                break
        gunzip = _Gunzip(_name(handle)) if head.startswith(_GZIP_MAGIC) else None
        yield gunzip.feed(head) if gunzip is not None else head
        async for chunk in chunks:
            if on_read is not None:
                on_read(len(chunk))
            yield gunzip.feed(chunk) if gunzip is not None else chunk
    if gunzip is not None:
        gunzip.finish()


async def _lines(
    handle: BinaryIO, on_read: Callable[[int], None] | None = None
) -> AsyncGenerator[bytes, None]:
    """The lines of ``handle`` (gzip decompressed) without their line ends (LF or CRLF) or
    a UTF-8 byte order mark at the start of the first; the last need not end in one."""
    parts: list[bytes] = []  # of a line not ended yet
    first = True
    async with contextlib.aclosing(_content(handle, on_read)) as content:
        async for data in content:
            *ended, rest = data.split(b"\n")
            for line in ended:
                if parts:
                    line, parts = b"".join([*parts, line]), []
                if first:  # the byte order mark is not part of the first event
                    line, first = line.removeprefix(_UTF8_BOM), False
                yield line.rstrip(b"\r")
            if rest:
                parts.append(rest)
    if parts:
        line = b"".join(parts)
        yield (line.removeprefix(_UTF8_BOM) if first else line).rstrip(b"\r")


async def _numbered_lines(
    sources: Iterable[BinaryIO], on_read: Callable[[int], None] | None
) -> AsyncGenerator[tuple[BinaryIO, int, bytes], None]:
    """Each line of ``sources`` in turn, with its source and its number in it."""
    for handle in sources:
        async with contextlib.aclosing(_lines(handle, on_read)) as lines:
            number = 0
            async for line in lines:
                number += 1
                yield handle, number, line


def _name(handle: BinaryIO) -> str:
    name = getattr(handle, "name", None)
    return "standard input" if name in (None, 0, "<stdin>") else str(name)


async def _started_producer(settings: StreamerSettings, **options: Any) -> AIOKafkaProducer:
    """A started producer; closed, not left open, when it cannot connect or is cancelled
    (Ctrl-C) while it connects."""
    producer = AIOKafkaProducer(**client_options(settings), **options)
    try:
        await producer.start()
    except KafkaError as exc:
        await producer.stop()
        raise unavailable(settings, exc) from None
    except BaseException:
        await producer.stop()
        raise
    return producer


async def produce_lines(
    settings: StreamerSettings,
    topic: str,
    sources: Iterable[BinaryIO],
    *,
    key_field: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_missing_topic: Callable[[], None] | None = None,
    report: ProduceReport | None = None,
) -> ProduceReport:
    """Send each non-blank line of ``sources`` (gzip ones decompressed) as one record value
    to ``topic``, as is (invalid JSON included: the pipeline dead-letters it), each as
    soon as it is read. ``key_field`` names a JSON field (dotted path) whose value (a
    string, or a number as written) becomes the record key. ``on_progress`` is called with
    the size of each piece of input read; ``on_missing_topic`` before the first record
    when ``topic`` does not exist yet. The counts go into ``report`` when one is given, so
    that a caller sees them after a cancellation (Ctrl-C) too: the records read before it
    are sent, and counted once acknowledged."""
    check_topic_name(topic)
    producer = await _started_producer(
        settings, linger_ms=20, acks="all", max_request_size=_MAX_REQUEST_BYTES
    )
    report = report if report is not None else ProduceReport()
    try:
        cluster = await producer.client.fetch_all_metadata()
    except KafkaError as exc:
        await producer.stop()
        raise unavailable(settings, exc) from None
    report.topic_was_missing = topic not in cluster.topics()
    if report.topic_was_missing and on_missing_topic is not None:
        on_missing_topic()
    pending: list[asyncio.Future[Any]] = []
    try:
        async with contextlib.aclosing(_numbered_lines(sources, on_progress)) as lines:
            async for handle, number, line in lines:
                if not line.strip():
                    report.skipped_blank += 1
                    continue
                try:
                    event: Any = orjson.loads(line)
                except orjson.JSONDecodeError:
                    event = _NOT_JSON
                    report.not_json += 1
                    report.first_not_json = report.first_not_json or (
                        f"line {number} of {_name(handle)}"
                    )
                key = _key(event, key_field) if key_field else None
                if key_field and key is None:
                    report.without_key += 1
                try:
                    pending.append(await producer.send(topic, line, key=key))
                except MessageSizeTooLargeError:
                    await _settle(pending)
                    raise StreamError(
                        f"line {number} of {_name(handle)} is "
                        f"{len(line):,} bytes, more than one Kafka request carries "
                        f"({_MAX_REQUEST_BYTES:,} bytes); split that event or leave it out "
                        f"({report.records:,} record(s) before it were produced)"
                    ) from None
                report.records += 1
                report.bytes += len(line) + 1
                if len(pending) >= 5000:
                    await _settle(pending)
        await _settle(pending)
    except _InputError as exc:
        await _settle(pending)
        raise StreamError(f"{exc} ({report.records:,} record(s) before it were produced)") from None
    except KafkaError as exc:
        raise StreamError(
            f"producing to {topic!r} failed ({type(exc).__name__}); check the topic exists and "
            "this client may write to it"
        ) from None
    except asyncio.CancelledError:
        await producer.stop()  # sends what was read before
        report.records -= sum(
            not sent.done() or sent.cancelled() or sent.exception() is not None for sent in pending
        )
        raise
    finally:
        await producer.stop()
    return report


async def produce_values(
    settings: StreamerSettings,
    topic: str,
    values: Sequence[bytes | None],
    *,
    keys: Sequence[bytes | None] | None = None,
    headers: Sequence[list[tuple[str, bytes]]] | None = None,
    partition: int | None = None,
) -> list[Any]:
    """Produce ``values`` (with ``keys`` and ``headers`` per value); their metadata, in
    order (see :func:`end_offsets`)."""
    producer = await _started_producer(settings, linger_ms=5, acks="all")
    try:
        futures = [
            await producer.send(
                topic,
                value,
                key=keys[index] if keys is not None else None,
                headers=headers[index] if headers is not None else None,
                partition=partition,
            )
            for index, value in enumerate(values)
        ]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


def end_offsets(metadata: Iterable[Any]) -> dict[TopicPartition, int]:
    """Per partition, one past the highest offset in produce ``metadata``."""
    ends: dict[TopicPartition, int] = {}
    for item in metadata:
        tp = item.topic_partition
        ends[tp] = max(ends.get(tp, 0), item.offset + 1)
    return ends


async def _settle(pending: list[asyncio.Future[Any]]) -> None:
    await asyncio.gather(*pending)
    pending.clear()


#: What :func:`produce_lines` makes of a line that is not JSON.
_NOT_JSON = object()


def _key(event: Any, key_field: str) -> bytes | None:
    value = event
    for name in key_field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    if isinstance(value, str):
        return value.encode() if value else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return orjson.dumps(value)  # 42 -> b"42", as a Java or kcat producer would send it
    return None


async def existing_topics(consumer: AIOKafkaConsumer) -> set[str]:
    """Topic names the cluster has (without creating any, unlike a metadata request for
    one missing topic on brokers that auto-create)."""
    return set(await consumer.topics())


async def read_topic(
    settings: StreamerSettings,
    topic: str,
    *,
    from_beginning: bool = True,
    follow: bool = False,
    idle_timeout: float = 2.0,
    limit: int | None = None,
    last: int | None = None,
) -> AsyncIterator[Any]:
    """Records of every partition of ``topic``, without joining a group or committing:
    from the beginning, from the end, or from the ``last`` records of each partition.

    Without ``follow`` it stops after ``idle_timeout`` seconds without a new record (end
    offsets are not trusted: some brokers under-report them), or after ``limit`` records.
    """
    check_topic_name(topic)
    tolerate_undecodable_header_names()  # such a record is shown, not fatal
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None, enable_auto_commit=False)
    try:
        await consumer.start()
    except KafkaError as exc:
        await consumer.stop()
        raise unavailable(settings, exc) from None
    except BaseException:  # a Ctrl-C while it connects: closed, not left open
        await consumer.stop()
        raise
    try:
        if topic not in await existing_topics(consumer):
            raise StreamError(f"topic {topic!r} does not exist; check the name (streamer topics)")
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        if from_beginning and last is None:
            await consumer.seek_to_beginning(*tps)
        else:  # not seek_to_end: ListOffsets under-reports ends on some brokers
            starts = await log_ends(consumer, tps)
            if last is not None:
                firsts = await consumer.beginning_offsets(tps)
                starts = {tp: max(firsts[tp], end - last) for tp, end in starts.items()}
            for tp, start in starts.items():
                consumer.seek(tp, start)
        count = 0
        loop = asyncio.get_running_loop()
        last_record = loop.time()
        while True:
            fetched = await consumer.getmany(timeout_ms=200, max_records=5000)
            if fetched:
                last_record = loop.time()
            for records in fetched.values():
                for record in records:
                    yield record
                    count += 1
                    if limit is not None and count >= limit:
                        return
            if not follow and not fetched and loop.time() - last_record >= idle_timeout:
                return
    finally:
        await consumer.stop()


def describe_record(record: Any) -> dict[str, Any]:
    """A record as plain data for printing: value as JSON when it is JSON (and shallow
    enough to print: orjson writes at most 254 levels; holding no integer over 64 bits,
    which orjson reads as a float: ``12345678901234567890123`` would print as
    ``1.2345678901234568e+22``), else text."""
    value: Any = None
    if record.value is not None:
        try:
            value = orjson.loads(record.value)
            orjson.dumps(value)
            if may_hold_wide_integer(record.value) and _has_wide_float(value):
                raise orjson.JSONDecodeError("an integer over 64 bits", "", 0)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            try:
                value = record.value.decode("utf-8")
            except UnicodeDecodeError:
                value = {"base64": base64.b64encode(record.value).decode()}
    key = None
    if record.key is not None:
        try:
            key = record.key.decode("utf-8")
        except UnicodeDecodeError:
            key = {"base64": base64.b64encode(record.key).decode()}
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": key,
        "headers": decode_headers(record.headers),
        "value": value,
    }


def _has_wide_float(value: Any) -> bool:
    """Whether ``value``, a JSON document as orjson read it, holds a whole float beyond
    64-bit integers: what orjson makes of a longer integer."""
    if isinstance(value, float):
        return value.is_integer() and abs(value) >= 2**63
    if isinstance(value, dict):
        return any(_has_wide_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_wide_float(item) for item in value)
    return False


async def read_all(
    settings: StreamerSettings,
    topic: str,
    *,
    expected: int | None = None,
    timeout: float = 30.0,
    idle_timeout: float = 1.5,
) -> list[Any]:
    """Every record of ``topic``: until ``expected`` records arrived (or ``timeout``), or,
    without ``expected``, until none arrived for ``idle_timeout`` seconds."""
    records: list[Any] = []

    async def collect() -> None:
        async for record in read_topic(
            settings,
            topic,
            follow=expected is not None,
            idle_timeout=idle_timeout,
            limit=expected,
        ):
            records.append(record)

    if expected == 0:
        return records
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(collect(), timeout)
    return records
