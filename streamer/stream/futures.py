"""Futures that nobody may await: their errors are marked as seen."""

from __future__ import annotations

import asyncio
from typing import Any


def mark_retrieved(future: asyncio.Future[Any]) -> None:
    """Mark ``future``'s error as seen (a done callback), so asyncio does not log it as
    "Future exception was never retrieved" when its awaiter is gone."""
    if not future.cancelled():
        future.exception()
