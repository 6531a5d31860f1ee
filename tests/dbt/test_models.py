"""The dbt models on a hand-made raw zone, with every number worked out by hand.

One ``dbt build`` for the module (models, their data tests and unit tests), then read-only
queries on the DuckDB file it built. Two shops:

``ny`` (America/New_York, EST = UTC-5 on these dates)
    dev-1 browses anonymously, identifies as alice, orders o-1 (revenue 100, total 120) and is
    refunded 30 of the total four days later by the back office (a quarter: net 75). Her
    browsing makes two visits: the gap from 14:35 to 15:05 is exactly 30 minutes. One of her
    messages arrives twice (a client retry). dev-2 lands at 02:50 UTC on 2 March and orders o-2
    (40) at 03:00 UTC: both still 1 March in New York. dev-3 views a product whose price is
    "n/a". A crawler browses on 3 March and nothing else happens that day.
``berlin`` (Europe/Berlin, CET = UTC+1)
    Reuses the anonymous id dev-1, the message id m01, the product id p1 and the order id o-1
    of ny for a different visitor, message, product and order, at 23:30 UTC on 1 March, which
    is already 2 March in Berlin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from ingest.raw_zone import ParquetRawZone
from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.services import PROJECT_ROOT
from intellishop.settings import Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SERVER = {"library": {"name": "analytics-python"}}


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, tzinfo=UTC)


def browser(url: str, agent: str = DESKTOP) -> dict[str, Any]:
    return {"userAgent": agent, "page": {"url": url}, "location": {"country": "US"}}


def message(
    message_id: str,
    kind: str,
    at: datetime,
    *,
    event: str | None = None,
    user: str | None = None,
    anon: str | None = None,
    properties: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    received_after: timedelta = timedelta(seconds=1),
) -> dict[str, Any]:
    """One raw-zone row (RAW_EVENT_SCHEMA), as the loader would have written it."""
    return {
        "message_id": message_id,
        "type": kind,
        "event": event,
        "user_id": user,
        "anonymous_id": anon,
        "previous_id": None,
        "timestamp": at,
        "sent_at": at,
        "received_at": at + received_after,
        "properties": json.dumps(properties or {}),
        "traits": json.dumps({"email": f"{user}@example.com"} if kind == "identify" else {}),
        "context": json.dumps(context if context is not None else browser("https://ny.example/")),
    }


MUG = {"product_id": "p1", "name": "Mug", "category": "Kitchen", "brand": "Acme", "price": 50}

NY = [
    message("m01", "page", utc(1, 14, 0), anon="dev-1"),
    message(
        "m02",
        "track",
        utc(1, 14, 10),
        event="Product Viewed",
        anon="dev-1",
        properties=MUG,
        context=browser("https://ny.example/p/mug"),
    ),
    message("m03", "identify", utc(1, 14, 20), user="alice", anon="dev-1"),
    message(
        "m04",
        "track",
        utc(1, 14, 25),
        event="Product Added",
        user="alice",
        anon="dev-1",
        properties={**MUG, "quantity": 2},
    ),
    message(
        "m05",
        "track",
        utc(1, 14, 35),
        event="Order Completed",
        user="alice",
        anon="dev-1",
        properties={
            "order_id": "o-1",
            "revenue": 100,
            "total": 120,
            "currency": "usd",
            "products": [{**MUG, "quantity": 2}],
        },
    ),
    message("m06", "page", utc(1, 15, 5), user="alice", anon="dev-1"),
    message("m07", "page", utc(1, 15, 34, 59), user="alice", anon="dev-1"),
    message(
        "m08",
        "track",
        utc(5, 12),
        event="Order Refunded",
        user="alice",
        properties={"order_id": "o-1", "total": 30},
        context=SERVER,
    ),
    message("m09", "page", utc(2, 2, 50), anon="dev-2"),
    message(
        "m10",
        "track",
        utc(2, 3, 0),
        event="Order Completed",
        anon="dev-2",
        properties={"order_id": "o-2", "revenue": 40, "total": 40},
    ),
    message(
        "m11",
        "track",
        utc(1, 18),
        event="Product Viewed",
        anon="dev-3",
        properties={"product_id": "p2", "name": "Teapot", "category": "Kitchen", "price": "n/a"},
    ),
    message("m12", "page", utc(3, 16), anon="bot-1", context=browser("/", CRAWLER)),
    message(
        "m13",
        "track",
        utc(3, 16, 1),
        event="Product Viewed",
        anon="bot-1",
        properties=MUG,
        context=browser("/p/mug", CRAWLER),
    ),
]
#: m02 again: the client retried the batch, which the collector stores a second time.
NY_RETRY = [{**NY[1], "received_at": utc(1, 14, 12)}]

ANVIL = {"product_id": "p1", "name": "Anvil", "category": "Tools", "brand": "Wile", "price": 80}
BERLIN = [
    message("m01", "page", utc(1, 23, 30), anon="dev-1", context=browser("https://b.example/")),
    message(
        "b02",
        "track",
        utc(1, 23, 40),
        event="Order Completed",
        anon="dev-1",
        properties={"order_id": "o-1", "revenue": 80, "total": 80, "products": [ANVIL]},
        context=browser("https://b.example/checkout"),
    ),
]


def write_events(
    zone: ParquetRawZone, tenant_id: str, rows: list[dict[str, Any]], offset: int
) -> None:
    """Rows of one loader chunk (one event-log entry at ``offset``) into the raw zone."""
    table = pa.Table.from_pylist(
        [
            {
                **row,
                "log_offset": offset,
                "tenant_id": tenant_id,
                "event_date": row["timestamp"].date(),
            }
            for row in rows
        ],
        schema=pa.schema(
            [
                *RAW_EVENT_SCHEMA,
                pa.field("tenant_id", pa.string()),
                pa.field("event_date", pa.date32()),
            ]
        ),
    )
    zone.write_events(table, chunk_id=f"{offset:012d}")


def write_tenants(zone: ParquetRawZone) -> None:
    zone.write_tenants(
        pa.table(
            {
                "tenant_id": ["ny", "berlin"],
                "name": ["NY Shop", "Berlin Shop"],
                "timezone": ["America/New_York", "Europe/Berlin"],
                "currency": ["USD", "EUR"],
                "created_at": ["2025-01-01T00:00:00+00:00"] * 2,
                "disabled": [False, False],
            }
        )
    )


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """The raw zone written, then one ``dbt build`` over it; returns settings and dbt's target."""
    root = tmp_path_factory.mktemp("dbt")
    settings = Settings(data_dir=root / "data")
    settings.ensure_dirs()
    zone = ParquetRawZone(settings.raw_zone_dir)
    write_events(zone, "ny", NY, offset=1)
    write_events(zone, "ny", NY_RETRY, offset=2)
    write_events(zone, "berlin", BERLIN, offset=3)
    write_tenants(zone)
    target = root / "target"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--profiles-dir",
            ".",
            "--target",
            "local",
            "--target-path",
            str(target),
            "--log-path",
            str(root / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **settings.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    yield settings, target


@pytest.fixture(scope="module")
def warehouse(build: tuple[Settings, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    settings, _ = build
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    con.sql("set TimeZone = 'UTC'")
    try:
        yield con
    finally:
        con.close()


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[Any, ...]]:
    return con.sql(query).fetchall()


def test_dbt_build_passes_every_data_and_unit_test(build: tuple[Settings, Path]) -> None:
    _, target = build
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses = {result["unique_id"]: result["status"] for result in results}
    assert any(uid.startswith("unit_test.") for uid in statuses)
    assert any(uid.startswith("test.") for uid in statuses)
    assert {uid: s for uid, s in statuses.items() if s not in {"success", "pass"}} == {}


def test_a_retried_message_is_kept_once_per_tenant(warehouse: duckdb.DuckDBPyConnection) -> None:
    counted = rows(
        warehouse,
        "select tenant_id, count(*), count(distinct message_id) from stg_collector__events "
        "group by 1 order by 1",
    )
    assert counted == [("berlin", 2, 2), ("ny", len(NY), len(NY))]
    # The first arrival is the one kept.
    [(received_at,)] = rows(
        warehouse,
        "select received_at from stg_collector__events where tenant_id = 'ny' "
        "and message_id = 'm02'",
    )
    assert received_at == utc(1, 14, 10, 1)
    # m01 exists in both shops: the same id in another tenant is another message.
    assert rows(
        warehouse,
        "select tenant_id, page_url from stg_collector__events where message_id = 'm01' order by 1",
    ) == [("berlin", "https://b.example/"), ("ny", "https://ny.example/")]


def test_properties_are_typed_and_bad_numbers_become_null(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(
        warehouse,
        "select message_id, product_id, price, quantity, revenue, order_total, currency "
        "from stg_collector__events where tenant_id = 'ny' and message_id in ('m04', 'm05', 'm11') "
        "order by 1",
    ) == [
        ("m04", "p1", 50, 2, None, None, None),
        ("m05", None, None, None, 100, 120, "USD"),
        ("m11", "p2", None, None, None, None, None),
    ]


def test_bots_are_flagged(warehouse: duckdb.DuckDBPyConnection) -> None:
    flagged = rows(
        warehouse,
        "select tenant_id, message_id from stg_collector__events where is_bot order by 1, 2",
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
    assert rows(warehouse, "select tenant_id, anonymous_id, user_id from int_identity_map") == [
        ("ny", "dev-1", "alice")
    ]


def test_visits_split_after_30_minutes_and_skip_bots_and_server_calls(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    sessions = rows(
        warehouse,
        "select tenant_id, actor_id, user_id, session_number, started_at, ended_at, "
        "event_count, orders from int_sessions order by 1, 2, 4",
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
        "net_revenue from int_orders order by 1, 2",
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
        "from daily_metrics order by 1, 2",
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
        "from int_product_interactions order by 1, occurred_at",
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
        "from products order by 1, 2",
    )
    assert products == [
        ("berlin", "p1", "Anvil", "Tools", "Wile", 80, None),
        # The crawler's later view (m13) does not describe the product: the order (m05) does.
        ("ny", "p1", "Mug", "Kitchen", "Acme", 50, "USD"),
        ("ny", "p2", "Teapot", "Kitchen", None, None, None),
    ]
