"""Sign-in, roles and every page on a demo-like shop, run by Streamlit's AppTest.

Key numbers are checked against the published tables (``demo_data``), and each shop sees
only its own data.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import theme
from dashboards.queries import format_money
from ingest.event_log import SqliteEventLog
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.reports import MerchantStore, SegmentDefinition
from intellishop.settings import Settings
from intellishop.users import UserRegistry

from .conftest import APP, charts, open_app
from .demo_data import demo_tables, publish_two_shops

PASSWORD = "correct horse battery"
#: Acme's time zone (the ``shops`` fixture's).
SHOP_ZONE = ZoneInfo("America/New_York")
EVERY_PAGE = (
    "app_pages/overview.py",
    "app_pages/live.py",
    "app_pages/funnel.py",
    "app_pages/cohorts.py",
    "app_pages/geography.py",
    "app_pages/customers.py",
    "app_pages/segments.py",
    "app_pages/customer_profile.py",
    "app_pages/products.py",
    "app_pages/recommendations.py",
    "app_pages/experiments.py",
    "app_pages/automations.py",
    "app_pages/reports.py",
)


@pytest.fixture
def shops(settings: Settings) -> Settings:
    registry = publish_two_shops(settings.tenants_db_path, settings.artifacts_dir)
    users = UserRegistry(registry)
    users.create("acme", "owner@acme.test", PASSWORD, "owner")
    users.create("acme", "viewer@acme.test", PASSWORD, "viewer")
    return settings


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_sign_in_is_required_and_checks_the_password(shops: Settings) -> None:
    app = AppTest.from_file(str(APP), default_timeout=30)
    app.run()
    assert app.title[0].value == "Sign in to IntelliShop"
    assert not app.metric
    app.text_input[0].input("acme")
    app.text_input[1].input("owner@acme.test")
    app.text_input[2].input("wrong password!")
    app.button[0].click().run()
    assert "Wrong shop id, email or password" in app.error[0].value
    app.text_input[0].input("books")  # the right password, another shop
    app.text_input[2].input(PASSWORD)
    app.button[0].click().run()
    assert app.error and app.title[0].value == "Sign in to IntelliShop"
    app.text_input[0].input("acme")
    app.button[0].click().run()
    assert not app.exception
    assert app.title[0].value == "Overview"
    assert any("owner@acme.test" in c.value for c in app.sidebar.caption)
    app.sidebar.button(key="sign_out").click().run()
    assert app.title[0].value == "Sign in to IntelliShop"


def test_demo_login_preset(shops: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTELLISHOP_DASHBOARDS_DEMO_LOGIN", "acme:viewer@acme.test")
    app = AppTest.from_file(str(APP), default_timeout=30)
    app.run()
    assert app.title[0].value == "Overview"
    monkeypatch.setenv("INTELLISHOP_DASHBOARDS_DEMO_LOGIN", "acme:nobody@acme.test")
    app = AppTest.from_file(str(APP), default_timeout=30)
    app.run()
    assert app.title[0].value == "Sign in to IntelliShop"


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_page_renders_for_an_owner(shops: Settings, page: str) -> None:
    app = open_app(page)
    assert not app.exception
    assert app.title[0].value != "Sign in to IntelliShop"


def test_overview_period_numbers_are_the_marts_sums(shops: Settings) -> None:
    app = open_app()
    daily = pl.DataFrame(demo_tables("a")["daily_metrics"])
    last_30 = daily.tail(30)
    assert metric(app, "Revenue (period)") == format_money(float(last_30["revenue"].sum()), "USD")
    assert metric(app, "Orders (period)") == f"{last_30['orders'].sum():,}"
    books = open_app(tenant_id="books")
    books_daily = pl.DataFrame(demo_tables("b", 2)["daily_metrics"]).tail(30)
    assert metric(books, "Revenue (period)") == format_money(
        float(books_daily["revenue"].sum()), "EUR"
    )


def test_the_date_range_is_kept_across_pages(shops: Settings) -> None:
    app = open_app("app_pages/funnel.py")
    chosen = app.date_input[0].value
    assert isinstance(chosen, tuple) and len(chosen) == 2
    end: date = chosen[-1]
    app.date_input[0].set_value((end.replace(day=1), end)).run()
    assert not app.exception
    app.switch_page("app_pages/geography.py").run()
    assert app.date_input[0].value == (end.replace(day=1), end)


def test_live_page_counts_todays_orders_of_this_shop_only(shops: Settings) -> None:
    def order(order_id: str, revenue: float) -> LoggedEvent:
        now = time.time_ns() // 1000
        return LoggedEvent(
            message_id=uuid.uuid4().hex,
            type="track",
            event="Order Completed",
            user_id="buyer",
            anonymous_id=None,
            timestamp_us=now,
            sent_at_us=None,
            received_at_us=now,
            properties=json.dumps({"order_id": order_id, "revenue": revenue}).encode(),
            traits=b"{}",
            context=b"{}",
        )

    log = SqliteEventLog(shops.event_log_path)
    sent = datetime.now(SHOP_ZONE)
    log.append(LoggedBatch(tenant_id="acme", events=[order("o1", 40.0), order("o2", 2.5)]))
    log.append(LoggedBatch(tenant_id="books", events=[order("b1", 900.0)]))
    log.close()
    app = open_app("app_pages/live.py")
    assert metric(app, "Revenue today") == "$42.50"
    assert metric(app, "Orders today") == "2"
    assert metric(app, "Active users") == "1"
    assert [row for row in app.dataframe[0].value["order"]] == ["o2", "o1"]
    (per_minute,) = charts(app)
    assert per_minute.title == "Events per minute, last 15 minutes"
    assert len(per_minute.rows) == 15  # every minute, with or without events
    assert sum(r["events"] for r in per_minute.rows) == 2  # this shop's two orders only
    # Minutes in the shop's time zone (New York), whatever the browser's.
    busy = {r["minute"] for r in per_minute.rows if r["events"]}
    assert busy <= {f"{moment:%H:%M}" for moment in (sent, datetime.now(SHOP_ZONE))}


def test_viewers_read_but_do_not_build(shops: Settings) -> None:
    viewer = open_app("app_pages/segments.py", role="viewer")
    assert not viewer.get("form")
    assert not viewer.dataframe  # no person-level member lists
    owner = open_app("app_pages/segments.py")
    assert owner.get("form")
    automations = open_app("app_pages/automations.py", role="viewer")
    assert not automations.get("form")
    reports = open_app("app_pages/reports.py", role="viewer")
    assert not reports.main.button  # no "Generate"


def test_segment_builder_saves_for_the_automation(shops: Settings) -> None:
    app = open_app("app_pages/segments.py", role="analyst")
    app.text_input[0].input("VIPs")
    app.multiselect[0].select("Champions")
    app.number_input[0].set_value(3)
    app.button[1].click().run()  # save
    assert not app.exception
    saved = MerchantStore.for_settings(shops).segment("acme", "VIPs")
    assert saved == SegmentDefinition("VIPs", rfm_segments=("Champions",), min_orders=3)
    customers = pl.DataFrame(demo_tables("a")["customers"])
    expected = customers.filter((pl.col("rfm_segment") == "Champions") & (pl.col("orders") >= 3))
    assert metric(app, "Customers in the segment") == f"{expected.height:,}"
    assert MerchantStore.for_settings(shops).segments("books") == []


def test_customer_profile(shops: Settings) -> None:
    app = open_app("app_pages/customer_profile.py", role="analyst")
    app.text_input[0].input("a-c0").run()
    assert not app.exception
    scores = pl.DataFrame(demo_tables("a")["customer_scores"]).row(0, named=True)
    assert metric(app, "RFM segment") == "Champions"
    assert metric(app, "Churn probability") == f"{scores['churn_probability']:.0%}"
    assert metric(app, "Predicted 12-month value") == format_money(scores["clv_12m"], "USD")
    app.text_input[0].input("b-c0").run()  # another shop's customer
    assert "Nobody called" in app.warning[0].value


def test_recommendations_explain_the_algorithm(shops: Settings) -> None:
    app = open_app("app_pages/recommendations.py")
    app.text_input[0].input("a-u1").run()
    tables = [frame.value for frame in app.dataframe]
    assert len(tables) == 2  # als and content
    recs = pl.DataFrame(demo_tables("a")["recommendations"]).filter(pl.col("user_id") == "a-u1")
    als = recs.filter(pl.col("algorithm") == "als").sort("rank")["product_id"].to_list()
    assert list(tables[0]["product_id"]) == als
    assert any("collaborative filtering" in m.value for m in app.markdown)


def test_products_show_forecast_and_reorder(shops: Settings) -> None:
    app = open_app("app_pages/products.py")
    (demand,) = [c for c in charts(app) if c.title.startswith("Forecast daily demand")]
    chosen = app.selectbox(key="forecast_product").value
    forecast = pl.DataFrame(demo_tables("a", seed=1)["demand_forecast"])
    expected = forecast.filter(pl.col("product_id") == chosen).sort("forecast_date")
    assert [
        (r["forecast_date"], r["yhat"], r["yhat_lower"], r["yhat_upper"]) for r in demand.rows
    ] == list(expected.select("forecast_date", "yhat", "yhat_lower", "yhat_upper").iter_rows())
    band, line = demand.spec["layer"]
    assert (band["mark"]["type"], band["encoding"]["y2"]["field"]) == ("area", "yhat_upper")
    assert (line["mark"]["type"], line["encoding"]["y"]["field"]) == ("line", "yhat")
    assert line["encoding"]["color"]["scale"]["range"] == [theme.VISITS, theme.BAND]
    reorder = app.dataframe[-1].value
    assert list(reorder["suggested_order_qty"]) == [64.0, 63.0, 62.0, 61.0, 60.0]


def test_reports_page_generates_and_lists_only_own_reports(shops: Settings) -> None:
    app = open_app("app_pages/reports.py")
    app.button(key="generate_now").click().run()
    assert not app.exception
    assert "Generated the weekly report" in app.success[0].value
    downloads = app.get("download_button")
    assert len(downloads) == 2  # the PDF and the workbook
    books = open_app("app_pages/reports.py", tenant_id="books")
    assert not books.get("download_button")
