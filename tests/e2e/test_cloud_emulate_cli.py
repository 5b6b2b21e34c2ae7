"""``streamer emulate`` as a user runs it, with the official SDKs pointed at it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from streamer.cloud.emulators.server import EmulatorProcess
from streamer.testing import CANARIES
from streamer.testing.cli import REPOSITORY_ROOT, streamer

pytestmark = pytest.mark.e2e


async def test_emulated_comprehend_answers_the_aws_sdk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import aioboto3
    from aiobotocore.config import AioConfig
    from botocore.exceptions import ClientError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEMULATORTEST0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    text = f"Write to {CANARIES['EMAIL_ADDRESS']} or call {CANARIES['PHONE_NUMBER']}."
    with EmulatorProcess("aws", latency_ms=5, retry_after=2) as emulator:
        session = aioboto3.Session(region_name="eu-west-1")
        no_retries = AioConfig(retries={"total_max_attempts": 1})
        async with session.client(
            "comprehend", endpoint_url=emulator.url, config=no_retries
        ) as client:
            response = await client.detect_pii_entities(Text=text, LanguageCode="en")
            found = {
                (e["Type"], text[e["BeginOffset"] : e["EndOffset"]]) for e in response["Entities"]
            }
            assert found == {
                ("EMAIL", CANARIES["EMAIL_ADDRESS"]),
                ("PHONE", CANARIES["PHONE_NUMBER"]),
            }
            emulator.configure(throttle_next=1)
            with pytest.raises(ClientError) as caught:
                await client.detect_pii_entities(Text=text, LanguageCode="en")
            assert caught.value.response["Error"]["Code"] == "ThrottlingException"
            headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
            assert headers["retry-after"] == "2"
        stats = emulator.stats()
    assert (stats["requests"], stats["answered"], stats["throttled"]) == (2, 1, 1)


async def test_emulated_language_service_answers_the_azure_sdk() -> None:
    from azure.ai.textanalytics.aio import TextAnalyticsClient
    from azure.core.credentials import AzureKeyCredential

    text = f"SSN {CANARIES['US_SSN']}, card {CANARIES['CREDIT_CARD']}."
    with EmulatorProcess("azure", api_key="emulator-key") as emulator:
        client = TextAnalyticsClient(emulator.url, AzureKeyCredential("emulator-key"))
        async with client:
            (result,) = await client.recognize_pii_entities([text])
        assert not result.is_error
        assert {(e.category, e.text) for e in result.entities} == {
            ("USSocialSecurityNumber", CANARIES["US_SSN"]),
            ("CreditCardNumber", CANARIES["CREDIT_CARD"]),
        }
        assert CANARIES["US_SSN"] not in result.redacted_text


def test_an_unknown_service_names_the_valid_ones() -> None:
    completed = streamer("emulate", "gcp", env=os.environ, text=True, timeout=60)
    assert completed.returncode == 2
    assert "valid names: aws, azure" in completed.stderr


def test_the_demo_runs_with_emulated_cloud_providers(tmp_path: Path) -> None:
    completed = streamer(
        "demo", "--cloud", "emulated", "--events", "200",
        env={**os.environ, "STREAMER_DATA_DIR": str(tmp_path), "COLUMNS": "200"},
        text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "cloud detection (emulated" in completed.stdout
    assert "text_record" in completed.stdout and "unit_100_chars" in completed.stdout
    # through the Kafka pipeline: every event is on the clean topic
    assert "200 events -> 200 clean records" in completed.stdout


def test_make_demo_passes_the_cloud_flag_on() -> None:
    # The issue: "make demo can use them (--cloud emulated)". A dry run shows the command.
    completed = subprocess.run(
        ["make", "-n", "-C", str(REPOSITORY_ROOT), "demo", "DEMO_ARGS=--cloud emulated"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "-m streamer demo --cloud emulated" in completed.stdout
