"""Published tables of a small shop, for the serving tests: every table the API reads.

Product ids carry the shop's prefix (``a-p0``...), so an answer holding another shop's data is
visible at a glance (and to the isolation tests, mechanically).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from tests.serving.test_analytics import shop_a
from tests.serving.test_api import artifacts

D1 = date(2026, 1, 5)  # a Monday


def model_tables(prefix: str) -> dict[str, pa.Table]:
    """The ML models' tables (docs/contracts.md and the serving issue's new tables)."""
    p = [f"{prefix}-p{i}" for i in range(6)]
    return {
        "similar_products": pa.table(
            {
                "product_id": [p[0], p[0], p[0], p[0], p[3]],
                "similar_product_id": [p[1], p[2], p[1], p[4], p[5]],
                "score": [0.9, 0.8, 0.7, 0.6, 0.5],
                "rank": pa.array([1, 2, 1, 2, 1], pa.int32()),
                "algorithm": ["als", "als", "content", "co_purchase", "als"],
            }
        ),
        "frequently_bought_together": pa.table(
            {
                "product_id": [p[0], p[0]],
                "other_product_id": [p[4], p[3]],
                "orders_together": [5, 3],
                "confidence": [0.5, 0.3],
                "lift": [2.5, 1.2],
                "rank": pa.array([1, 2], pa.int32()),
            }
        ),
        "customer_scores": pa.table(
            {
                "user_id": ["alice", "carol"],
                "churn_probability": [0.2, 0.7],
                "churn_top_features": [
                    json.dumps([{"feature": "days_since_last_order", "contribution": -0.3}]),
                    "not json",
                ],
                "clv_12m": [120.0, 15.5],
                "expected_purchases_90d": [1.5, 0.2],
                "model_version": ["m1", "m1"],
            }
        ),
        "customer_orders": pa.table(
            {
                "user_id": ["alice", "alice"],
                "order_id": [f"{prefix}-o1", f"{prefix}-o2"],
                "ordered_at": [
                    datetime(2026, 1, 1, tzinfo=UTC),
                    datetime(2026, 1, 9, tzinfo=UTC),
                ],
                "revenue": [100.0, 400.0],
            }
        ),
        "demand_forecast": pa.table(
            {
                "product_id": [p[0]] * 3,
                "forecast_date": [D1 + timedelta(days=i) for i in (2, 0, 1)],
                "yhat": [3.0, 1.0, 2.0],
                "yhat_lower": [1.0, 0.0, 1.0],
                "yhat_upper": [5.0, 2.0, 3.0],
            }
        ),
        "reorder_suggestions": pa.table(
            {
                "product_id": [p[0]],
                "daily_demand_mean": [2.0],
                "daily_demand_std": [0.5],
                "lead_time_days": [7],
                "service_level": [0.95],
                "safety_stock": [2.2],
                "reorder_point": [16.2],
                "suggested_order_qty": [60.0],
            }
        ),
        "geo_daily": pa.table(
            {
                "metric_date": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 3)],
                "country": ["US", "DE", "US"],
                "sessions": [10, 5, 20],
                "visitors": [8, 4, 15],
                "orders": [2, 1, 3],
                "net_revenue": [100.0, 50.0, 250.5],
            }
        ),
    }


def multi_algorithm_recs(prefix: str) -> pa.Table:
    """User ``multi`` has als, content and blend lists; ``alice`` and ``sam`` the old kind."""
    p = [f"{prefix}-p{i}" for i in range(6)]
    rows = [
        ("multi", p[1], 0.9, 1, "als"),
        ("multi", p[2], 0.8, 2, "als"),
        ("multi", p[3], 0.7, 1, "content"),
        ("multi", p[4], 0.95, 1, "blend"),
        ("multi", p[1], 0.85, 2, "blend"),
    ]
    return pa.table(
        {
            "user_id": [r[0] for r in rows],
            "product_id": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "rank": pa.array([r[3] for r in rows], pa.int32()),
            "algorithm": [r[4] for r in rows],
        }
    )


def full_shop(prefix: str, users: list[str]) -> dict[str, pa.Table]:
    """Everything: catalogue, trending, recommendations, the marts and the model tables."""
    tables = {**shop_a(), **artifacts(prefix, users), **model_tables(prefix)}
    tables["recommendations"] = pa.concat_tables(
        [tables["recommendations"], multi_algorithm_recs(prefix)]
    )
    return tables
