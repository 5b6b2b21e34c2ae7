"""The cloud section, entity mapping tables, errors, billing arithmetic."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from streamer.cloud.config import AwsProviderConfig, AzureProviderConfig, CloudConfig
from streamer.cloud.entities import (
    AWS_TO_ENGINE,
    AZURE_TO_ENGINE,
    ENGINE_TO_AWS,
    ENGINE_TO_AZURE,
    aws_entity_type,
    azure_entity_type,
)
from streamer.cloud.exceptions import (
    CloudConfigurationError,
    ServerError,
    ThrottledError,
)
from streamer.cloud.providers import CLOUD_PROVIDERS, parse_retry_after
from streamer.cloud.providers.aws import ComprehendProvider
from streamer.cloud.providers.azure import AzureLanguageProvider
from streamer.redaction.detectors import DETECTORS
from streamer.redaction.exceptions import UnknownNameError
from streamer.settings import StreamerSettings


def test_yaml_section_with_both_providers_loads_typed() -> None:
    config = CloudConfig.from_yaml(
        """
        cloud:
          providers:
            - provider: azure
              limits: {max_concurrency: 4, requests_per_second: 10}
            - {provider: aws, region: eu-west-1, language: es}
          unavailable: dead-letter
          failover: concurrent
          mode: cloud-only
        """
    )
    azure, aws = config.providers
    assert isinstance(azure, AzureProviderConfig) and azure.limits.max_concurrency == 4
    assert isinstance(aws, AwsProviderConfig) and aws.language == "es"
    assert (config.unavailable, config.failover, config.mode) == (
        "dead-letter",
        "concurrent",
        "cloud-only",
    )
    assert config.worker_detectors(["email"]) == []
    assert CloudConfig.load({"providers": ["aws"]}).worker_detectors(["email"]) == ["email"]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"providers": [{"provider": "gcp"}]}, "unknown provider 'gcp'; valid: azure, aws"),
        ({"providers": [{"provider": "aws", "language": "fr"}]}, "providers[0].language"),
        ({"providers": []}, "at least 1 item"),
        ({"providers": ["aws", "aws"]}, "give each a 'name'"),
        ({"providers": ["aws"], "unavailable": "drop"}, "cloud.unavailable"),
        ({"providers": [{"provider": "azure", "max_documents_per_request": 6}]}, "less than"),
        ({"providers": ["aws"], "extra": 1}, "cloud.extra"),
        # Listed in the comma-separated pii.detectors header: "EU" became a detector.
        ({"providers": [{"provider": "azure", "name": "Azure West, EU"}]}, "providers[0].name"),
    ],
)
def test_invalid_sections_name_the_problem(section: dict, expected: str) -> None:
    with pytest.raises(CloudConfigurationError) as caught:
        CloudConfig.load(section)
    assert expected in str(caught.value)
    assert caught.value.exit_code == 2


def test_invalid_yaml_is_a_configuration_error() -> None:
    with pytest.raises(CloudConfigurationError, match="not valid YAML"):
        CloudConfig.from_yaml("providers: [azure")


def test_a_key_written_twice_is_a_configuration_error() -> None:
    with pytest.raises(CloudConfigurationError, match="written twice"):
        CloudConfig.from_yaml("mode: cloud-only\nmode: hybrid\n")


def test_the_registry_lists_valid_names() -> None:
    assert CLOUD_PROVIDERS.names() == ["azure", "aws"]
    with pytest.raises(UnknownNameError, match="valid names: aws, azure"):
        CLOUD_PROVIDERS.entry("gcp")


def test_missing_endpoint_and_region_name_the_setting(settings: StreamerSettings) -> None:
    azure = AzureLanguageProvider(AzureProviderConfig(), settings)
    with pytest.raises(CloudConfigurationError, match="AZURE_TEXT_ANALYTICS_ENDPOINT"):
        _ = azure.endpoint
    aws = ComprehendProvider(AwsProviderConfig(), settings)
    with pytest.raises(CloudConfigurationError, match="AWS_REGION"):
        _ = aws.region


def test_azure_auth_auto_prefers_key_then_service_principal(tmp_path: Path) -> None:
    config = AzureProviderConfig()
    with_key = StreamerSettings(data_dir=tmp_path, azure_language_key="k")
    principal = StreamerSettings(
        data_dir=tmp_path, azure_client_id="a", azure_client_secret="s", azure_tenant_id="t"
    )
    assert AzureLanguageProvider(config, with_key).auth_method() == "key"
    assert AzureLanguageProvider(config, principal).auth_method() == "client_secret"
    assert AzureLanguageProvider(config, StreamerSettings(data_dir=tmp_path)).auth_method() == (
        "default"
    )


def test_settings_take_the_sdk_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TEXT_ANALYTICS_ENDPOINT", "https://x.cognitiveservices.azure.com/")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "hunter2-secret")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    settings = StreamerSettings()
    assert settings.azure_language_endpoint == "https://x.cognitiveservices.azure.com/"
    assert settings.aws_region == "eu-central-1"
    assert "hunter2-secret" not in repr(settings)


# --- entity types --------------------------------------------------------------------------


def test_service_types_map_onto_engine_names() -> None:
    assert azure_entity_type("Email") == "EMAIL_ADDRESS"
    assert azure_entity_type("USSocialSecurityNumber") == "US_SSN"
    assert azure_entity_type("DateTime", "Date") == "DATE_TIME"
    assert azure_entity_type("EUGPSCoordinates") == "EUGPS_COORDINATES"
    assert azure_entity_type("AzureDocumentDBAuthKey") == "AZURE_DOCUMENT_DB_AUTH_KEY"
    assert aws_entity_type("NAME") == "PERSON"
    assert aws_entity_type("CREDIT_DEBIT_NUMBER") == "CREDIT_CARD"
    assert aws_entity_type("MAC_ADDRESS") == "MAC_ADDRESS"


def test_every_builtin_detector_type_has_a_service_name_both_ways() -> None:
    engine_types = {t for name in DETECTORS.names() for t in DETECTORS.entry(name).entities}
    for engine_type in engine_types:
        # A type the service has no category for (HEALTH_ID) keeps its name both ways.
        assert azure_entity_type(ENGINE_TO_AZURE.get(engine_type, engine_type)) == engine_type
        assert aws_entity_type(ENGINE_TO_AWS.get(engine_type, engine_type)) == engine_type


def test_mapped_names_are_engine_style() -> None:
    for name in [*AZURE_TO_ENGINE.values(), *AWS_TO_ENGINE.values()]:
        assert name == name.upper() and " " not in name


# --- errors, Retry-After and billing --------------------------------------------------------


def test_request_errors_survive_pickling_and_carry_their_kind() -> None:
    error = ThrottledError("azure", "throttled (429)", status=429, retry_after=2.5)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.provider, copy.status, copy.retry_after, str(copy)) == (
        ThrottledError,
        "azure",
        429,
        2.5,
        str(error),
    )
    assert copy.code == "cloud_throttled" and copy.retriable
    assert ServerError("aws", "x").counts_as_failure
    assert not ThrottledError("aws", "x").counts_as_failure


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after-ms": "250", "Retry-After": "1"}, 0.25),
        ({"x-ms-retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_is_read_from_every_header_form(headers: dict | None, expected: float | None):
    assert parse_retry_after(headers) == expected


def test_billed_units_follow_each_services_pricing(settings: StreamerSettings) -> None:
    azure = AzureLanguageProvider(AzureProviderConfig(), settings)
    aws = ComprehendProvider(AwsProviderConfig(), settings)
    # Azure: per document, per started 1,000 characters
    assert azure.billed_units(["a" * 10, "b" * 1000, "c" * 1001]) == 1 + 1 + 2
    # AWS: per request of one document, units of 100 characters, at least 3
    assert aws.billed_units(["a" * 10]) == 3
    assert aws.billed_units(["a" * 1050]) == 11
