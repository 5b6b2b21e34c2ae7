"""Cloud providers by name: ``azure`` (Azure AI Language) and ``aws`` (AWS Comprehend).

Each entry pairs a configuration model (the provider's section under ``cloud.providers``)
with the class that builds the provider from it. Register your own with
``CLOUD_PROVIDERS.register("name", MyConfig, MyProvider)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streamer.cloud.config import AwsProviderConfig, AzureProviderConfig, ProviderConfig
from streamer.cloud.providers.aws import ComprehendProvider
from streamer.cloud.providers.azure import AzureLanguageProvider
from streamer.cloud.providers.base import (
    CloudProvider,
    DocumentRejected,
    DocumentResult,
    Entity,
    parse_retry_after,
)
from streamer.redaction.exceptions import UnknownNameError
from streamer.settings import StreamerSettings

ProviderFactory = Callable[..., CloudProvider[Any]]


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    kind: str
    config_model: type[ProviderConfig]
    factory: ProviderFactory


class CloudProviderRegistry:
    """Cloud provider kinds by name, in registration order."""

    def __init__(self) -> None:
        self._entries: dict[str, ProviderEntry] = {}

    def register(
        self, kind: str, config_model: type[ProviderConfig], factory: ProviderFactory
    ) -> None:
        """Add (or replace) the provider kind ``kind``."""
        self._entries[kind] = ProviderEntry(kind, config_model, factory)

    def names(self) -> list[str]:
        return list(self._entries)

    def entry(self, kind: str) -> ProviderEntry:
        try:
            return self._entries[kind]
        except KeyError:
            raise UnknownNameError("cloud provider", kind, self.names()) from None

    def config_model(self, kind: str) -> type[ProviderConfig]:
        return self.entry(kind).config_model

    def create(
        self, config: ProviderConfig, settings: StreamerSettings, **options: Any
    ) -> CloudProvider[Any]:
        """The provider for ``config`` (not started); ``options`` go to its constructor
        (an Azure ``credential``, an AWS ``session``)."""
        return self.entry(config.provider).factory(config, settings, **options)

    def __contains__(self, kind: object) -> bool:
        return kind in self._entries


#: Every cloud provider kind pii-streamer knows.
CLOUD_PROVIDERS = CloudProviderRegistry()
CLOUD_PROVIDERS.register("azure", AzureProviderConfig, AzureLanguageProvider)
CLOUD_PROVIDERS.register("aws", AwsProviderConfig, ComprehendProvider)

__all__ = [
    "CLOUD_PROVIDERS",
    "AzureLanguageProvider",
    "CloudProvider",
    "CloudProviderRegistry",
    "ComprehendProvider",
    "DocumentRejected",
    "DocumentResult",
    "Entity",
    "parse_retry_after",
]
