"""Prometheus metrics of the cloud detectors, per provider.

Labels only ever hold provider names, error kinds, units and outcomes: never a value
from an event. Billed units follow each service's pricing unit, so a topic's cost can be
read off before a real provider is turned on (run it against the emulator):

- Azure AI Language bills *text records*: each document, per started 1,000 characters;
- AWS Comprehend bills *units* of 100 characters per request, at least 3 per request.

=============================================  ========  ===============================
metric                                         type      labels
=============================================  ========  ===============================
``streamer_cloud_requests_total``              counter   provider
``streamer_cloud_errors_total``                counter   provider, kind
``streamer_cloud_retries_total``               counter   provider, kind
``streamer_cloud_breaker_state``               gauge     provider (0 closed, 1 half-open,
                                                         2 open)
``streamer_cloud_in_flight_requests``          gauge     provider
``streamer_cloud_request_duration_seconds``    histogram provider
``streamer_cloud_throttle_wait_seconds_total`` counter   provider
``streamer_cloud_documents_total``             counter   provider
``streamer_cloud_characters_total``            counter   provider
``streamer_cloud_billed_units_total``          counter   provider, unit
``streamer_cloud_texts_total``                 counter   outcome (cloud, cached, fallback,
                                                         dead_letter, blocked)
=============================================  ========  ===============================
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from streamer.cloud.guard import BreakerState

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CloudMetrics:
    """The metric families, registered once per registry."""

    _by_registry: weakref.WeakKeyDictionary[CollectorRegistry, CloudMetrics] = (
        weakref.WeakKeyDictionary()
    )
    _lock = threading.Lock()

    def __init__(self, registry: CollectorRegistry) -> None:
        def family(kind: type, name: str, doc: str, labels: tuple[str, ...], **kw: object):
            return kind(name, doc, labels, registry=registry, **kw)

        self.requests = family(
            Counter, "streamer_cloud_requests", "Requests sent to a provider.", ("provider",)
        )
        self.errors = family(
            Counter,
            "streamer_cloud_errors",
            "Failed requests by kind.",
            ("provider", "kind"),
        )
        self.retries = family(
            Counter,
            "streamer_cloud_retries",
            "Retries, by the kind of error retried.",
            ("provider", "kind"),
        )
        self.breaker = family(
            Gauge,
            "streamer_cloud_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open.",
            ("provider",),
        )
        self.in_flight = family(
            Gauge, "streamer_cloud_in_flight_requests", "Requests in flight.", ("provider",)
        )
        self.latency = family(
            Histogram,
            "streamer_cloud_request_duration_seconds",
            "Time per request attempt.",
            ("provider",),
            buckets=_LATENCY_BUCKETS,
        )
        self.throttle_wait = family(
            Counter,
            "streamer_cloud_throttle_wait_seconds",
            "Time requests waited for rate limits and Retry-After pauses.",
            ("provider",),
        )
        self.documents = family(
            Counter, "streamer_cloud_documents", "Documents sent (after packing).", ("provider",)
        )
        self.characters = family(
            Counter, "streamer_cloud_characters", "Characters sent.", ("provider",)
        )
        self.billed_units = family(
            Counter,
            "streamer_cloud_billed_units",
            "Billed units: Azure text records (1,000 characters per document), AWS units "
            "(100 characters per request, at least 3).",
            ("provider", "unit"),
        )
        self.texts = family(
            Counter,
            "streamer_cloud_texts",
            "Texts by how cloud detection ended for them.",
            ("outcome",),
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry | None = None) -> CloudMetrics:
        """The metrics registered in ``registry`` (the default one when ``None``)."""
        registry = registry if registry is not None else REGISTRY
        with cls._lock:
            metrics = cls._by_registry.get(registry)
            if metrics is None:
                metrics = cls._by_registry[registry] = cls(registry)
            return metrics

    def provider(self, name: str, unit: str) -> ProviderMetrics:
        return ProviderMetrics(self, name, unit)


class ProviderMetrics:
    """The metrics of one provider, labels bound."""

    def __init__(self, metrics: CloudMetrics, provider: str, unit: str) -> None:
        self._requests = metrics.requests.labels(provider)
        self._errors = metrics.errors
        self._retries = metrics.retries
        self._breaker = metrics.breaker.labels(provider)
        self._in_flight = metrics.in_flight.labels(provider)
        self._latency = metrics.latency.labels(provider)
        self._throttle_wait = metrics.throttle_wait.labels(provider)
        self._documents = metrics.documents.labels(provider)
        self._characters = metrics.characters.labels(provider)
        self._billed = metrics.billed_units.labels(provider, unit)
        self.provider = provider

    def request(self) -> None:
        self._requests.inc()

    def error(self, kind: str) -> None:
        self._errors.labels(self.provider, kind).inc()

    def retry(self, kind: str) -> None:
        self._retries.labels(self.provider, kind).inc()

    def breaker_state(self, state: BreakerState) -> None:
        self._breaker.set(state.value)

    def in_flight(self, count: int) -> None:
        self._in_flight.set(count)

    def latency(self, seconds: float) -> None:
        self._latency.observe(seconds)

    def throttle_wait(self, seconds: float) -> None:
        self._throttle_wait.inc(seconds)

    def sent(self, documents: int, characters: int, billed_units: float) -> None:
        self._documents.inc(documents)
        self._characters.inc(characters)
        self._billed.inc(billed_units)
