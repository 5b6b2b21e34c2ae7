"""Printing benchmark results in the one format ``make bench`` readers grep for."""

from __future__ import annotations

import resource


def result(name: str, per_s: float, **extra: float | int | str) -> None:
    """``RESULT name=<name> per_s=<n> [key=value ...]``."""
    fields = " ".join(f"{k}={_fmt(v)}" for k, v in extra.items())
    print(f"RESULT name={name} per_s={per_s:.1f}" + (f" {fields}" if fields else ""), flush=True)


def ratio(name: str, value: float) -> None:
    """``RATIO <name>=<value>``."""
    print(f"RATIO {name}={value:.2f}", flush=True)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fmt(value: float | int | str) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
