"""Seeing what pii-streamer does, without seeing the data: Prometheus metrics, health and
readiness endpoints, and structured logs that never carry personal data."""

from streamer.observability.health import HealthServer
from streamer.observability.logging import RedactingFilter, configure_logging
from streamer.observability.metrics import StreamMetrics

__all__ = ["HealthServer", "RedactingFilter", "StreamMetrics", "configure_logging"]
