"""The hand-made raw zone the dbt tests build on, and how to write it to either raw zone.

Three shops, every number in the tests worked out by hand from these rows:

``ny`` (America/New_York, EST = UTC-5 on these dates)
    dev-1 browses anonymously, identifies as alice, orders o-1 (revenue 100, total 120) and is
    refunded 30 of the total four days later by the back office (a quarter: net 75). Her
    browsing makes two visits: the gap from 14:35 to 15:05 is exactly 30 minutes. One of her
    messages arrives twice (a client retry). dev-2 lands at 02:50 UTC on 2 March and orders o-2
    (40) at 03:00 UTC: both still 1 March in New York. dev-3 views a product whose price is
    "n/a". A crawler browses on 3 March and nothing else happens that day. The shop imported a
    catalogue: p1 is really a "Ceramic Mug" at 45, and p9 (a kettle) was never seen in events.
``berlin`` (Europe/Berlin, CET = UTC+1)
    Reuses the anonymous id dev-1, the message id m01, the product id p1 and the order id o-1
    of ny for a different visitor, message, product and order, at 23:30 UTC on 1 March, which
    is already 2 March in Berlin.
``lon`` (Europe/London, GMT = UTC on these dates): recommendations and behaviour
    The serving API serves r3 (als: p3, p1) to dev-d on 1 March, who clicks and adds p3 from it,
    identifies as dave, and orders p3 on 10 March: nine days later, outside the 7-day window,
    so not attributed. dev-c is served r1 (als: p1, p2, p3) on 3 March, identifies as carol,
    clicks and adds p1 from it; on 4 March she is served r2 (trending: p2, p3); on 5 March she
    orders L-1 with the WELCOME10 coupon: p1 (30, attributed to r1 by her click two days
    before) and p2 (40, whose line quotes r2). On 8 March she orders L-3 (p4, 10, no coupon).
    dev-e views p2, adds it and starts a checkout on 2 March, and never orders. frank (dev-f)
    ordered once, on 1 November 2024, and never came back.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import pyarrow as pa

from intellishop.events import RAW_EVENT_SCHEMA

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
    traits: dict[str, Any] | None = None,
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
        "traits": json.dumps(
            traits
            if traits is not None
            else ({"email": f"{user}@example.com"} if kind == "identify" else {})
        ),
        "context": json.dumps(context if context is not None else browser("https://ny.example/")),
    }


def track(
    message_id: str,
    at: datetime,
    event: str,
    properties: dict[str, Any],
    *,
    user: str | None = None,
    anon: str | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``track`` row: most of the scenario."""
    return message(
        message_id,
        "track",
        at,
        event=event,
        user=user,
        anon=anon,
        properties=properties,
        context=context,
    )


def line(product: dict[str, Any], quantity: int = 1, **fields: Any) -> dict[str, Any]:
    """A product with its quantity (a cart line or an order line), then any other fields."""
    return {**product, "quantity": quantity, **fields}


def order(
    order_id: str,
    revenue: float,
    total: float | None = None,
    products: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """``Order Completed`` properties: total defaults to revenue; other fields before products."""
    properties = {
        "order_id": order_id,
        "revenue": revenue,
        "total": revenue if total is None else total,
        **fields,
    }
    return properties if products is None else {**properties, "products": products}


def served(recommendation_id: str, algorithm: str, product_ids: list[str]) -> dict[str, Any]:
    """``Recommendations Served`` properties, as the serving API logs them."""
    return {
        "recommendation_id": recommendation_id,
        "algorithm": algorithm,
        "product_ids": product_ids,
    }


MUG = {"product_id": "p1", "name": "Mug", "category": "Kitchen", "brand": "Acme", "price": 50}
INTELLISHOP = {"library": {"name": "intellishop-serving"}}

NY = [
    message("m01", "page", utc(1, 14, 0), anon="dev-1"),
    track(
        "m02",
        utc(1, 14, 10),
        "Product Viewed",
        MUG,
        anon="dev-1",
        context=browser("https://ny.example/p/mug"),
    ),
    message("m03", "identify", utc(1, 14, 20), user="alice", anon="dev-1"),
    track("m04", utc(1, 14, 25), "Product Added", line(MUG, 2), user="alice", anon="dev-1"),
    track(
        "m05",
        utc(1, 14, 35),
        "Order Completed",
        order("o-1", 100, 120, [line(MUG, 2)], currency="usd"),
        user="alice",
        anon="dev-1",
    ),
    message("m06", "page", utc(1, 15, 5), user="alice", anon="dev-1"),
    message("m07", "page", utc(1, 15, 34, 59), user="alice", anon="dev-1"),
    track(
        "m08",
        utc(5, 12),
        "Order Refunded",
        {"order_id": "o-1", "total": 30},
        user="alice",
        context=SERVER,
    ),
    message("m09", "page", utc(2, 2, 50), anon="dev-2"),
    track("m10", utc(2, 3, 0), "Order Completed", order("o-2", 40), anon="dev-2"),
    track(
        "m11",
        utc(1, 18),
        "Product Viewed",
        {"product_id": "p2", "name": "Teapot", "category": "Kitchen", "price": "n/a"},
        anon="dev-3",
    ),
    message("m12", "page", utc(3, 16), anon="bot-1", context=browser("/", CRAWLER)),
    track(
        "m13",
        utc(3, 16, 1),
        "Product Viewed",
        MUG,
        anon="bot-1",
        context=browser("/p/mug", CRAWLER),
    ),
    # What IntelliShop logged itself: a recommendation list served to alice (the API names a
    # list without a device by its recommendation id) and her exposure to an experiment. They
    # feed attribution and experiment results, never visits or identity links.
    track(
        "m30",
        utc(1, 20),
        "Recommendations Served",
        served("r1", "blend", ["p1"]),
        user="alice",
        anon="rec-r1",
        context=INTELLISHOP,
    ),
    track(
        "m31",
        utc(1, 20),
        "Experiment Viewed",
        {"experiment_id": "recs-1", "variation_id": "als"},
        user="alice",
        anon="rec-r1",
        context=INTELLISHOP,
    ),
]
#: m02 again: the client retried the batch, which the collector stores a second time.
NY_RETRY = [{**NY[1], "received_at": utc(1, 14, 12)}]

ANVIL = {"product_id": "p1", "name": "Anvil", "category": "Tools", "brand": "Wile", "price": 80}
BERLIN = [
    message("m01", "page", utc(1, 23, 30), anon="dev-1", context=browser("https://b.example/")),
    track(
        "b02",
        utc(1, 23, 40),
        "Order Completed",
        order("o-1", 80, products=[ANVIL]),
        anon="dev-1",
        context=browser("https://b.example/checkout"),
    ),
]


def london(url: str) -> dict[str, Any]:
    return {"userAgent": DESKTOP, "page": {"url": url}, "location": {"country": "GB"}}


LAMP = {"product_id": "p1", "name": "Lamp", "category": "Home", "price": 30}
RUG = {"product_id": "p2", "name": "Rug", "category": "Home", "price": 40}
VASE = {"product_id": "p3", "name": "Vase", "category": "Home", "price": 20}
CANDLE = {"product_id": "p4", "name": "Candle", "category": "Home", "price": 10}
SHOP = london("https://lon.example/")


def in_lon_shop(
    message_id: str,
    at: datetime,
    event: str,
    properties: dict[str, Any],
    *,
    user: str | None = None,
    anon: str,
) -> dict[str, Any]:
    """A ``track`` row sent by the London shop's pages."""
    return track(message_id, at, event, properties, user=user, anon=anon, context=SHOP)


LON = [
    # dave: served, clicks and adds from r3, orders nine days later (outside the window).
    track(
        "l01",
        utc(1, 8, 0),
        "Recommendations Served",
        served("r3", "als", ["p3", "p1"]),
        anon="dev-d",
        context=SERVER,
    ),
    in_lon_shop(
        "l02", utc(1, 8, 1), "Product Clicked", {**VASE, "recommendation_id": "r3"}, anon="dev-d"
    ),
    in_lon_shop(
        "l03", utc(1, 8, 2), "Product Added", line(VASE, recommendation_id="r3"), anon="dev-d"
    ),
    message("l04", "identify", utc(1, 8, 5), user="dave", anon="dev-d", context=SHOP),
    in_lon_shop(
        "l05",
        utc(10, 9, 0),
        "Order Completed",
        order("L-2", 20, products=[line(VASE)]),
        user="dave",
        anon="dev-d",
    ),
    # carol: served r1, identifies, clicks and adds p1 from it; served r2 the next day.
    message("l06", "page", utc(3, 9, 0), anon="dev-c", context=SHOP),
    track(
        "l07",
        utc(3, 9, 1),
        "Recommendations Served",
        served("r1", "als", ["p1", "p2", "p3"]),
        anon="dev-c",
        context=SERVER,
    ),
    message(
        "l08",
        "identify",
        utc(3, 9, 2),
        user="carol",
        anon="dev-c",
        context=SHOP,
        traits={"email": "carol@example.com", "first_name": "Carol", "last_name": "Jones"},
    ),
    in_lon_shop(
        "l09",
        utc(3, 9, 3),
        "Product Clicked",
        {**LAMP, "recommendation_id": "r1"},
        user="carol",
        anon="dev-c",
    ),
    in_lon_shop(
        "l10",
        utc(3, 9, 4),
        "Product Added",
        line(LAMP, recommendation_id="r1"),
        user="carol",
        anon="dev-c",
    ),
    track(
        "l11",
        utc(4, 12, 0),
        "Recommendations Served",
        served("r2", "trending", ["p2", "p3"]),
        user="carol",
        anon="dev-c",
        context=SERVER,
    ),
    # L-1: p1 through her click of r1 two days before, p2 because its line quotes r2.
    in_lon_shop(
        "l12",
        utc(5, 10, 0),
        "Order Completed",
        order(
            "L-1",
            70,
            coupon="WELCOME10",
            products=[line(LAMP), line(RUG, recommendation_id="r2")],
        ),
        user="carol",
        anon="dev-c",
    ),
    in_lon_shop(
        "l13",
        utc(8, 15, 0),
        "Order Completed",
        order("L-3", 10, products=[line(CANDLE)]),
        user="carol",
        anon="dev-c",
    ),
    # erin: views, adds, starts a checkout, leaves.
    in_lon_shop("l14", utc(2, 20, 0), "Product Viewed", RUG, anon="dev-e"),
    in_lon_shop("l15", utc(2, 20, 1), "Product Added", line(RUG), anon="dev-e"),
    in_lon_shop(
        "l16",
        utc(2, 20, 3),
        "Checkout Started",
        {"order_id": "chk-e", "revenue": 40, "products": [line(RUG)]},
        anon="dev-e",
    ),
    # frank: one order, long ago.
    in_lon_shop(
        "l17",
        datetime(2024, 11, 1, 12, 0, tzinfo=UTC),
        "Order Completed",
        order("L-0", 15, products=[{**RUG, "price": 15}]),
        user="frank",
        anon="dev-f",
    ),
]


def catalogue_row(
    product_id: str, name: str, brand: str | None, price: float, sku: str
) -> dict[str, Any]:
    """One row of the ny shop's catalogue import, imported on 1 March."""
    return {
        "product_id": product_id,
        "name": name,
        "category": "Kitchenware",
        "brand": brand,
        "price": price,
        "currency": "USD",
        "sku": sku,
        "imported_at": datetime(2025, 3, 1, tzinfo=UTC),
    }


#: The ny shop's imported catalogue (ingest/imports/products.py's columns): p1 renamed and
#: repriced, p9 never seen in events.
NY_CATALOG = [
    catalogue_row("p1", "Ceramic Mug", None, 45.0, "MUG-1"),
    catalogue_row("p9", "Kettle", "Acme", 60.0, "KET-9"),
]

TENANTS = pa.table(
    {
        "tenant_id": ["ny", "berlin", "lon"],
        "name": ["NY Shop", "Berlin Shop", "London Shop"],
        "timezone": ["America/New_York", "Europe/Berlin", "Europe/London"],
        "currency": ["USD", "EUR", "GBP"],
        "created_at": ["2025-01-01T00:00:00+00:00"] * 3,
        "disabled": [False, False, False],
    }
)
#: (tenant, rows, event-log offset) in the order the loader would write them.
CHUNKS: list[tuple[str, list[dict[str, Any]], int]] = [
    ("ny", NY, 1),
    ("ny", NY_RETRY, 2),
    ("berlin", BERLIN, 3),
    ("lon", LON, 4),
]
RAW_SCHEMA = pa.schema(
    [*RAW_EVENT_SCHEMA, pa.field("tenant_id", pa.string()), pa.field("event_date", pa.date32())]
)


class RawZone(Protocol):
    """What both raw zones (Parquet and PostgreSQL) offer the loader."""

    def write_events(self, table: pa.Table, chunk_id: str) -> object: ...

    def write_tenants(self, table: pa.Table) -> object: ...


def chunk_table(tenant_id: str, rows: list[dict[str, Any]], offset: int) -> pa.Table:
    """Rows of one loader chunk (one event-log entry at ``offset``), as the loader builds it."""
    return pa.Table.from_pylist(
        [
            {**row, "log_offset": offset, "tenant_id": tenant_id, "event_date": _day(row)}
            for row in rows
        ],
        schema=RAW_SCHEMA,
    )


def _day(row: dict[str, Any]) -> date:
    moment: datetime = row["timestamp"]
    return moment.astimezone(UTC).date()


#: Events an incremental test holds back and delivers late: carol's identify and everything
#: she did after it (her device dev-c is anonymous until then), and dev-3's product view.
LATE = {("lon", f"l{n:02d}") for n in range(8, 14)} | {("ny", "m11")}
#: When the held-back events are received: after everything else (11 March).
LATE_RECEIVED_AT = utc(11, 12)


def write_scenario(
    zone: RawZone, hold_back: set[tuple[str, str]] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Every chunk and the tenant table, through the raw zone's own writer; the (tenant,
    message id) pairs in ``hold_back`` are left out and returned, to deliver later."""
    held: list[tuple[str, dict[str, Any]]] = []
    for tenant_id, rows, offset in CHUNKS:
        kept = [row for row in rows if (tenant_id, row["message_id"]) not in (hold_back or set())]
        held += [(tenant_id, row) for row in rows if row not in kept]
        zone.write_events(chunk_table(tenant_id, kept, offset), chunk_id=f"{offset:012d}")
    zone.write_tenants(TENANTS)
    return held


def deliver_late(zone: RawZone, held: list[tuple[str, dict[str, Any]]]) -> None:
    """The held-back events, received on 11 March, one loader chunk per tenant."""
    for offset, tenant_id in enumerate(sorted({tenant for tenant, _ in held}), start=100):
        rows = [{**row, "received_at": LATE_RECEIVED_AT} for t, row in held if t == tenant_id]
        zone.write_events(chunk_table(tenant_id, rows, offset), chunk_id=f"{offset:012d}")
