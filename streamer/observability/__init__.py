"""Seeing what pii-streamer does, without seeing the data: Prometheus metrics, health and
readiness endpoints, and structured logs that never carry personal data.

- ``metrics``: the catalogue of metric names, types and labels;
- ``health``: the HTTP endpoint with ``/metrics``, ``/healthz`` and ``/readyz``;
- ``logging``: JSON or text logs through a filter that redacts personal data;
- ``scrape``: reading a running processor's ``/metrics`` (``streamer status``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streamer.observability.logging import RedactingFilter, configure_logging
from streamer.observability.metrics import STREAM_METRICS, MetricSpec

if TYPE_CHECKING:
    from streamer.observability.health import HealthServer


def __getattr__(name: str) -> Any:
    if name == "HealthServer":
        from streamer.observability.health import HealthServer

        return HealthServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["STREAM_METRICS", "HealthServer", "MetricSpec", "RedactingFilter", "configure_logging"]
