"""How the user tools read records, without a broker."""

from __future__ import annotations

import asyncio
import gc
import io
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from streamer.settings import StreamerSettings
from streamer.stream.tools import describe_record, produce_lines, produce_values


def _record(value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="t",
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=-1,
        serialized_value_size=len(value),
        headers=(),
    )


@pytest.mark.parametrize("number", ["-9223372036854775809", "12345678901234567890123"])
def test_an_integer_beyond_64_bits_is_shown_as_written(number: str) -> None:
    # orjson reads it as a float; the record is shown as its text instead.
    value = f'{{"id": {number}}}'
    assert describe_record(_record(value.encode()))["value"] == value


def test_integers_within_64_bits_are_shown_as_json() -> None:
    value = b'{"id": -9223372036854775808, "max": 18446744073709551615}'
    assert describe_record(_record(value))["value"] == {
        "id": -9223372036854775808,
        "max": 18446744073709551615,
    }


@pytest.mark.parametrize("tool", ["produce", "produce_values"])
async def test_a_producer_cancelled_while_it_connects_is_closed(tool: str, tmp_path: Path) -> None:
    # A broker that accepts the connection and never answers: the producer is still
    # connecting when Ctrl-C (a cancellation) comes. It was left open ("Unclosed
    # AIOKafkaProducer" at exit). No Kafka broker is needed to show it, so none is used.
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = StreamerSettings(bootstrap_servers=f"127.0.0.1:{port}", data_dir=tmp_path)
    unclosed: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unclosed.append(context["message"]))
    if tool == "produce":
        work: Any = produce_lines(settings, "t", [io.BytesIO(b'{"a": 1}\n')])
    else:
        work = produce_values(settings, "t", [b"{}"])
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(work, 0.5)
        gc.collect()
    finally:
        loop.set_exception_handler(None)
        server.close()
        for writer in connections:
            writer.close()
        await asyncio.sleep(0)
    assert not [message for message in unclosed if "Unclosed AIOKafkaProducer" in message]
