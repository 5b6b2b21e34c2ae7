"""The vault's keyring factory: the key file opened with any key provider.

``keyring_from_settings(settings)`` gives the same keyring (and so the same tokens) as
the engine's default for the same key file, but also opens key files whose root key
is wrapped by AWS KMS or Azure Key Vault. The provider is asked once, here; the keyring
it returns holds only plain key material and pickles to worker processes.
"""

from __future__ import annotations

from streamer.redaction.envelope import EnvelopeKeyring, KeyProvider, open_envelope_keyring
from streamer.settings import StreamerSettings
from streamer.vault.providers import KEY_PROVIDERS


def keyring_from_settings(
    settings: StreamerSettings, *, provider: KeyProvider | None = None
) -> EnvelopeKeyring:
    """The keyring of ``settings``' key file, its root key unwrapped by ``provider`` (default:
    the one ``STREAMER_KEY_PROVIDER`` names)."""
    owned = provider is None
    provider = provider or KEY_PROVIDERS.create(settings.resolved_key_provider(), settings)
    try:
        return open_envelope_keyring(
            settings.resolved_key_file(),
            provider,
            refresh_seconds=settings.key_refresh_seconds,
            create_scopes=settings.key_scope_autocreate,
        )
    finally:
        if owned:
            provider.close()
