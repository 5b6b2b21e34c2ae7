"""Dead letters: records that could not be redacted, kept without exposing their content.

A dead letter holds the reason (a stable code and a message free of the record's data),
where the record came from, its original key, and its payload encrypted with the key
scope's key, bound to its source coordinates as associated data, so a dead letter cannot
be passed off as another. Nothing in it depends on the clock: processing the same record
again gives the same bytes. The value's shape is ``schemas/dead_letter.schema.json``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from streamer.redaction.keys import Keyring, unpack_blob
from streamer.stream.exceptions import StreamError

SCHEMA_VERSION = 1
#: Largest payload stored in a dead letter by default: its record stays under Kafka's
#: default message size limit (1 MB) after encryption and base64.
DEFAULT_MAX_PAYLOAD_BYTES = 750_000
#: Largest record key kept in a dead letter (as its key and, base64, in its value); a
#: larger one is left out, so the dead letter still fits its topic's message size limit.
MAX_KEY_BYTES = 16 * 1024


def dead_letter_key(key: bytes | None) -> bytes | None:
    """The key a dead letter keeps of its record's ``key``: ``None`` when it is too large."""
    return key if key is None or len(key) <= MAX_KEY_BYTES else None


def payload_associated_data(topic: str, partition: int, offset: int) -> bytes:
    """What a dead letter's ciphertext is bound to: its source coordinates."""
    return f"pii-streamer/dead-letter/{topic}/{partition}/{offset}".encode()


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record that went to the dead-letter topic instead of the clean topic."""

    reason: str
    message: str
    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: bytes | None
    scope: str
    policy_version: str
    payload_size: int
    ciphertext: bytes | None = None
    key_id: str | None = None
    payload_omitted: str | None = None
    #: Size of the original key when it was too large to keep (``key`` is then ``None``).
    key_omitted_size: int | None = None

    @classmethod
    def seal(
        cls,
        *,
        reason: str,
        message: str,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int | None,
        key: bytes | None,
        payload: bytes,
        scope: str,
        keyring: Keyring,
        policy_version: str,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        omit_payload: str | None = None,
    ) -> DeadLetter:
        """A dead letter with ``payload`` encrypted, or left out (and said so) when it is
        over ``max_payload_bytes`` or ``omit_payload`` says why (``no_key_for_scope``: no
        key to encrypt it with); it then stays only at its source coordinates."""
        kept_key = dead_letter_key(key)
        common: dict[str, Any] = {
            "reason": reason,
            "message": message,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "timestamp": timestamp,
            "key": kept_key,
            "key_omitted_size": len(key) if key is not None and kept_key is None else None,
            "scope": scope,
            "policy_version": policy_version,
            "payload_size": len(payload),
        }
        if len(payload) > max_payload_bytes:
            omit_payload = "too_large_for_dead_letter"
        if omit_payload is not None:
            return cls(**common, payload_omitted=omit_payload)
        blob = keyring.encrypt(
            payload,
            scope=scope,
            associated_data=payload_associated_data(topic, partition, offset),
        )
        return cls(**common, ciphertext=blob, key_id=unpack_blob(blob)[0])

    def open(self, keyring: Keyring) -> bytes:
        """The original payload; raises ``UnmaskError`` on a wrong key or tampering."""
        if self.ciphertext is None:
            raise StreamError(
                f"this dead letter holds no payload ({self.payload_omitted}); read the record at "
                f"its source coordinates, offset {self.offset} of partition {self.partition}"
            )
        return keyring.decrypt(
            self.ciphertext,
            scope=self.scope,
            associated_data=payload_associated_data(self.topic, self.partition, self.offset),
        )

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "reason": self.reason,
            "message": self.message,
            "source": {
                "topic": self.topic,
                "partition": self.partition,
                "offset": self.offset,
                "timestamp": self.timestamp,
            },
            "key": None if self.key is None else base64.b64encode(self.key).decode(),
            "scope": self.scope,
            "policy_version": self.policy_version,
            "payload_size": self.payload_size,
        }
        if self.key_omitted_size is not None:
            document["key_omitted_size"] = self.key_omitted_size
        if self.ciphertext is not None:
            document["payload"] = {
                "ciphertext": base64.b64encode(self.ciphertext).decode(),
                "key_id": self.key_id,
            }
        else:
            document["payload_omitted"] = self.payload_omitted
        return orjson.dumps(document)

    @classmethod
    def from_json(cls, value: bytes) -> DeadLetter:
        try:
            document = orjson.loads(value)
            source = document["source"]
            payload = document.get("payload")
            key = document.get("key")
            return cls(
                reason=document["reason"],
                message=document["message"],
                topic=source["topic"],
                partition=source["partition"],
                offset=source["offset"],
                timestamp=source.get("timestamp"),
                key=None if key is None else base64.b64decode(key, validate=True),
                scope=document["scope"],
                policy_version=document["policy_version"],
                payload_size=document["payload_size"],
                ciphertext=base64.b64decode(payload["ciphertext"], validate=True)
                if payload
                else None,
                key_id=payload["key_id"] if payload else None,
                payload_omitted=document.get("payload_omitted"),
                key_omitted_size=document.get("key_omitted_size"),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise StreamError("dead-letter record is malformed; is this the DLQ topic?") from None
