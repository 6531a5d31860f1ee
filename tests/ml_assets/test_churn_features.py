"""Churn features and labels by hand: nothing from the cut-off on may reach a feature.

Customer a bought on 1 Jan and 1 Feb (refunded on 15 Mar, after the cut-off) and again on
10 Mar; b once on 15 Jan; c first on 5 Mar (after the cut-off: not a customer yet); d on 20 Jan
and on 31 Mar, exactly when the 30-day label window closes. Another shop has a customer "a" too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from ml_assets.churn.features import FEATURES, churn_features, churn_labels

CUTOFF = datetime(2025, 3, 1)


def orders() -> pl.DataFrame:
    rows = [
        ("t", "o1", "a", datetime(2025, 1, 1), 10.0, 10.0, None, 0.0),
        ("t", "o2", "a", datetime(2025, 2, 1), 20.0, 0.0, datetime(2025, 3, 15), 5.0),
        ("t", "o3", "a", datetime(2025, 3, 10), 30.0, 30.0, None, 0.0),
        ("t", "o4", "b", datetime(2025, 1, 15), 40.0, 40.0, None, 0.0),
        ("t", "o5", "c", datetime(2025, 3, 5), 50.0, 50.0, None, 0.0),
        ("t", "o6", "d", datetime(2025, 1, 20), 60.0, 60.0, None, 0.0),
        ("t", "o7", "d", datetime(2025, 3, 31), 70.0, 70.0, None, 0.0),
        ("other", "o8", "a", datetime(2025, 2, 27), 999.0, 999.0, None, 0.0),
        ("t", "o9", None, datetime(2025, 2, 2), 1.0, 1.0, None, 0.0),
    ]
    frame = pl.DataFrame(
        rows,
        schema=["tenant_id", "order_id", "user_id", "ordered_at", "gross_revenue",
                "net_revenue", "last_refunded_at", "discount"],
        orient="row",
    )  # fmt: skip
    # The warehouse hands times over with a zone: they must be compared in UTC.
    return frame.with_columns(pl.col("ordered_at").dt.replace_time_zone("UTC"))


def sessions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tenant_id": ["t", "t", "t", "other"],
            "actor_id": ["a", "a", "a", "b"],
            "started_at": [
                datetime(2025, 2, 25),
                datetime(2025, 2, 27),
                datetime(2025, 3, 2),  # after the cut-off
                datetime(2025, 2, 28),  # another shop's b
            ],
        }
    )


def interactions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tenant_id": ["t"] * 4,
            "actor_id": ["a", "a", "a", "b"],
            "user_id": ["a", "a", "a", "b"],
            "product_id": ["p1", "p1", "p2", "p3"],
            "category": ["c"] * 4,
            "event": ["Product Viewed", "Product Added", "Product Viewed", "Product Viewed"],
            "quantity": [1, 1, 1, 1],
            "occurred_at": [
                datetime(2025, 2, 20),
                datetime(2025, 2, 20, 0, 5),
                datetime(2025, 3, 2),  # after the cut-off
                datetime(2024, 10, 1),  # older than 90 days
            ],
        }
    )


def by_user(frame: pl.DataFrame, tenant: str = "t") -> dict[str, dict[str, object]]:
    return {r["user_id"]: r for r in frame.filter(pl.col("tenant_id") == tenant).to_dicts()}


def test_features_use_only_rows_before_the_cutoff() -> None:
    cut = CUTOFF.replace(tzinfo=UTC)  # an aware cut-off means the same instant
    rows = by_user(churn_features(orders(), cut, interactions=interactions(), sessions=sessions()))
    assert set(rows) == {"a", "b", "d"}
    a = rows["a"]
    assert a["recency_days"] == 28.0 and a["tenure_days"] == 59.0
    assert a["frequency"] == 2.0 and a["mean_interpurchase_days"] == 31.0
    # The refund of o2 was only known on 15 March: at the cut-off a had paid 30.
    assert a["monetary"] == 30.0 and a["refund_share"] == 0.0
    assert a["discount_share"] == 0.5
    assert a["orders_30d"] == 1.0 and a["orders_90d"] == 2.0
    assert a["sessions_7d"] == 2.0 and a["sessions_30d"] == 2.0
    assert a["days_since_last_session"] == 2.0
    assert a["views_30d"] == 1.0 and a["cart_adds_30d"] == 1.0
    assert a["distinct_products_90d"] == 1.0
    b = rows["b"]
    assert b["sessions_90d"] == 0.0  # the other shop's b visited, not this one's
    assert b["days_since_last_session"] is None and b["mean_interpurchase_days"] is None
    assert b["distinct_products_90d"] == 0.0
    assert by_user(churn_features(orders(), CUTOFF), "other")["a"]["monetary"] == 999.0


def test_a_refund_known_before_the_cutoff_counts() -> None:
    later = datetime(2025, 3, 20)
    a = by_user(churn_features(orders(), later))["a"]
    assert a["monetary"] == 10.0 + 0.0 + 30.0
    assert a["refund_share"] == pytest.approx(20 / 60)


def test_labels_look_only_at_the_window_after_the_cutoff() -> None:
    labels = by_user(churn_labels(orders(), CUTOFF, horizon_days=30))
    assert {user: row["churned"] for user, row in labels.items()} == {"a": 0, "b": 1, "d": 1}
    longer = by_user(churn_labels(orders(), CUTOFF, horizon_days=31))
    assert longer["d"]["churned"] == 0


def test_without_behaviour_data_those_features_are_missing_not_zero() -> None:
    frame = churn_features(orders(), CUTOFF)
    assert frame.columns == ["tenant_id", "user_id", *FEATURES]
    assert frame["sessions_30d"].null_count() == frame.height
    keys = frame.select("tenant_id", "user_id").rows()
    assert keys == [("other", "a"), ("t", "a"), ("t", "b"), ("t", "d")]
    assert frame["frequency"].to_list() == [1.0, 2.0, 1.0, 1.0]


def test_a_coupon_counts_as_a_discount() -> None:
    frame = (
        orders()
        .drop("discount")
        .with_columns(pl.when(pl.col("order_id") == "o1").then(pl.lit("WELCOME")).alias("coupon"))
    )
    rows = by_user(churn_features(frame, CUTOFF))
    assert rows["a"]["discount_share"] == 0.5 and rows["b"]["discount_share"] == 0.0
