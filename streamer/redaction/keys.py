"""Key material for the engine: what tokens, hashes and inline ciphertexts are keyed by.

The engine only needs the :class:`Keyring` protocol. :class:`LocalKeyring` keeps one
root secret (from the ``token_key`` setting or a local key file created with mode 0600
on first use) and derives separate keys from it with HKDF, one per purpose and key
scope. The vault (:mod:`streamer.vault`) provides keyrings backed by KMS or Key Vault.

Tokens are keyed per scope (a tenant, say): the same value in the same scope always
gives the same token, across records, processes and restarts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from streamer.redaction.exceptions import KeyMaterialError, UnmaskError
from streamer.settings import StreamerSettings

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
        """The plaintext of ``blob``; raises :class:`UnmaskError` when it cannot."""
        ...


def _hkdf(root: bytes, purpose: str, scope: str) -> bytes:
    info = f"pii-streamer/v1/{purpose}/{scope}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)


def pack_blob(key_id: str, nonce: bytes, ciphertext: bytes) -> bytes:
    """Join the ciphertext parts: version, key id length, key id, nonce, ciphertext."""
    key_id_bytes = key_id.encode()
    return bytes([_BLOB_VERSION, len(key_id_bytes)]) + key_id_bytes + nonce + ciphertext


def unpack_blob(blob: bytes) -> tuple[str, bytes, bytes]:
    """``(key_id, nonce, ciphertext)`` of a blob made by :func:`pack_blob`."""
    if len(blob) < 2 or blob[0] != _BLOB_VERSION:
        raise UnmaskError("ciphertext has an unknown format or version; was it altered?")
    id_length = blob[1]
    key_id_end = 2 + id_length
    if len(blob) < key_id_end + _NONCE_BYTES + 16:
        raise UnmaskError("ciphertext is truncated; was it altered?")
    key_id = blob[2:key_id_end].decode("ascii", "replace")
    nonce = blob[key_id_end : key_id_end + _NONCE_BYTES]
    return key_id, nonce, blob[key_id_end + _NONCE_BYTES :]


class LocalKeyring:
    """A keyring from one 32-byte root secret, with HKDF-derived keys per purpose and scope."""

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
            key = self._derived[cache_key] = _hkdf(self._root, purpose, scope)
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
            raise UnmaskError(
                f"ciphertext was made with key {key_id!r}, this keyring holds {self.key_id!r}; "
                "use the key file or key provider it was encrypted with"
            )
        try:
            return AESGCM(self._key("encrypt", scope)).decrypt(nonce, ciphertext, associated_data)
        except InvalidTag:
            raise UnmaskError(
                "ciphertext failed authentication: it was altered, or belongs to another key scope"
            ) from None


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


def load_or_create_key_file(path: Path) -> LocalKeyring:
    """The keyring in ``path``; a new random one is written there (mode 0600) if absent."""
    path = path.expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        root = secrets.token_bytes(32)
        document = {
            "version": 1,
            "root_key": base64.b64encode(root).decode(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_key_file(path)  # another process created it first
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)
        log.info("created a new key file", extra={"key_file": str(path)})
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "key file is readable by other users; run: chmod 600 <key file>",
            extra={"key_file": str(path), "mode": oct(mode)},
        )
    try:
        document = json.loads(path.read_text())
        root_value = document["root_key"]
    except (OSError, ValueError, KeyError, TypeError):
        raise KeyMaterialError(
            f"key file {path} is not a pii-streamer key file; move it away to create a new "
            "one (tokens will change) or point STREAMER_KEY_FILE at the right file"
        ) from None
    return LocalKeyring(_decode_root(root_value, f"root_key in {path}"))


def keyring_from_settings(settings: StreamerSettings) -> LocalKeyring:
    """The keyring the settings name: ``token_key`` when set, else the local key file."""
    if settings.token_key is not None:
        return LocalKeyring(
            _decode_root(settings.token_key.get_secret_value(), "STREAMER_TOKEN_KEY")
        )
    return load_or_create_key_file(settings.resolved_key_file())
