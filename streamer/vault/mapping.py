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
#: Entries each of a sealer's caches keeps at most (scopes can be many: one per tenant).
SEALER_CACHE_ENTRIES = 4096


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
    does for every new token.

    The value is ``_record_value``'s JSON put together from pieces: the parts that stay
    the same across tokens (entity type and scope, key id and source partition) are
    serialized once and kept, and only the token, ciphertext and offsets are new.
    """

    __slots__ = ("_heads", "_key_ids", "_middles", "keyring", "policy_version")

    def __init__(self, keyring: Keyring, policy_version: str) -> None:
        self.keyring = keyring
        self.policy_version = policy_version
        #: Key id by the blob header it begins with (version, id length, id).
        self._key_ids: dict[bytes, str] = {}
        #: ``"entity_type": ..., "scope": ..., "ciphertext": "`` by (entity type, scope).
        self._heads: dict[tuple[str, str], bytes] = {}
        #: From the ciphertext's closing quote to the offset, by (key id, source partition).
        self._middles: dict[tuple[str, str | None, int], bytes] = {}

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
        blob = self.keyring.encrypt(encode_value(original), scope=scope, associated_data=key)
        header = blob[: 2 + blob[1]] if len(blob) > 1 else blob
        key_id = self._key_ids.get(header)
        if key_id is None:
            key_id, _, _ = unpack_blob(blob)  # checks the blob, once per key
            _bounded(self._key_ids)[header] = key_id
        head = self._heads.get((entity_type, scope))
        if head is None:
            head = _bounded(self._heads)[entity_type, scope] = (
                b',"entity_type":%b,"scope":%b,"ciphertext":"'
                % (orjson.dumps(entity_type), orjson.dumps(scope))
            )
        topic, partition, offset = source if source is not None else (None, 0, 0)
        middle = self._middles.get((key_id, topic, partition))
        if middle is None:
            middle = b'","key_id":%b,"policy_version":%b' % (
                orjson.dumps(key_id),
                orjson.dumps(self.policy_version),
            )
            if topic is not None:
                middle += b',"source":{"topic":%b,"partition":%d,"offset":' % (
                    orjson.dumps(topic),
                    partition,
                )
            _bounded(self._middles)[key_id, topic, partition] = middle
        value = b'{"schema_version":%d,"token":%b%b%b%b' % (
            SCHEMA_VERSION,
            orjson.dumps(token),
            head,
            binascii.b2a_base64(blob, newline=False),
            middle,
        )
        if topic is not None:
            value += b"%d}" % offset
        if first_seen_ms is not None:
            value += b',"first_seen_ms":%d' % first_seen_ms
        return key, value + b"}"


def _bounded(cache: dict[Any, Any]) -> dict[Any, Any]:
    """``cache``, emptied first when full."""
    if len(cache) >= SEALER_CACHE_ENTRIES:
        cache.clear()
    return cache


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
