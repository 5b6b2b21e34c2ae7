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


#: Token ids remembered per process: customers' names and addresses recur in every event.
_REMEMBERED = 65_536


@functools.lru_cache(maxsize=_REMEMBERED)
def make_token(token_key: bytes, entity_type: str, value: str) -> str:
    """The token id of ``value`` as an ``entity_type``."""
    message = entity_type.encode() + b"\x1f" + encode_value(value)
    digest = hmac.digest(token_key, message, "sha256")
    return f"[{entity_type}_{digest[: TOKEN_HEX_DIGITS // 2].hex()}]"


@functools.lru_cache(maxsize=_REMEMBERED)
def make_keyed_hash(hash_key: bytes, entity_type: str, value: str) -> str:
    """A keyed HMAC of ``value`` (128 bits), for the ``hash`` action: not reversible."""
    message = entity_type.encode() + b"\x1f" + encode_value(value)
    return f"[{entity_type}#{hmac.digest(hash_key, message, 'sha256')[:16].hex()}]"
