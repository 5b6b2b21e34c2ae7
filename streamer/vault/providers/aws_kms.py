"""The ``aws-kms`` key provider: the root key is wrapped by an AWS KMS key (aioboto3).

KMS ``Encrypt`` and ``Decrypt`` with an encryption context that names the root key, so
a wrapped key cannot be passed off as another. Credentials come from the usual AWS
chain (variables, profile, instance role); ``STREAMER_AWS_ENDPOINT_URL`` points at a
local emulator (moto's server mode in the tests).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from streamer.errors import ConfigurationError, DependencyMissingError
from streamer.redaction.envelope import WrappedKey
from streamer.settings import StreamerSettings
from streamer.vault.exceptions import (
    KeyProviderError,
    TamperedCiphertextError,
    WrongKeyError,
)
from streamer.vault.providers.base import AsyncKeyProvider


class AwsKmsProvider(AsyncKeyProvider):
    """Wraps with the KMS key ``key_id`` (key id, ARN, alias name or alias ARN)."""

    name = "aws-kms"

    def __init__(
        self,
        key_id: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: Any = None,
    ) -> None:
        super().__init__()
        self.key_id = key_id
        self.region = region
        self.endpoint_url = endpoint_url
        self._session = session
        self._stack: AsyncExitStack | None = None
        self._kms: Any = None

    @classmethod
    def from_settings(cls, settings: StreamerSettings) -> AwsKmsProvider:
        if not settings.aws_kms_key_id:
            raise ConfigurationError(
                "the 'aws-kms' key provider needs STREAMER_AWS_KMS_KEY_ID: "
                "the id, ARN or alias of the KMS key that wraps the key file's root key"
            )
        return cls(
            settings.aws_kms_key_id,
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
        )

    @property
    def kek_id(self) -> str:
        return self.key_id

    def __repr__(self) -> str:
        return f"AwsKmsProvider(key_id={self.key_id!r}, endpoint_url={self.endpoint_url!r})"

    async def setup(self) -> None:
        try:
            import aioboto3
        except ImportError:
            raise DependencyMissingError("the aws-kms key provider", "aioboto3", "cloud") from None
        session = self._session or aioboto3.Session()
        self._stack = AsyncExitStack()
        self._kms = await self._stack.enter_async_context(
            session.client("kms", region_name=self.region, endpoint_url=self.endpoint_url)
        )

    async def aclose(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
            self._kms = None

    async def wrap_async(self, plaintext: bytes, *, context: dict[str, str]) -> WrappedKey:
        response = await self._call(
            "Encrypt", KeyId=self.key_id, Plaintext=plaintext, EncryptionContext=context
        )
        return WrappedKey(str(response["KeyId"]), bytes(response["CiphertextBlob"]))

    async def unwrap_async(self, wrapped: bytes, *, kek_id: str, context: dict[str, str]) -> bytes:
        response = await self._call(
            "Decrypt", CiphertextBlob=wrapped, EncryptionContext=context, KeyId=kek_id
        )
        return bytes(response["Plaintext"])

    async def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self._kms, "encrypt" if operation == "Encrypt" else "decrypt")
        try:
            return dict(await method(**kwargs))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "InvalidCiphertextException":
                raise TamperedCiphertextError(
                    "AWS KMS could not decrypt the wrapped root key: the key file was altered, "
                    "or it was wrapped in another account or region"
                ) from None
            if code == "IncorrectKeyException":
                raise WrongKeyError(
                    "the root key was wrapped by another KMS key than the one given; set "
                    "STREAMER_AWS_KMS_KEY_ID to the key the key file was created with"
                ) from None
            raise KeyProviderError(
                f"AWS KMS {operation} failed with {code or 'an error'} for key {self.key_id!r}; "
                "check STREAMER_AWS_KMS_KEY_ID, STREAMER_AWS_REGION and that the credentials "
                f"may call kms:{operation}"
            ) from None
        except BotoCoreError as exc:
            raise KeyProviderError(
                f"AWS KMS {operation} failed ({type(exc).__name__}); check the network, "
                "the credentials and STREAMER_AWS_REGION / STREAMER_AWS_ENDPOINT_URL"
            ) from None
