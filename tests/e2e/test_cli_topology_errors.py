"""A topology that cannot be used stops ``streamer run`` and ``streamer topics`` at start
with one line naming the file and the reason, exit code 2, whether it comes from the flag
or from STREAMER_TOPOLOGY. No broker is needed: nothing connects before the check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamer.testing.cli import streamer

pytestmark = pytest.mark.e2e


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The user's whole environment, with a data directory of the test's own."""
    return {**os.environ, "STREAMER_DATA_DIR": str(tmp_path / "data"), **extra}


@pytest.mark.parametrize("command", ["run", "topics"])
@pytest.mark.parametrize("kind", ["directory", "not_utf8"])
def test_an_unreadable_topology_is_one_line_naming_the_file(
    tmp_path: Path, command: str, kind: str
) -> None:
    path = tmp_path / "topology.yaml"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"inputs: [\xff\xfe]\n")
    for how in ("flag", "variable"):
        if how == "flag":
            run = streamer(command, "--topology", str(path), "--bootstrap-servers", "127.0.0.1:9",
                           env=environment(tmp_path), text=True, timeout=60)  # fmt: skip
        else:
            run = streamer(command, "--bootstrap-servers", "127.0.0.1:9", text=True, timeout=60,
                           env=environment(tmp_path, STREAMER_TOPOLOGY=str(path)))  # fmt: skip
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1, run.stderr
        reason = "Is a directory" if kind == "directory" else "not UTF-8 text (byte 9)"
        assert lines[0].startswith(f"error: cannot read topology file {path}: {reason}")
