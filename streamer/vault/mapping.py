"""Token mappings: the records of the token topic (token -> encrypted original).

Key: the token id (UTF-8). Value: JSON with the entity type, the key scope, the original
encrypted with the scope's key (AES-GCM, bound to the token id as associated data), the
key id, the policy version and where the token was first seen. Never plaintext.
The value's shape is ``schemas/token_mapping.schema.json``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from streamer.redaction.exceptions import UnmaskError
from streamer.redaction.keys import Keyring, unpack_blob
from streamer.redaction.tokens import decode_value, encode_value

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class SourceCoordinates:
    """Where a record came from: topic, partition, offset."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class TokenMapping:
    """One token and its encrypted original, as published on the token topic."""

    token: str
    entity_type: str
    scope: str
    ciphertext: bytes
    key_id: str
    policy_version: str
    source: SourceCoordinates | None = None
    first_seen_ms: int | None = None

    @classmethod
    def seal(
        cls,
        token: str,
        entity_type: str,
        original: str,
        *,
        scope: str,
        keyring: Keyring,
        policy_version: str,
        source: SourceCoordinates | None = None,
        first_seen_ms: int | None = None,
    ) -> TokenMapping:
        """Encrypt ``original`` for the token topic; deterministic for the same inputs."""
        blob, key_id = _encrypt(keyring, token.encode(), original, scope)
        return cls(token, entity_type, scope, blob, key_id, policy_version, source, first_seen_ms)

    def open(self, keyring: Keyring) -> str:
        """The original value; raises :class:`UnmaskError` on a wrong key or tampering."""
        return decode_value(
            keyring.decrypt(self.ciphertext, scope=self.scope, associated_data=self.token.encode())
        )

    def key(self) -> bytes:
        return self.token.encode()

    def to_json(self) -> bytes:
        source = self.source
        return _record_value(
            self.token,
            self.entity_type,
            self.scope,
            self.ciphertext,
            self.key_id,
            self.policy_version,
            None if source is None else (source.topic, source.partition, source.offset),
            self.first_seen_ms,
        )

    @classmethod
    def from_json(cls, value: bytes) -> TokenMapping:
        try:
            document = orjson.loads(value)
            source = document.get("source")
            return cls(
                token=document["token"],
                entity_type=document["entity_type"],
                scope=document["scope"],
                ciphertext=base64.b64decode(document["ciphertext"], validate=True),
                key_id=document["key_id"],
                policy_version=document["policy_version"],
                source=SourceCoordinates(source["topic"], source["partition"], source["offset"])
                if source
                else None,
                first_seen_ms=document.get("first_seen_ms"),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise UnmaskError(
                "token mapping record is malformed; is this the token topic?"
            ) from None


class TokenRecordSealer:
    """Builds token topic records as bytes, the same as ``TokenMapping.seal(...)`` and
    its ``key()`` and ``to_json()``, without the intermediate objects: what a worker
    does for every new token."""

    __slots__ = ("keyring", "policy_version")

    def __init__(self, keyring: Keyring, policy_version: str) -> None:
        self.keyring = keyring
        self.policy_version = policy_version

    def seal(
        self,
        token: str,
        entity_type: str,
        original: str,
        scope: str,
        source: tuple[str, int, int] | None,
        first_seen_ms: int | None,
    ) -> tuple[bytes, bytes]:
        """``(key, value)`` of the record for ``token``; ``source`` is ``(topic,
        partition, offset)``."""
        key = token.encode()
        blob, key_id = _encrypt(self.keyring, key, original, scope)
        value = _record_value(
            token, entity_type, scope, blob, key_id, self.policy_version, source, first_seen_ms
        )
        return key, value


def _encrypt(keyring: Keyring, token_key: bytes, original: str, scope: str) -> tuple[bytes, str]:
    """``original`` encrypted under ``scope``, bound to the record key ``token_key``; the
    blob and the id of the key that made it."""
    blob = keyring.encrypt(encode_value(original), scope=scope, associated_data=token_key)
    key_id, _, _ = unpack_blob(blob)
    return blob, key_id


def _record_value(
    token: str,
    entity_type: str,
    scope: str,
    ciphertext: bytes,
    key_id: str,
    policy_version: str,
    source: tuple[str, int, int] | None,
    first_seen_ms: int | None,
) -> bytes:
    """The JSON value of a token mapping record."""
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "token": token,
        "entity_type": entity_type,
        "scope": scope,
        "ciphertext": binascii.b2a_base64(ciphertext, newline=False).decode(),  # = b64encode
        "key_id": key_id,
        "policy_version": policy_version,
    }
    if source is not None:
        topic, partition, offset = source
        document["source"] = {"topic": topic, "partition": partition, "offset": offset}
    if first_seen_ms is not None:
        document["first_seen_ms"] = first_seen_ms
    return orjson.dumps(document)
