"""Cloud PII detection: Azure AI Language and AWS Comprehend, guarded, with emulators.

Reading guide:

- ``config``: the topology's ``cloud:`` section (providers, limits, policies).
- ``providers/``: one class per service (``azure``, ``aws``) and their registry.
- ``entities``: the services' entity types mapped onto the engine's names.
- ``packing``: chunking long texts and packing short ones to the services' limits.
- ``guard``: semaphore, rate limits, timeout, retries, circuit breaker.
- ``guarded``: a provider behind its guard; ``detection``: ``CloudDetection``, the entry
  point (failover, caching, the unavailability policy).
- ``metrics``: Prometheus metrics and billed units; ``emulators/``: local servers.

Imports only redaction types from the rest of pii-streamer; the SDKs load when a
provider starts.
"""

from streamer.cloud.config import (
    AwsProviderConfig,
    AzureProviderConfig,
    CloudConfig,
    GuardLimits,
    ProviderConfig,
)
from streamer.cloud.detection import (
    CLOUD_FALLBACK_HEADER,
    CloudBatch,
    CloudDetection,
    CloudRoute,
    CloudTexts,
)
from streamer.cloud.exceptions import (
    AuthenticationFailedError,
    CircuitOpenError,
    CloudConfigurationError,
    CloudError,
    CloudRequestError,
    ConnectionFailedError,
    RequestRejectedError,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
)
from streamer.cloud.providers import (
    CLOUD_PROVIDERS,
    AzureLanguageProvider,
    CloudProvider,
    CloudProviderRegistry,
    ComprehendProvider,
)

__all__ = [
    # the entry point
    "CloudDetection",
    "CloudBatch",
    "CloudTexts",
    "CloudRoute",
    "CLOUD_FALLBACK_HEADER",
    # configuration
    "CloudConfig",
    "ProviderConfig",
    "AzureProviderConfig",
    "AwsProviderConfig",
    "GuardLimits",
    # providers
    "CLOUD_PROVIDERS",
    "CloudProviderRegistry",
    "CloudProvider",
    "AzureLanguageProvider",
    "ComprehendProvider",
    # errors
    "CloudError",
    "CloudConfigurationError",
    "CloudRequestError",
    "ThrottledError",
    "ServerError",
    "RequestTimeoutError",
    "ConnectionFailedError",
    "AuthenticationFailedError",
    "RequestRejectedError",
    "CircuitOpenError",
]
