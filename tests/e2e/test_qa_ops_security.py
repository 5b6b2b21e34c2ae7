"""Kafka security settings as an operator gets them wrong: every command that talks to
Kafka stops with one line naming the setting and the fix, exit code 2, before it loads a
model or dials a broker (nothing listens on the bootstrap address given here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from streamer.testing.cli import cli_environment
from streamer.testing.cli import streamer as run_streamer

pytestmark = pytest.mark.e2e

NOWHERE = "127.0.0.1:1"  # a connection attempt would fail with exit code 4, not 2

COMMANDS = {
    "run": ["run", "--input-topic", "orders", "--workers", "1"],
    "topics": ["topics", "--input-topic", "orders"],
    "produce": ["produce", "--topic", "orders", "-"],
    "tail": ["tail", "--topic", "orders.clean"],
    "status": ["status", "--input-topic", "orders", "--window", "0"],
}

MISTAKES = {
    "sasl without a user": (
        ["--security-protocol", "SASL_SSL"],
        {},
        "--sasl-username and --sasl-password",
    ),
    "a bad protocol name": (
        [],
        {"STREAMER_SECURITY_PROTOCOL": "TLS"},
        "STREAMER_SECURITY_PROTOCOL",
    ),
    "a mechanism on plaintext": (
        ["--sasl-mechanism", "SCRAM-SHA-256"],
        {},
        "--security-protocol SASL_PLAINTEXT",
    ),
    "a missing CA file": (
        ["--security-protocol", "SSL", "--ssl-cafile", "/nonexistent/ca.pem"],
        {},
        "--ssl-cafile (STREAMER_SSL_CAFILE): /nonexistent/ca.pem",
    ),
}


def streamer(
    args: list[str], env: dict[str, str], data_dir: Path
) -> subprocess.CompletedProcess[str]:
    environment = cli_environment(
        data_dir, STREAMER_BOOTSTRAP_SERVERS=NOWHERE, COLUMNS="400", **env
    )
    return run_streamer(*args, env=environment, stdin="", text=True)


@pytest.mark.parametrize("mistake", list(MISTAKES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_security_mistake_is_one_line_and_exit_code_2(
    command: str, mistake: str, tmp_path: Path
) -> None:
    flags, env, named = MISTAKES[mistake]
    result = streamer([*COMMANDS[command], *flags], env, tmp_path)
    assert result.returncode == 2, result.stderr
    # `run` started the worker pool (and loaded the NER model) and logged its start and
    # stop before it built its first Kafka client and found the mistake.
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert named in lines[0]


VAULT_COMMANDS = {
    "unmask": ["unmask", "[EMAIL_ADDRESS_0123456789abcdef]"],
    "unmask a topic": ["unmask", "--from-topic", "t.clean", "--to-topic", "t.restored"],
    "serve": ["serve", "--clients-file", "clients.yaml", "--port", "18087"],
    "keys create": ["keys", "create", "acme"],
    "keys rotate": ["keys", "rotate", "acme"],
    "keys list": ["keys", "list"],
}


@pytest.mark.parametrize("command", list(VAULT_COMMANDS))
def test_the_vault_commands_use_the_kafka_security_settings(command: str, tmp_path: Path) -> None:
    # Their token-topic reader, audit producer and keys-topic clients were built without
    # the security settings: on a SASL or TLS cluster they connected in plaintext.
    clients = tmp_path / "clients.yaml"
    clients.write_text(
        "clients: [{name: desk, token: abcdefghijklmnopqrstuvwxyz0123, scopes: [a]}]"
    )
    args = [arg.replace("clients.yaml", str(clients)) for arg in VAULT_COMMANDS[command]]
    env = {"STREAMER_SECURITY_PROTOCOL": "SASL_SSL", "STREAMER_KEYS_TOPIC": "pii.keys"}
    result = streamer(args, env, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--sasl-username and --sasl-password" in lines[0], result.stderr
