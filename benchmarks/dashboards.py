"""Dashboards benchmark: seconds until each merchant page has rendered, in real headless Chromium.

    .venv/bin/python benchmarks/dashboards.py [--days 90] [--customers 1500] [--loads 3]

1. Prepare (not timed; cached under --work-dir by its options): the demo shops, their keys and
   dashboard owners as ``make demo`` makes them (``intellishop.demo``), simulated traffic sent
   over HTTP to the collector (run in this process on a free port, not as a service), then the
   Dagster pipeline (load -> dbt -> ML -> publish) in a child process, as the demo runs it.
2. Start the Streamlit app on a free port, signed in as the main demo shop's owner through the
   demo's password-less preset (``INTELLISHOP_DASHBOARDS_DEMO_LOGIN``), so every URL is a fresh
   browser session of that owner. A second Streamlit server runs two trivial pages (a title and
   a line of text each): the baseline, timed the same way in the same run.
3. Every page is timed until its title and main content are drawn, no spinner is shown and the
   script run is over, in two ways:
   - "open": the page's URL in a new tab (a new Streamlit session: the frontend starts, the
     app script runs, chart libraries load), after one warm-up load of every page;
   - "switch": a click on the page's link in the sidebar of a tab already open, what a
     merchant does moving between pages (the e2e test's measure).
   --loads times each; prints the medians, their ratios to the baseline's (a trivial page opened
   or switched to the same way), the load average and the command.

Figures go to docs/benchmarks.md by hand, with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The project root first: this directory's ingest.py would shadow the `ingest` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboards.local_server import MERCHANT_APP, streamlit_server
from intellishop.chromium import CHROMIUM, CHROMIUM_ARGS
from intellishop.demo import (
    DEMO_SHOPS,
    demo_email,
    demo_keys,
    demo_users,
    run_pipeline_subprocess,
)
from intellishop.ports import free_port
from intellishop.services import service_env
from intellishop.settings import Profile, Settings

#: A Vega-Lite chart once Vega has drawn it (its SVG marks).
CHART = '[data-testid="stVegaLiteChart"] svg.marks'
#: Page title -> (URL path, what is on the page once its main content has rendered).
PAGES: dict[str, tuple[str, str]] = {
    "Overview": ("", CHART),
    "Live": ("live", '[data-testid="stMetric"]'),
    "Funnel": ("funnel", CHART),
    "Cohorts": ("cohorts", CHART),
    "Geography": ("geography", CHART),
    "Customers": ("customers", CHART),
    "Segments": ("segments", '[data-testid="stForm"]'),
    "Customer profile": ("customer-profile", '[data-testid="stTextInput"]'),
    "Products": ("products", CHART),
    "Recommendations": ("recommendations", '[data-testid="stDataFrame"]'),
    "Experiments": ("experiments", '[data-testid="stAlert"]'),
    "Automations": ("automations", '[data-testid="stForm"]'),
    "Reports": ("reports", '[data-testid="stForm"]'),
}
BASELINE_TITLE = "Baseline"
#: Two trivial pages in an ``st.navigation`` app, like the merchant app's.
BASELINE_SCRIPT = """import streamlit as st


def baseline() -> None:
    st.title("Baseline")
    st.write("A trivial page: what any Streamlit page costs in this browser.")


def other() -> None:
    st.title("Other")
    st.write("The page the baseline is switched to from.")


st.navigation([st.Page(baseline, title="Baseline"), st.Page(other, title="Other")]).run()
"""
#: The script run is over (no "Running..." status) and no spinner is on the page.
RENDERED = """() => {
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    const running = status && status.innerText.includes('Running');
    return !running && !document.querySelector('[data-testid="stSpinner"]');
}"""
GOAL_SECONDS = 2.0


@contextmanager
def collector_in_process(settings: Settings) -> Iterator[str]:
    """The collector app (the one ``make demo`` starts) served by uvicorn on a thread."""
    import uvicorn

    from ingest.app import create_app

    port = free_port()
    app = create_app(settings)
    # One access-log line per batch would bury the figures.
    logging.getLogger("intellishop.collector.access").setLevel(logging.WARNING)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="collector", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the collector did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def prepare(settings: Settings, *, days: int, customers: int) -> None:
    """Demo shops with simulated traffic and a pipeline run; skipped when already done."""
    from intellishop.simulation import SimulationConfig, generate_events, send_events

    wanted = {"days": days, "customers": customers}
    marker = settings.data_dir / "benchmark-prepared.json"
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"demo data: reusing {settings.data_dir}")
        return
    settings.ensure_dirs()
    os.environ.update(service_env(settings))
    keys = demo_keys(settings)
    demo_users(settings)
    started = time.perf_counter()
    with collector_in_process(settings) as collector_url:
        for shop in DEMO_SHOPS:
            config = SimulationConfig(
                seed=shop.seed,
                days=days,
                customers=max(20, int(customers * shop.customer_share)),
                end=datetime.now(UTC).date(),
                currency=shop.currency,
                shop_name=shop.name,
            )
            report = send_events(
                generate_events(config),
                collector_url=collector_url,
                api_key=keys[shop.tenant_id],
                progress=False,
            )
            if not report.ok:
                raise RuntimeError(f"the collector did not accept all events of {shop.name}")
            print(f"demo data: {shop.name}: {report.events_accepted:,} events accepted")
    print(f"demo data: traffic sent in {time.perf_counter() - started:.0f} s; running the pipeline")
    started = time.perf_counter()
    if run_pipeline_subprocess(settings) != 0:
        raise RuntimeError(f"the pipeline failed: see {settings.data_dir / 'logs/pipeline.log'}")
    print(f"demo data: pipeline done in {time.perf_counter() - started:.0f} s")
    marker.write_text(json.dumps(wanted))


def load_seconds(context: Any, url: str, title: str, content: str) -> float:
    """One load of ``url`` in a new tab: seconds until ``title`` and ``content`` are drawn and
    the run is over. A page showing an exception is an error, not a time."""
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url)
        page.get_by_role("heading", name=title, exact=True).first.wait_for()
        page.locator(content).first.wait_for()
        page.wait_for_function(RENDERED, polling=20)
        seconds = time.perf_counter() - started
        if page.locator('[data-testid="stException"]').count():
            raise RuntimeError(f"{title}: the page shows an exception")
        return seconds
    finally:
        page.close()


def switch_seconds(page: Any, title: str, content: str) -> float:
    """Click ``title`` in the sidebar: seconds until it is drawn and the run is over.

    The tab is brought to the front first: Chromium throttles the timers of a tab in the
    background (the app's tab is, once the baseline's is opened), which made every switch look
    1-2 s slower than a person at the screen sees it."""
    page.bring_to_front()
    started = time.perf_counter()
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for()
    page.locator(content).first.wait_for()
    page.wait_for_function(RENDERED, polling=20)
    seconds = time.perf_counter() - started
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"{title}: the page shows an exception")
    return seconds


Times = dict[str, dict[str, list[float]]]


def measure(loads: int, app_url: str, baseline_url: str) -> Times:
    """{"open" | "switch": {page title: seconds of each load}}, the baseline included."""
    from playwright.sync_api import sync_playwright

    baseline = '[data-testid="stMarkdown"]'
    targets = {BASELINE_TITLE: (baseline_url, baseline)}
    targets.update({title: (f"{app_url}/{path}", sel) for title, (path, sel) in PAGES.items()})
    times: Times = {"open": {t: [] for t in targets}, "switch": {t: [] for t in targets}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        for title, (url, content) in targets.items():  # warm-up: first-visit imports
            load_seconds(context, url, title, content)
        for _ in range(loads):  # rounds, so a burst of load on the machine hits every page
            for title, (url, content) in targets.items():
                times["open"][title].append(load_seconds(context, url, title, content))
        app = context.new_page()  # on the last page, so every switch is to another page
        app.goto(f"{app_url}/{PAGES['Reports'][0]}")
        app.locator(PAGES["Reports"][1]).first.wait_for()
        trivial = context.new_page()
        trivial.goto(baseline_url)
        trivial.locator(baseline).first.wait_for()
        for _ in range(loads):
            switch_seconds(trivial, "Other", baseline)
            times["switch"][BASELINE_TITLE].append(
                switch_seconds(trivial, BASELINE_TITLE, baseline)
            )
            for title, (_url, content) in PAGES.items():
                times["switch"][title].append(switch_seconds(app, title, content))
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90, help="as `intellishop demo` (90)")
    parser.add_argument("--customers", type=int, default=1500, help="as `intellishop demo`")
    parser.add_argument("--loads", type=int, default=3, help="timed loads per page")
    parser.add_argument(
        "--work-dir", type=Path, default=Path("/tmp/intellishop-bench-dashboards"),
        help="demo data, kept between runs with the same options",
    )  # fmt: skip
    args = parser.parse_args()

    data_dir = (args.work_dir / "data").resolve()
    os.environ["INTELLISHOP_DATA_DIR"] = str(data_dir)
    os.environ["INTELLISHOP_PROFILE"] = "local"
    settings = Settings(data_dir=data_dir, profile=Profile.LOCAL)
    prepare(settings, days=args.days, customers=args.customers)

    shop = DEMO_SHOPS[0]
    env = {
        **service_env(settings),
        "INTELLISHOP_DASHBOARDS_DEMO_LOGIN": f"{shop.tenant_id}:{demo_email(shop)}",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    baseline_script = args.work_dir / "baseline_app.py"
    baseline_script.write_text(BASELINE_SCRIPT)
    with (
        streamlit_server(MERCHANT_APP, env, args.work_dir / "streamlit.log") as app_url,
        streamlit_server(baseline_script, env, args.work_dir / "baseline.log") as baseline_url,
    ):
        times = measure(args.loads, app_url, baseline_url)

    print(f"\nshop {shop.tenant_id}, {args.days} days, {args.customers} customers; medians of")
    print(f"{args.loads} loads. open: the URL in a new tab; switch: the sidebar link, same tab\n")
    median = {way: {t: statistics.median(s) for t, s in by.items()} for way, by in times.items()}
    base = {way: median[way][BASELINE_TITLE] for way in median}
    print(f"{'page':18} {'open s':>7} {'x base':>7} {'switch s':>9} {'x base':>7}  open; switch s")
    for title in median["open"]:
        each = "; ".join(" ".join(f"{s:.2f}" for s in times[way][title]) for way in times)
        print(
            f"{title:18} {median['open'][title]:7.2f} {median['open'][title] / base['open']:7.1f}"
            f" {median['switch'][title]:9.2f} {median['switch'][title] / base['switch']:7.1f}"
            f"  {each}"
        )
    for way in median:
        slow = [t for t, s in median[way].items() if t != BASELINE_TITLE and s > GOAL_SECONDS]
        print(f"{way}: over the {GOAL_SECONDS:.0f} s goal: {', '.join(slow) or 'none'}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
