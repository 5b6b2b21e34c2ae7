"""``streamer broker`` killed with ``kill -9`` takes its broker with it: the port is free
again and nothing is left running in memory."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from streamer.broker import free_port
from streamer.testing.cli import REPOSITORY_ROOT, STREAMER_COMMAND, cli_environment

pytestmark = pytest.mark.e2e


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_kill_9_of_streamer_broker_frees_its_port(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*STREAMER_COMMAND, "broker", "--port", str(port)],
        env=cli_environment(tmp_path), cwd=REPOSITORY_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().decode().strip() == f"127.0.0.1:{port}"
        assert not port_free(port)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    deadline = time.monotonic() + 30  # a hang guard, not a timing assertion
    while not port_free(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert port_free(port), "the broker outlived `streamer broker` and still holds its port"
