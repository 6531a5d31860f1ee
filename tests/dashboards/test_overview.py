"""The overview page run by Streamlit's AppTest on a data directory with published artifacts."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import theme
from dashboards.queries import Shop, format_money, latest_day
from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings

from .conftest import charts, open_app
from .demo_data import two_shops


def daily(rows: list[tuple[date, float, int, int, int]]) -> pa.Table:
    """(day, revenue, orders, sessions, visitors) -> the published daily_metrics table."""
    return pa.table(
        {
            "metric_date": [r[0] for r in rows],
            "revenue": [r[1] for r in rows],
            "orders": [r[2] for r in rows],
            "aov": [r[1] / r[2] if r[2] else None for r in rows],
            "sessions": [r[3] for r in rows],
            "visitors": [r[4] for r in rows],
            "conversion_rate": [r[2] / r[3] for r in rows],
        }
    )


def trending_tables(prefix: str) -> dict[str, pa.Table]:
    return {
        "products": pa.table(
            {
                "product_id": [f"{prefix}1", f"{prefix}2"],
                "name": [f"{prefix.upper()} Lantern", f"{prefix.upper()} Kettle"],
                "category": ["camping", "kitchen"],
                "brand": ["acme", "acme"],
                "price": [25.0, 40.0],
            }
        ),
        "trending": pa.table(
            {
                "product_id": [f"{prefix}2", f"{prefix}1"],
                "category": ["kitchen", "camping"],
                "score": [12.34, 5.0],
                "rank": pa.array([1, 2], pa.int32()),
                "category_rank": pa.array([1, 1], pa.int32()),
            }
        ),
    }


@pytest.fixture
def published(settings: Settings) -> Settings:
    two_shops(settings.tenants_db_path)
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish(
        "acme",
        {
            **trending_tables("a"),
            "daily_metrics": daily(
                [
                    (date(2025, 3, 1), 900.0, 9, 300, 250),
                    (date(2025, 3, 2), 1000.0, 10, 400, 300),
                    (date(2025, 3, 3), 1234.5, 15, 500, 420),
                ]
            ),
        },
    )
    store.publish(
        "books",
        {**trending_tables("b"), "daily_metrics": daily([(date(2025, 3, 3), 80.0, 4, 50, 40)])},
    )
    return settings


def run(tenant_id: str = "acme") -> AppTest:
    return open_app(tenant_id=tenant_id)


def metrics(app: AppTest) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta or None) for m in app.metric}


def test_empty_state_says_what_to_do(data_dir: Path) -> None:
    app = run()
    assert not app.metric
    text = app.info[0].value
    assert "make demo" in text and "intellishop pipeline run" in text


def test_kpis_show_the_latest_day_against_the_day_before(published: Settings) -> None:
    app = run()
    shown = metrics(app)
    assert {label: shown[label] for label in shown if "period" not in label} == {
        "Revenue": ("$1,234", "+23.4%"),
        "Orders": ("15", "+50.0%"),
        "Average order value": ("$82.30", "-17.7%"),
        "Sessions": ("500", "+25.0%"),
        "Conversion rate": ("3.00%", "+0.50 pp"),
    }
    assert app.subheader[0].value == "Monday 03 March 2025"
    (chart,) = charts(app)
    assert chart.title == "Daily revenue (USD) and orders"
    assert [(r["metric_date"], r["revenue"], r["orders"]) for r in chart.rows] == [
        (date(2025, 3, 1), 900.0, 9),
        (date(2025, 3, 2), 1000.0, 10),
        (date(2025, 3, 3), 1234.5, 15),
    ]
    bars, line = chart.spec["layer"]
    assert chart.spec["resolve"] == {"scale": {"y": "independent"}}  # two y axes
    assert (bars["mark"]["type"], bars["encoding"]["y"]["title"]) == ("bar", "Revenue (USD)")
    assert (line["mark"]["type"], line["encoding"]["y"]["title"]) == ("line", "Orders (count)")
    assert bars["encoding"]["color"]["scale"] == {
        "domain": ["Revenue (USD)", "Orders"],
        "range": [theme.REVENUE, theme.ORDERS],
    }
    table = app.dataframe[0].value
    assert list(table["product"]) == ["A Kettle", "A Lantern"]
    assert list(table["rank"]) == [1, 2]


def test_each_shop_sees_its_own_numbers_in_its_currency(published: Settings) -> None:
    app = run("books")
    shown = metrics(app)
    assert shown["Revenue"] == ("€80.00", None)  # a single day: nothing to compare with
    assert shown["Orders"] == ("4", None)
    assert list(app.dataframe[0].value["product"]) == ["B Kettle", "B Lantern"]


def test_a_new_publish_is_shown(published: Settings) -> None:
    app = run()
    LocalArtifactStore(published.artifacts_dir).publish(
        "acme", {"daily_metrics": daily([(date(2025, 3, 4), 10.0, 1, 10, 10)])}
    )
    import dashboards.queries as queries

    queries._store.clear()  # the running app would notice within REFRESH_SECONDS
    app.run()
    assert metrics(app)["Revenue"] == ("$10.00", None)
    assert any("Nothing is trending yet" in c.value for c in app.main.caption)


def test_latest_day_knows_today_in_the_shops_time_zone() -> None:
    shop = Shop("t", "T", "USD", "Pacific/Auckland")
    frame = pl.DataFrame(daily([(date(2025, 3, 4), 10.0, 1, 10, 10)]))
    # 20:00 UTC on the 3rd is already the 4th in Auckland.
    now = datetime(2025, 3, 3, 20, 0, tzinfo=ZoneInfo("UTC"))
    summary = latest_day(frame, shop, now=now)
    assert summary is not None and summary.is_today
    assert latest_day(frame.clear(), shop) is None


def test_a_day_under_way_shows_changes_of_ratios_only() -> None:
    shop = Shop("t", "T", "USD", "UTC")
    frame = pl.DataFrame(
        daily([(date(2025, 3, 3), 100.0, 4, 100, 90), (date(2025, 3, 4), 30.0, 1, 20, 20)])
    )
    under_way = latest_day(frame, shop, now=datetime(2025, 3, 4, 9, tzinfo=ZoneInfo("UTC")))
    assert under_way is not None and under_way.is_today
    deltas = {kpi.label: kpi.delta for kpi in under_way.kpis}
    assert deltas["Revenue"] is None and deltas["Orders"] is None and deltas["Sessions"] is None
    assert deltas["Average order value"] == "+20.0%"  # 30/1 against 100/4
    assert deltas["Conversion rate"] == "+1.00 pp"  # 1/20 against 4/100
    finished = latest_day(frame, shop, now=datetime(2025, 3, 5, 9, tzinfo=ZoneInfo("UTC")))
    assert finished is not None and not finished.is_today
    assert {kpi.label: kpi.delta for kpi in finished.kpis}["Revenue"] == "-70.0%"


def test_money_formats() -> None:
    assert format_money(1234.5, "USD") == "$1,234"
    assert format_money(999.994, "USD") == "$999.99"
    assert format_money(-3, "EUR") == "-€3.00"
    assert format_money(7, "SEK") == "7.00 SEK"
    assert format_money(None, "USD") == "\N{EN DASH}"
