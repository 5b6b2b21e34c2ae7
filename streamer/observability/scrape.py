"""Reading a running processor's endpoint as Prometheus would: ``/metrics`` parsed into
samples, and ``/readyz``'s answer. ``streamer status --metrics-url`` and the tests use it.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]


@dataclass(frozen=True)
class Scrape:
    """The samples of one ``/metrics`` answer, by sample name (``..._total``,
    ``..._bucket``, ...)."""

    samples: dict[str, list[tuple[Labels, float]]] = field(default_factory=dict)
    text: str = ""

    def series(self, name: str, **labels: str) -> Iterator[tuple[Labels, float]]:
        """Samples of ``name`` whose labels include ``labels``."""
        for sample_labels, value in self.samples.get(name, ()):
            if all(sample_labels.get(key) == wanted for key, wanted in labels.items()):
                yield sample_labels, value

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
        return sum(value for _, value in self.series(name, **labels))

    def has(self, name: str) -> bool:
        return name in self.samples

    def by(self, name: str, label: str) -> dict[str, float]:
        """Samples of ``name`` summed per value of ``label``."""
        sums: dict[str, float] = {}
        for labels, value in self.series(name):
            key = labels.get(label, "")
            sums[key] = sums.get(key, 0.0) + value
        return sums


def parse_metrics(text: str) -> Scrape:
    """Parse the Prometheus text format."""
    samples: dict[str, list[tuple[Labels, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return Scrape(samples, text)


def endpoint_url(url: str, path: str) -> str:
    """``path`` on the server of ``url`` (``http://host:9400`` or ``.../metrics``)."""
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:  # 503 from /readyz is an answer, not a failure
        return error.code, error.read()


async def scrape_metrics(url: str, timeout: float = 5.0) -> Scrape:
    """``GET /metrics`` of the processor at ``url``; raises ``OSError`` when unreachable."""
    status, body = await asyncio.to_thread(_get, endpoint_url(url, "/metrics"), timeout)
    if status != 200:
        raise OSError(f"{endpoint_url(url, '/metrics')} answered HTTP {status}")
    return parse_metrics(body.decode("utf-8", "replace"))


async def readiness(url: str, timeout: float = 5.0) -> tuple[bool, list[str]]:
    """``GET /readyz``: whether ready, and the names of the failing checks."""
    status, body = await asyncio.to_thread(_get, endpoint_url(url, "/readyz"), timeout)
    try:
        failing = list(json.loads(body).get("failing", []))
    except (ValueError, AttributeError):
        failing = []
    return status == 200, [str(name) for name in failing]


__all__ = ["Scrape", "endpoint_url", "parse_metrics", "readiness", "scrape_metrics"]
