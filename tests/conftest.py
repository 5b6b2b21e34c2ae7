"""Fixtures for every test: settings and key files in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer.settings import StreamerSettings


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Keep key files and local state out of the user's home directory."""
    data_dir = tmp_path_factory.mktemp("streamer-data")
    monkeypatch.setenv("STREAMER_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture
def settings(tmp_path: Path) -> StreamerSettings:
    """Settings with a fresh key file of their own."""
    return StreamerSettings(data_dir=tmp_path)
