"""Envelope encryption: :class:`EnvelopeKeyring`, the keyring over a key store.

A :class:`KeyProvider` holds the key-encryption key (KEK) and wraps and unwraps the key
store's root key; it is asked once per process, by :func:`open_envelope_keyring`. The
keyring then carries only the plain root key (and the key file's path), so it pickles
to worker processes without any cloud client. Scope keys are read from the key store
(or created there, first writer wins) on first use and kept in memory; every
``refresh_seconds`` the keyring checks whether keys were rotated or shredded.

Per scope and purpose, keys are derived with HKDF from the scope's random secrets:
token and hash keys from the token secret, encryption and nonce keys from each data
key. Rotation adds a data key; the token secret stays, so tokens never change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streamer.redaction.exceptions import (
    KeyMaterialError,
    KeyShreddedError,
    TamperedCiphertextError,
    UnknownKeyScopeError,
    WrongKeyError,
)
from streamer.redaction.keys import check_scope, derive_key, pack_blob, unpack_blob
from streamer.redaction.keystore import Keystore, Purpose, RootWrapping, ScopeKeyRecord, now_ms
from streamer.redaction.tokens import HmacSha256

log = logging.getLogger(__name__)

_NONCE_BYTES = 12
_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A secret wrapped by a KEK, and which KEK (version) wrapped it."""

    kek_id: str
    ciphertext: bytes


@runtime_checkable
class KeyProvider(Protocol):
    """Holds a key-encryption key (KEK) and wraps small secrets (the root key) with it.

    ``context`` is bound to the wrapped value (associated data, KMS encryption context):
    unwrapping with another context fails. ``unwrap`` gets the ``kek_id`` stored with
    the wrapped value, so a provider can unwrap what an older key version wrapped.
    """

    @property
    def name(self) -> str:
        """The provider's name in ``KEY_PROVIDERS``."""
        ...

    @property
    def kek_id(self) -> str:
        """Identifies the KEK in use (a fingerprint, a KMS key id, a Key Vault key URL)."""
        ...

    def wrap(self, plaintext: bytes, *, context: dict[str, str]) -> WrappedKey: ...

    def unwrap(self, wrapped: bytes, *, kek_id: str, context: dict[str, str]) -> bytes: ...

    def close(self) -> None: ...


def _context_bytes(context: dict[str, str]) -> bytes:
    return orjson.dumps(context, option=orjson.OPT_SORT_KEYS)


class LocalKek:
    """A KEK held locally: the ``file`` provider (a key file, mode 0600) or the ``env``
    provider (a variable). Wraps with AES-256-GCM and a random nonce."""

    def __init__(self, kek: bytes, name: str = "file") -> None:
        if len(kek) != _KEY_BYTES:
            raise KeyMaterialError("a key-encryption key must be 32 bytes")
        self._aes = AESGCM(kek)
        self.name = name
        self._kek_id = "local-" + hashlib.sha256(b"pii-streamer/kek-id\x00" + kek).hexdigest()[:16]

    @property
    def kek_id(self) -> str:
        return self._kek_id

    def __repr__(self) -> str:
        return f"LocalKek(name={self.name!r}, kek_id={self.kek_id!r})"

    @classmethod
    def from_value(cls, value: str, source: str, name: str = "env") -> LocalKek:
        """A KEK from text: 64 hex characters or base64 of 32 bytes."""
        value = value.strip()
        try:
            kek = (
                bytes.fromhex(value) if len(value) == 64 else base64.b64decode(value, validate=True)
            )
        except (ValueError, binascii.Error):
            kek = b""
        if len(kek) != _KEY_BYTES:
            raise KeyMaterialError(
                f"{source} must be 64 hex characters or base64 of 32 random bytes; "
                'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
            )
        return cls(kek, name)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> LocalKek:
        """The KEK in ``path``; a new random one is written there (mode 0600) if absent."""
        path = path.expanduser()
        if not path.exists():
            if not create:
                raise KeyMaterialError(
                    f"KEK file {path} does not exist; point STREAMER_KEK_FILE at it"
                )
            try:
                write_secret_file(path, secrets.token_hex(_KEY_BYTES) + "\n")
            except OSError as exc:
                raise KeyMaterialError(
                    f"KEK file {path} cannot be created ({exc.strerror}: {exc.filename}); "
                    f"{path.parent} must be a directory this user can write, or point "
                    "STREAMER_DATA_DIR (or STREAMER_KEK_FILE) at one"
                ) from None
            log.info("created a new KEK file", extra={"kek_file": str(path)})
        try:
            text = path.read_text()
        except OSError as exc:
            raise KeyMaterialError(
                f"KEK file {path} cannot be read ({exc.strerror}); check its owner and mode"
            ) from None
        return cls.from_value(text, f"KEK file {path}", name="file")

    def wrap(self, plaintext: bytes, *, context: dict[str, str]) -> WrappedKey:
        nonce = os.urandom(_NONCE_BYTES)
        return WrappedKey(
            self.kek_id, nonce + self._aes.encrypt(nonce, plaintext, _context_bytes(context))
        )

    def unwrap(self, wrapped: bytes, *, kek_id: str, context: dict[str, str]) -> bytes:
        if kek_id != self.kek_id:
            raise WrongKeyError(
                f"the root key is wrapped by KEK {kek_id}, not by this one ({self.kek_id}); "
                "use the KEK file or STREAMER_TOKEN_KEY the key file was created with"
            )
        try:
            return self._aes.decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _context_bytes(context)
            )
        except InvalidTag:
            raise TamperedCiphertextError(
                "the wrapped root key failed authentication: the key file was altered"
            ) from None

    def close(self) -> None:
        pass


def write_secret_file(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 holding ``text``; never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def root_context(root_key_id: str) -> dict[str, str]:
    return {"pii-streamer": "root-key", "root_key_id": root_key_id}


def open_root_key(keystore: Keystore, provider: KeyProvider) -> tuple[str, bytes]:
    """``(root_key_id, root_key)`` of ``keystore``, unwrapped by ``provider``; a new root
    key is made and stored (wrapped) when the key store has none."""
    wrappings = keystore.root_wrappings()
    if not wrappings:
        root_key_id = "root-" + secrets.token_hex(8)
        root = secrets.token_bytes(_KEY_BYTES)
        wrapped = provider.wrap(root, context=root_context(root_key_id))
        mine = RootWrapping(root_key_id, provider.name, wrapped.kek_id, wrapped.ciphertext)
        stored = keystore.add_root_key(mine)
        if stored == mine:
            return root_key_id, root
        wrappings = [stored]  # another process was first: use its root key
    # The wrapping by this very KEK, else the newest by the same provider (a KMS key that
    # was rotated, or named by alias now and by ARN when it wrapped).
    exact = [w for w in wrappings if w.kek_id == provider.kek_id]
    same_provider = [w for w in wrappings if w.provider == provider.name]
    candidates = exact or same_provider[-1:]
    if not candidates:
        found = ", ".join(sorted({f"{w.provider} ({w.kek_id})" for w in wrappings}))
        raise KeyMaterialError(
            f"key file {keystore.path} is wrapped by {found}, not by the {provider.name!r} "
            "key provider configured now; set STREAMER_KEY_PROVIDER (and its key setting) "
            "to the provider that created it"
        )
    chosen = candidates[0]
    assert chosen.wrapped is not None  # root_wrappings() gives live wrappings only
    root = provider.unwrap(
        chosen.wrapped, kek_id=chosen.kek_id, context=root_context(chosen.root_key_id)
    )
    if len(root) != _KEY_BYTES:
        raise TamperedCiphertextError("the unwrapped root key has the wrong length")
    return chosen.root_key_id, root


def open_envelope_keyring(
    key_file: Path,
    provider: KeyProvider,
    *,
    refresh_seconds: float = 5.0,
    create_scopes: bool = True,
) -> EnvelopeKeyring:
    """The keyring of the key store at ``key_file``, its root key unwrapped by ``provider``."""
    keystore = Keystore.open(key_file)
    try:
        root_key_id, root = open_root_key(keystore, provider)
    finally:
        keystore.close()
    return EnvelopeKeyring(
        key_file, root_key_id, root, refresh_seconds=refresh_seconds, create_scopes=create_scopes
    )


@dataclass(frozen=True, slots=True)
class _DataKey:
    key_id: str
    scope: str
    aes: AESGCM
    nonce_hmac: HmacSha256
    #: What every blob made with this key starts with (``pack_blob`` before the nonce).
    blob_header: bytes


@dataclass(frozen=True, slots=True)
class _ScopeKeys:
    token_key: bytes
    hash_key: bytes
    active: _DataKey


class EnvelopeKeyring:
    """A :class:`~streamer.redaction.keys.Keyring` over a key store: random keys per scope,
    wrapped by a root key that a :class:`KeyProvider` unwrapped. Picklable; thread-safe."""

    def __init__(
        self,
        key_file: Path,
        root_key_id: str,
        root_key: bytes,
        *,
        refresh_seconds: float = 5.0,
        create_scopes: bool = True,
    ) -> None:
        self.key_file = Path(key_file)
        self.root_key_id = root_key_id
        self._root_key = root_key
        self._root_aes = AESGCM(root_key)
        self.refresh_seconds = refresh_seconds
        self.create_scopes = create_scopes
        self._lock = threading.RLock()
        self._keystore: Keystore | None = None
        self._scopes: dict[str, _ScopeKeys] = {}
        self._data_keys: dict[str, _DataKey] = {}
        self._generation = -1
        self._checked_at = float("-inf")

    def __getstate__(self) -> dict[str, object]:
        return {
            "key_file": self.key_file,
            "root_key_id": self.root_key_id,
            "root_key": self._root_key,
            "refresh_seconds": self.refresh_seconds,
            "create_scopes": self.create_scopes,
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(  # type: ignore[misc]
            state["key_file"], state["root_key_id"], state["root_key"],
            refresh_seconds=state["refresh_seconds"], create_scopes=state["create_scopes"],
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"EnvelopeKeyring(key_file={str(self.key_file)!r}, root_key_id={self.root_key_id!r})"

    @property
    def root_key(self) -> bytes:
        """The plain root key (for re-wrapping it with a new KEK)."""
        return self._root_key

    @property
    def keystore(self) -> Keystore:
        """The key store, opened on first use (and again in each worker process)."""
        if self._keystore is None:
            self._keystore = Keystore.open(self.key_file, create=False)
        return self._keystore

    def close(self) -> None:
        with self._lock:
            if self._keystore is not None:
                self._keystore.close()
                self._keystore = None

    # --- reading and creating scope keys -------------------------------------------------

    def refresh(self, *, force: bool = False) -> None:
        """Forget cached keys when the key store changed (rotation, shredding)."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.refresh_seconds:
            return
        with self._lock:
            self._checked_at = now
            generation = self.keystore.generation()
            if generation != self._generation:
                self._generation = generation
                self._scopes.clear()
                self._data_keys.clear()

    def _aad(self, record: ScopeKeyRecord) -> bytes:
        return f"pii-streamer/scope-key/v1/{record.key_id}/{record.purpose}/{record.scope}".encode()

    def wrap_scope_key(
        self, scope: str, purpose: Purpose, version: int, secret: bytes | None = None
    ) -> tuple[ScopeKeyRecord, bytes]:
        """A new scope key record (random unless ``secret`` is given), wrapped by the root."""
        secret = secret if secret is not None else secrets.token_bytes(_KEY_BYTES)
        record = ScopeKeyRecord(
            "k" + secrets.token_hex(8),
            scope,
            purpose,
            version,
            None,
            self.root_key_id,
            now_ms(),
            None,
        )
        nonce = os.urandom(_NONCE_BYTES)
        wrapped = nonce + self._root_aes.encrypt(nonce, secret, self._aad(record))
        return ScopeKeyRecord(
            record.key_id,
            scope,
            purpose,
            version,
            wrapped,
            self.root_key_id,
            record.created_ms,
            None,
        ), secret

    def _unwrap(self, record: ScopeKeyRecord) -> bytes:
        if record.wrapped is None:
            raise KeyShreddedError(
                f"key {record.key_id} was shredded (crypto-shredding); what it protected "
                "cannot be recovered"
            )
        if record.root_key_id != self.root_key_id:
            raise WrongKeyError(
                f"key {record.key_id} is wrapped by root key {record.root_key_id}, this process "
                f"holds {self.root_key_id}; restart it after a root key change"
            )
        try:
            return self._root_aes.decrypt(
                record.wrapped[:_NONCE_BYTES], record.wrapped[_NONCE_BYTES:], self._aad(record)
            )
        except InvalidTag:
            raise TamperedCiphertextError(
                f"key {record.key_id} failed authentication: the key file was altered"
            ) from None

    def _data_key(self, record: ScopeKeyRecord) -> _DataKey:
        secret = self._unwrap(record)
        return _DataKey(
            record.key_id,
            record.scope,
            AESGCM(derive_key(secret, "encrypt", record.scope)),
            HmacSha256(derive_key(secret, "nonce", record.scope)),
            pack_blob(record.key_id, b"", b""),
        )

    def _scope_keys(self, scope: str) -> _ScopeKeys:
        self.refresh()
        keys = self._scopes.get(scope)
        if keys is not None:
            return keys
        with self._lock:
            keys = self._scopes.get(scope)
            if keys is None:
                keys = self._scopes[scope] = self._load_scope(scope)
            return keys

    def _load_scope(self, scope: str) -> _ScopeKeys:
        check_scope(scope)
        live = [r for r in self.keystore.scope_keys(scope) if not r.shredded]
        token = [r for r in live if r.purpose == "token"]
        data = [r for r in live if r.purpose == "data"]
        if not token or not data:
            self._create_scope(scope)
            live = [r for r in self.keystore.scope_keys(scope) if not r.shredded]
            token = [r for r in live if r.purpose == "token"]
            data = [r for r in live if r.purpose == "data"]
        # In keys topic order: the first token secret published is the scope's (hosts that
        # raced to create one agree on it), the last data key is the active one.
        token_secret = self._unwrap(token[0])
        active = self._data_key(data[-1])
        self._data_keys[active.key_id] = active
        return _ScopeKeys(
            derive_key(token_secret, "token", scope),
            derive_key(token_secret, "hash", scope),
            active,
        )

    def _create_scope(self, scope: str) -> None:
        if not self.create_scopes:
            raise UnknownKeyScopeError(
                "the record's key scope has no keys and STREAMER_KEY_SCOPE_AUTOCREATE is off; "
                "create the scope's keys with: streamer keys create SCOPE"
            )
        keystore = self.keystore
        token, _ = self.wrap_scope_key(scope, "token", keystore.next_version(scope, "token"))
        data, _ = self.wrap_scope_key(scope, "data", keystore.next_version(scope, "data"))
        if keystore.add_scope_keys([token, data], only_if_missing=True):
            log.info(
                "created keys for a new key scope", extra={"key_ids": [token.key_id, data.key_id]}
            )

    def ensure_scope(self, scope: str) -> None:
        """Create ``scope``'s keys now if it has none (``streamer keys create``)."""
        self._scope_keys(scope)

    # --- the Keyring protocol ------------------------------------------------------------

    def token_key(self, scope: str) -> bytes:
        return self._scope_keys(scope).token_key

    def hash_key(self, scope: str) -> bytes:
        return self._scope_keys(scope).hash_key

    def encrypt(self, plaintext: bytes, *, scope: str, associated_data: bytes = b"") -> bytes:
        key = self._scope_keys(scope).active
        nonce = key.nonce_hmac.digest(associated_data + b"\x00" + plaintext)[:_NONCE_BYTES]
        return key.blob_header + nonce + key.aes.encrypt(nonce, plaintext, associated_data)

    def decrypt(self, blob: bytes, *, scope: str, associated_data: bytes = b"") -> bytes:
        key_id, nonce, ciphertext = unpack_blob(blob)
        key = self._key_for(key_id, scope)
        try:
            return key.aes.decrypt(nonce, ciphertext, associated_data)
        except InvalidTag:
            raise TamperedCiphertextError(
                "ciphertext failed authentication: it was altered, or bound to another token"
            ) from None

    def _key_for(self, key_id: str, scope: str) -> _DataKey:
        self.refresh()
        key = self._data_keys.get(key_id)
        if key is not None and key.scope == scope:
            return key
        record = self.keystore.key(key_id)
        if record is None or record.purpose != "data":
            raise WrongKeyError(
                f"ciphertext was made with key {key_id}, which this key file does not hold; "
                "use the key file (and key provider) it was made with"
            )
        if record.scope != scope:
            raise WrongKeyError(
                f"ciphertext was made with key {key_id} of another key scope; unmask it with "
                "the scope it was redacted under"
            )
        key = self._data_key(record)
        self._data_keys[key_id] = key
        return key

    def key_scope(self, key_id: str) -> str | None:
        """The scope a key belongs to (shredded keys included), or ``None`` if unknown."""
        record = self.keystore.key(key_id)
        return record.scope if record is not None else None
