"""Errors of the cloud detectors.

Every failure of a cloud call ends in one of these, with a ``kind`` that metrics count
and the unavailability policy routes on. Messages name the provider, the HTTP status or
service error code and the fix; never a text sent for detection, never a credential
(SDK messages are not passed through, as services may echo input back).
"""

from __future__ import annotations

from streamer.errors import ConfigurationError, StreamerError


class CloudError(StreamerError):
    """Base of the cloud detector errors."""

    code = "cloud_error"


class CloudConfigurationError(ConfigurationError):
    """The ``cloud:`` section or a cloud setting is missing or invalid."""

    code = "cloud_configuration"


class CloudRequestError(CloudError):
    """One request to a provider failed.

    ``kind`` is a short stable name (``throttled``, ``server_error``, ``timeout``,
    ``connection``, ``auth``, ``rejected``, ``circuit_open``); ``retry_after`` is the
    delay the service asked for, in seconds, when it sent one.
    """

    kind = "error"
    code = "cloud_error"
    retriable = True
    #: Whether this failure counts against the circuit breaker.
    counts_as_failure = True

    def __init__(
        self,
        provider: str,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        where = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"cloud provider {provider!r}: {detail}{where}")
        self.provider = provider
        self.detail = detail
        self.status = status
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (type(self), self.provider, self.detail, self.status, self.retry_after),
        )


def _rebuild(
    cls: type[CloudRequestError],
    provider: str,
    detail: str,
    status: int | None,
    retry_after: float | None,
) -> CloudRequestError:
    return cls(provider, detail, status=status, retry_after=retry_after)


class ThrottledError(CloudRequestError):
    """The service refused the request for rate (HTTP 429); retried after Retry-After.

    Throttling means the service is up, so it never opens the circuit breaker.
    """

    kind = "throttled"
    code = "cloud_throttled"
    counts_as_failure = False


class ServerError(CloudRequestError):
    """The service failed (HTTP 5xx)."""

    kind = "server_error"
    code = "cloud_server_error"


class RequestTimeoutError(CloudRequestError):
    """No answer within the per-request timeout (``limits.timeout_seconds``)."""

    kind = "timeout"
    code = "cloud_timeout"


class ConnectionFailedError(CloudRequestError):
    """The endpoint could not be reached or dropped the connection."""

    kind = "connection"
    code = "cloud_connection"


class AuthenticationFailedError(CloudRequestError):
    """Credentials were refused or could not be obtained; retrying will not help."""

    kind = "auth"
    code = "cloud_auth"
    retriable = False


class RequestRejectedError(CloudRequestError):
    """The service rejected the request as invalid (HTTP 4xx other than 401/403/429).

    The request's fault, not the service's: it is not retried and does not open the
    breaker; its texts go to the fallback or the dead-letter topic.
    """

    kind = "rejected"
    code = "cloud_rejected"
    retriable = False
    counts_as_failure = False


class CircuitOpenError(CloudRequestError):
    """The provider's circuit breaker is open: it failed recently and is not called."""

    kind = "circuit_open"
    code = "cloud_circuit_open"
    retriable = False
    counts_as_failure = False
