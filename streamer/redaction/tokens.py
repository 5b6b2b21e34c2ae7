"""Deterministic token ids: ``[EMAIL_ADDRESS_9f2c4e1ab37d5c08]``.

A token id is the entity type and the first 64 bits of an HMAC-SHA256 of the type and
value under the scope's token key. The same value of the same type in the same key
scope always gives the same token; without the key, a token says nothing about the
value. The brackets make tokens easy to find again in text (``TOKEN_PATTERN``).
"""

from __future__ import annotations

import functools
import hmac
import re

TOKEN_HEX_DIGITS = 16
TOKEN_PATTERN = re.compile(r"\[([A-Z][A-Z0-9_]*?)_([0-9a-f]{16})\]")


def encode_value(value: str) -> bytes:
    """UTF-8 bytes of ``value``; lone surrogates survive so every string has bytes."""
    return value.encode("utf-8", "surrogatepass")


def decode_value(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


class HmacSha256:
    """HMAC-SHA256 under one key, the same bytes as ``hmac.digest(key, message, "sha256")``.
    The key's padded hash states are made once and copied per message: ``hmac.digest``
    redoes them per call, which costs more than hashing a short message."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod="sha256")

    def digest(self, message: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.digest()


@functools.lru_cache(maxsize=1024)
def keyed_hmac(key: bytes) -> HmacSha256:
    """The :class:`HmacSha256` of ``key``, made once per key (keys are per scope)."""
    return HmacSha256(key)


#: Token ids remembered per process: customers' names and addresses recur in every event.
_REMEMBERED = 65_536


@functools.lru_cache(maxsize=_REMEMBERED)
def make_token(token_key: bytes, entity_type: str, value: str) -> str:
    """The token id of ``value`` as an ``entity_type``."""
    message = entity_type.encode() + b"\x1f" + encode_value(value)
    digest = keyed_hmac(token_key).digest(message)
    return f"[{entity_type}_{digest[: TOKEN_HEX_DIGITS // 2].hex()}]"


@functools.lru_cache(maxsize=_REMEMBERED)
def make_keyed_hash(hash_key: bytes, entity_type: str, value: str) -> str:
    """A keyed HMAC of ``value`` (128 bits), for the ``hash`` action: not reversible."""
    message = entity_type.encode() + b"\x1f" + encode_value(value)
    return f"[{entity_type}#{keyed_hmac(hash_key).digest(message)[:16].hex()}]"
