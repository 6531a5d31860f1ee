"""Churn features and labels at a cut-off, built so that nothing from after it leaks in.

Who is scored: every known customer (user_id) with at least one order before the cut-off.
Features use only rows strictly before the cut-off; a refund counts only if it was known by then.
The label looks only at orders in ``[cut-off, cut-off + horizon)``: churned = no order there.

Features (all per customer, per tenant):

- RFM: ``recency_days``, ``frequency`` (orders), ``monetary`` (net revenue), ``avg_order_value``;
- tenure and rhythm: ``tenure_days`` (since the first order), ``mean_interpurchase_days``,
  ``overdue_ratio`` (recency over the customer's usual gap: > 1 means later than usual);
- recent activity: ``orders_30d``, ``orders_90d``, ``revenue_90d``;
- behaviour: ``sessions_7d`` / ``_30d`` / ``_90d``, ``days_since_last_session``, ``views_30d``,
  ``cart_adds_30d``, ``distinct_products_90d``;
- money habits: ``discount_share`` (orders with a coupon or discount), ``refund_share`` (net
  revenue lost to refunds, as known at the cut-off);
- the BG/NBD view (:mod:`ml_assets.clv`), fitted on the same pre-cut-off purchases:
  ``bgnbd_p_alive`` and ``bgnbd_expected_purchases`` over the label horizon. The probabilistic
  model turns recency and frequency into one calibrated-by-construction number; the trees add
  the behaviour on top.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from ml_assets.features.frames import (
    as_naive,
    customer_orders,
    prepare_interactions,
    prepare_sessions,
)

FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "mean_interpurchase_days",
    "overdue_ratio",
    "orders_30d",
    "orders_90d",
    "revenue_90d",
    "sessions_7d",
    "sessions_30d",
    "sessions_90d",
    "days_since_last_session",
    "views_30d",
    "cart_adds_30d",
    "distinct_products_90d",
    "discount_share",
    "refund_share",
    "bgnbd_p_alive",
    "bgnbd_expected_purchases",
)
KEY = ("tenant_id", "user_id")
DAY_US = 86_400 * 1_000_000


def _days_before(column: str, cutoff: datetime) -> pl.Expr:
    return (pl.lit(cutoff) - pl.col(column)).dt.total_microseconds() / DAY_US


def churn_features(
    orders: pl.DataFrame,
    cutoff: datetime,
    *,
    interactions: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
    horizon_days: int = 60,
) -> pl.DataFrame:
    """tenant_id, user_id and :data:`FEATURES` for customers with an order before ``cutoff``.

    ``interactions`` (int_product_interactions) and ``sessions`` (int_sessions) are optional:
    without them (CDNOW has only purchases) the behavioural features are null, which XGBoost
    handles as missing.
    """
    cut = as_naive(cutoff)
    past = customer_orders(orders).filter(pl.col("ordered_at") < cut)
    refund_known = pl.col("refund_known_at").is_not_null() & (pl.col("refund_known_at") < cut)
    past = past.with_columns(
        pl.when(refund_known)
        .then(pl.col("net_revenue"))
        .otherwise(pl.col("gross_revenue"))
        .alias("revenue_known"),
        _days_before("ordered_at", cut).alias("age_days"),
    )
    base = (
        past.group_by(KEY)
        .agg(
            pl.col("age_days").min().alias("recency_days"),
            pl.col("age_days").max().alias("tenure_days"),
            pl.len().cast(pl.Float64).alias("frequency"),
            pl.col("revenue_known").sum().alias("monetary"),
            pl.col("gross_revenue").sum().alias("_gross"),
            (pl.col("age_days") < 30).sum().cast(pl.Float64).alias("orders_30d"),
            (pl.col("age_days") < 90).sum().cast(pl.Float64).alias("orders_90d"),
            pl.col("revenue_known").filter(pl.col("age_days") < 90).sum().alias("revenue_90d"),
            pl.col("discounted").mean().cast(pl.Float64).alias("discount_share"),
        )
        .with_columns(
            (pl.col("monetary") / pl.col("frequency")).alias("avg_order_value"),
            pl.when(pl.col("frequency") > 1)
            .then((pl.col("tenure_days") - pl.col("recency_days")) / (pl.col("frequency") - 1))
            .alias("mean_interpurchase_days"),
            pl.when(pl.col("_gross") > 0)
            .then(1 - pl.col("monetary") / pl.col("_gross"))
            .otherwise(0.0)
            .alias("refund_share"),
        )
        .with_columns(
            (
                pl.col("recency_days") / pl.col("mean_interpurchase_days").clip(lower_bound=1.0)
            ).alias("overdue_ratio")
        )
    )
    behaviour = [
        _session_features(sessions, cut),
        _interaction_features(interactions, cut),
        _bgnbd_features(orders, cut, horizon_days),
    ]
    for frame in behaviour:
        base = base.join(frame, on=list(KEY), how="left") if frame is not None else base
    for name in FEATURES:
        if name not in base.columns:
            base = base.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    counts = ("sessions_7d", "sessions_30d", "sessions_90d", "views_30d", "cart_adds_30d",
              "distinct_products_90d")  # fmt: skip
    fill = [
        pl.col(c).fill_null(0.0) for c in counts if sessions is not None or interactions is not None
    ]
    return (
        base.with_columns(*fill)
        .select(*KEY, *(pl.col(name).cast(pl.Float64) for name in FEATURES))
        .sort(KEY)
    )


def _session_features(sessions: pl.DataFrame | None, cut: datetime) -> pl.DataFrame | None:
    if sessions is None:
        return None
    frame = prepare_sessions(sessions).filter(pl.col("started_at") < cut)
    age = _days_before("started_at", cut)
    return (
        frame.rename({"actor_id": "user_id"})
        .group_by(KEY)
        .agg(
            (age < 7).sum().cast(pl.Float64).alias("sessions_7d"),
            (age < 30).sum().cast(pl.Float64).alias("sessions_30d"),
            (age < 90).sum().cast(pl.Float64).alias("sessions_90d"),
            age.min().alias("days_since_last_session"),
        )
    )


def _interaction_features(interactions: pl.DataFrame | None, cut: datetime) -> pl.DataFrame | None:
    if interactions is None:
        return None
    frame = prepare_interactions(interactions).filter(pl.col("occurred_at") < cut)
    age = _days_before("occurred_at", cut)
    return (
        frame.rename({"actor_id": "user_id"})
        .group_by(KEY)
        .agg(
            ((pl.col("event") == "Product Viewed") & (age < 30))
            .sum()
            .cast(pl.Float64)
            .alias("views_30d"),
            ((pl.col("event") == "Product Added") & (age < 30))
            .sum()
            .cast(pl.Float64)
            .alias("cart_adds_30d"),
            pl.col("product_id")
            .filter(age < 90)
            .n_unique()
            .cast(pl.Float64)
            .alias("distinct_products_90d"),
        )
    )


def _bgnbd_features(orders: pl.DataFrame, cut: datetime, horizon_days: int) -> pl.DataFrame:
    """P(alive) and expected purchases over the horizon, per tenant (null if it cannot fit)."""
    from ml_assets.clv import bgnbd
    from ml_assets.clv.model import MIN_CUSTOMERS, UNIT_DAYS
    from ml_assets.clv.summary import rfm_summary

    summary = rfm_summary(orders, cut, unit_days=UNIT_DAYS)
    parts = []
    for part in summary.partition_by("tenant_id"):
        x, t_x, age = (part[c].to_numpy() for c in ("x", "t_x", "T"))
        alive: list[float | None] | npt.NDArray[np.float64] = [None] * part.height
        expected: list[float | None] | npt.NDArray[np.float64] = [None] * part.height
        if part.height >= MIN_CUSTOMERS and (x > 0).sum() >= 2:
            params = bgnbd.fit(x, t_x, age)
            alive = bgnbd.probability_alive(params, x, t_x, age)
            expected = bgnbd.expected_purchases(params, horizon_days / UNIT_DAYS, x, t_x, age)
        parts.append(
            part.select(*KEY).with_columns(
                pl.Series("bgnbd_p_alive", alive, dtype=pl.Float64),
                pl.Series("bgnbd_expected_purchases", expected, dtype=pl.Float64),
            )
        )
    if not parts:
        return pl.DataFrame(schema={"tenant_id": pl.String, "user_id": pl.String,
                                    "bgnbd_p_alive": pl.Float64,
                                    "bgnbd_expected_purchases": pl.Float64})  # fmt: skip
    return pl.concat(parts)


def churn_labels(orders: pl.DataFrame, cutoff: datetime, horizon_days: int) -> pl.DataFrame:
    """tenant_id, user_id, churned (1 = no order in ``[cutoff, cutoff + horizon)``).

    Only customers with an order before ``cutoff`` get a label; the caller must make sure the
    data reaches ``cutoff + horizon`` (see :func:`latest_label_cutoff`).
    """
    cut = as_naive(cutoff)
    end = cut + timedelta(days=horizon_days)
    frame = customer_orders(orders)
    known = frame.filter(pl.col("ordered_at") < cut).select(KEY).unique()
    bought = (
        frame.filter((pl.col("ordered_at") >= cut) & (pl.col("ordered_at") < end))
        .select(KEY)
        .unique()
        .with_columns(pl.lit(0, dtype=pl.Int8).alias("churned"))
    )
    return (
        known.join(bought, on=list(KEY), how="left")
        .with_columns(pl.col("churned").fill_null(1).cast(pl.Int8))
        .sort(KEY)
    )
