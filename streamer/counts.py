"""Counts in messages and log lines: ``counted(1, "record")`` is ``1 record``,
``counted(1200, "record")`` is ``1,200 records``."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, made plural (``plural``, or ``noun`` + s) unless the count
    is one."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


__all__ = ["counted"]
