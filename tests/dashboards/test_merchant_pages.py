"""The funnel, customers and products pages run by Streamlit's AppTest on published artifacts."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboards.world_map import GREY
from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings

from .conftest import charts, open_app
from .demo_data import two_shops
from .test_overview import daily

PAGES = (
    "app_pages/funnel.py",
    "app_pages/customers.py",
    "app_pages/products.py",
    "app_pages/cohorts.py",
    "app_pages/geography.py",
)


def merchant_tables() -> dict[str, pa.Table]:
    return {
        "daily_metrics": daily([(date(2025, 3, 2), 100.0, 2, 40, 30)]),
        "funnel_daily": pa.table(
            {
                "metric_date": [date(2025, 3, 1), date(2025, 3, 2)],
                "device_type": ["desktop", "mobile"],
                "traffic_source": ["google", "(direct)"],
                "country": ["US", "DE"],
                "sessions": [100, 300],
                "viewed_sessions": [80, 120],
                "added_sessions": [20, 30],
                "checkout_sessions": [10, 15],
                "ordered_sessions": [5, 3],
            }
        ),
        "geo_daily": pa.table(
            {
                "metric_date": [date(2025, 3, 1), date(2025, 3, 2)],
                "country": ["US", "DE"],
                "sessions": [100, 300],
                "visitors": [90, 250],
                "orders": [5, 3],
                "net_revenue": [250.0, 120.5],
            }
        ),
        "customers": pa.table(
            {
                "customer_id": ["c1", "c2", "c3"],
                "user_id": ["u1", None, "u3"],
                "orders": [3, 1, 1],
                "net_revenue": [300.0, 20.0, 50.5],
                "first_order_at": [datetime(2025, 1, 5)] * 3,
                "last_order_at": [datetime(2025, 3, 1)] * 3,
                "recency_days": [1, 40, 2],
                "recency_score": [5, 1, 4],
                "frequency_score": [5, 1, 2],
                "monetary_score": [5, 1, 3],
                "rfm_code": ["555", "111", "423"],
                "rfm_segment": ["Champions", "Lost", "New"],
            }
        ),
        "cohort_retention": pa.table(
            {
                "cohort_grain": ["month", "month", "week"],
                "cohort_start": [date(2025, 1, 1), date(2025, 1, 1), date(2024, 12, 30)],
                "period_number": [0, 2, 0],
                "cohort_customers": [3, 3, 3],
                "active_customers": [3, 1, 3],
                "customer_retention": [1.0, 1 / 3, 1.0],
                "net_revenue": [370.5, 100.0, 370.5],
            }
        ),
        "product_performance": pa.table(
            {
                "product_id": ["p1", "p2"],
                "name": ["Lantern", "Kettle"],
                "category": ["camping", "kitchen"],
                "views": [50, 20],
                "viewers": [40, 15],
                "cart_adds": [5, 4],
                "add_to_cart_rate": [0.1, 0.2],
                "orders": [3, 2],
                "buyers": [3, 2],
                "units_sold": [3, 2],
                "revenue": [75.0, 80.0],
                "units_refunded": [0, 1],
                "return_rate": [0.0, 0.5],
            }
        ),
    }


@pytest.fixture
def published(settings: Settings) -> Settings:
    two_shops(settings.tenants_db_path)
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("acme", merchant_tables())
    # An older publish: only the daily metrics, none of the marts the pages read.
    store.publish("books", {"daily_metrics": daily([(date(2025, 3, 3), 80.0, 4, 50, 40)])})
    return settings


def run(page: str, shop: str = "acme") -> AppTest:
    return open_app(page, tenant_id=shop)


@pytest.mark.parametrize("page", PAGES)
def test_nothing_published_shows_the_empty_state(data_dir: Path, page: str) -> None:
    app = run(page)
    assert "make demo" in app.info[0].value
    assert not charts(app)


@pytest.mark.parametrize("page", PAGES)
def test_a_shop_without_the_marts_gets_info_not_an_exception(
    published: Settings, page: str
) -> None:
    app = run(page, shop="books")
    assert app.info
    assert not charts(app)


def test_funnel_page(published: Settings) -> None:
    app = run("app_pages/funnel.py")
    assert app.title[0].value == "Funnel"
    assert app.date_input[0].value == (date(2025, 3, 1), date(2025, 3, 2))
    assert {m.label: m.value for m in app.metric} == {
        "Visits": "400",
        "Visits with an order": "8",
        "Visit conversion": "2.00%",
    }
    table = app.dataframe[0].value
    assert list(table["visits"]) == [200, 50, 25, 8]
    assert list(table["step_conversion"]) == [50.0, 25.0, 50.0, 32.0]
    (chart,) = charts(app)
    assert chart.title == "Visits reaching each step, 01 Mar 2025 to 02 Mar 2025"
    assert [(r["step"], r["visits"], r["label"], r["inside"]) for r in chart.rows] == [
        ("Product Viewed", 200, "200 visits · 50.0% of all visits", True),
        ("Product Added", 50, "50 visits · 25.0% of the step before", False),
        ("Checkout Started", 25, "25 visits · 50.0% of the step before", False),
        ("Order Completed", 8, "8 visits · 32.0% of the step before", False),
    ]

    app.multiselect[0].select("mobile").run()  # device
    assert not app.exception
    assert {m.label: m.value for m in app.metric}["Visits"] == "300"
    assert list(app.dataframe[0].value["visits"]) == [120, 30, 15, 3]

    app.multiselect[2].select("US").run()  # no mobile visit from the US
    assert not app.exception
    assert "No visits match" in app.info[0].value


def test_customers_page(published: Settings) -> None:
    app = run("app_pages/customers.py")
    assert app.title[0].value == "Customers"
    table = app.dataframe[0].value
    assert list(table["segment"]) == ["Champions", "New", "Lost"]
    assert list(table["customers"]) == [1, 1, 1]
    assert list(table["avg_net_revenue"]) == [300.0, 50.5, 20.0]
    segments, grid = charts(app)
    assert segments.title == "Segment sizes and their net revenue (USD)"
    third = pytest.approx(100 / 3)
    assert [(r["segment"], r["measure"], r["share"], r["label"]) for r in segments.rows] == [
        ("Champions", "Customers", third, "1 (33.3%)"),
        ("New", "Customers", third, "1 (33.3%)"),
        ("Lost", "Customers", third, "1 (33.3%)"),
        ("Champions", "Net revenue (USD)", pytest.approx(30000 / 370.5), "$300.00"),
        ("New", "Net revenue (USD)", pytest.approx(5050 / 370.5), "$50.50"),
        ("Lost", "Net revenue (USD)", pytest.approx(2000 / 370.5), "$20.00"),
    ]
    assert grid.title == "Customers by recency and frequency score"
    counted = {(r["recency"], r["frequency"]): r["customers"] for r in grid.rows}
    assert len(counted) == 25
    assert {cell for cell, n in counted.items() if n} == {(5, 5), (1, 1), (4, 2)}
    assert sum(counted.values()) == 3


def test_cohorts_page(published: Settings) -> None:
    app = run("app_pages/cohorts.py")
    assert app.title[0].value == "Cohorts"
    (retained,) = charts(app)
    assert retained.title == "Share of each month's new customers ordering again"
    # The January cohort of 3: all in month 0, nobody in month 1, one in month 2.
    assert [(r["cohort"], r["period"], r["value"], r["text"]) for r in retained.rows] == [
        ("2025-01 (3)", 0, 100.0, "100%"),
        ("2025-01 (3)", 1, 0.0, "0%"),
        ("2025-01 (3)", 2, pytest.approx(100 / 3), "33%"),
    ]
    app.segmented_control(key="cohort_measure").set_value("revenue").run()
    assert not app.exception
    (revenue,) = charts(app)
    assert revenue.title == "Net revenue (USD) of each month's new customers"
    assert [(r["period"], r["value"], r["text"]) for r in revenue.rows] == [
        (0, 370.5, "$370.50"),
        (1, 0.0, "$0.00"),
        (2, 100.0, "$100.00"),
    ]


def test_geography_page_maps_each_country_offline(published: Settings) -> None:
    app = run("app_pages/geography.py")
    (world,) = charts(app)
    assert world.title == "Net revenue (USD) by country, 01 Mar to 02 Mar 2025"
    # Inline GeoJSON (kept in the spec by Streamlit): nothing for the browser to fetch.
    features = world.spec["datasets"][world.spec["data"]["name"]]
    assert all(f["type"] == "Feature" and f["geometry"] for f in features)
    with_data = {f["id"]: f["properties"] for f in features if f["properties"]["value"]}
    assert with_data == {
        "USA": {"value": 250.0, "label": "US"},
        "DEU": {"value": 120.5, "label": "DE"},
    }
    assert len(features) > 150 and "ATA" not in {f["id"] for f in features}
    land, shaded = world.spec["layer"]  # grey land, coloured countries with a value on top
    assert (land["mark"]["type"], land["mark"]["fill"]) == ("geoshape", GREY)
    assert shaded["transform"] == [{"filter": "isValid(datum.properties.value)"}]
    assert shaded["encoding"]["color"]["scale"]["domain"] == [120.5, 250.0]
    assert '"url"' not in json.dumps(world.spec)
    app.segmented_control(key="geo_measure").set_value("sessions").run()
    (visits,) = charts(app)
    assert visits.title.startswith("Visits by country")
    shapes = visits.spec["datasets"][visits.spec["data"]["name"]]
    values = {f["id"]: f["properties"]["value"] for f in shapes}
    assert (values["USA"], values["DEU"]) == (100.0, 300.0)


def test_products_page(published: Settings) -> None:
    app = run("app_pages/products.py")
    assert app.title[0].value == "Products"
    table = app.dataframe[0].value
    assert list(table["product"]) == ["Kettle", "Lantern"]
    assert list(table["return_rate"]) == [50.0, 0.0]
    (by_country,) = charts(app)
    assert by_country.title == "Net revenue by country, 01 Mar 2025 to 02 Mar 2025"
    assert [
        (r["country"], r["net_revenue"], r["label"], r["orders"], r["sessions"])
        for r in by_country.rows
    ] == [("US", 250.0, "$250.00", 5, 100), ("DE", 120.5, "$120.50", 3, 300)]
