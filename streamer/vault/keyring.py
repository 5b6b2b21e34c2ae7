"""The vault's keyring factory: the key file opened with any key provider, and kept in
step with the keys topic when one is configured.

``keyring_from_settings(settings)`` gives the same keyring (and so the same tokens) as
the engine's default for the same key file, but also opens key files whose root key
is wrapped by AWS KMS or Azure Key Vault, and, with ``STREAMER_KEYS_TOPIC``, first pulls
the keys other hosts published (agreeing on one root key with them). The provider is
asked once, here; the keyring it returns holds only plain key material and pickles to
worker processes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from streamer.errors import ConfigurationError
from streamer.redaction.envelope import EnvelopeKeyring, KeyProvider, open_envelope_keyring
from streamer.redaction.keys import LocalKeyring, stateless_keyring
from streamer.redaction.keystore import Keystore
from streamer.settings import StreamerSettings
from streamer.vault.key_topic import KeyTopicSync
from streamer.vault.providers import KEY_PROVIDERS

T = TypeVar("T")


def _open_local(settings: StreamerSettings, provider: KeyProvider | None) -> EnvelopeKeyring:
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


def key_topic_sync(settings: StreamerSettings, **client_options: Any) -> KeyTopicSync | None:
    """The keys topic sync the settings ask for, or ``None`` (a key file local to this host)."""
    if not settings.keys_topic:
        return None
    return KeyTopicSync(
        settings.resolved_key_file(), settings.bootstrap_servers, settings.keys_topic,
        **client_options,
    )  # fmt: skip


async def open_keyring(
    settings: StreamerSettings, *, provider: KeyProvider | None = None, **client_options: Any
) -> EnvelopeKeyring | LocalKeyring:
    """The keyring of ``settings`` (see the module docstring); async form."""
    if provider is None:
        stateless = stateless_keyring(settings)
        if stateless is not None:
            return stateless
    sync = key_topic_sync(settings, **client_options)
    if sync is None:
        return await asyncio.to_thread(_open_local, settings, provider)
    async with sync:
        await sync.pull()
        keyring = await asyncio.to_thread(_open_local, settings, provider)
        roots, _ = sync.replica.unpublished()
        if any(root.root_key_id == keyring.root_key_id for root in roots):
            # A new root key: publish it, and keep it only if it is the first in the topic.
            await sync.sync()
            shared = Keystore.open(settings.resolved_key_file())
            try:
                winner = shared.root_wrappings()[0].root_key_id
                if winner != keyring.root_key_id:
                    shared.discard_root_key(keyring.root_key_id)
            finally:
                shared.close()
            if winner != keyring.root_key_id:
                keyring = await asyncio.to_thread(_open_local, settings, provider)
        return keyring


async def following_key_sync(
    settings: StreamerSettings, **client_options: Any
) -> KeyTopicSync | None:
    """For long-running processes: the keys topic sync the settings ask for, started and
    syncing every ``key_refresh_seconds`` (at least 1 s) in the background, so that the
    scopes this host creates reach the others and theirs (rotations, shreds) reach it;
    ``None`` without a keys topic. :meth:`KeyTopicSync.stop` ends it."""
    sync = key_topic_sync(settings, **client_options)
    if sync is not None:
        await sync.start()
        sync.follow(max(settings.key_refresh_seconds, 1.0))
    return sync


async def sync_key_store(settings: StreamerSettings, **client_options: Any) -> int:
    """Publish this host's key changes to the keys topic and apply the others'; returns how
    many records changed the key file (0, and nothing done, without a keys topic)."""
    sync = key_topic_sync(settings, **client_options)
    if sync is None:
        return 0
    async with sync:
        return await sync.sync()


def keyring_from_settings(
    settings: StreamerSettings, *, provider: KeyProvider | None = None, **client_options: Any
) -> EnvelopeKeyring | LocalKeyring:
    """The keyring of ``settings``' key file, its root key unwrapped by ``provider``
    (default: the one ``STREAMER_KEY_PROVIDER`` names), caught up with the keys topic when
    ``STREAMER_KEYS_TOPIC`` is set; or, when ``STREAMER_TOKEN_KEY`` is set, the stateless
    keyring derived from it, as the engine's default does. Safe to call from inside a
    running event loop (it then blocks it while the provider answers)."""
    return run_blocking(open_keyring(settings, provider=provider, **client_options))


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end from synchronous code, even inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="keyring-open")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


def require_key_store(settings: StreamerSettings) -> None:
    """Refuse ``STREAMER_TOKEN_KEY`` where a key store is needed: its keys are derived,
    so they cannot be listed, created, rotated or shredded."""
    if settings.token_key is not None:
        raise ConfigurationError(
            "keys are derived from STREAMER_TOKEN_KEY, so there is nothing to list, create, "
            "rotate or shred; to manage keys, unset STREAMER_TOKEN_KEY and use a key store "
            "(STREAMER_KEY_PROVIDER: file, env, aws-kms, azure-keyvault)"
        )


def require_existing_key_file(settings: StreamerSettings) -> None:
    """Refuse to start a new key file where only an existing one can help (``unmask``,
    ``serve``): its keys would be new, so no token or ciphertext could be restored with it.
    A keys topic fills a new key file, and ``STREAMER_TOKEN_KEY`` needs none."""
    key_file = settings.resolved_key_file()
    if settings.token_key is None and not settings.keys_topic and not key_file.exists():
        raise ConfigurationError(
            f"key file {key_file} does not exist, and a new one could restore nothing; point "
            "STREAMER_KEY_FILE (--key-file) or STREAMER_DATA_DIR at the key file the tokens "
            "were made with (or share keys through STREAMER_KEYS_TOPIC)"
        )


def key_store_keyring(settings: StreamerSettings, **client_options: Any) -> EnvelopeKeyring:
    """The key store's keyring, for managing keys (``client_options`` for the keys topic)."""
    require_key_store(settings)
    keyring = keyring_from_settings(settings, **client_options)
    assert isinstance(keyring, EnvelopeKeyring)
    return keyring
