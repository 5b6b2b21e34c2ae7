"""Actions, deterministic tokens and key material."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from streamer import RedactionService
from streamer.redaction.exceptions import KeyMaterialError, UnmaskError
from streamer.redaction.keys import LocalKeyring, keyring_from_settings
from streamer.redaction.tokens import TOKEN_PATTERN
from streamer.settings import StreamerSettings

TEXT = "mail jane@example.com, card 4111 1111 1111 1111, ssn 536-22-1234"


def service(tmp_path: Path, policy: dict | None = None, **settings: object) -> RedactionService:
    return RedactionService(policy, settings=StreamerSettings(data_dir=tmp_path, **settings))


def test_when_first_run_then_key_file_created_owner_only(tmp_path: Path) -> None:
    settings = StreamerSettings(data_dir=tmp_path / "state")
    keyring_from_settings(settings)
    key_file = settings.resolved_key_file()
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_tokens_are_deterministic_across_instances_and_differ_by_key(tmp_path: Path) -> None:
    first = service(tmp_path).redact(TEXT)
    second = service(tmp_path).redact(TEXT)  # a new service reading the same key file
    other = service(tmp_path / "other").redact(TEXT)  # a new key file
    assert first.redacted_text == second.redacted_text
    assert first.redacted_text != other.redacted_text
    assert len(TOKEN_PATTERN.findall(first.redacted_text)) == 3


def test_tokens_differ_by_scope(tmp_path: Path) -> None:
    svc = service(tmp_path)
    assert (
        svc.redact(TEXT, scope="tenant-a").redacted_text
        != svc.redact(TEXT, scope="tenant-b").redacted_text
    )


def test_token_key_setting_overrides_key_file(tmp_path: Path) -> None:
    key = "ab" * 32
    a = service(tmp_path / "a", token_key=key).redact(TEXT).redacted_text
    b = service(tmp_path / "b", token_key=key).redact(TEXT).redacted_text
    assert a == b


def test_when_token_key_malformed_then_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="64 hex characters"):
        service(tmp_path, token_key="short")


def test_token_ids_carry_64_bits_and_the_type(tmp_path: Path) -> None:
    result = service(tmp_path).redact("jane@example.com")
    match = TOKEN_PATTERN.fullmatch(result.redacted_text)
    assert match is not None
    assert match.group(1) == "EMAIL_ADDRESS" and len(match.group(2)) == 16


def test_mask_keeps_last_four(tmp_path: Path) -> None:
    svc = service(tmp_path, {"entities": {"CREDIT_CARD": {"action": "mask", "keep_last": 4}}})
    assert svc.redact("card 4111111111111111").redacted_text == "card ************1111"


def test_redact_uses_label(tmp_path: Path) -> None:
    svc = service(tmp_path, {"entities": {"US_SSN": {"action": "redact", "label": "[SSN]"}}})
    assert svc.redact("ssn 536-22-1234").redacted_text == "ssn [SSN]"
    default = service(tmp_path, {"default_action": "redact"})
    assert default.redact("ssn 536-22-1234").redacted_text == "ssn <US_SSN>"


def test_hash_is_keyed_not_a_bare_digest(tmp_path: Path) -> None:
    import hashlib

    policy = {"default_action": "hash"}
    a = service(tmp_path / "a", policy).redact("jane@example.com").redacted_text
    b = service(tmp_path / "b", policy).redact("jane@example.com").redacted_text
    assert a != b  # different keys
    assert hashlib.sha256(b"jane@example.com").hexdigest()[:32] not in a
    assert a == service(tmp_path / "a", policy).redact("jane@example.com").redacted_text


def test_encrypt_is_reversible_and_deterministic(tmp_path: Path) -> None:
    svc = service(tmp_path, {"default_action": "encrypt"})
    result = svc.redact(TEXT)
    assert "jane@example.com" not in result.redacted_text
    assert svc.redact(TEXT).redacted_text == result.redacted_text
    assert svc.unmask(result.redacted_text) == TEXT  # no token list needed: the key suffices
    with pytest.raises(UnmaskError):
        service(tmp_path / "other", {"default_action": "encrypt"}).unmask(result.redacted_text)


def test_when_ciphertext_tampered_then_authentication_fails(tmp_path: Path) -> None:
    keyring = LocalKeyring(os.urandom(32))
    blob = bytearray(keyring.encrypt(b"secret", scope="s"))
    blob[-1] ^= 1
    with pytest.raises(UnmaskError, match="authentication"):
        keyring.decrypt(bytes(blob), scope="s")


def test_preserve_leaves_value(tmp_path: Path) -> None:
    svc = service(tmp_path, {"entities": {"URL": "preserve"}})
    assert svc.redact("see https://example.com/x").redacted_text == "see https://example.com/x"


def test_keyring_pickles_without_losing_keys() -> None:
    import pickle

    keyring = LocalKeyring(os.urandom(32))
    clone = pickle.loads(pickle.dumps(keyring))
    assert clone.token_key("a") == keyring.token_key("a")
    assert clone.decrypt(keyring.encrypt(b"x", scope="a"), scope="a") == b"x"
