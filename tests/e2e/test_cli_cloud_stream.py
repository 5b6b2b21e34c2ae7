"""``streamer run`` with a ``cloud:`` section, as a user runs it: the command, a topology
file, an emulator started with ``streamer emulate`` and pointed at through the AWS SDK's
own variables (no endpoint in the file)."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import orjson
import pytest

from streamer.broker import free_port
from streamer.cloud.emulators.server import EmulatorProcess
from streamer.redaction.detectors import PATTERN_DETECTOR_NAMES
from streamer.testing import CANARY_TEXT, find_canaries
from streamer.testing.cli import REPOSITORY_ROOT, STREAMER_COMMAND, cli_environment, streamer

pytestmark = pytest.mark.e2e

NAME = "Quillon Vandermeer"  # only the emulator knows it is a person
AWS_SECRET = "e2e-secret-canary-4d2b9f"


def environment(data_dir: Path, emulator_url: str) -> dict[str, str]:
    """The AWS SDK's standard chain and endpoint override, as in production."""
    return cli_environment(
        data_dir,
        AWS_ACCESS_KEY_ID="AKIAE2ECANARY0000000",
        AWS_SECRET_ACCESS_KEY=AWS_SECRET,
        AWS_REGION="eu-west-1",
        AWS_ENDPOINT_URL_COMPREHEND=emulator_url,
        AWS_CONFIG_FILE=str(data_dir / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(data_dir / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
    )


def test_run_with_a_cloud_section_redacts_what_the_cloud_finds(
    tmp_path: Path, bootstrap: str
) -> None:
    policy = tmp_path / "emulator-policy.yaml"
    policy.write_text(
        "detectors: [" + ", ".join(PATTERN_DETECTOR_NAMES) + "]\n"
        "custom_detectors:\n"
        f"  - {{name: names, entity_type: PERSON, pattern: '{NAME}'}}\n"
    )
    topology = tmp_path / "tickets-cloud.yaml"
    topology.write_text(
        "name: e2e-cloud\n"
        "inputs: [e2e.tickets.raw]\n"
        "policy: {version: '7', detectors: [email, credit_card]}\n"
        "cloud:\n"
        "  providers: [aws]          # region, credentials and endpoint from the environment\n"
        "  mode: union\n"
        "  unavailable: dead-letter\n"
    )
    with EmulatorProcess("aws", latency_ms=20, policy=str(policy)) as emulator:
        env = environment(tmp_path, emulator.url)
        lines = tmp_path / "tickets.jsonl"
        events = [
            orjson.dumps({"ticket": i, "message": f"{NAME} wrote: {CANARY_TEXT}"})
            for i in range(50)
        ]
        lines.write_bytes(b"\n".join(events) + b"\n")
        produced = streamer(
            "produce", "--bootstrap-servers", bootstrap, "--topic", "e2e.tickets.raw",
            str(lines), env=env,
        )  # fmt: skip
        assert produced.returncode == 0, produced.stderr.decode()
        created = streamer(
            "topics", "--bootstrap-servers", bootstrap, "--topology", str(topology), env=env
        )
        assert created.returncode == 0, created.stderr.decode()

        metrics_port = free_port()
        log_file = tmp_path / "run.log"  # DEBUG logs would fill a pipe nobody reads yet
        with log_file.open("wb") as log:
            runner = subprocess.Popen(
                [*STREAMER_COMMAND, "run", "--bootstrap-servers", bootstrap,
                 "--topology", str(topology), "--workers", "1", "--log-format", "json",
                 "--log-level", "DEBUG", "--metrics-port", str(metrics_port),
                 "--metrics-host", "127.0.0.1"],
                stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=REPOSITORY_ROOT,
                start_new_session=True,
            )  # fmt: skip
            try:
                tailed = streamer(
                    "tail", "--bootstrap-servers", bootstrap, "--topic", "e2e.tickets.clean",
                    "--json", "--follow", "--limit", "50", env=env, timeout=90,
                )  # fmt: skip
                url = f"http://127.0.0.1:{metrics_port}/metrics"
                with urllib.request.urlopen(url, timeout=10) as response:
                    metrics = response.read().decode()
                runner.send_signal(signal.SIGTERM)
                runner.wait(timeout=60)
            finally:
                if runner.poll() is None:
                    os.killpg(runner.pid, signal.SIGKILL)
                    runner.wait()
        seen = emulator.stats()

    stderr = log_file.read_bytes()
    assert tailed.returncode == 0, tailed.stderr.decode()
    records = [orjson.loads(line) for line in tailed.stdout.decode().splitlines()]
    assert len(records) == 50
    assert NAME not in tailed.stdout.decode() and find_canaries(tailed.stdout) == []
    for record in records:
        assert record["value"]["message"].startswith("[PERSON_")
        assert record["headers"]["pii.detectors"].endswith(",aws")
    assert seen["answered"] > 0
    # the cloud metrics are served with the stream's, from the one registry
    requests = [
        line for line in metrics.splitlines()
        if line.startswith('streamer_cloud_requests_total{provider="aws"}')
    ]  # fmt: skip
    assert requests and float(requests[0].split()[-1]) == seen["requests"]
    assert "streamer_events_consumed_total" in metrics
    assert AWS_SECRET not in metrics and NAME not in metrics
    assert runner.returncode == 0, stderr.decode()[-2000:]
    assert b"cloud detection: aws (mode union" in stderr
    assert AWS_SECRET.encode() not in stderr and NAME.encode() not in stderr
    assert find_canaries(stderr) == []


def test_an_invalid_cloud_section_fails_at_start_with_the_path_and_why(
    tmp_path: Path, bootstrap: str
) -> None:
    fixture = "tests/fixtures/topologies/bad_cloud_provider.yaml"
    run = streamer(
        "run", "--bootstrap-servers", bootstrap, "--topology", fixture,
        env=environment(tmp_path, "http://127.0.0.1:9"),
    )  # fmt: skip
    assert run.returncode == 2
    message = run.stderr.decode()
    assert fixture in message and "cloud.providers[0]" in message
    assert "'endpoint' was unexpected" in message
    assert "Traceback" not in message


def test_an_unknown_cloud_provider_flag_names_the_valid_ones(
    tmp_path: Path, bootstrap: str
) -> None:
    run = streamer(
        "run", "--bootstrap-servers", bootstrap, "--input-topic", "x.raw",
        "--cloud-provider", "gcp", env=environment(tmp_path, "http://127.0.0.1:9"),
    )  # fmt: skip
    assert run.returncode == 2
    assert "--cloud-provider 'gcp'" in run.stderr.decode()
    assert "valid: aws, azure, none" in run.stderr.decode()
