"""The merchant dashboard in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intellishop.services import services

from .conftest import Stack

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(
            "CI needs Debian's chromium for the browser tests (make test installs it)"
        )
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def dashboards(stack: Stack) -> Iterator[str]:
    stack.supervisor.start(services(stack.settings)["dashboards"])
    yield stack.dashboards_url


def test_overview_renders_kpis_and_chart(page: Any, dashboards: str) -> None:
    page.set_default_timeout(30_000)
    page.goto(dashboards)
    page.get_by_text("Revenue").first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stMetric"]').count() >= 4
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
