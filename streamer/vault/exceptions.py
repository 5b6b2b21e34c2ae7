"""Errors of the vault. Each failure to restore an original has its own class, message
and exit code; messages name tokens and key ids at most, never an original value.

=====================================  =====  ===================================
error                                  exit   meaning
=====================================  =====  ===================================
:class:`UnmaskError`                   3      base: could not restore an original
:class:`UnknownTokenError`             4      token is not in the token topic
:class:`WrongKeyError`                 5      made with a key this key file lacks
:class:`TamperedCiphertextError`       6      ciphertext failed authentication
:class:`KeyShreddedError`              7      its key was shredded: gone for good
:class:`ScopeNotAllowedError`          8      the caller may not unmask that scope
:class:`AuditUnavailableError`         9      the audit record could not be written
:class:`KeyProviderError`              10     KMS / Key Vault failed or refused
:class:`AuthenticationError`           11     no or unknown bearer token (HTTP 401)
:class:`RateLimitedError`              12     too many requests (HTTP 429)
:class:`TopicUnavailableError`         13     the token, keys or a clean topic cannot be read
=====================================  =====  ===================================

The key material errors are raised by keyrings in the engine and re-exported here.
"""

from __future__ import annotations

from streamer.errors import StreamerError
from streamer.redaction.exceptions import (
    KeyShreddedError,
    TamperedCiphertextError,
    UnknownKeyScopeError,
    UnmaskError,
    WrongKeyError,
)

__all__ = [
    "AuditUnavailableError",
    "AuthenticationError",
    "KeyProviderError",
    "KeyShreddedError",
    "RateLimitedError",
    "ScopeNotAllowedError",
    "TamperedCiphertextError",
    "TopicUnavailableError",
    "UnknownKeyScopeError",
    "UnknownTokenError",
    "UnmaskError",
    "VaultError",
    "WrongKeyError",
]


class VaultError(StreamerError):
    """Base of the vault's errors that are not about one ciphertext."""

    code = "vault"


class UnknownTokenError(UnmaskError):
    """A token is in no record of the token topic (after catching up with it)."""

    code = "unknown_token"
    exit_code = 4

    def __init__(self, token: str, token_topic: str, topic_exists: bool = True) -> None:
        if topic_exists:
            message = (
                f"token {token} is not in token topic {token_topic!r}; check --token-topic and "
                "--bootstrap-servers (if the topic was recreated, add --rebuild-index), or "
                "whether the record it came from was redacted by another pipeline"
            )
        else:
            message = (
                f"token {token} cannot be looked up: token topic {token_topic!r} does not "
                "exist; name the topology's token topic with --token-topic "
                "(STREAMER_TOKEN_TOPIC), and check --bootstrap-servers"
            )
        super().__init__(message)
        self.token = token
        self.token_topic = token_topic
        self.topic_exists = topic_exists

    def __reduce__(self) -> tuple[type, tuple[str, str, bool]]:
        return (type(self), (self.token, self.token_topic, self.topic_exists))


class ScopeNotAllowedError(UnmaskError):
    """The caller asked for originals of a key scope it is not allowed."""

    code = "scope_not_allowed"
    exit_code = 8

    def __init__(self, denied: int, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"{denied} token(s) belong to key scopes this caller may not unmask (allowed: "
            f"{', '.join(allowed) or 'none'}); ask for the scope to be granted (--scope, or the "
            "caller's scopes in the API clients file)"
        )
        self.denied = denied
        self.allowed = allowed

    def __reduce__(self) -> tuple[type, tuple[int, tuple[str, ...]]]:
        return (type(self), (self.denied, self.allowed))


class AuditUnavailableError(VaultError):
    """The audit record could not be written, so nothing was unmasked (fail closed)."""

    code = "audit_unavailable"
    exit_code = 9
    retriable = True


class KeyProviderError(VaultError):
    """The key provider (AWS KMS, Azure Key Vault) failed or refused to wrap or unwrap."""

    code = "key_provider"
    exit_code = 10
    retriable = True


class TopicUnavailableError(VaultError):
    """A topic the vault reads or writes (token topic, keys topic, a clean topic) could
    not be reached; the message says what to check."""

    code = "topic_unavailable"
    exit_code = 13
    retriable = True


class AuthenticationError(VaultError):
    """No bearer token, or one no API client has."""

    code = "unauthenticated"
    exit_code = 11


class RateLimitedError(VaultError):
    """A caller made more requests than its rate limit allows; try again after a while."""

    code = "rate_limited"
    exit_code = 12
    retriable = True

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after:.1f}s")
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[type, tuple[float]]:
        return (type(self), (self.retry_after,))


#: Exit code per error code, for failures reported as codes (topic unmask).
ERROR_EXIT_CODES: dict[str, int] = {
    cls.code: cls.exit_code
    for cls in (
        UnmaskError,
        UnknownTokenError,
        WrongKeyError,
        TamperedCiphertextError,
        KeyShreddedError,
        ScopeNotAllowedError,
        AuditUnavailableError,
        KeyProviderError,
    )
}
