"""``streamer run``'s exit codes as the README and ``run --help`` state them, each from a
real run: a configuration error, an unreachable broker, and missing output topics with
``--no-create-topics`` on the embedded broker."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from streamer.broker import free_port
from streamer.testing.cli import REPOSITORY_ROOT, cli_environment, streamer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def run(servers: str, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = cli_environment(data_dir, STREAMER_BOOTSTRAP_SERVERS=servers, COLUMNS="400")
    return streamer(
        "run", "--workers", "1", "--log-format", "text", *args, env=env, text=True
    )  # fmt: skip


def documented_exit_codes() -> str:
    readme = (REPOSITORY_ROOT / "README.md").read_text()
    match = re.search(r"Exit codes of `streamer run`:(.*?)\n\n", readme, re.S)
    assert match, "README does not list streamer run's exit codes"
    return " ".join(match.group(1).split())


def test_the_documented_exit_codes_are_the_real_ones(bootstrap: str, tmp_path: Path) -> None:
    documented = documented_exit_codes()
    for phrase in ("0 stopped by SIGTERM", "2 a configuration error", "4 Kafka unreachable"):
        assert phrase in documented

    bad_flag = run(bootstrap, "--input-topic", "orders", "--format", "xml", data_dir=tmp_path)
    assert bad_flag.returncode == 2, bad_flag.stderr

    unreachable = run(f"127.0.0.1:{free_port()}", "--input-topic", "orders", data_dir=tmp_path)
    assert unreachable.returncode == 4, unreachable.stderr
    assert "error: cannot reach Kafka" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr

    missing = run(bootstrap, "--input-topic", "orders", "--no-create-topics", data_dir=tmp_path)
    assert missing.returncode == 1, missing.stderr
    assert "1 otherwise, such as missing output topics with `--no-create-topics`" in documented
    assert "streamer topics" in missing.stderr.strip().splitlines()[-1]
