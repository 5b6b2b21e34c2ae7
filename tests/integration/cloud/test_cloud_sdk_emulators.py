"""Real SDK clients (azure-ai-textanalytics, aioboto3) against the emulators."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from streamer.cloud import (
    AuthenticationFailedError,
    CloudConfig,
    CloudConfigurationError,
    CloudDetection,
    RequestRejectedError,
)
from streamer.cloud.emulators import AzureLanguageEmulator, ComprehendEmulator, EmulatorSettings
from streamer.cloud.emulators.tls import server_context, write_self_signed
from streamer.settings import StreamerSettings
from streamer.testing import CANARIES, CANARY_TEXT

pytestmark = pytest.mark.integration

PROVIDERS = ["azure", "aws"]


def filler(words: int, seed: int) -> str:
    vocabulary = ["alpha", "bravo", "delta", "echo", "golf", "hotel", "india", "kilo"]
    return " ".join(vocabulary[(i * 7 + seed) % len(vocabulary)] for i in range(words))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_offsets_are_right_after_chunking_a_long_text(
    provider: str, make_detection: Callable[..., CloudDetection]
) -> None:
    # ~48,000 characters with canaries spread through it: several chunks for both services
    values = list(CANARIES.values())
    parts = []
    for index in range(24):
        parts.append(filler(350, index))
        parts.append(f"contact {values[index % len(values)]} today")
    text = " ".join(parts)
    assert len(text) > 45_000
    async with make_detection([provider]) as cloud:
        result = await cloud.detect([text, "short one: " + CANARIES["EMAIL_ADDRESS"]])
    assert result.ok
    long_spans, short_spans = result.spans
    assert long_spans is not None and short_spans is not None
    expected = []
    cursor = 0
    for index in range(24):  # every occurrence, at its own offset
        start = text.index(values[index % len(values)], cursor)
        cursor = start + len(values[index % len(values)])
        expected.append((start, cursor))
    assert [(s.start, s.end) for s in long_spans] == expected
    assert all(s.detector == provider for s in long_spans)
    ((span,),) = [short_spans]
    assert span.entity_type == "EMAIL_ADDRESS"


@pytest.mark.parametrize(("provider", "chunk_chars"), [("azure", 5120), ("aws", 10_000)])
async def test_an_entity_cut_by_a_chunk_boundary_is_found_whole_once(
    provider: str, chunk_chars: int, make_detection: Callable[..., CloudDetection]
) -> None:
    card = CANARIES["CREDIT_CARD"]  # spaces inside: the chunk ends in the middle of it
    prefix = filler(chunk_chars // 5, 3)[: chunk_chars - 13].rstrip()
    prefix = prefix + "x" * (chunk_chars - 13 - len(prefix)) + " "
    text = prefix + card + " " + filler(200, 1)
    assert text.rfind(" ", 0, chunk_chars) > len(prefix)  # the cut falls inside the card
    async with make_detection([provider]) as cloud:
        result = await cloud.detect([text])
    (spans,) = result.spans
    assert spans is not None
    assert [(s.start, s.end, s.entity_type) for s in spans] == [
        (len(prefix), len(prefix) + len(card), "CREDIT_CARD")
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_offsets_are_code_points_in_non_ascii_text(
    provider: str, make_detection: Callable[..., CloudDetection]
) -> None:
    text = "Grüße 👋🏽 from Zoë, reach me at " + CANARIES["EMAIL_ADDRESS"] + " 😀 ok"
    async with make_detection([provider]) as cloud:
        result = await cloud.detect([text])
    (spans,) = result.spans
    assert spans is not None
    assert [text[s.start : s.end] for s in spans] == [CANARIES["EMAIL_ADDRESS"]]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_many_short_texts_are_packed_into_few_requests_and_billed(
    provider: str,
    make_detection: Callable[..., CloudDetection],
    azure_emulator: AzureLanguageEmulator,
    aws_emulator: ComprehendEmulator,
    metric: Callable[..., float],
) -> None:
    emulator = azure_emulator if provider == "azure" else aws_emulator
    texts = [f"ticket {i}: mail user{i}@example.org" for i in range(200)]
    async with make_detection([provider]) as cloud:
        result = await cloud.detect(texts)
    assert result.ok
    for index, spans in enumerate(result.spans):
        assert spans is not None
        assert [texts[index][s.start : s.end] for s in spans] == [f"user{index}@example.org"]
    assert emulator.stats.requests <= 2
    unit = "text_record" if provider == "azure" else "unit_100_chars"
    billed = metric("streamer_cloud_billed_units_total", provider=provider, unit=unit)
    characters = metric("streamer_cloud_characters_total", provider=provider)
    assert characters >= sum(map(len, texts))
    # packed: a few text records or units, not one (or three) per text
    assert 0 < billed <= characters / (1000 if provider == "azure" else 100) + 3


async def test_repeated_texts_are_sent_once(
    make_detection: Callable[..., CloudDetection], azure_emulator: AzureLanguageEmulator
) -> None:
    async with make_detection(["azure"], cache_entries=100) as cloud:
        first = await cloud.detect([CANARY_TEXT, CANARY_TEXT, "  ", ""])
        characters = azure_emulator.stats.characters
        second = await cloud.detect([CANARY_TEXT])
    assert first.spans[0] == first.spans[1] == second.spans[0]
    assert first.spans[2] == first.spans[3] == []
    assert characters == len(CANARY_TEXT)
    assert azure_emulator.stats.characters == characters  # the second call hit the cache


async def test_a_wrong_azure_key_is_an_authentication_failure(
    tmp_path: Path, azure_emulator: AzureLanguageEmulator, registry: CollectorRegistry
) -> None:
    settings = StreamerSettings(
        data_dir=tmp_path,
        azure_language_endpoint=azure_emulator.url,
        azure_language_key="not-the-key",
    )
    config = CloudConfig.load({"providers": ["azure"]})
    async with CloudDetection.from_config(config, settings, registry=registry) as cloud:
        result = await cloud.detect(["hello " + CANARIES["US_SSN"]])
    assert isinstance(result.failures[0], AuthenticationFailedError)
    assert azure_emulator.stats.unauthorized == 1  # not retried
    assert "AZURE_TEXT_ANALYTICS_KEY" in str(result.failures[0])  # the setting to fix
    assert "not-the-key" not in str(result.failures[0])


async def test_a_wrong_aws_access_key_is_an_authentication_failure(
    make_detection: Callable[..., CloudDetection], aws_emulator: ComprehendEmulator
) -> None:
    aws_emulator.settings.api_key = "AKIAOTHERKEY000000000"
    async with make_detection(["aws"]) as cloud:
        result = await cloud.detect(["hello"])
    assert isinstance(result.failures[0], AuthenticationFailedError)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("endpoint", ["127.0.0.1:5005", "not a url"])
async def test_an_endpoint_that_is_not_a_url_is_a_configuration_error(
    make_detection: Callable[..., CloudDetection], provider: str, endpoint: str
) -> None:
    # A scheme left out used to be an endless outage (Azure: every record fell back) or
    # botocore's ValueError stopping `streamer run` with a traceback (AWS).
    section = {
        "provider": provider,
        "endpoint" if provider == "azure" else "endpoint_url": endpoint,
    }
    with pytest.raises(CloudConfigurationError, match=r"not a(n http\(s\)| valid) URL") as caught:
        async with make_detection([section]):
            pass
    setting = "AZURE_TEXT_ANALYTICS_ENDPOINT" if provider == "azure" else "endpoint_url"
    assert setting in str(caught.value)
    assert endpoint not in str(caught.value)


async def test_a_language_comprehend_refuses_is_a_rejection(
    make_detection: Callable[..., CloudDetection], aws_emulator: ComprehendEmulator
) -> None:
    # the config only allows en/es; bypass it the way a changed service would refuse
    async with make_detection(["aws"]) as cloud:
        provider = cloud.providers[0].provider
        object.__setattr__(provider.config, "language", "fr")
        result = await cloud.detect(["bonjour"])
    assert isinstance(result.failures[0], RequestRejectedError)
    assert "UnsupportedLanguageException" in str(result.failures[0])


async def test_azure_ad_service_principal_against_the_emulator_over_tls(
    tmp_path: Path, registry: CollectorRegistry
) -> None:
    certificate, key = write_self_signed(tmp_path / "tls")
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    emulator = AzureLanguageEmulator(
        EmulatorSettings(api_key="unused-key"),
        ssl_context=server_context(certificate, key),
        service_principal=(tenant, "app-id", "principal-secret-canary"),
    )
    async with emulator.running():
        assert emulator.url.startswith("https://")
        results = {}
        for secret in ("principal-secret-canary", "wrong-secret"):
            settings = StreamerSettings(
                data_dir=tmp_path,
                azure_language_endpoint=emulator.url,
                azure_client_id="app-id",
                azure_client_secret=secret,
                azure_tenant_id=tenant,
                azure_authority_host=emulator.url,
                cloud_ca_bundle=certificate,
            )
            config = CloudConfig.load(
                {"providers": [{"provider": "azure", "name": f"azure{len(results)}"}]}
            )
            async with CloudDetection.from_config(config, settings, registry=registry) as cloud:
                assert cloud.providers[0].provider.auth_method() == "client_secret"
                results[secret] = await cloud.detect([CANARY_TEXT])
    good, bad = results["principal-secret-canary"], results["wrong-secret"]
    assert good.ok and good.spans[0] and len(good.spans[0]) == len(CANARIES)
    assert isinstance(bad.failures[0], AuthenticationFailedError)
    assert "wrong-secret" not in str(bad.failures[0])


async def test_azure_ad_against_an_http_endpoint_is_a_configuration_error(
    tmp_path: Path, azure_emulator: AzureLanguageEmulator, registry: CollectorRegistry
) -> None:
    # An operator who forgot AZURE_TEXT_ANALYTICS_KEY gets Azure AD, which azure-core
    # refuses over http: every record fell back as "could not reach the endpoint".
    settings = StreamerSettings(
        data_dir=tmp_path,
        azure_language_endpoint=azure_emulator.url,
        azure_client_id="app-id",
        azure_client_secret="principal-secret-canary",
        azure_tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
    )
    config = CloudConfig.load({"providers": [{"provider": "azure"}]})
    with pytest.raises(CloudConfigurationError, match="needs an https endpoint") as caught:
        async with CloudDetection.from_config(config, settings, registry=registry):
            pass
    assert "AZURE_TEXT_ANALYTICS_KEY" in str(caught.value)
    assert "principal-secret-canary" not in str(caught.value)
    assert azure_emulator.stats.requests == 0
