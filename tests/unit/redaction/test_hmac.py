"""``HmacSha256`` (the keyed state made once and copied per message) is HMAC-SHA256 to the byte."""

from __future__ import annotations

import hmac
import random

from streamer.redaction.tokens import HmacSha256, keyed_hmac


def test_same_digest_as_hmac_for_keys_and_messages_of_any_length() -> None:
    rng = random.Random(2104)
    for key_length in [0, 1, 31, 32, 63, 64, 65, 100, 200]:
        key = rng.randbytes(key_length)
        keyed = HmacSha256(key)
        for _ in range(40):
            message = rng.randbytes(rng.randint(0, 300))
            assert keyed.digest(message) == hmac.digest(key, message, "sha256")
        assert keyed.digest(b"again") == keyed.digest(b"again")  # the key states are kept


def test_keyed_hmac_is_made_once_per_key() -> None:
    assert keyed_hmac(b"k" * 32) is keyed_hmac(b"k" * 32)
    assert keyed_hmac(b"k" * 32).digest(b"m") == hmac.digest(b"k" * 32, b"m", "sha256")
