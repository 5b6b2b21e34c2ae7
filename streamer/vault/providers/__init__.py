"""Key providers: where the key-encryption key (KEK) lives, by name.

============================  ================================================
name                          KEK
============================  ================================================
``file`` (default)            a local KEK file, created with mode 0600
``env``                       ``STREAMER_TOKEN_KEY`` (64 hex characters)
``aws-kms``                   an AWS KMS key (``STREAMER_AWS_KMS_KEY_ID``)
``azure-keyvault``            an Azure Key Vault RSA key (``STREAMER_AZURE_KEYVAULT_KEY_ID``)
============================  ================================================

Every provider follows :class:`~streamer.redaction.envelope.KeyProvider` (wrap and
unwrap the key store's root key); the cloud ones derive from
:class:`~streamer.vault.providers.base.AsyncKeyProvider`. Add your own with
``KEY_PROVIDERS.register("name", factory)``; a factory takes the settings.
"""

from __future__ import annotations

from collections.abc import Callable

from streamer.redaction.envelope import KeyProvider, LocalKek, WrappedKey
from streamer.redaction.exceptions import UnknownNameError
from streamer.redaction.keys import env_kek, file_kek
from streamer.settings import StreamerSettings
from streamer.vault.providers.base import AsyncKeyProvider

KeyProviderFactory = Callable[[StreamerSettings], KeyProvider]


class KeyProviderRegistry:
    """Key provider factories by name."""

    def __init__(self) -> None:
        self._factories: dict[str, KeyProviderFactory] = {}

    def register(self, name: str, factory: KeyProviderFactory) -> None:
        """Add (or replace) the provider called ``name``."""
        self._factories[name] = factory

    def names(self) -> list[str]:
        return list(self._factories)

    def create(self, name: str, settings: StreamerSettings) -> KeyProvider:
        """Build the provider called ``name`` from ``settings``."""
        try:
            factory = self._factories[name]
        except KeyError:
            raise UnknownNameError("key provider", name, self.names()) from None
        return factory(settings)

    def __contains__(self, name: object) -> bool:
        return name in self._factories


def _aws_kms(settings: StreamerSettings) -> KeyProvider:
    from streamer.vault.providers.aws_kms import AwsKmsProvider

    return AwsKmsProvider.from_settings(settings)


def _azure_keyvault(settings: StreamerSettings) -> KeyProvider:
    from streamer.vault.providers.azure_keyvault import AzureKeyVaultProvider

    return AzureKeyVaultProvider.from_settings(settings)


KEY_PROVIDERS = KeyProviderRegistry()
KEY_PROVIDERS.register("file", file_kek)
KEY_PROVIDERS.register("env", env_kek)
KEY_PROVIDERS.register("aws-kms", _aws_kms)
KEY_PROVIDERS.register("azure-keyvault", _azure_keyvault)

__all__ = [
    "KEY_PROVIDERS",
    "AsyncKeyProvider",
    "KeyProvider",
    "KeyProviderRegistry",
    "LocalKek",
    "WrappedKey",
]
