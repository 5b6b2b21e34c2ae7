"""The ``azure-keyvault`` key provider: the root key is wrapped by an Azure Key Vault RSA
key (``wrapKey``/``unwrapKey`` with RSA-OAEP-256, through the async SDK).

Credentials: a service principal from ``STREAMER_AZURE_TENANT_ID``, ``..._CLIENT_ID`` and
``..._CLIENT_SECRET`` (shared with the cloud detectors) when set, else
``DefaultAzureCredential``; ``STREAMER_CLOUD_CA_BUNDLE`` adds trusted CAs.

Key Vault's RSA wrap has no associated data, so the wrapped secret carries a SHA-256 of
the context after the root key and unwrapping checks it. The key URL stored with the
wrapped key names the key version, so unwrapping keeps working after the key in the
vault is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from streamer.errors import ConfigurationError, DependencyMissingError
from streamer.redaction.envelope import WrappedKey
from streamer.settings import StreamerSettings
from streamer.vault.exceptions import KeyProviderError, TamperedCiphertextError
from streamer.vault.providers.base import AsyncKeyProvider

_DIGEST_BYTES = 32


def _context_digest(context: dict[str, str]) -> bytes:
    return hashlib.sha256(orjson.dumps(context, option=orjson.OPT_SORT_KEYS)).digest()


class AzureKeyVaultProvider(AsyncKeyProvider):
    """Wraps with the Key Vault key at ``key_url``
    (``https://<vault>.vault.azure.net/keys/<name>[/<version>]``).

    ``credential`` is an async token credential (default: ``DefaultAzureCredential``);
    ``client_options`` go to the SDK's ``CryptographyClient`` (``connection_verify``, say).
    """

    name = "azure-keyvault"

    def __init__(
        self, key_url: str, *, credential: Any = None, client_options: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.key_url = key_url.rstrip("/")
        self._credential = credential
        self._owns_credential = credential is None
        self._client_options = client_options or {}
        self._clients: dict[str, Any] = {}
        #: (tenant, client id, secret, authority) from the STREAMER_AZURE_* settings.
        self._service_principal: tuple[str, str, str, str | None] | None = None

    @classmethod
    def from_settings(cls, settings: StreamerSettings) -> AzureKeyVaultProvider:
        if not settings.azure_keyvault_key_id:
            raise ConfigurationError(
                "the 'azure-keyvault' key provider needs STREAMER_AZURE_KEYVAULT_KEY_ID: the "
                "URL of an RSA key, https://<vault>.vault.azure.net/keys/<name>/<version>"
            )
        options: dict[str, Any] = {}
        if settings.cloud_ca_bundle is not None:
            options["connection_verify"] = str(settings.cloud_ca_bundle)
        provider = cls(settings.azure_keyvault_key_id, client_options=options)
        if settings.azure_client_id and settings.azure_client_secret and settings.azure_tenant_id:
            provider._service_principal = (
                settings.azure_tenant_id,
                settings.azure_client_id,
                settings.azure_client_secret.get_secret_value(),
                settings.azure_authority_host,
            )
        return provider

    @property
    def kek_id(self) -> str:
        return self.key_url

    def __repr__(self) -> str:
        return f"AzureKeyVaultProvider(key_url={self.key_url!r})"

    async def setup(self) -> None:
        try:
            import azure.keyvault.keys.crypto.aio  # noqa: F401
        except ImportError:
            raise DependencyMissingError(
                "the azure-keyvault key provider", "azure-keyvault-keys", "cloud"
            ) from None
        if self._credential is None:
            try:
                from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential
            except ImportError:
                raise DependencyMissingError(
                    "the azure-keyvault key provider", "azure-identity", "cloud"
                ) from None
            if self._service_principal is not None:
                tenant, client_id, secret, authority = self._service_principal
                options = {"authority": authority} if authority else {}
                self._credential = ClientSecretCredential(tenant, client_id, secret, **options)
            else:
                self._credential = DefaultAzureCredential()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        if self._owns_credential and self._credential is not None:
            await self._credential.close()
            self._credential = None

    def _client(self, key_url: str) -> Any:
        from azure.keyvault.keys.crypto.aio import CryptographyClient

        client = self._clients.get(key_url)
        if client is None:
            client = self._clients[key_url] = CryptographyClient(
                key_url, self._credential, **self._client_options
            )
        return client

    async def wrap_async(self, plaintext: bytes, *, context: dict[str, str]) -> WrappedKey:
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        result = await self._call(
            self._client(self.key_url).wrap_key,
            KeyWrapAlgorithm.rsa_oaep_256,
            plaintext + _context_digest(context),
        )
        return WrappedKey(str(result.key_id or self.key_url), bytes(result.encrypted_key))

    async def unwrap_async(self, wrapped: bytes, *, kek_id: str, context: dict[str, str]) -> bytes:
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        result = await self._call(
            self._client(kek_id).unwrap_key, KeyWrapAlgorithm.rsa_oaep_256, wrapped
        )
        secret = bytes(result.key)
        plaintext, digest = secret[:-_DIGEST_BYTES], secret[-_DIGEST_BYTES:]
        if len(secret) <= _DIGEST_BYTES or not hmac.compare_digest(
            digest, _context_digest(context)
        ):
            raise TamperedCiphertextError(
                "the root key unwrapped by Azure Key Vault does not belong to this key file: "
                "the key file was altered"
            )
        return plaintext

    async def _call(self, method: Any, *args: Any) -> Any:
        from azure.core.exceptions import AzureError, HttpResponseError

        try:
            return await method(*args)
        except HttpResponseError as exc:
            if exc.status_code == 400:
                raise TamperedCiphertextError(
                    "Azure Key Vault could not unwrap the root key: the key file was altered, "
                    "or it was wrapped by another key"
                ) from None
            raise KeyProviderError(
                f"Azure Key Vault refused the request (HTTP {exc.status_code}) for key "
                f"{self.key_url}; check STREAMER_AZURE_KEYVAULT_KEY_ID and that the identity "
                "has the wrapKey and unwrapKey permissions"
            ) from None
        except AzureError as exc:
            raise KeyProviderError(
                f"Azure Key Vault could not be reached ({type(exc).__name__}) for key "
                f"{self.key_url}; check the network and the credentials"
            ) from None
