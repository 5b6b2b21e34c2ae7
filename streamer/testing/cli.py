"""Run the ``streamer`` command as a user would, in a child process, for end-to-end tests.

::

    from streamer.testing.cli import cli_environment, streamer

    run = streamer("tail", "--topic", "orders", "--json", data_dir=tmp_path)
    assert run.returncode == 0, run.stderr.decode()

``data_dir=`` runs the command in :func:`cli_environment` (a small, clean environment with
quick consumer group timings); ``env=`` runs it in exactly the environment given. A
command never reads the terminal: its standard input is ``stdin`` or empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, overload

import orjson

#: The command line that starts ``streamer`` with this interpreter (for ``Popen`` too).
STREAMER_COMMAND = (sys.executable, "-m", "streamer")

#: The checkout this package runs from (an editable install): commands run there so that
#: the repository's relative paths (``topologies/``, ``tests/fixtures/``) resolve.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

#: Consumer group and commit timings that make ``streamer run`` join, rebalance and
#: commit quickly on the embedded broker (it holds each join for about half the session
#: timeout, rounded up to a second). Apache Kafka refuses sessions under its
#: ``group.min.session.timeout.ms``, 6 s by default.
FAST_RUN_ENVIRONMENT: dict[str, str] = {
    "STREAMER_SESSION_TIMEOUT_MS": "3000",
    "STREAMER_HEARTBEAT_INTERVAL_MS": "500",
    "STREAMER_REBALANCE_TIMEOUT_MS": "1000",
    "STREAMER_COMMIT_INTERVAL_MS": "200",
}

#: How long a command may take, in seconds, unless a test says otherwise.
DEFAULT_TIMEOUT = 120.0

__all__ = [
    "DEFAULT_TIMEOUT",
    "FAST_RUN_ENVIRONMENT",
    "REPOSITORY_ROOT",
    "STREAMER_COMMAND",
    "cli_environment",
    "streamer",
]


def cli_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a user of ``data_dir``: ``PATH``, a terminal 200 columns wide
    (help and tables do not wrap), :data:`FAST_RUN_ENVIRONMENT`, then ``extra``
    (``STREAMER_*`` settings, cloud SDK variables) over them. Nothing else is inherited."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "STREAMER_DATA_DIR": str(data_dir),
        "COLUMNS": "200",
        **FAST_RUN_ENVIRONMENT,
        **extra,
    }


@overload
def streamer(
    *args: str,
    data_dir: Path | None = ...,
    env: Mapping[str, str] | None = ...,
    stdin: bytes | None = ...,
    text: Literal[False] = ...,
    timeout: float = ...,
    cwd: Path | None = ...,
) -> subprocess.CompletedProcess[bytes]: ...


@overload
def streamer(
    *args: str,
    data_dir: Path | None = ...,
    env: Mapping[str, str] | None = ...,
    stdin: str | None = ...,
    text: Literal[True],
    timeout: float = ...,
    cwd: Path | None = ...,
) -> subprocess.CompletedProcess[str]: ...


def streamer(
    *args: str,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | str | None = None,
    text: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = REPOSITORY_ROOT,
) -> subprocess.CompletedProcess[bytes] | subprocess.CompletedProcess[str]:
    """Run ``streamer *args`` to completion and capture its output (bytes, or ``str`` with
    ``text=True``). Give either ``data_dir`` (the environment is
    ``cli_environment(data_dir)``) or ``env`` (exactly that environment)."""
    if (data_dir is None) == (env is None):
        raise TypeError("streamer() takes either data_dir= or env=, not both or neither")
    environment = cli_environment(data_dir) if data_dir is not None else env
    return subprocess.run(
        [*STREAMER_COMMAND, *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=text,
        env=environment,
        cwd=cwd,
        timeout=timeout,
    )


def start_streamer(
    *args: str, data_dir: Path, stdout: int = subprocess.PIPE, stderr: int = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """Start ``streamer *args`` in the background (``streamer run``, say) in
    ``cli_environment(data_dir)``, in a session of its own so that a test can signal it
    and its workers as a terminal would."""
    return subprocess.Popen(
        [*STREAMER_COMMAND, *args],
        stdout=stdout,
        stderr=stderr,
        env=cli_environment(data_dir),
        cwd=REPOSITORY_ROOT,
        start_new_session=True,
    )


def tail_json(bootstrap: str, topic: str, *flags: str, data_dir: Path) -> list[dict[str, Any]]:
    """Every record ``streamer tail --json`` prints for ``topic`` (it must exit 0)."""
    run = streamer("tail", "--bootstrap-servers", bootstrap, "--topic", topic, "--json", *flags,
                   data_dir=data_dir)  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()[-500:]
    return [orjson.loads(line) for line in run.stdout.splitlines()]
