"""Key material for the engine: what tokens, hashes and inline ciphertexts are keyed by.

The engine only needs the :class:`Keyring` protocol. The default keyring
(:func:`keyring_from_settings`) is an
:class:`~streamer.redaction.envelope.EnvelopeKeyring` over the local key file: a key
store of random per-scope keys, wrapped (see :mod:`streamer.redaction.keystore`), so
keys can be rotated and shredded; its root key is wrapped by a local key-encryption key
(the KEK file, created with mode 0600 on first use, or ``STREAMER_KEK``). Key files
wrapped by AWS KMS or Azure Key Vault are opened by
:func:`streamer.vault.keyring_from_settings`, which gives the same tokens for the same
key file.

``STREAMER_TOKEN_KEY`` instead derives every key from one secret (:class:`LocalKeyring`):
stateless, so every process with the secret makes the same tokens without sharing a key
file, but keys can be neither rotated nor shredded.

Tokens are keyed per scope (a tenant, say): the same value in the same scope always
gives the same token, across records, processes, restarts and key rotations.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from streamer.errors import ConfigurationError
from streamer.redaction.exceptions import (
    InvalidKeyScopeError,
    KeyMaterialError,
    TamperedCiphertextError,
    WrongKeyError,
)
from streamer.settings import StreamerSettings

if TYPE_CHECKING:
    from pathlib import Path

    from streamer.redaction.envelope import EnvelopeKeyring, LocalKek

log = logging.getLogger(__name__)

DEFAULT_SCOPE = "default"
_BLOB_VERSION = 1
_NONCE_BYTES = 12


@runtime_checkable
class Keyring(Protocol):
    """What the engine needs from key material. Must be picklable (worker processes)."""

    def token_key(self, scope: str) -> bytes:
        """The HMAC key for deterministic token ids in ``scope``."""
        ...

    def hash_key(self, scope: str) -> bytes:
        """The HMAC key for the ``hash`` action in ``scope``."""
        ...

    def encrypt(self, plaintext: bytes, *, scope: str, associated_data: bytes = b"") -> bytes:
        """A self-describing ciphertext (version, key id, nonce, AES-GCM ciphertext).

        Deterministic for the same plaintext, scope and key: the nonce is derived from
        them, so replaying a record produces byte-identical output.
        """
        ...

    def decrypt(self, blob: bytes, *, scope: str, associated_data: bytes = b"") -> bytes:
        """The plaintext of ``blob``; raises a subclass of :class:`UnmaskError` when it
        cannot: :class:`WrongKeyError`, :class:`TamperedCiphertextError`,
        :class:`KeyShreddedError`."""
        ...


def check_scope(scope: str) -> None:
    """Raise :class:`InvalidKeyScopeError` when ``scope`` cannot be encoded as UTF-8 (a
    lone surrogate, as a JSON ``\\ud800`` escape in a scope field gives)."""
    try:
        scope.encode()
    except UnicodeEncodeError:
        raise InvalidKeyScopeError() from None


def derive_key(root: bytes, purpose: str, scope: str) -> bytes:
    """A 32-byte key for one purpose (token, hash, encrypt, nonce) and scope, by HKDF."""
    check_scope(scope)
    info = f"pii-streamer/v1/{purpose}/{scope}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)


def pack_blob(key_id: str, nonce: bytes, ciphertext: bytes) -> bytes:
    """Join the ciphertext parts: version, key id length, key id, nonce, ciphertext."""
    key_id_bytes = key_id.encode()
    return bytes([_BLOB_VERSION, len(key_id_bytes)]) + key_id_bytes + nonce + ciphertext


def unpack_blob(blob: bytes) -> tuple[str, bytes, bytes]:
    """``(key_id, nonce, ciphertext)`` of a blob made by :func:`pack_blob`."""
    if len(blob) < 2 or blob[0] != _BLOB_VERSION:
        raise TamperedCiphertextError(
            "ciphertext has an unknown format or version; was it altered?"
        )
    id_length = blob[1]
    key_id_end = 2 + id_length
    if len(blob) < key_id_end + _NONCE_BYTES + 16:
        raise TamperedCiphertextError("ciphertext is truncated; was it altered?")
    key_id = blob[2:key_id_end].decode("ascii", "replace")
    nonce = blob[key_id_end : key_id_end + _NONCE_BYTES]
    return key_id, nonce, blob[key_id_end + _NONCE_BYTES :]


class LocalKeyring:
    """A keyring from one secret, with HKDF-derived keys per purpose and scope.

    Stateless (no key file), so the same secret gives the same tokens anywhere; keys
    cannot be rotated or shredded. For tests and throwaway use; deployments use the key
    file (:func:`keyring_from_settings`)."""

    def __init__(self, root: bytes, key_id: str | None = None) -> None:
        if len(root) < 32:
            raise KeyMaterialError("the root key must be at least 32 bytes")
        self._root = root
        self.key_id = key_id or "local-" + hashlib.sha256(root).hexdigest()[:12]
        self._derived: dict[tuple[str, str], bytes] = {}

    def __getstate__(self) -> dict[str, object]:
        return {"root": self._root, "key_id": self.key_id}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["root"], state["key_id"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"LocalKeyring(key_id={self.key_id!r})"

    def _key(self, purpose: str, scope: str) -> bytes:
        cache_key = (purpose, scope)
        key = self._derived.get(cache_key)
        if key is None:
            key = self._derived[cache_key] = derive_key(self._root, purpose, scope)
        return key

    def token_key(self, scope: str) -> bytes:
        return self._key("token", scope)

    def hash_key(self, scope: str) -> bytes:
        return self._key("hash", scope)

    def encrypt(self, plaintext: bytes, *, scope: str, associated_data: bytes = b"") -> bytes:
        nonce = hmac.digest(
            self._key("nonce", scope), associated_data + b"\x00" + plaintext, "sha256"
        )[:_NONCE_BYTES]
        ciphertext = AESGCM(self._key("encrypt", scope)).encrypt(nonce, plaintext, associated_data)
        return pack_blob(self.key_id, nonce, ciphertext)

    def decrypt(self, blob: bytes, *, scope: str, associated_data: bytes = b"") -> bytes:
        key_id, nonce, ciphertext = unpack_blob(blob)
        if key_id != self.key_id:
            raise WrongKeyError(
                f"ciphertext was made with key {key_id!r}, this keyring holds {self.key_id!r}; "
                "use the key file or key provider it was encrypted with"
            )
        try:
            return AESGCM(self._key("encrypt", scope)).decrypt(nonce, ciphertext, associated_data)
        except InvalidTag:
            raise TamperedCiphertextError(
                "ciphertext failed authentication: it was altered, or belongs to another key scope"
            ) from None


#: Key providers the engine opens itself; the others need :mod:`streamer.vault`.
LOCAL_KEY_PROVIDERS = ("file", "env")


def file_kek(settings: StreamerSettings) -> LocalKek:
    """The ``file`` key provider: the local KEK file, created (mode 0600) on first use,
    but never for a key file whose root key a KEK file wraps already: a new KEK could not
    open it (the key file was copied without its KEK file, say)."""
    from streamer.redaction.envelope import LocalKek

    kek_file = settings.resolved_kek_file()
    if not kek_file.expanduser().exists():
        _refuse_new_kek_for(settings.resolved_key_file(), kek_file)
    return LocalKek.from_file(kek_file)


def _refuse_new_kek_for(key_file: Path, kek_file: Path) -> None:
    """Raise when the existing ``key_file`` has a root key wrapped by a KEK file."""
    from streamer.redaction.keystore import Keystore

    if not key_file.expanduser().exists():
        return
    keystore = Keystore.open(key_file, create=False)
    try:
        wrapped_by = [w.kek_id for w in keystore.root_wrappings() if w.provider == "file"]
    finally:
        keystore.close()
    if wrapped_by:
        raise KeyMaterialError(
            f"KEK file {kek_file} does not exist, but key file {key_file} is wrapped by a KEK "
            f"file ({wrapped_by[0]}); copy the KEK file made with the key file (its name ends "
            "in .kek, next to where the key file was created) to that path, or point "
            "STREAMER_KEK_FILE at it"
        )


def env_kek(settings: StreamerSettings) -> LocalKek:
    """The ``env`` key provider: the KEK in ``STREAMER_KEK``."""
    from streamer.redaction.envelope import LocalKek

    if settings.kek is None:
        raise ConfigurationError(
            "the 'env' key provider needs STREAMER_KEK (64 hex characters); "
            'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    return LocalKek.from_value(settings.kek.get_secret_value(), "STREAMER_KEK")


def local_key_provider(settings: StreamerSettings) -> LocalKek:
    """The local KEK the settings name (``file`` or ``env``)."""
    provider = settings.resolved_key_provider()
    if provider == "file":
        return file_kek(settings)
    if provider == "env":
        return env_kek(settings)
    raise ConfigurationError(
        f"key provider {provider!r} is opened by the vault: build the keyring with "
        "streamer.vault.keyring_from_settings(settings) and pass it as keyring=, or use "
        f"one of the local providers: {', '.join(LOCAL_KEY_PROVIDERS)}"
    )


def stateless_keyring(settings: StreamerSettings) -> LocalKeyring | None:
    """The keyring of ``STREAMER_TOKEN_KEY`` when it is set (and no key provider is)."""
    if settings.token_key is None:
        return None
    if settings.key_provider:
        raise ConfigurationError(
            "STREAMER_TOKEN_KEY (keys derived from one secret) and STREAMER_KEY_PROVIDER "
            "(a key store) are both set; unset one of them"
        )
    return LocalKeyring(_decode_root(settings.token_key.get_secret_value(), "STREAMER_TOKEN_KEY"))


def _decode_root(value: str, source: str) -> bytes:
    value = value.strip()
    try:
        root = bytes.fromhex(value) if len(value) == 64 else base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        root = b""
    if len(root) != 32:
        raise KeyMaterialError(
            f"{source} must be 64 hex characters or base64 of 32 random bytes; "
            'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    return root


def keyring_from_settings(settings: StreamerSettings) -> LocalKeyring | EnvelopeKeyring:
    """The default keyring: ``STREAMER_TOKEN_KEY`` when set, else the key file with its
    root key wrapped by a local KEK (``file`` or ``env`` provider)."""
    from streamer.redaction.envelope import open_envelope_keyring

    stateless = stateless_keyring(settings)
    if stateless is not None:
        return stateless
    provider = local_key_provider(settings)
    return open_envelope_keyring(
        settings.resolved_key_file(),
        provider,
        refresh_seconds=settings.key_refresh_seconds,
        create_scopes=settings.key_scope_autocreate,
    )
