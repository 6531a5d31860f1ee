"""Fixtures shared by every test package: an isolated data directory and settings for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from intellishop.settings import Settings, get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh INTELLISHOP_DATA_DIR for one test (the local profile)."""
    path = tmp_path / "intellishop"
    monkeypatch.setenv("INTELLISHOP_DATA_DIR", str(path))
    monkeypatch.setenv("INTELLISHOP_PROFILE", "local")
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("DAGSTER_DISABLE_TELEMETRY", "1")
    yield path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    settings = get_settings()
    settings.ensure_dirs()
    return settings
