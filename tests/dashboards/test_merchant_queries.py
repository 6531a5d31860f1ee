"""The helpers behind the funnel, customers and products pages, on small hand-made tables."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dashboards.queries import (
    default_date_range,
    funnel_filter_options,
    funnel_steps,
    retention_grid,
    revenue_by_country,
    segment_summary,
    top_products,
)


@pytest.fixture
def funnel() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "metric_date": [date(2025, 3, 1), date(2025, 3, 2), date(2025, 1, 15)],
            "device_type": ["desktop", "mobile", "desktop"],
            "traffic_source": ["google", "(direct)", "google"],
            "country": ["US", "DE", "US"],
            "sessions": [100, 300, 1000],
            "viewed_sessions": [80, 120, 1000],
            "added_sessions": [20, 30, 1000],
            "checkout_sessions": [10, 15, 1000],
            "ordered_sessions": [5, 3, 1000],
        }
    )


def test_funnel_sums_visits_before_dividing(funnel: pl.DataFrame) -> None:
    sessions, steps = funnel_steps(funnel, date(2025, 3, 1), date(2025, 3, 31))
    assert sessions == 400  # the January row is outside the range
    assert steps.to_dicts() == [
        {
            "step": "Product Viewed",
            "visits": 200,
            "step_conversion": 0.5,
            "drop_off": 200,
            "overall_conversion": 1.0,
        },
        {
            "step": "Product Added",
            "visits": 50,
            "step_conversion": 0.25,
            "drop_off": 150,
            "overall_conversion": 0.25,
        },
        {
            "step": "Checkout Started",
            "visits": 25,
            "step_conversion": 0.5,
            "drop_off": 25,
            "overall_conversion": 0.125,
        },
        {
            "step": "Order Completed",
            "visits": 8,
            # 8 / 25, not the mean of the rows' 5/10 and 3/15 (0.35)
            "step_conversion": 0.32,
            "drop_off": 17,
            "overall_conversion": 0.04,
        },
    ]


def test_funnel_filters_by_device_source_and_country(funnel: pl.DataFrame) -> None:
    start, end = date(2025, 1, 1), date(2025, 3, 31)
    sessions, steps = funnel_steps(funnel, start, end, devices=["mobile"])
    assert sessions == 300
    assert steps["visits"].to_list() == [120, 30, 15, 3]
    assert steps["step_conversion"].to_list() == [0.4, 0.25, 0.5, 0.2]
    sessions, _ = funnel_steps(funnel, start, end, sources=["google"], countries=["US"])
    assert sessions == 1100
    sessions, _ = funnel_steps(funnel, start, end, devices=[], sources=None, countries=["DE"])
    assert sessions == 300  # an empty filter means all


def test_funnel_without_visits_has_no_rates(funnel: pl.DataFrame) -> None:
    sessions, steps = funnel_steps(funnel, date(2024, 1, 1), date(2024, 1, 31))
    assert sessions == 0
    assert steps["visits"].to_list() == [0, 0, 0, 0]
    assert steps["step_conversion"].to_list() == [None] * 4
    assert steps["overall_conversion"].to_list() == [None] * 4


def test_filter_options_and_default_range(funnel: pl.DataFrame) -> None:
    assert funnel_filter_options(funnel) == {
        "device_type": ["desktop", "mobile"],
        "traffic_source": ["(direct)", "google"],
        "country": ["DE", "US"],
    }
    # The last 30 days up to the latest day with data, not before the first.
    assert default_date_range(funnel["metric_date"]) == (date(2025, 2, 1), date(2025, 3, 2))
    assert default_date_range(funnel["metric_date"], length=90) == (
        date(2025, 1, 15),
        date(2025, 3, 2),
    )
    assert default_date_range(funnel["metric_date"].clear()) is None


def test_segment_summary_is_exact_and_best_segment_first() -> None:
    customers = pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "orders": [4, 2, 1, 1],
            "net_revenue": [400.0, 200.0, 20.0, 30.0],
            "recency_days": [1, 3, 90, 2],
            "rfm_segment": ["Champions", "Champions", "Lost", "New"],
        }
    )
    summary = segment_summary(customers)
    assert summary.to_dicts() == [
        {
            "segment": "Champions",
            "customers": 2,
            "customer_share": 0.5,
            "net_revenue": 600.0,
            "revenue_share": 600 / 650,
            "avg_orders": 3.0,
            "avg_net_revenue": 300.0,
            "avg_recency_days": 2.0,
        },
        {
            "segment": "New",
            "customers": 1,
            "customer_share": 0.25,
            "net_revenue": 30.0,
            "revenue_share": 30 / 650,
            "avg_orders": 1.0,
            "avg_net_revenue": 30.0,
            "avg_recency_days": 2.0,
        },
        {
            "segment": "Lost",
            "customers": 1,
            "customer_share": 0.25,
            "net_revenue": 20.0,
            "revenue_share": 20 / 650,
            "avg_orders": 1.0,
            "avg_net_revenue": 20.0,
            "avg_recency_days": 90.0,
        },
    ]
    assert segment_summary(customers.clear()).is_empty()


def cohort_rows() -> pl.DataFrame:
    """The dbt unit test's cohorts: January keeps half its customers in March."""
    rows = [
        ("month", date(2025, 1, 1), 0, 2, 2, 1.0),
        ("month", date(2025, 1, 1), 2, 2, 1, 0.5),
        ("month", date(2025, 2, 1), 0, 1, 1, 1.0),
        ("week", date(2024, 12, 30), 0, 1, 1, 1.0),
        ("week", date(2024, 12, 30), 8, 1, 1, 1.0),
        ("week", date(2025, 1, 20), 0, 1, 1, 1.0),
        ("week", date(2025, 2, 10), 0, 1, 1, 1.0),
    ]
    names = [
        "cohort_grain",
        "cohort_start",
        "period_number",
        "cohort_customers",
        "active_customers",
        "customer_retention",
    ]
    return pl.DataFrame(rows, schema=names, orient="row").with_columns(
        pl.lit(0.0).alias("net_revenue")
    )


def test_retention_grid_fills_reached_periods_with_zero() -> None:
    grid = retention_grid(cohort_rows(), "month")
    assert grid.cohorts == [date(2025, 1, 1), date(2025, 2, 1)]
    assert grid.sizes == [2, 1]
    assert grid.periods == [0, 1, 2]
    # March is the latest month with an order: February's cohort has not reached period 2.
    assert grid.retention == [[1.0, 0.0, 0.5], [1.0, 0.0, None]]


def test_retention_grid_by_week() -> None:
    grid = retention_grid(cohort_rows(), "week")
    assert grid.periods == list(range(9))
    assert grid.retention[0] == [1.0, *[0.0] * 7, 1.0]
    # 20 January is three weeks after 30 December: it has reached weeks 0..5.
    assert grid.retention[1] == [1.0, *[0.0] * 5, None, None, None]
    assert grid.retention[2] == [1.0, 0.0, 0.0, *[None] * 6]
    assert retention_grid(cohort_rows().clear(), "week").cohorts == []


def test_top_products_by_revenue() -> None:
    performance = pl.DataFrame(
        {
            "product_id": ["p1", "p2", "p3"],
            "name": ["Lantern", None, "Kettle"],
            "category": ["camping", "misc", "kitchen"],
            "views": [10, 5, 40],
            "add_to_cart_rate": [0.1, 0.2, 0.05],
            "units_sold": [1, 3, 2],
            "revenue": [25.0, 90.0, 80.0],
            "return_rate": [0.0, 1 / 3, 0.5],
        }
    )
    top = top_products(performance, n=2)
    assert top["product"].to_list() == ["p2", "Kettle"]  # an unnamed product shows its id
    assert top.columns == [
        "product",
        "category",
        "revenue",
        "views",
        "add_to_cart_rate",
        "units_sold",
        "return_rate",
    ]


def test_revenue_by_country_over_days() -> None:
    geo = pl.DataFrame(
        {
            "metric_date": [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 2)],
            "country": ["US", "US", "DE"],
            "sessions": [10, 20, 5],
            "visitors": [8, 15, 5],
            "orders": [1, 2, 3],
            "net_revenue": [10.0, 20.0, 25.0],
        }
    )
    assert revenue_by_country(geo).to_dicts() == [
        {"country": "US", "net_revenue": 30.0, "orders": 3, "sessions": 30},
        {"country": "DE", "net_revenue": 25.0, "orders": 3, "sessions": 5},
    ]
    assert revenue_by_country(geo, start=date(2025, 3, 2))["net_revenue"].to_list() == [
        25.0,
        20.0,
    ]
