"""Errors of futures nobody awaits any more."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest
from aiokafka.errors import RequestTimedOutError

from streamer.stream.futures import log_unawaited_kafka_errors


async def _orphan_failing_with(error: Exception) -> None:
    """What a bounded aiokafka commit leaves while the broker is away: the shielded
    request goes on after the caller gave up, and fails with nobody awaiting it."""

    async def request() -> None:
        await asyncio.sleep(0.01)
        raise error

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(request()), 0.001)
    await asyncio.sleep(0.05)
    gc.collect()  # asyncio reports an unretrieved error when the task is collected


async def test_a_kafka_error_nobody_awaits_is_one_warning_line_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log_unawaited_kafka_errors(asyncio.get_running_loop())
    with caplog.at_level(logging.WARNING):
        await _orphan_failing_with(RequestTimedOutError())
    [record] = caplog.records
    assert record.name == "streamer.stream.futures" and record.levelno == logging.WARNING
    assert record.exc_info is None and record.error == "RequestTimedOutError"


async def test_other_errors_nobody_awaits_are_still_reported_with_their_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log_unawaited_kafka_errors(asyncio.get_running_loop())
    with caplog.at_level(logging.WARNING):
        await _orphan_failing_with(ValueError("a bug"))
    [record] = caplog.records
    assert record.name == "asyncio" and "never retrieved" in record.getMessage()
    assert record.exc_info is not None
