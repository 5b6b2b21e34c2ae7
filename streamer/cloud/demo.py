"""``streamer demo --cloud emulated``: both emulated services for the demo's pipeline.

:func:`emulated_cloud` starts the Azure and AWS emulators in this process (they detect
with the local pattern detectors, which are quick enough to share the event loop) and
gives a ``cloud:`` section that asks both at once (``failover: concurrent``) through the
official SDKs, with emulated credentials. :func:`cost_summary` reads what the run would
have cost from the metrics.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from streamer.cloud.config import CloudConfig
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.settings import StreamerSettings

#: Each provider's billing unit, as the metrics label it.
BILLING_UNITS = {"azure": "text_record", "aws": "unit_100_chars"}


@dataclass(frozen=True, slots=True)
class ProviderSummary:
    provider: str
    requests: int
    documents: int
    characters: int
    billed_units: float
    unit: str


@dataclass(frozen=True, slots=True)
class EmulatedCloud:
    """The running emulators' ``cloud:`` section and the providers' constructor options."""

    config: CloudConfig
    provider_options: dict[str, dict[str, Any]]
    urls: dict[str, str]


@contextlib.asynccontextmanager
async def emulated_cloud(settings: StreamerSettings) -> AsyncIterator[EmulatedCloud]:
    """Both emulators serving for the block, and the section that points at them."""
    import aioboto3
    from azure.core.credentials import AzureKeyCredential

    from streamer.cloud.emulators import AzureLanguageEmulator, ComprehendEmulator, build_engine

    engine = build_engine(list(PATTERN_DETECTOR_NAMES), settings=settings)
    azure, aws = AzureLanguageEmulator(engine=engine), ComprehendEmulator(engine=engine)
    async with azure.running(), aws.running():
        config = CloudConfig.load(
            {
                "providers": [
                    {"provider": "azure", "endpoint": azure.url},
                    {"provider": "aws", "endpoint_url": aws.url},
                ],
                "failover": "concurrent",
            }
        )
        session = aioboto3.Session(
            aws_access_key_id="emulated", aws_secret_access_key="emulated", region_name="us-east-1"
        )
        yield EmulatedCloud(
            config,
            {"azure": {"credential": AzureKeyCredential("emulated")}, "aws": {"session": session}},
            {"azure": azure.url, "aws": aws.url},
        )


def cost_summary(registry: CollectorRegistry, config: CloudConfig) -> list[ProviderSummary]:
    """Requests, documents, characters and billed units per provider of ``config``."""
    summaries = []
    for item in config.providers:
        provider, unit = item.label, BILLING_UNITS.get(item.provider, "")

        def sample(name: str, provider: str = provider, **labels: str) -> float:
            return registry.get_sample_value(name, {"provider": provider, **labels}) or 0.0

        summaries.append(
            ProviderSummary(
                provider,
                int(sample("streamer_cloud_requests_total")),
                int(sample("streamer_cloud_documents_total")),
                int(sample("streamer_cloud_characters_total")),
                sample("streamer_cloud_billed_units_total", unit=unit),
                unit,
            )
        )
    return summaries
