"""Where a partition's log ends, read exactly: shared by the stream and the vault (which
may not import the stream package).

``ListOffsets`` may under-report a partition's end: the embedded broker answers with the
start of the last record batch (831 for a partition holding 1,283 records). The high
watermark of a fetch response does not, so :func:`log_ends` takes the larger of the two.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

#: Seconds to wait for the first fetch response that tells a partition's end.
END_PROBE_SECONDS = 15.0


async def log_ends(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """Per partition, one past its last offset now: the larger of what ``ListOffsets``
    says and the high watermark of a fetch response. Leaves ``consumer`` assigned to
    ``tps``."""
    listed = await consumer.end_offsets(tps)
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, listed[tp])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + END_PROBE_SECONDS
    while any(consumer.highwater(tp) is None for tp in tps) and loop.time() < deadline:
        await consumer.getmany(timeout_ms=200, max_records=1)
    return {tp: max(listed[tp], consumer.highwater(tp) or 0) for tp in tps}
