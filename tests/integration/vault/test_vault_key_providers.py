"""Key providers with real SDKs: AWS KMS through aioboto3 against moto's server mode, Azure
Key Vault through the async SDK against the local emulator."""

from __future__ import annotations

import pickle
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from streamer.redaction.envelope import open_envelope_keyring
from streamer.redaction.keystore import Keystore
from streamer.redaction.service import RedactionService
from streamer.settings import StreamerSettings
from streamer.testing.kms import KMS_TEST_REGION, create_kms_key
from streamer.testing.token_topic import publish_redacted
from streamer.vault import Actor, Caller, UnmaskSession, keyring_from_settings
from streamer.vault.emulators.azure_keyvault import AzureKeyVaultEmulator
from streamer.vault.exceptions import KeyProviderError, TamperedCiphertextError
from streamer.vault.key_admin import rotate_kek
from streamer.vault.providers import KEY_PROVIDERS
from streamer.vault.providers.aws_kms import AwsKmsProvider
from streamer.vault.providers.azure_keyvault import AzureKeyVaultProvider

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_test_credentials")]

REGION = KMS_TEST_REGION


def kms_settings(base: StreamerSettings, endpoint: str, key_id: str) -> StreamerSettings:
    return base.model_copy(
        update={
            "key_provider": "aws-kms",
            "aws_kms_key_id": key_id,
            "aws_region": REGION,
            "aws_endpoint_url": endpoint,
        }
    )


async def test_kms_wrapped_key_file_round_trips_through_the_token_topic(
    vault_settings: StreamerSettings, kms_endpoint: str
) -> None:
    settings = kms_settings(vault_settings, kms_endpoint, create_kms_key(kms_endpoint))
    keyring = keyring_from_settings(settings)
    (wrapping,) = Keystore.open(settings.resolved_key_file()).root_wrappings()
    assert wrapping.provider == "aws-kms"
    assert wrapping.kek_id.startswith("arn:aws:kms:")
    assert not settings.resolved_kek_file().exists(), "no local KEK with KMS"
    assert b"KMS" not in pickle.dumps(keyring) and b"aiobotocore" not in pickle.dumps(keyring)

    with RedactionService(settings=settings, keyring=keyring) as service:
        batch = await publish_redacted(
            service,
            [orjson.dumps({"note": "mail kms.user@corp-mail.example.com"})],
            bootstrap_servers=settings.bootstrap_servers,
            clean_topic=f"clean-{uuid.uuid4().hex[:6]}",
            token_topic=settings.token_topic,
            scopes=["tenant-a"],
        )
    clean_note = orjson.loads(batch.clean_values[0])["note"]
    reopened = keyring_from_settings(settings)  # a new process: KMS unwraps the root again
    assert reopened.token_key("tenant-a") == keyring.token_key("tenant-a")
    async with UnmaskSession(settings, keyring=reopened) as session:
        caller = Caller(Actor("analyst", "cli"), ("tenant-a",))
        assert await session.reidentifier.unmask_text(clean_note, caller) == (
            "mail kms.user@corp-mail.example.com"
        )


def test_kms_failures_are_clear_errors(vault_settings: StreamerSettings, kms_endpoint: str) -> None:
    missing = kms_settings(vault_settings, kms_endpoint, "alias/does-not-exist")
    with pytest.raises(KeyProviderError, match="STREAMER_AWS_KMS_KEY_ID") as caught:
        keyring_from_settings(missing)
    assert caught.value.exit_code == 10
    settings = kms_settings(vault_settings, kms_endpoint, create_kms_key(kms_endpoint))
    keyring_from_settings(settings)
    with sqlite3.connect(settings.resolved_key_file()) as db:  # alter the wrapped root key
        (wrapped,) = db.execute("SELECT wrapped FROM root_wrappings").fetchone()
        tampered = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
        db.execute("UPDATE root_wrappings SET wrapped = ?", (tampered,))
    with pytest.raises(TamperedCiphertextError):
        keyring_from_settings(settings)


def test_kms_kek_rotation_and_migration_from_a_local_kek(
    vault_settings: StreamerSettings, kms_endpoint: str
) -> None:
    local = keyring_from_settings(vault_settings)  # the default: a local KEK file
    blob = local.encrypt(b"original", scope="s")
    first = kms_settings(vault_settings, kms_endpoint, create_kms_key(kms_endpoint))
    provider = KEY_PROVIDERS.create("aws-kms", first)
    try:
        rotate_kek(local, provider)  # streamer keys rotate --kek --to-provider aws-kms
    finally:
        provider.close()
    on_kms = keyring_from_settings(first)
    assert on_kms.decrypt(blob, scope="s") == b"original"
    (migrated,) = Keystore.open(first.resolved_key_file()).root_wrappings()
    assert migrated.provider == "aws-kms"
    second = kms_settings(vault_settings, kms_endpoint, create_kms_key(kms_endpoint))
    with AwsKmsProvider(second.aws_kms_key_id or "", region=REGION, endpoint_url=kms_endpoint) as p:
        rotate_kek(on_kms, p)
    (rotated,) = Keystore.open(second.resolved_key_file()).root_wrappings()
    assert rotated.provider == "aws-kms" and rotated.kek_id != migrated.kek_id
    assert keyring_from_settings(second).decrypt(blob, scope="s") == b"original"


@pytest.fixture(scope="module")
def keyvault() -> Iterator[AzureKeyVaultEmulator]:
    emulator = AzureKeyVaultEmulator()
    with emulator.running_in_thread():
        yield emulator


def azure_provider(emulator: AzureKeyVaultEmulator, key_url: str) -> AzureKeyVaultProvider:
    return AzureKeyVaultProvider(
        key_url, credential=emulator.credential(), client_options=emulator.client_options()
    )


def test_azure_key_vault_wraps_the_root_key_through_the_sdk(
    keyvault: AzureKeyVaultEmulator, tmp_path: Path
) -> None:
    key_url = keyvault.add_key(f"kek-{uuid.uuid4().hex[:6]}")
    key_file = tmp_path / "keystore.db"
    with azure_provider(keyvault, key_url) as provider:
        keyring = open_envelope_keyring(key_file, provider)
    blob = keyring.encrypt(b"original", scope="tenant-a")
    calls_before = len(keyvault.requests)
    with azure_provider(keyvault, key_url) as provider:
        reopened = open_envelope_keyring(key_file, provider)
    assert any(path.endswith("/unwrapkey") for _, path in keyvault.requests[calls_before:])
    assert reopened.token_key("tenant-a") == keyring.token_key("tenant-a")
    assert reopened.decrypt(blob, scope="tenant-a") == b"original"
    (wrapping,) = Keystore.open(key_file).root_wrappings()
    assert (wrapping.provider, wrapping.kek_id) == ("azure-keyvault", key_url)

    rotated_url = keyvault.rotate_key(key_url.split("/")[-2])
    with azure_provider(keyvault, rotated_url) as provider:
        rotate_kek(reopened, provider)
        assert open_envelope_keyring(key_file, provider).decrypt(blob, scope="tenant-a") == (
            b"original"
        )


def test_azure_key_vault_failures_are_clear_errors(
    keyvault: AzureKeyVaultEmulator, tmp_path: Path
) -> None:
    key_url = keyvault.add_key(f"kek-{uuid.uuid4().hex[:6]}")
    with (
        azure_provider(keyvault, key_url + "-missing") as provider,
        pytest.raises(KeyProviderError, match="HTTP 404"),
    ):
        open_envelope_keyring(tmp_path / "a.db", provider)
    with azure_provider(keyvault, key_url) as provider:
        open_envelope_keyring(tmp_path / "b.db", provider)
    with sqlite3.connect(tmp_path / "b.db") as db:
        (wrapped,) = db.execute("SELECT wrapped FROM root_wrappings").fetchone()
        db.execute("UPDATE root_wrappings SET wrapped = ?", (bytes(len(wrapped)),))
    with azure_provider(keyvault, key_url) as provider, pytest.raises(TamperedCiphertextError):
        open_envelope_keyring(tmp_path / "b.db", provider)
