"""Azure AI Language PII entity recognition through ``azure-ai-textanalytics`` (async).

The client calls ``POST {endpoint}/language/:analyze-text`` (``kind:
PiiEntityRecognition``, api-version 2023-04-01 or 2022-05-01) with up to 5 documents of
up to 5,120 characters. The SDK's own retries are off: the guard retries, so attempts,
backoff and the breaker are counted in one place. Offsets are asked for in Unicode code
points, which are Python string indices. Service-side logging of the input is turned off
(``loggingOptOut``).

Authentication, in the order ``auth: auto`` tries it: an API key
(``AZURE_TEXT_ANALYTICS_KEY``), a service principal (``AZURE_CLIENT_ID`` /
``AZURE_CLIENT_SECRET`` / ``AZURE_TENANT_ID``, optional ``AZURE_AUTHORITY_HOST``), then
``DefaultAzureCredential`` (managed identity, workload identity, Azure CLI).
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from streamer.cloud.config import AzureProviderConfig
from streamer.cloud.entities import azure_entity_type
from streamer.cloud.exceptions import (
    AuthenticationFailedError,
    CloudConfigurationError,
    CloudRequestError,
    ConnectionFailedError,
    RequestRejectedError,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
)
from streamer.cloud.providers.base import (
    CloudProvider,
    DocumentRejected,
    DocumentResult,
    Entity,
    parse_retry_after,
)
from streamer.cloud.sdk_logging import silence_sdk_content_logs
from streamer.errors import DependencyMissingError
from streamer.settings import StreamerSettings

#: Characters per billed text record.
TEXT_RECORD_CHARS = 1000


class AzureLanguageProvider(CloudProvider[AzureProviderConfig]):
    """Azure AI Language PII detection.

    ``credential`` overrides the one built from the settings (any ``AzureKeyCredential``
    or async token credential); the provider then does not close it.
    """

    kind: ClassVar[str] = "azure"
    billing_unit: ClassVar[str] = "text_record"

    def __init__(
        self,
        config: AzureProviderConfig,
        settings: StreamerSettings,
        *,
        credential: Any | None = None,
    ) -> None:
        super().__init__(config, settings)
        self._given_credential = credential
        self._credential: Any | None = None
        self._client: Any | None = None
        self._session: Any | None = None
        self._sdk_errors: tuple[type[BaseException], ...] = (OSError,)

    @property
    def max_documents_per_request(self) -> int:
        return self.config.max_documents_per_request

    @property
    def max_document_chars(self) -> int:
        return self.config.max_document_chars

    @property
    def endpoint(self) -> str:
        endpoint = self.config.endpoint or self.settings.azure_language_endpoint
        if not endpoint:
            raise CloudConfigurationError(
                f"cloud provider {self.name!r} has no endpoint; set AZURE_TEXT_ANALYTICS_ENDPOINT "
                "(or STREAMER_AZURE_LANGUAGE_ENDPOINT) or 'endpoint' in its cloud provider section"
            )
        parsed = urlsplit(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            # Not echoed: a pasted connection string can hold a key.
            raise CloudConfigurationError(
                f"cloud provider {self.name!r}: the endpoint is not an http(s) URL; set "
                "AZURE_TEXT_ANALYTICS_ENDPOINT (or 'endpoint' in its cloud provider section) to "
                "https://<resource>.cognitiveservices.azure.com/"
            )
        return endpoint

    def auth_method(self) -> str:
        """The authentication ``auth: auto`` resolves to: key, client_secret or default."""
        settings = self.settings
        if self.config.auth != "auto":
            return self.config.auth
        if settings.azure_language_key is not None:
            return "key"
        if settings.azure_client_id and settings.azure_client_secret and settings.azure_tenant_id:
            return "client_secret"
        return "default"

    async def start(self) -> None:
        if self._client is not None:
            return
        try:
            import aiohttp
            from azure.ai.textanalytics.aio import TextAnalyticsClient
            from azure.core.credentials import AzureKeyCredential
            from azure.core.exceptions import AzureError, DeserializationError
            from azure.core.pipeline.transport import AioHttpTransport
        except ImportError:
            raise DependencyMissingError(
                "the Azure AI Language provider", "azure-ai-textanalytics", "cloud"
            ) from None
        self._sdk_errors = (AzureError, DeserializationError, OSError)
        silence_sdk_content_logs()
        endpoint = self.endpoint
        ssl_context = self._ssl_context()
        given = self._given_credential
        uses_key = (
            isinstance(given, AzureKeyCredential)
            if given is not None
            else self.auth_method() == "key"
        )
        if urlsplit(endpoint).scheme == "http" and not uses_key:
            # azure-core refuses bearer tokens over http on every request.
            raise CloudConfigurationError(
                f"cloud provider {self.name!r}: Azure AD authentication needs an https "
                "endpoint; set AZURE_TEXT_ANALYTICS_KEY (or STREAMER_AZURE_LANGUAGE_KEY) for an "
                "http endpoint such as the emulator, or use https:// (emulator: --tls)"
            )
        self._credential = given or self._build_credential(ssl_context)
        connector = aiohttp.TCPConnector(
            limit=self.config.limits.max_concurrency + 4,
            ssl=ssl_context if ssl_context is not None else True,
        )
        self._session = aiohttp.ClientSession(connector=connector)
        transport = AioHttpTransport(session=self._session, session_owner=False)
        self._client = TextAnalyticsClient(
            endpoint,
            self._credential,
            api_version=self.config.api_version,
            default_language=self.config.language,
            transport=transport,
            retry_total=0,
            logging_enable=False,
        )

    def _ssl_context(self) -> ssl.SSLContext | None:
        ca_bundle = self.settings.cloud_ca_bundle
        if ca_bundle is None:
            return None
        if not ca_bundle.is_file():
            raise CloudConfigurationError(
                f"cloud_ca_bundle {str(ca_bundle)!r} is not a readable file; "
                "fix STREAMER_CLOUD_CA_BUNDLE"
            )
        return ssl.create_default_context(cafile=str(ca_bundle))

    def _build_credential(self, ssl_context: ssl.SSLContext | None) -> Any:
        settings = self.settings
        method = self.auth_method()
        if method == "key":
            from azure.core.credentials import AzureKeyCredential

            if settings.azure_language_key is None:
                raise CloudConfigurationError(
                    f"cloud provider {self.name!r} uses auth: key but no key is set; set "
                    "AZURE_TEXT_ANALYTICS_KEY (or STREAMER_AZURE_LANGUAGE_KEY)"
                )
            return AzureKeyCredential(settings.azure_language_key.get_secret_value())
        try:
            from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential
        except ImportError:
            raise DependencyMissingError(
                "Azure AD authentication", "azure-identity", "cloud"
            ) from None
        options: dict[str, Any] = {}
        if settings.azure_authority_host:
            options["authority"] = settings.azure_authority_host
        if settings.cloud_ca_bundle is not None:
            options["connection_verify"] = str(settings.cloud_ca_bundle)
        if method == "client_secret":
            if not (
                settings.azure_client_id
                and settings.azure_client_secret
                and settings.azure_tenant_id
            ):
                raise CloudConfigurationError(
                    f"cloud provider {self.name!r} uses auth: client_secret; set "
                    "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID"
                )
            return ClientSecretCredential(
                settings.azure_tenant_id,
                settings.azure_client_id,
                settings.azure_client_secret.get_secret_value(),
                **options,
            )
        return DefaultAzureCredential(**options)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        credential, self._credential = self._credential, None
        if credential is not None and credential is not self._given_credential:
            closer = getattr(credential, "close", None)
            if closer is not None:
                await closer()

    async def analyze(self, documents: Sequence[str]) -> list[DocumentResult]:
        if self._client is None:
            raise RuntimeError("the provider is not started; call start() or use 'async with'")
        config = self.config
        inputs = [
            {"id": str(index), "text": text, "language": config.language}
            for index, text in enumerate(documents)
        ]
        options: dict[str, Any] = {
            "disable_service_logs": True,
            "string_index_type": "UnicodeCodePoint",
        }
        if config.model_version:
            options["model_version"] = config.model_version
        if config.domain:
            options["domain_filter"] = config.domain
        if config.categories:
            options["categories_filter"] = config.categories
        try:
            results = await self._client.recognize_pii_entities(inputs, **options)
            return [self._document_result(result) for result in results]
        except self._sdk_errors as exc:
            raise self._translate(exc) from None
        except _MALFORMED_ANSWER:
            # JSON of another shape (a gateway or proxy at the endpoint) breaks the SDK's
            # reading of it; it stopped `streamer run` with an AttributeError.
            raise ConnectionFailedError(self.name, _WRONG_ENDPOINT) from None

    @staticmethod
    def _document_result(result: Any) -> DocumentResult:
        if result.is_error:
            return DocumentRejected(str(getattr(result.error, "code", "") or "InvalidDocument"))
        return [
            Entity(
                entity.offset,
                entity.offset + entity.length,
                azure_entity_type(entity.category, entity.subcategory),
                float(entity.confidence_score),
            )
            for entity in result.entities
        ]

    def _translate(self, exc: BaseException) -> CloudRequestError:
        """The :class:`CloudRequestError` for an SDK exception, without its message."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            DeserializationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
            ServiceResponseTimeoutError,
        )

        name = self.name
        if isinstance(exc, DeserializationError):
            # An answer that is not the service's (a web server or proxy at the endpoint).
            return ConnectionFailedError(name, _WRONG_ENDPOINT)
        if isinstance(exc, ClientAuthenticationError):
            return AuthenticationFailedError(
                name,
                f"credentials were refused or could not be obtained; {_CHECK_CREDENTIALS}",
                status=exc.status_code,
            )
        if isinstance(exc, HttpResponseError):
            status = exc.status_code
            response: Any = exc.response
            headers = response.headers if response is not None else None
            retry_after = parse_retry_after(headers)
            code = _error_code(exc)
            if status == 429:
                return ThrottledError(
                    name, "throttled (429)", status=status, retry_after=retry_after
                )
            if status in (401, 403):
                return AuthenticationFailedError(
                    name, f"access denied ({code}); {_CHECK_CREDENTIALS}", status=status
                )
            if status == 408:
                return RequestTimeoutError(name, "the service timed out", status=status)
            if status == 404:
                # No such path: the endpoint is wrong, not the record; an outage, so that
                # `unavailable: block` waits instead of dead-lettering every record.
                return ConnectionFailedError(name, _WRONG_ENDPOINT, status=status)
            if status is not None and status < 400:
                # A success status whose body could not be read: not the service's answer,
                # and no fault of the record (it was "request rejected (HTTP 200)").
                return ConnectionFailedError(name, _WRONG_ENDPOINT, status=status)
            if status is not None and status >= 500:
                return ServerError(
                    name, f"service error ({code})", status=status, retry_after=retry_after
                )
            return RequestRejectedError(name, f"request rejected ({code})", status=status)
        if isinstance(exc, ServiceResponseTimeoutError):
            return RequestTimeoutError(name, "the response timed out")
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return ConnectionFailedError(
                name,
                f"could not reach the endpoint ({type(exc).__name__}); check "
                "AZURE_TEXT_ANALYTICS_ENDPOINT (or 'endpoint' in its cloud provider section) "
                "and the network",
            )
        if isinstance(exc, TimeoutError):
            return RequestTimeoutError(name, "the request timed out")
        return ConnectionFailedError(name, f"the request failed ({type(exc).__name__})")

    def billed_units(self, documents: Sequence[str]) -> float:
        """Text records: each document, per started 1,000 characters."""
        return float(sum(max(1, math.ceil(len(text) / TEXT_RECORD_CHARS)) for text in documents))


_CHECK_CREDENTIALS = (
    "check AZURE_TEXT_ANALYTICS_KEY (or STREAMER_AZURE_LANGUAGE_KEY), or the Azure AD "
    "identity and its 'Cognitive Services User' role"
)
#: What reading an answer of an unexpected shape raises, in the SDK or here.
_MALFORMED_ANSWER = (AttributeError, KeyError, IndexError, TypeError, ValueError)
_WRONG_ENDPOINT = (
    "the endpoint is not an Azure AI Language endpoint; set AZURE_TEXT_ANALYTICS_ENDPOINT "
    "(or 'endpoint' in its cloud provider section) to https://<resource>.cognitiveservices.azure.com/"
)


def _error_code(exc: Any) -> str:
    """The service's error code (``InvalidRequest``, ...), never its message."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    inner = getattr(error, "innererror", None)
    inner_code = inner.get("code") if isinstance(inner, dict) else None
    text = str(inner_code or code or "no code")
    return "".join(ch for ch in text if ch.isalnum() or ch in "_-.")[:64] or "no code"
