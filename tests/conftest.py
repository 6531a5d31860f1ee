"""Fixtures shared by every test package: an isolated data directory and settings for it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


#: Debian's Chromium: Playwright's own browser download does not work offline.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium, headless, quiet on the network."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError("CI needs Debian's chromium for the browser tests (make test)")
        pytest.skip("Debian's chromium is not installed")
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
