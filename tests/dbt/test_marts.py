"""The marts added for issue 4 on the hand-made raw zone (tests/dbt/scenario.py): persons,
behavioural segments, recommendation attribution, hourly metrics, new vs returning, funnel
drop-off. Every expected number is worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import duckdb

from tests.dbt.scenario import utc


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[Any, ...]]:
    return con.sql(query).fetchall()


def test_recommendations_earn_what_was_clicked_within_the_window_or_quoted(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(
        warehouse,
        "select metric_date, algorithm, served, products_served, clicks, add_to_carts, orders,"
        " attributed_lines, attributed_units, attributed_revenue, clicks_per_serve"
        " from recommendation_attribution order by tenant_id, metric_date, algorithm",
    ) == [
        # r3 to dave: served (2 products), clicked and added.
        (date(2025, 3, 1), "als", 1, 2, 1, 1, 0, 0, 0, 0, 1.0),
        # r1 to carol (3 products), clicked and added.
        (date(2025, 3, 3), "als", 1, 3, 1, 1, 0, 0, 0, 0, 1.0),
        (date(2025, 3, 4), "trending", 1, 2, 0, 0, 0, 0, 0, 0, 0.0),
        # L-1: p1 (30) through carol's click of r1 two days before; p2 (40) quotes r2.
        (date(2025, 3, 5), "als", 0, 0, 0, 0, 1, 1, 1, 30, None),
        (date(2025, 3, 5), "trending", 0, 0, 0, 0, 1, 1, 1, 40, None),
        # dave's L-2 of p3 on 10 March: his click was nine days before, outside the 7 days.
        # ny: the list served to alice (one product), never clicked.
        (date(2025, 3, 1), "blend", 1, 1, 0, 0, 0, 0, 0, 0, 0.0),
    ]


def test_persons_carry_their_traits_and_history(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        warehouse,
        "select person_id, user_id, is_identified, email, full_name, first_seen_at,"
        " last_seen_at, sessions, product_views, cart_adds, checkouts, all_orders, orders,"
        " coupon_orders, net_revenue from persons where tenant_id = 'lon' order by person_id",
    ) == [
        # Four visits (3, 4, 5 and 8 March), her anonymous start included; two orders, one
        # with a coupon.
        (
            "carol",
            "carol",
            True,
            "carol@example.com",
            "Carol Jones",
            utc(3, 9),
            utc(8, 15),
            4,
            0,
            1,
            0,
            2,
            2,
            1,
            80,
        ),
        (
            "dave",
            "dave",
            True,
            "dave@example.com",
            None,
            utc(1, 8),
            utc(10, 9),
            2,
            0,
            1,
            0,
            1,
            1,
            0,
            20,
        ),
        ("dev-e", None, False, None, None, utc(2, 20), utc(2, 20, 3), 1, 1, 1, 1, 0, 0, 0, 0),
        # An order with a user id and no identify call: known, without traits.
        (
            "frank",
            "frank",
            True,
            None,
            None,
            datetime(2024, 11, 1, 12, tzinfo=UTC),
            datetime(2024, 11, 1, 12, tzinfo=UTC),
            1,
            0,
            0,
            0,
            1,
            1,
            0,
            15,
        ),
    ]
    # Crawlers are nobody.
    assert rows(warehouse, "select count(*) from persons where person_id = 'bot-1'") == [(0,)]


def test_behavioural_segments(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        warehouse,
        "select tenant_id, person_id, segment from behavioural_segments order by 1, 2, 3",
    ) == [
        ("berlin", "dev-1", "one_time_buyers"),
        # Half her orders had a coupon.
        ("lon", "carol", "discount_seekers"),
        ("lon", "carol", "repeat_buyers"),
        # His cart of 1 March ended in the order of 10 March: not abandoned.
        ("lon", "dave", "one_time_buyers"),
        ("lon", "dev-e", "browsers_without_purchase"),
        ("lon", "dev-e", "cart_abandoners"),
        ("lon", "dev-e", "checkout_abandoners"),
        # 129 days before the shop's latest activity (10 March).
        ("lon", "frank", "lapsed_customers"),
        ("lon", "frank", "one_time_buyers"),
        # Refunded a quarter of one order: still a one-time buyer, not a frequent returner.
        ("ny", "alice", "one_time_buyers"),
        ("ny", "dev-2", "one_time_buyers"),
        ("ny", "dev-3", "browsers_without_purchase"),
    ]


def test_hourly_metrics_use_the_tenants_hours(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        warehouse,
        "select metric_hour, metric_date, metric_hour_utc, sessions, visitors, orders, revenue,"
        " gross_revenue from hourly_metrics where tenant_id = 'ny' order by metric_hour_utc",
    ) == [
        # New York is UTC-5: alice's first visit and o-1 (net 75 of 100) at 14:xx UTC.
        (datetime(2025, 3, 1, 9), date(2025, 3, 1), utc(1, 14), 1, 1, 1, 75, 100),
        (datetime(2025, 3, 1, 10), date(2025, 3, 1), utc(1, 15), 1, 1, 0, 0, 0),
        (datetime(2025, 3, 1, 13), date(2025, 3, 1), utc(1, 18), 1, 1, 0, 0, 0),
        # dev-2's visit at 02:50 UTC on 2 March and o-2 at 03:00: the evening of 1 March.
        (datetime(2025, 3, 1, 21), date(2025, 3, 1), utc(2, 2), 1, 1, 0, 0, 0),
        (datetime(2025, 3, 1, 22), date(2025, 3, 1), utc(2, 3), 0, 0, 1, 40, 40),
    ]


def test_daily_metrics_tell_new_from_returning(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        warehouse,
        "select metric_date, sessions, new_visitors, returning_visitors, orders, customers,"
        " new_customers, returning_customers, revenue"
        " from daily_metrics where tenant_id = 'lon' order by metric_date",
    ) == [
        (date(2024, 11, 1), 1, 1, 0, 1, 1, 1, 0, 15),
        (date(2025, 3, 1), 1, 1, 0, 0, 0, 0, 0, 0),
        (date(2025, 3, 2), 1, 1, 0, 0, 0, 0, 0, 0),
        (date(2025, 3, 3), 1, 1, 0, 0, 0, 0, 0, 0),
        (date(2025, 3, 4), 1, 0, 1, 0, 0, 0, 0, 0),
        # carol's first order: a new customer on a returning visit.
        (date(2025, 3, 5), 1, 0, 1, 1, 1, 1, 0, 70),
        (date(2025, 3, 8), 1, 0, 1, 1, 1, 0, 1, 10),
        (date(2025, 3, 10), 1, 0, 1, 1, 1, 1, 0, 20),
    ]
    # New York: o-1 lost a quarter of its 100 to the refund.
    assert rows(
        warehouse,
        "select refunded_revenue, refunded_orders from daily_metrics where tenant_id = 'ny'",
    ) == [(25, 1)]


def test_funnel_counts_drop_off_between_steps(warehouse: duckdb.DuckDBPyConnection) -> None:
    # New York, 1 March: alice's first visit views, adds and orders (no Checkout Started); her
    # second only reads pages; dev-2 orders without a view; dev-3 views and leaves.
    assert rows(
        warehouse,
        "select sessions, viewed_sessions, added_sessions, checkout_sessions, ordered_sessions,"
        " dropped_after_view_sessions, dropped_after_add_sessions,"
        " dropped_after_checkout_sessions, view_drop_off_rate, add_drop_off_rate,"
        " checkout_drop_off_rate from funnel_daily where tenant_id = 'ny'",
    ) == [(4, 2, 1, 0, 2, 1, 1, 0, 0.5, 1.0, None)]


def test_cohorts_by_revenue(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        warehouse,
        "select cohort_start, period_number, cohort_customers, net_revenue, revenue_retention"
        " from cohort_retention where tenant_id = 'lon' and cohort_grain = 'month' order by 1, 2",
    ) == [
        (date(2024, 11, 1), 0, 1, 15, 1.0),
        # carol (70 + 10) and dave (20).
        (date(2025, 3, 1), 0, 2, 100, 1.0),
    ]
