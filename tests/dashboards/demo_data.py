"""A demo-like shop as published tables: 60 days of marts plus the ML models' tables.

Deterministic (seeded), a few hundred customers and 40 products: big enough that every page
and report has something to draw, small enough to publish in milliseconds. Product ids carry
the shop's prefix, so another shop's data on a page is visible at once.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from intellishop.artifacts import LocalArtifactStore
from intellishop.tenants import TenantRegistry

LAST_DAY = date(2026, 3, 31)
DAYS = 60
COUNTRIES = ("US", "DE", "GB", "FR", "CA", "unknown")
SEGMENTS = ("Champions", "Loyal", "New", "At Risk", "Lost")


def two_shops(tenants_db: Path) -> TenantRegistry:
    """Acme Outdoor (``acme``, USD, New York) and Berlin Books (``books``, EUR, Berlin): two
    tenants in different time zones and currencies, so a page showing the other shop's data or
    format is caught."""
    registry = TenantRegistry(tenants_db)
    registry.create("Acme Outdoor", tenant_id="acme", timezone="America/New_York")
    registry.create("Berlin Books", tenant_id="books", timezone="Europe/Berlin", currency="EUR")
    return registry


def publish_two_shops(tenants_db: Path, artifacts_dir: Path) -> TenantRegistry:
    """:func:`two_shops`, each with its own :func:`demo_tables` published."""
    registry = two_shops(tenants_db)
    store = LocalArtifactStore(artifacts_dir)
    store.publish("acme", demo_tables("a", seed=1))
    store.publish("books", demo_tables("b", seed=2))
    return registry


def demo_tables(prefix: str, seed: int = 1) -> dict[str, pa.Table]:
    """Every table the dashboards and reports read, for one shop."""
    rng = random.Random(seed)
    days = [LAST_DAY - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    products = [f"{prefix}-p{i}" for i in range(40)]
    names = [f"{prefix.upper()} Product {i}" for i in range(40)]
    categories = [("camping", "kitchen", "books", "garden")[i % 4] for i in range(40)]
    daily_rows = []
    funnel: dict[str, list[object]] = {
        k: []
        for k in (
            "metric_date",
            "device_type",
            "traffic_source",
            "country",
            "sessions",
            "viewed_sessions",
            "added_sessions",
            "checkout_sessions",
            "ordered_sessions",
        )
    }
    geo: dict[str, list[object]] = {
        k: [] for k in ("metric_date", "country", "sessions", "visitors", "orders", "net_revenue")
    }
    for day in days:
        day_orders = day_sessions = 0
        day_revenue = 0.0
        for country in COUNTRIES:
            sessions = rng.randint(20, 120)
            orders = rng.randint(0, max(1, sessions // 15))
            revenue = round(orders * rng.uniform(20, 90), 2)
            geo["metric_date"].append(day)
            geo["country"].append(country)
            geo["sessions"].append(sessions)
            geo["visitors"].append(sessions - rng.randint(0, 5))
            geo["orders"].append(orders)
            geo["net_revenue"].append(revenue)
            viewed = sessions * 2 // 3
            added = viewed // 3
            checkout = max(orders, added // 2)
            for key, value in (
                ("metric_date", day),
                ("device_type", "desktop" if country < "G" else "mobile"),
                ("traffic_source", "google"),
                ("country", country),
                ("sessions", sessions),
                ("viewed_sessions", viewed),
                ("added_sessions", added),
                ("checkout_sessions", checkout),
                ("ordered_sessions", orders),
            ):
                funnel[key].append(value)
            day_orders += orders
            day_sessions += sessions
            day_revenue += revenue
        daily_rows.append((day, round(day_revenue, 2), day_orders, day_sessions))
    customers = [f"{prefix}-c{i}" for i in range(300)]
    users = [f"{prefix}-u{i}" for i in range(300)]
    customer_orders = [rng.randint(1, 8) for _ in customers]
    tables = {
        "products": pa.table(
            {
                "product_id": products,
                "name": names,
                "category": categories,
                "brand": ["acme"] * 40,
                "price": [round(5 + 2.5 * i, 2) for i in range(40)],
            }
        ),
        "daily_metrics": pa.table(
            {
                "metric_date": [r[0] for r in daily_rows],
                "currency": ["USD"] * DAYS,
                "revenue": [r[1] for r in daily_rows],
                "orders": [r[2] for r in daily_rows],
                "aov": [r[1] / r[2] if r[2] else None for r in daily_rows],
                "sessions": [r[3] for r in daily_rows],
                "visitors": [r[3] - 10 for r in daily_rows],
                "conversion_rate": [r[2] / r[3] for r in daily_rows],
            }
        ),
        "funnel_daily": pa.table(funnel),
        "geo_daily": pa.table(geo),
        "customers": pa.table(
            {
                "customer_id": customers,
                "user_id": users,
                "orders": customer_orders,
                "net_revenue": [round(n * rng.uniform(15, 80), 2) for n in customer_orders],
                "first_order_at": [datetime(2026, 1, 1, tzinfo=UTC)] * 300,
                "last_order_at": [datetime(2026, 3, 1, tzinfo=UTC)] * 300,
                "recency_days": [rng.randint(0, 90) for _ in customers],
                "recency_score": [rng.randint(1, 5) for _ in customers],
                "frequency_score": [rng.randint(1, 5) for _ in customers],
                "monetary_score": [rng.randint(1, 5) for _ in customers],
                "rfm_code": ["345"] * 300,
                "rfm_segment": [SEGMENTS[i % len(SEGMENTS)] for i in range(300)],
            }
        ),
        "cohort_retention": _cohorts(rng),
        "product_performance": pa.table(
            {
                "product_id": products,
                "name": names,
                "category": categories,
                "views": [rng.randint(50, 900) for _ in products],
                "viewers": [rng.randint(40, 700) for _ in products],
                "cart_adds": [rng.randint(5, 90) for _ in products],
                "add_to_cart_rate": [rng.uniform(0.02, 0.2) for _ in products],
                "orders": [rng.randint(1, 60) for _ in products],
                "buyers": [rng.randint(1, 50) for _ in products],
                "units_sold": [rng.randint(1, 80) for _ in products],
                "revenue": [round(rng.uniform(50, 4000), 2) for _ in products],
                "units_refunded": [rng.randint(0, 3) for _ in products],
                "return_rate": [rng.uniform(0, 0.1) for _ in products],
            }
        ),
        "trending": pa.table(
            {
                "product_id": products[:10],
                "category": categories[:10],
                "score": [10.0 - i for i in range(10)],
                "rank": pa.array(range(1, 11), pa.int32()),
                "category_rank": pa.array([1 + i // 4 for i in range(10)], pa.int32()),
            }
        ),
        "recommendations": pa.table(
            {
                "user_id": [u for u in users[:50] for _ in range(4)],
                "product_id": [products[(i * 7 + k) % 40] for i in range(50) for k in range(4)],
                "score": [round(1 - k * 0.1, 3) for _ in range(50) for k in range(4)],
                "rank": pa.array([1, 2, 1, 2] * 50, pa.int32()),
                "algorithm": ["als", "als", "content", "content"] * 50,
            }
        ),
        "customer_scores": pa.table(
            {
                "user_id": users,
                "churn_probability": [rng.uniform(0, 1) for _ in users],
                "clv_12m": [round(rng.uniform(0, 500), 2) for _ in users],
                "expected_purchases_90d": [rng.uniform(0, 3) for _ in users],
                "model_version": ["m1"] * 300,
            }
        ),
        "customer_orders": pa.table(
            {
                "user_id": [users[0], users[0]],
                "order_id": [f"{prefix}-o1", f"{prefix}-o2"],
                "ordered_at": [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)],
                "revenue": [100.0, 40.0],
            }
        ),
        "demand_forecast": pa.table(
            {
                "product_id": [p for p in products[:5] for _ in range(14)],
                "forecast_date": [
                    LAST_DAY + timedelta(days=d + 1) for _ in range(5) for d in range(14)
                ],
                "yhat": [2.0 + d * 0.1 for _ in range(5) for d in range(14)],
                "yhat_lower": [1.0 for _ in range(5) for _ in range(14)],
                "yhat_upper": [4.0 + d * 0.2 for _ in range(5) for d in range(14)],
            }
        ),
        "reorder_suggestions": pa.table(
            {
                "product_id": products[:5],
                "daily_demand_mean": [2.0] * 5,
                "daily_demand_std": [0.5] * 5,
                "lead_time_days": [7.0] * 5,
                "service_level": [0.95] * 5,
                "safety_stock": [2.2] * 5,
                "reorder_point": [16.2] * 5,
                "suggested_order_qty": [60.0 + i for i in range(5)],
            }
        ),
    }
    return tables


def _cohorts(rng: random.Random) -> pa.Table:
    rows = []
    for month in (1, 2, 3):
        size = rng.randint(40, 90)
        for period in range(4 - month):
            active = size if period == 0 else rng.randint(5, size // 2)
            rows.append(
                (
                    "month",
                    date(2026, month, 1),
                    period,
                    size,
                    active,
                    active / size,
                    round(active * 45.0, 2),
                )
            )
    start = date(2026, 2, 2)
    for week in range(6):
        size = rng.randint(10, 30)
        for period in range(6 - week):
            active = size if period == 0 else rng.randint(1, size // 2)
            rows.append(
                (
                    "week",
                    start + timedelta(weeks=week),
                    period,
                    size,
                    active,
                    active / size,
                    round(active * 40.0, 2),
                )
            )
    names = (
        "cohort_grain",
        "cohort_start",
        "period_number",
        "cohort_customers",
        "active_customers",
        "customer_retention",
        "net_revenue",
    )
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})
