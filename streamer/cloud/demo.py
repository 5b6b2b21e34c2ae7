"""``streamer demo --cloud emulated``: the demo's events through both emulated services.

Starts the Azure and AWS emulators in process, asks both at once (``failover:
concurrent``) through the official SDKs, and returns the cloud spans for the engine to
merge, with a per-provider summary of what the run would have cost.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from streamer.cloud.config import CloudConfig
from streamer.cloud.detection import CloudDetection
from streamer.redaction.engine import RedactionEngine
from streamer.redaction.spans import Span
from streamer.settings import StreamerSettings


@dataclass(frozen=True, slots=True)
class ProviderSummary:
    provider: str
    requests: int
    documents: int
    characters: int
    billed_units: float
    unit: str
    spans: int


async def _detect(
    engine: RedactionEngine, payloads: Sequence[bytes], settings: StreamerSettings
) -> tuple[list[list[list[Span]] | None], list[ProviderSummary]]:
    import aioboto3
    from azure.core.credentials import AzureKeyCredential

    from streamer.cloud.emulators import AzureLanguageEmulator, ComprehendEmulator, build_engine

    local = build_engine(settings=settings)
    azure, aws = AzureLanguageEmulator(engine=local), ComprehendEmulator(engine=local)
    registry = CollectorRegistry()
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
        options: dict[str, dict[str, Any]] = {
            "azure": {"credential": AzureKeyCredential("emulated")},
            "aws": {"session": session},
        }
        cloud = CloudDetection.from_config(
            config, settings, registry=registry, provider_options=options
        )
        async with cloud:
            batch = await cloud.detect_payloads(engine.extract_texts(payloads))
    found: Counter[str] = Counter(
        span.detector
        for spans_per_text in batch.extra_spans
        for spans in spans_per_text or ()
        for span in spans
    )
    summaries = []
    for provider, unit in (("azure", "text_record"), ("aws", "unit_100_chars")):

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
                found[provider],
            )
        )
    return batch.extra_spans, summaries


def detect_with_emulators(
    engine: RedactionEngine, payloads: Sequence[bytes], settings: StreamerSettings
) -> tuple[list[list[list[Span]] | None], list[ProviderSummary]]:
    """Cloud spans per payload and text (``extra_spans``), and a summary per provider."""
    return asyncio.run(_detect(engine, payloads, settings))
