"""Policy actions: what replaces a detected value.

============  =============================================  ==========
action        output                                         reversible
============  =============================================  ==========
``tokenize``  ``[EMAIL_ADDRESS_9f2c4e1ab37d5c08]`` (default)  via the token topic
``encrypt``   ``[EMAIL_ADDRESS:enc:<base64url>]`` (AES-GCM)   with the key
``mask``      ``************1111`` (keeps the last N)         no
``hash``      ``[EMAIL_ADDRESS#<32 hex>]`` (keyed HMAC)        no
``redact``    a fixed label, ``<EMAIL_ADDRESS>`` by default   no
``preserve``  the value unchanged                            (kept)
============  =============================================  ==========
"""

from __future__ import annotations

import base64
import re
from abc import ABC, abstractmethod
from typing import ClassVar

from streamer.redaction.keys import Keyring
from streamer.redaction.tokens import encode_value, make_keyed_hash, make_token

ENCRYPTED_PATTERN = re.compile(r"\[([A-Z][A-Z0-9_]*):enc:([A-Za-z0-9_-]+)\]")


class Action(ABC):
    """Turns a detected value into its replacement."""

    name: ClassVar[str]
    #: True when the original can be recovered (and a mapping may be published).
    reversible: ClassVar[bool] = False

    @abstractmethod
    def apply(self, value: str, entity_type: str, keyring: Keyring, scope: str) -> str:
        """The text that replaces ``value``."""


class TokenizeAction(Action):
    name = "tokenize"
    reversible = True

    def apply(self, value: str, entity_type: str, keyring: Keyring, scope: str) -> str:
        return make_token(keyring.token_key(scope), entity_type, value)


class EncryptAction(Action):
    name = "encrypt"
    reversible = True

    def apply(self, value: str, entity_type: str, keyring: Keyring, scope: str) -> str:
        blob = keyring.encrypt(
            encode_value(value), scope=scope, associated_data=entity_type.encode()
        )
        return f"[{entity_type}:enc:{base64.urlsafe_b64encode(blob).rstrip(b'=').decode()}]"


class MaskAction(Action):
    name = "mask"

    def __init__(self, keep_last: int = 0, mask_char: str = "*") -> None:
        self.keep_last = keep_last
        self.mask_char = mask_char

    def apply(self, value: str, entity_type: str, keyring: Keyring, scope: str) -> str:
        """``value`` masked but for its last ``keep_last`` letters and digits (at most half
        of them), and the spaces or dashes between those: ``**********************30 00``
        for an IBAN written in groups, ``***************1111`` for a card."""
        keep = min(self.keep_last, sum(c.isalnum() for c in value) // 2) if self.keep_last else 0
        start = len(value)
        while keep and start > 0:
            start -= 1
            keep -= value[start].isalnum()
        return self.mask_char * start + value[start:]


class HashAction(Action):
    name = "hash"

    def apply(self, value: str, entity_type: str, keyring: Keyring, scope: str) -> str:
        return make_keyed_hash(keyring.hash_key(scope), entity_type, value)


class RedactAction(Action):
    name = "redact"

    def __init__(self, label: str | None = None) -> None:
        self.label = label

    def apply(self, value: str, entity_type: str, keyring: Keyring, scope: str) -> str:
        return self.label if self.label is not None else f"<{entity_type}>"


class PreserveAction(Action):
    name = "preserve"

    def apply(self, value: str, entity_type: str, keyring: Keyring, scope: str) -> str:
        return value


ACTION_NAMES: tuple[str, ...] = ("tokenize", "encrypt", "mask", "hash", "redact", "preserve")


def decrypt_inline(match: re.Match[str], keyring: Keyring, scope: str) -> str:
    """The original of an ``encrypt`` replacement matched by ``ENCRYPTED_PATTERN``."""
    entity_type, encoded = match.group(1), match.group(2)
    blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    plaintext = keyring.decrypt(blob, scope=scope, associated_data=entity_type.encode())
    return plaintext.decode("utf-8", "surrogatepass")
