"""The dbt models on the hand-made raw zone (tests/dbt/scenario.py), every number worked out by
hand. One ``dbt build`` per session (tests/dbt/conftest.py: models, data tests and unit tests),
then read-only queries on the DuckDB file it built."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import duckdb

from tests.dbt.conftest import Build
from tests.dbt.scenario import LON, NY, utc


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[Any, ...]]:
    return con.sql(query).fetchall()


def test_dbt_build_passes_every_data_and_unit_test(duckdb_build: Build) -> None:
    results = json.loads((duckdb_build.target / "run_results.json").read_text())["results"]
    statuses = {result["unique_id"]: result["status"] for result in results}
    assert any(uid.startswith("unit_test.") for uid in statuses)
    assert any(uid.startswith("test.") for uid in statuses)
    assert {uid: s for uid, s in statuses.items() if s not in {"success", "pass"}} == {}


def test_a_retried_message_is_kept_once_per_tenant(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Staging (a view) has every copy; stitching, the first table, keeps one.
    assert rows(
        warehouse,
        "select count(*) from stg_collector__events where tenant_id = 'ny' and message_id = 'm02'",
    ) == [(2,)]
    counted = rows(
        warehouse,
        "select tenant_id, count(*), count(distinct message_id) from int_events_stitched "
        "group by 1 order by 1",
    )
    assert counted == [("berlin", 2, 2), ("lon", len(LON), len(LON)), ("ny", len(NY), len(NY))]
    # The first arrival is the one kept.
    [(received_at,)] = rows(
        warehouse,
        "select received_at from int_events_stitched where tenant_id = 'ny' and message_id = 'm02'",
    )
    assert received_at == utc(1, 14, 10, 1)
    # m01 exists in both shops: the same id in another tenant is another message.
    assert rows(
        warehouse,
        "select tenant_id, page_url from int_events_stitched where message_id = 'm01' order by 1",
    ) == [("berlin", "https://b.example/"), ("ny", "https://ny.example/")]


def test_properties_are_typed_and_bad_numbers_become_null(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(
        warehouse,
        "select message_id, product_id, price, quantity, revenue, order_total, currency "
        "from int_events_stitched where tenant_id = 'ny' and message_id in ('m04', 'm05', 'm11') "
        "order by 1",
    ) == [
        ("m04", "p1", 50, 2, None, None, None),
        ("m05", None, None, None, 100, 120, "USD"),
        ("m11", "p2", None, None, None, None, None),
    ]


def test_bots_are_flagged(warehouse: duckdb.DuckDBPyConnection) -> None:
    flagged = rows(
        warehouse,
        "select tenant_id, message_id from int_events_stitched where is_bot order by 1, 2",
    )
    assert flagged == [("ny", "m12"), ("ny", "m13")]


def test_anonymous_events_before_identify_belong_to_the_user(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    stitched = rows(
        warehouse,
        "select tenant_id, message_id, user_id, resolved_user_id, actor_id "
        "from int_events_stitched where anonymous_id = 'dev-1' order by 1, 2",
    )
    assert stitched == [
        # Same device id in Berlin: another person, who never logged in there.
        ("berlin", "b02", None, None, "dev-1"),
        ("berlin", "m01", None, None, "dev-1"),
        ("ny", "m01", None, "alice", "alice"),
        ("ny", "m02", None, "alice", "alice"),
        ("ny", "m03", "alice", "alice", "alice"),
        ("ny", "m04", "alice", "alice", "alice"),
        ("ny", "m05", "alice", "alice", "alice"),
        ("ny", "m06", "alice", "alice", "alice"),
        ("ny", "m07", "alice", "alice", "alice"),
    ]
    assert rows(
        warehouse,
        "select tenant_id, anonymous_id, user_id from int_identity_map order by 1, 2",
    ) == [
        ("lon", "dev-c", "carol"),
        ("lon", "dev-d", "dave"),
        ("lon", "dev-f", "frank"),
        ("ny", "dev-1", "alice"),
    ]


def test_what_intellishop_logs_is_no_visit_and_no_identity_link(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(
        warehouse,
        "select message_id, is_internal, experiment_id, variation_id from int_events_stitched "
        "where tenant_id = 'ny' and message_id in ('m30', 'm31', 'm01') order by 1",
    ) == [("m01", False, None, None), ("m30", True, None, None), ("m31", True, "recs-1", "als")]
    assert rows(warehouse, "select * from int_identity_map where anonymous_id = 'rec-r1'") == []
    # The sessions test below pins alice's two visits: the 20:00 internal events add none.


def test_visits_split_after_30_minutes_and_skip_bots_and_server_calls(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    sessions = rows(
        warehouse,
        "select tenant_id, actor_id, user_id, session_number, started_at, ended_at, "
        "event_count, orders from int_sessions where tenant_id <> 'lon' order by 1, 2, 4",
    )
    assert sessions == [
        ("berlin", "dev-1", None, 1, utc(1, 23, 30), utc(1, 23, 40), 2, 1),
        # m01-m05 (the retried m02 once), then 14:35 -> 15:05 is a full 30 minutes: a new visit,
        # which 15:34:59 (29:59 later) continues. The refund (server side, no device) is none.
        ("ny", "alice", "alice", 1, utc(1, 14, 0), utc(1, 14, 35), 5, 1),
        ("ny", "alice", "alice", 2, utc(1, 15, 5), utc(1, 15, 34, 59), 2, 0),
        ("ny", "dev-2", None, 1, utc(2, 2, 50), utc(2, 3, 0), 2, 1),
        ("ny", "dev-3", None, 1, utc(1, 18), utc(1, 18), 1, 0),
    ]


def test_orders_take_back_refunds_within_their_own_tenant(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    orders = rows(
        warehouse,
        "select tenant_id, order_id, actor_id, ordered_at, gross_revenue, refund_count, "
        "net_revenue from int_orders where tenant_id <> 'lon' order by 1, 2",
    )
    assert orders == [
        # o-1 of Berlin is not the o-1 that New York refunded.
        ("berlin", "o-1", "dev-1", utc(1, 23, 40), 80, 0, 80),
        # 30 of a 120 total refunded: a quarter of the revenue (100) taken back.
        ("ny", "o-1", "alice", utc(1, 14, 35), 100, 1, 75),
        ("ny", "o-2", "dev-2", utc(2, 3), 40, 0, 40),
    ]


def test_daily_metrics_use_the_tenants_day(warehouse: duckdb.DuckDBPyConnection) -> None:
    metrics = rows(
        warehouse,
        "select tenant_id, metric_date, currency, revenue, gross_revenue, orders, "
        "refunded_orders, aov, sessions, visitors, conversion_rate "
        "from daily_metrics where tenant_id <> 'lon' order by 1, 2",
    )
    assert metrics == [
        # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin.
        ("berlin", date(2025, 3, 2), "EUR", 80, 80, 1, 0, 80, 1, 1, 1.0),
        # dev-2's visit and order at 02:50-03:00 UTC on 2 March are 1 March in New York, so
        # there is no 2 March; 3 March had only a crawler, 5 March only a back-office refund.
        # Revenue 75 + 40 = 115 net of the refund (gross 140); 2 orders / 4 visits by alice
        # (twice), dev-2 and dev-3.
        ("ny", date(2025, 3, 1), "USD", 115, 140, 2, 1, 57.5, 4, 3, 0.5),
    ]


def test_product_interactions_are_people_touching_products(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    touches = rows(
        warehouse,
        "select tenant_id, actor_id, user_id, product_id, category, event, quantity "
        "from int_product_interactions where tenant_id <> 'lon' order by 1, occurred_at",
    )
    assert touches == [
        ("berlin", "dev-1", None, "p1", "Tools", "Order Completed", 1),
        # The anonymous view is alice's (actor), while the event itself carried no user id.
        ("ny", "alice", None, "p1", "Kitchen", "Product Viewed", 1),
        ("ny", "alice", "alice", "p1", "Kitchen", "Product Added", 2),
        ("ny", "alice", "alice", "p1", "Kitchen", "Order Completed", 2),
        ("ny", "dev-3", None, "p2", "Kitchen", "Product Viewed", 1),
        # The refund's event names no products: nothing to take back here.
    ]
    columns = [column for column, *_ in rows(warehouse, "describe int_product_interactions")]
    assert columns == [
        "tenant_id",
        "actor_id",
        "user_id",
        "product_id",
        "category",
        "event",
        "quantity",
        "occurred_at",
    ]


def test_each_tenant_has_its_own_catalogue(warehouse: duckdb.DuckDBPyConnection) -> None:
    products = rows(
        warehouse,
        "select tenant_id, product_id, name, category, brand, price, currency "
        "from products where tenant_id <> 'lon' order by 1, 2",
    )
    assert products == [
        ("berlin", "p1", "Anvil", "Tools", "Wile", 80, None),
        # The imported catalogue wins (name, category, price); its missing brand comes from
        # the events, where the crawler's later view (m13) does not count: the order (m05) does.
        ("ny", "p1", "Ceramic Mug", "Kitchenware", "Acme", 45, "USD"),
        ("ny", "p2", "Teapot", "Kitchen", None, None, None),
        # In the catalogue, never in an event.
        ("ny", "p9", "Kettle", "Kitchenware", "Acme", 60, "USD"),
    ]
