"""The merchant dashboard in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

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


#: Streamlit scrolls inside its own container, so a full-page screenshot is one viewport tall.
SCREENSHOT_VIEWPORT = {"width": 1400, "height": 1600}


@pytest.mark.parametrize(
    ("path", "title"),
    [("funnel", "Funnel"), ("customers", "Customers"), ("products", "Products")],
)
def test_merchant_page_renders_a_chart(page: Any, dashboards: str, path: str, title: str) -> None:
    page.set_default_timeout(30_000)
    page.set_viewport_size(SCREENSHOT_VIEWPORT)
    page.goto(f"{dashboards}/{path}")
    page.get_by_role("heading", name=title).first.wait_for()
    page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.wait_for()
    page.wait_for_timeout(1_000)  # let every chart finish drawing before the screenshot
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlert"]').count() == 0  # data, not an empty state
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path}.png"), full_page=True)
    if path == "customers":  # the cohort heatmap's weekly switch
        page.get_by_text("Week", exact=True).click()
        page.get_by_text("Share of each week's new customers").wait_for()
        page.wait_for_timeout(1_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "customers-weekly.png"), full_page=True)


def test_sidebar_links_keep_the_chosen_shop(page: Any, dashboards: str) -> None:
    page.set_default_timeout(30_000)
    page.goto(dashboards)
    sidebar = page.locator('[data-testid="stSidebar"]')
    shop = sidebar.get_by_role("combobox", name="Shop")
    expect(shop).to_have_value("SHOP-A (shop-a)")
    sidebar.locator('[data-testid="stSelectbox"]').get_by_role("button", name="Open").click()
    page.get_by_role("option", name="SHOP-B (shop-b)").click()
    expect(shop).to_have_value("SHOP-B (shop-b)")
    for title in ("Funnel", "Customers", "Products", "Overview"):
        sidebar.get_by_role("link", name=title).click()
        page.get_by_role("heading", name=title).first.wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        expect(shop).to_have_value("SHOP-B (shop-b)")
        assert page.locator('[data-testid="stException"]').count() == 0
