"""Futures that nobody may await: their errors are marked as seen."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)


def mark_retrieved(future: asyncio.Future[Any]) -> None:
    """Mark ``future``'s error as seen (a done callback), so asyncio does not log it as
    "Future exception was never retrieved" when its awaiter is gone."""
    if not future.cancelled():
        future.exception()


def log_unawaited_kafka_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log a Kafka error that no one awaited as one warning line instead of asyncio's
    "Task exception was never retrieved" traceback (unless ``loop`` has its own handler).

    aiokafka commits under ``asyncio.shield``: when a bounded commit gives up while the
    broker is away, the request goes on alone and its error reaches nobody."""
    if loop.get_exception_handler() is None:
        loop.set_exception_handler(_unawaited_kafka_error)


def _unawaited_kafka_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    error = context.get("exception")
    if isinstance(error, KafkaError) and "never retrieved" in context.get("message", ""):
        log.warning(
            "a Kafka request nobody waited for any more failed",
            extra={"error": type(error).__name__},
        )
        return
    loop.default_exception_handler(context)
