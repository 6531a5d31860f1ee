"""The merchant dashboards in a real browser (Debian's Chromium driven by Playwright).

One Streamlit server for the module, on a free port, over a data directory with two demo-like
shops published (``tests.dashboards.demo_data``) and their dashboard users. A person signs in
through the form, then opens every page from the sidebar, as they would: no page may show an
exception, key numbers must match the published tables, and each page's render time (click to
drawn charts) is measured against the 2 s goal. Screenshots and the timings go to
``test-artifacts/dashboards/``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from playwright.sync_api import expect

from dashboards.local_server import MERCHANT_APP, streamlit_server
from dashboards.queries import format_money
from dashboards.world_map import GREY
from intellishop.services import PROJECT_ROOT
from intellishop.users import UserRegistry
from tests.dashboards.demo_data import demo_tables, publish_two_shops

pytestmark = pytest.mark.e2e

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "dashboards"
PASSWORD = "correct horse battery"
#: A Vega-Lite chart once Vega has drawn it (its SVG marks).
CHART_BOX = '[data-testid="stVegaLiteChart"]'
CHART = f"{CHART_BOX} svg.marks"
#: Sidebar link -> what must be on the page once it has rendered.
PAGES = {
    "Overview": CHART,
    "Live": '[data-testid="stMetric"]',
    "Funnel": CHART,
    "Cohorts": CHART,
    "Geography": CHART,
    "Customers": CHART,
    "Segments": '[data-testid="stForm"]',
    "Customer profile": '[data-testid="stTextInput"]',
    "Products": CHART,
    "Recommendations": '[data-testid="stDataFrame"]',
    "Experiments": '[data-testid="stAlert"]',
    "Automations": '[data-testid="stForm"]',
    "Reports": '[data-testid="stForm"]',
}
#: Streamlit scrolls inside its own container, so a full-page screenshot is one viewport tall.
VIEWPORT = {"width": 1400, "height": 1600}
GOAL_SECONDS = 2.0


@pytest.fixture(scope="module")
def dashboards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("dashboards") / "data"
    env = {
        **os.environ,
        "INTELLISHOP_DATA_DIR": str(data_dir),
        "INTELLISHOP_PROFILE": "local",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    env.pop("INTELLISHOP_DASHBOARDS_DEMO_LOGIN", None)
    (data_dir / "artifacts").mkdir(parents=True)
    registry = publish_two_shops(data_dir / "tenants.sqlite3", data_dir / "artifacts")
    UserRegistry(registry).create("acme", "owner@acme.test", PASSWORD, "owner")
    with streamlit_server(MERCHANT_APP, env, data_dir / "streamlit.log") as url:
        yield url


def sign_in(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Sign in to IntelliShop").wait_for()
    page.get_by_role("textbox", name="Shop id").fill("acme")
    page.get_by_role("textbox", name="Email").fill("owner@acme.test")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").first.wait_for()
    page.locator(CHART).first.wait_for()
    wait_until_idle(page)


def requests_elsewhere(page: Any, url: str) -> list[str]:
    """The URLs ``page`` requests from anywhere but the app at ``url``, filled as it goes."""
    elsewhere: list[str] = []

    def note(request: Any) -> None:
        if not request.url.startswith((url, "data:", "blob:")):
            elsewhere.append(request.url)

    page.on("request", note)
    return elsewhere


def wait_until_idle(page: Any) -> None:
    """Until Streamlit's "running" indicator is gone (the script finished)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText"
        ".includes('Running')"
    )


def test_every_page_signed_in_with_numbers_and_timings(page: Any, dashboards: str) -> None:
    page.set_default_timeout(30_000)
    page.set_viewport_size(VIEWPORT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside = requests_elsewhere(page, dashboards)
    page.goto(f"{dashboards}/products")  # no session: the sign-in form, never data
    page.get_by_role("heading", name="Sign in to IntelliShop").wait_for()
    assert page.locator(CHART_BOX).count() == 0
    sign_in(page, dashboards)
    sidebar = page.locator('[data-testid="stSidebar"]')
    cold: dict[str, float] = {}
    warm: dict[str, float] = {}
    for title in PAGES:  # first visits pay one-time imports; the second is the page itself
        cold[title] = open_page(page, sidebar, title)
    for title in PAGES:
        warm[title] = open_page(page, sidebar, title)
        # every chart on the page drawn, not only the first (Vega reports errors only in the
        # browser console: a chart it cannot draw stays empty). Counted in one evaluation,
        # polled: on a slow machine a chart's box may appear after the run looked finished.
        page.wait_for_function(
            f"() => document.querySelectorAll('{CHART_BOX}').length"
            f" === document.querySelectorAll('{CHART}').length"
        )
        page.wait_for_timeout(300)  # let Vega finish drawing before the screenshot
        page.screenshot(path=str(ARTIFACTS / f"{title.lower().replace(' ', '-')}.png"))
        if title == "Overview":
            daily = pl.DataFrame(demo_tables("a", seed=1)["daily_metrics"]).tail(30)
            revenue = page.locator('[data-testid="stMetric"]', has_text="Revenue (period)")
            expect(revenue).to_contain_text(format_money(float(daily["revenue"].sum()), "USD"))
            expect(page.get_by_text("Acme Outdoor")).to_have_count(1)
            expect(page.get_by_text("Berlin Books")).to_have_count(0)  # never another shop
        if title == "Geography":
            # every country drawn grey from the shipped outlines, then those with sales (US,
            # DE, GB, FR, CA) in colour on top
            shapes = page.locator(f"{CHART} .role-mark path")
            fills = shapes.evaluate_all("paths => paths.map(p => p.getAttribute('fill'))")
            assert fills.count(GREY) > 150
            assert len([fill for fill in fills if fill != GREY]) == 5
        if title == "Products":
            reorder = page.locator('[data-testid="stDataFrame"]').last
            expect(reorder).to_contain_text("Order (units)")
    # Charts, map outlines and fonts all come from the app: nothing leaves for a CDN.
    assert not outside, outside
    (ARTIFACTS / "render-times.json").write_text(
        json.dumps({"first": cold, "again": warm}, indent=2)
    )
    print("\nrender seconds, first visit:", json.dumps(cold))
    print("render seconds, again:", json.dumps(warm))
    slow = {title: seconds for title, seconds in warm.items() if seconds > GOAL_SECONDS}
    # The goal is 2 s on an idle machine; a shared CI box gets twice that before failing.
    assert all(seconds < 2 * GOAL_SECONDS for seconds in warm.values()), slow


def open_page(page: Any, sidebar: Any, title: str) -> float:
    """Click the sidebar link; seconds until the page's content is drawn and the run is over."""
    started = time.perf_counter()
    sidebar.get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for()
    page.locator(PAGES[title]).first.wait_for()
    wait_until_idle(page)
    seconds = round(time.perf_counter() - started, 3)
    assert page.locator('[data-testid="stException"]').count() == 0, title
    return seconds


def test_phone_width_and_sign_out(page: Any, dashboards: str) -> None:
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, dashboards)
    page.locator(CHART).first.wait_for()
    wait_until_idle(page)
    overflow = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth"
        " - document.querySelector('[data-testid=\"stMain\"]').clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow} px at 390 px"
    page.screenshot(path=str(ARTIFACTS / "overview-phone.png"))
    page.locator('[data-testid="stExpandSidebarButton"]').click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to IntelliShop").wait_for()
