"""AWS Comprehend ``DetectPiiEntities`` through ``aioboto3``.

One document per request (the API has no batch form for PII), up to 100 KB of UTF-8, in
English or Spanish. Short texts are packed into documents of ``max_document_chars``, which
also saves money: Comprehend bills units of 100 characters with 3 units at least per
request. Credentials come from AWS's standard chain (environment, profile, role); the
region from the provider section, ``STREAMER_AWS_REGION`` or ``AWS_REGION``; the endpoint
can be overridden (``endpoint_url``) for VPC endpoints or the emulator. botocore's own
retries are off: the guard retries. Offsets are Unicode code points, which are Python
string indices.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any, ClassVar

from streamer.cloud.config import AwsProviderConfig
from streamer.cloud.entities import aws_entity_type
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

#: Characters per billed unit, and the least units a request costs.
UNIT_CHARS = 100
MINIMUM_UNITS = 3
#: The service's limit on one document, in bytes of UTF-8.
MAX_DOCUMENT_BYTES = 100_000

_THROTTLING = {
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
}
_AUTH = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "AccessDeniedException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "IncompleteSignature",
}
#: Errors about the document itself: the other documents are fine.
_DOCUMENT = {"TextSizeLimitExceededException", "UnsupportedLanguageException"}
#: What reading an answer of an unexpected shape raises, in botocore or here.
_MALFORMED_ANSWER = (AttributeError, KeyError, IndexError, TypeError, ValueError)
_WRONG_ENDPOINT = (
    "the endpoint is not an AWS Comprehend endpoint; set 'endpoint_url' in its cloud provider "
    "section (or AWS_ENDPOINT_URL_COMPREHEND), or remove it to use the region's endpoint"
)


class ComprehendProvider(CloudProvider[AwsProviderConfig]):
    """AWS Comprehend PII detection. ``session`` overrides the default ``aioboto3.Session``."""

    kind: ClassVar[str] = "aws"
    billing_unit: ClassVar[str] = "unit_100_chars"

    def __init__(
        self,
        config: AwsProviderConfig,
        settings: StreamerSettings,
        *,
        session: Any | None = None,
    ) -> None:
        super().__init__(config, settings)
        self._session = session
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any | None = None
        self._sdk_errors: tuple[type[BaseException], ...] = (OSError,)

    @property
    def max_documents_per_request(self) -> int:
        return 1

    @property
    def max_document_chars(self) -> int:
        return self.config.max_document_chars

    @property
    def region(self) -> str:
        region = self.config.region or self.settings.aws_region
        if not region and self._session is not None:
            region = getattr(self._session, "region_name", None)
        if not region:
            raise CloudConfigurationError(
                f"cloud provider {self.name!r} has no AWS region; set 'region' in its cloud "
                "provider section, STREAMER_AWS_REGION or AWS_REGION"
            )
        return region

    async def start(self) -> None:
        if self._client is not None:
            return
        try:
            import aioboto3
            from aiobotocore.config import AioConfig
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise DependencyMissingError(
                "the AWS Comprehend provider", "aioboto3", "cloud"
            ) from None
        self._sdk_errors = (BotoCoreError, ClientError, OSError)
        silence_sdk_content_logs()
        limits = self.config.limits
        config = AioConfig(
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=limits.max_concurrency + 4,
            connect_timeout=min(10.0, limits.timeout_seconds),
            read_timeout=limits.timeout_seconds,
            user_agent_extra="pii-streamer",
        )
        session = self._session or aioboto3.Session()
        options: dict[str, Any] = {"region_name": self.region, "config": config}
        endpoint_url = self.config.endpoint_url
        if endpoint_url:
            options["endpoint_url"] = endpoint_url
        if self.settings.cloud_ca_bundle is not None:
            options["verify"] = str(self.settings.cloud_ca_bundle)
        stack = contextlib.AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(session.client("comprehend", **options))
        except self._sdk_errors as exc:
            await stack.aclose()
            raise CloudConfigurationError(
                f"cloud provider {self.name!r}: could not create the Comprehend client "
                f"({type(exc).__name__}); check the region and endpoint_url"
            ) from None
        except ValueError:
            # botocore's "Invalid endpoint: <url>"; the URL is not echoed (it may hold a key).
            await stack.aclose()
            raise CloudConfigurationError(
                f"cloud provider {self.name!r}: the Comprehend endpoint is not a valid URL; set "
                "'endpoint_url' in its cloud provider section (or AWS_ENDPOINT_URL_COMPREHEND) "
                "to http(s)://host[:port], or remove it to use the region's endpoint"
            ) from None
        self._stack = stack

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def analyze(self, documents: Sequence[str]) -> list[DocumentResult]:
        return [await self._analyze_one(text) for text in documents]

    async def _analyze_one(self, text: str) -> DocumentResult:
        if self._client is None:
            raise RuntimeError("the provider is not started; call start() or use 'async with'")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
            return DocumentRejected("TextSizeLimitExceededException")
        try:
            response = await self._client.detect_pii_entities(
                Text=text, LanguageCode=self.config.language
            )
            if "Entities" not in response:
                # An answer that is not the service's (a web server or proxy at the endpoint):
                # taken as "no entities", it let every text through unredacted in cloud-only
                # mode.
                raise ConnectionFailedError(self.name, _WRONG_ENDPOINT)
            return [
                Entity(
                    int(entity["BeginOffset"]),
                    int(entity["EndOffset"]),
                    aws_entity_type(str(entity["Type"])),
                    float(entity.get("Score", 0.0)),
                )
                for entity in response["Entities"]
            ]
        except self._sdk_errors as exc:
            translated = self._translate(exc)
            if isinstance(translated, DocumentRejected):
                return translated
            raise translated from None
        except _MALFORMED_ANSWER:
            # JSON of another shape breaks botocore's parser or the entity fields above; it
            # stopped `streamer run` with a KeyError, TypeError or AttributeError.
            raise ConnectionFailedError(self.name, _WRONG_ENDPOINT) from None

    def _translate(self, exc: BaseException) -> CloudRequestError | DocumentRejected:
        """The :class:`CloudRequestError` for an SDK exception, without its message."""
        from botocore import exceptions as boto

        name = self.name
        if isinstance(exc, boto.ClientError):
            error = exc.response.get("Error", {})
            code = "".join(ch for ch in str(error.get("Code", "")) if ch.isalnum())[:64]
            metadata = exc.response.get("ResponseMetadata", {})
            status = metadata.get("HTTPStatusCode")
            retry_after = parse_retry_after(metadata.get("HTTPHeaders"))
            if code in _THROTTLING or status == 429:
                return ThrottledError(
                    name, f"throttled ({code or status})", status=status, retry_after=retry_after
                )
            if code in _AUTH or status in (401, 403):
                return AuthenticationFailedError(
                    name,
                    f"credentials were refused ({code}); check the AWS credential chain and "
                    "the comprehend:DetectPiiEntities permission",
                    status=status,
                )
            if code in _DOCUMENT:
                return DocumentRejected(code)
            if status == 404:
                # No such path: the endpoint is wrong, not the record; an outage, so that
                # `unavailable: block` waits instead of dead-lettering every record.
                return ConnectionFailedError(name, _WRONG_ENDPOINT, status=status)
            if (status is not None and status >= 500) or code == "InternalServerException":
                return ServerError(
                    name, f"service error ({code})", status=status, retry_after=retry_after
                )
            return RequestRejectedError(name, f"request rejected ({code})", status=status)
        if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
            return AuthenticationFailedError(
                name,
                "no usable AWS credentials; configure the standard chain (environment, "
                "profile or role)",
            )
        if isinstance(exc, boto.ParamValidationError):
            return RequestRejectedError(name, "request rejected by parameter validation")
        if isinstance(exc, boto.ReadTimeoutError):
            return RequestTimeoutError(name, "the response timed out")
        if isinstance(exc, boto.HTTPClientError | boto.EndpointConnectionError | OSError):
            return ConnectionFailedError(
                name,
                f"could not reach the endpoint ({type(exc).__name__}); check the region, "
                "'endpoint_url' in its cloud provider section (or AWS_ENDPOINT_URL_COMPREHEND) "
                "and the network",
            )
        return ConnectionFailedError(name, f"the request failed ({type(exc).__name__})")

    def billed_units(self, documents: Sequence[str]) -> float:
        """Units of 100 characters, at least 3 per request (one document each)."""
        return float(
            sum(max(MINIMUM_UNITS, math.ceil(len(text) / UNIT_CHARS)) for text in documents)
        )
