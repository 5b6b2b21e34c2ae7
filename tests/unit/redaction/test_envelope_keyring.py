"""The key file and the envelope keyring: tokens stable per scope and across rotation,
old ciphertexts readable after rotation, shredded keys gone, tampering detected."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from streamer.errors import ConfigurationError
from streamer.redaction.envelope import EnvelopeKeyring, LocalKek, open_envelope_keyring
from streamer.redaction.exceptions import (
    KeyMaterialError,
    KeyShreddedError,
    TamperedCiphertextError,
    UnknownKeyScopeError,
    WrongKeyError,
)
from streamer.redaction.keys import LocalKeyring, keyring_from_settings, pack_blob, unpack_blob
from streamer.redaction.keystore import Keystore
from streamer.redaction.service import RedactionService
from streamer.redaction.tokens import make_token
from streamer.settings import StreamerSettings
from streamer.vault.key_admin import rotate_kek_file, rotate_scopes, shred_scopes

EMAIL = "jane.roe@corp-mail.example.com"


def keyring_for(settings: StreamerSettings) -> EnvelopeKeyring:
    keyring = keyring_from_settings(settings)
    assert isinstance(keyring, EnvelopeKeyring)
    return keyring


def test_key_file_and_kek_file_are_created_private(settings: StreamerSettings) -> None:
    keyring_for(settings).token_key("default")
    for path in (settings.resolved_key_file(), settings.resolved_kek_file()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_same_key_file_gives_same_tokens_across_instances_and_services(
    settings: StreamerSettings,
) -> None:
    first = keyring_for(settings)
    again = keyring_for(settings)
    assert first.token_key("tenant-a") == again.token_key("tenant-a")
    assert first.token_key("tenant-a") != first.token_key("tenant-b")
    assert first.token_key("tenant-a") != first.hash_key("tenant-a")
    with (
        RedactionService(settings=settings) as default,
        RedactionService(settings=settings, keyring=again) as explicit,
    ):
        assert (
            default.redact(f"mail {EMAIL}", scope="t").redacted_text
            == explicit.redact(f"mail {EMAIL}", scope="t").redacted_text
        )


def test_new_key_file_gives_different_tokens(tmp_path: Path) -> None:
    one = keyring_for(StreamerSettings(data_dir=tmp_path / "one"))
    two = keyring_for(StreamerSettings(data_dir=tmp_path / "two"))
    assert one.token_key("default") != two.token_key("default")


def test_keyring_pickles_without_the_provider_and_keeps_working(
    settings: StreamerSettings,
) -> None:
    keyring = keyring_for(settings)
    blob = keyring.encrypt(b"secret", scope="s", associated_data=b"[T_1]")
    clone = pickle.loads(pickle.dumps(keyring))
    assert clone.decrypt(blob, scope="s", associated_data=b"[T_1]") == b"secret"
    assert clone.encrypt(b"secret", scope="s", associated_data=b"[T_1]") == blob
    assert clone.token_key("s") == keyring.token_key("s")
    assert b"LocalKek" not in pickle.dumps(keyring)


def test_encryption_is_deterministic_and_bound_to_associated_data(
    settings: StreamerSettings,
) -> None:
    keyring = keyring_for(settings)
    blob = keyring.encrypt(b"value", scope="s", associated_data=b"token-1")
    assert keyring.encrypt(b"value", scope="s", associated_data=b"token-1") == blob
    assert keyring.encrypt(b"value", scope="s", associated_data=b"token-2") != blob
    with pytest.raises(TamperedCiphertextError):
        keyring.decrypt(blob, scope="s", associated_data=b"token-2")


def test_tampered_ciphertext_fails_authentication(settings: StreamerSettings) -> None:
    keyring = keyring_for(settings)
    blob = bytearray(keyring.encrypt(b"value", scope="s"))
    blob[-1] ^= 0x01
    with pytest.raises(TamperedCiphertextError) as caught:
        keyring.decrypt(bytes(blob), scope="s")
    assert caught.value.exit_code == 6
    with pytest.raises(TamperedCiphertextError):
        keyring.decrypt(b"\x09garbage", scope="s")


def test_ciphertext_of_another_scope_or_key_file_is_a_wrong_key(tmp_path: Path) -> None:
    keyring = keyring_for(StreamerSettings(data_dir=tmp_path / "one"))
    other = keyring_for(StreamerSettings(data_dir=tmp_path / "two"))
    blob = keyring.encrypt(b"value", scope="tenant-a")
    with pytest.raises(WrongKeyError, match="another key scope"):
        keyring.decrypt(blob, scope="tenant-b")
    with pytest.raises(WrongKeyError, match="does not hold") as caught:
        other.decrypt(blob, scope="tenant-a")
    assert caught.value.exit_code == 5


def test_rotation_keeps_tokens_and_old_ciphertexts_readable(settings: StreamerSettings) -> None:
    keyring = keyring_for(settings)
    token_before = make_token(keyring.token_key("t"), "EMAIL_ADDRESS", EMAIL)
    old_blob = keyring.encrypt(EMAIL.encode(), scope="t", associated_data=b"a")
    (rotation,) = rotate_scopes(keyring, ["t"])
    new_blob = keyring.encrypt(EMAIL.encode(), scope="t", associated_data=b"a")
    assert unpack_blob(old_blob)[0] == rotation.old_key_id
    assert unpack_blob(new_blob)[0] == rotation.new_key_id != rotation.old_key_id
    assert make_token(keyring.token_key("t"), "EMAIL_ADDRESS", EMAIL) == token_before
    # another process (a fresh keyring) reads both
    fresh = keyring_for(settings)
    assert fresh.decrypt(old_blob, scope="t", associated_data=b"a") == EMAIL.encode()
    assert fresh.decrypt(new_blob, scope="t", associated_data=b"a") == EMAIL.encode()
    assert fresh.encrypt(EMAIL.encode(), scope="t", associated_data=b"a") == new_blob


def test_a_rotation_in_the_millisecond_the_scope_was_created_takes_effect(
    settings: StreamerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keys of one age were ordered by their random ids: about one rotation in nine made
    # right after the scope's first use left the old key active. The clock is held still
    # so that the two keys surely share a millisecond.
    monkeypatch.setattr("streamer.redaction.envelope.now_ms", lambda: 1_700_000_000_000)
    for scope in [f"t{i}" for i in range(20)]:
        keyring = keyring_for(settings)
        keyring.encrypt(b"v", scope=scope)
        (rotation,) = rotate_scopes(keyring, [scope])
        assert unpack_blob(keyring.encrypt(b"v", scope=scope))[0] == rotation.new_key_id
        assert unpack_blob(keyring_for(settings).encrypt(b"v", scope=scope))[0] == (
            rotation.new_key_id
        )


def test_running_keyring_picks_up_rotation_made_elsewhere(settings: StreamerSettings) -> None:
    running = keyring_for(settings)  # key_refresh_seconds is 5: refresh is forced below
    before = running.encrypt(b"v", scope="t")
    (rotation,) = rotate_scopes(keyring_for(settings), ["t"])
    running.refresh(force=True)
    after = running.encrypt(b"v", scope="t")
    assert unpack_blob(before)[0] == rotation.old_key_id
    assert unpack_blob(after)[0] == rotation.new_key_id


def test_shredded_scope_cannot_be_decrypted_and_gets_new_tokens(
    settings: StreamerSettings,
) -> None:
    keyring = keyring_for(settings)
    token_before = make_token(keyring.token_key("subject-42"), "EMAIL_ADDRESS", EMAIL)
    blob = keyring.encrypt(EMAIL.encode(), scope="subject-42")
    kept = keyring.encrypt(EMAIL.encode(), scope="subject-43")
    shredded = shred_scopes(Keystore.open(settings.resolved_key_file()), ["subject-42"])
    assert len(shredded["subject-42"]) == 2  # the token secret and the data key
    fresh = keyring_for(settings)
    with pytest.raises(KeyShreddedError) as caught:
        fresh.decrypt(blob, scope="subject-42")
    assert caught.value.exit_code == 7
    assert fresh.decrypt(kept, scope="subject-43") == EMAIL.encode()
    assert make_token(fresh.token_key("subject-42"), "EMAIL_ADDRESS", EMAIL) != token_before
    keyring.refresh(force=True)  # a running process notices too
    with pytest.raises(KeyShreddedError):
        keyring.decrypt(blob, scope="subject-42")


def test_shredding_removes_the_key_material_from_the_file(settings: StreamerSettings) -> None:
    keyring = keyring_for(settings)
    keyring.token_key("gone")
    path = settings.resolved_key_file()
    wrapped = [r.wrapped for r in Keystore.open(path).scope_keys("gone")]
    shred_scopes(Keystore.open(path), ["gone"])
    content = path.read_bytes()
    assert all(w is not None and w not in content for w in wrapped)
    rows = sqlite3.connect(path).execute(
        "SELECT wrapped, shredded_ms FROM scope_keys WHERE scope = 'gone'"
    )
    assert all(w is None and s is not None for w, s in rows)


def test_wrong_kek_cannot_open_the_key_file(settings: StreamerSettings, tmp_path: Path) -> None:
    keyring_for(settings).token_key("default")
    other_kek = LocalKek.from_file(tmp_path / "other.kek")
    with pytest.raises(WrongKeyError):
        open_envelope_keyring(settings.resolved_key_file(), other_kek)


def test_a_key_file_copied_without_its_kek_file_names_the_missing_kek_file(
    settings: StreamerSettings, tmp_path: Path
) -> None:
    keyring_for(settings).token_key("default")
    copy = StreamerSettings(data_dir=tmp_path / "unmask-host")
    copy.resolved_key_file().parent.mkdir()
    shutil.copy(settings.resolved_key_file(), copy.resolved_key_file())
    with pytest.raises(KeyMaterialError) as caught:
        keyring_from_settings(copy)
    assert f"KEK file {copy.resolved_kek_file()} does not exist" in str(caught.value)
    # No new KEK is left behind: it could never open this key file.
    assert not copy.resolved_kek_file().exists()
    shutil.copy(settings.resolved_kek_file(), copy.resolved_kek_file())
    assert keyring_for(copy).token_key("default") == keyring_for(settings).token_key("default")


def test_env_provider_is_a_kek_for_the_same_key_file_format(tmp_path: Path) -> None:
    settings = StreamerSettings(data_dir=tmp_path, key_provider="env", kek="ab" * 32)
    first = keyring_for(settings)
    assert isinstance(first, EnvelopeKeyring)
    assert keyring_for(settings).token_key("x") == first.token_key("x")
    assert not settings.resolved_kek_file().exists()
    with pytest.raises(WrongKeyError):
        keyring_for(settings.model_copy(update={"kek": SecretStr("cd" * 32)}))
    with pytest.raises(KeyMaterialError, match="64 hex"):
        keyring_for(settings.model_copy(update={"data_dir": tmp_path / "b", "kek": SecretStr("x")}))
    with pytest.raises(ConfigurationError, match="STREAMER_KEK"):
        keyring_for(StreamerSettings(data_dir=tmp_path / "c", key_provider="env"))


def test_token_key_is_stateless_and_excludes_a_key_provider(tmp_path: Path) -> None:
    one = keyring_from_settings(StreamerSettings(data_dir=tmp_path / "a", token_key="ab" * 32))
    two = keyring_from_settings(StreamerSettings(data_dir=tmp_path / "b", token_key="ab" * 32))
    assert isinstance(one, LocalKeyring)
    assert one.token_key("s") == two.token_key("s")
    assert not (tmp_path / "a").exists(), "no key file with STREAMER_TOKEN_KEY"
    with pytest.raises(ConfigurationError, match="both set"):
        keyring_from_settings(
            StreamerSettings(data_dir=tmp_path, token_key="ab" * 32, key_provider="file")
        )


def test_kek_rotation_rewraps_the_root_and_keeps_every_key(settings: StreamerSettings) -> None:
    keyring = keyring_for(settings)
    blob = keyring.encrypt(b"v", scope="s")
    kek_before = settings.resolved_kek_file().read_text()
    rotate_kek_file(keyring, settings.resolved_kek_file())
    assert settings.resolved_kek_file().read_text() != kek_before
    assert stat.S_IMODE(settings.resolved_kek_file().stat().st_mode) == 0o600
    assert len(Keystore.open(settings.resolved_key_file()).root_wrappings()) == 1
    fresh = keyring_for(settings)
    assert fresh.decrypt(blob, scope="s") == b"v"
    assert fresh.token_key("s") == keyring.token_key("s")
    with pytest.raises(WrongKeyError):
        open_envelope_keyring(
            settings.resolved_key_file(),
            LocalKek.from_value(kek_before, "old KEK file", name="file"),
        )


def test_a_file_that_is_not_a_key_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keystore.db"
    path.write_text('{"version": 1, "root_key": "..."}')
    with pytest.raises(KeyMaterialError, match="not a pii-streamer key store"):
        keyring_for(StreamerSettings(data_dir=tmp_path))


def test_a_data_dir_that_cannot_hold_the_key_files_names_the_setting(tmp_path: Path) -> None:
    # A regular file where the directory should be: an OSError root gets too (the tests
    # run as root here, for whom permission bits would not stop anything).
    data_dir = tmp_path / "not-a-directory"
    data_dir.write_text("")
    with pytest.raises(KeyMaterialError, match=r"KEK file .* cannot be created.*STREAMER_DATA_DIR"):
        keyring_for(StreamerSettings(data_dir=data_dir))
    kek_file = tmp_path / "elsewhere.kek"
    with pytest.raises(KeyMaterialError, match=r"key file .* cannot be created.*STREAMER_KEY_FILE"):
        keyring_for(
            StreamerSettings(data_dir=tmp_path, key_file=data_dir / "k.db", kek_file=kek_file)
        )


def test_a_key_file_that_cannot_be_opened_is_not_called_a_foreign_key_store(
    tmp_path: Path,
) -> None:
    # "not a key store" tells users to move the file away, losing their keys: only say it
    # when the file is readable and foreign.
    (tmp_path / "keystore.db").mkdir()
    with pytest.raises(KeyMaterialError, match="cannot be opened for reading and writing"):
        keyring_for(StreamerSettings(data_dir=tmp_path))


def test_unknown_scope_fails_when_autocreate_is_off(settings: StreamerSettings) -> None:
    strict = StreamerSettings(data_dir=settings.data_dir, key_scope_autocreate=False)
    keyring_for(settings).token_key("known")
    keyring = keyring_for(strict)
    assert keyring.token_key("known")
    with pytest.raises(UnknownKeyScopeError) as caught:
        keyring.token_key("tenant-unknown")
    assert "tenant-unknown" not in str(caught.value)


def test_blob_format_carries_the_key_id() -> None:
    blob = pack_blob("k0123", b"\x00" * 12, b"c" * 20)
    assert unpack_blob(blob) == ("k0123", b"\x00" * 12, b"c" * 20)


_CHILD = """
import sys
from pathlib import Path
from streamer.redaction.keys import keyring_from_settings
from streamer.settings import StreamerSettings
keyring = keyring_from_settings(StreamerSettings(data_dir=Path(sys.argv[1])))
print(keyring.token_key("raced").hex())
"""


def test_processes_creating_the_same_scope_agree_on_its_keys(settings: StreamerSettings) -> None:
    keyring_for(settings)  # the root key exists; scope "raced" does not
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(settings.data_dir)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    keys = {child.communicate(timeout=60)[0].strip() for child in children}
    assert all(child.returncode == 0 for child in children)
    assert keys == {keyring_for(settings).token_key("raced").hex()}
