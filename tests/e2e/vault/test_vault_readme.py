"""The README's re-identification walkthrough runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from streamer.testing.cli import REPOSITORY_ROOT

pytestmark = pytest.mark.e2e

README = REPOSITORY_ROOT / "README.md"


def walkthrough() -> str:
    section = README.read_text().split("## Re-identification", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the Re-identification section has a Python walkthrough"
    return blocks[0]


def test_readme_walkthrough_runs(tmp_path: Path) -> None:
    script = tmp_path / "walkthrough.py"
    script.write_text(walkthrough())
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "jane.doe@acme.example.com" in done.stdout  # step 2 restored it
    assert "8" in lines and "7" in lines  # refused scope, shredded key
    assert "2 record(s) copied to tickets.restored" in done.stdout
    assert "shredded 2 key(s)" in done.stdout
    audit = [line for line in lines if line.startswith(("root ", "analyst ")) or " unmask." in line]
    assert any("denied" in line for line in audit)
    assert not any("@acme.example.com" in line for line in audit)
