"""Per-customer (x, t_x, T, m) summaries for BG/NBD and Gamma-Gamma, from ``int_orders``.

A "transaction" is a customer's calendar day with a purchase (several orders on one day are
one, as in Fader & Hardie's CDNOW work). ``x`` counts repeat transaction days, ``t_x`` is the
time from the first to the last one and ``T`` from the first to the end of the calibration
period, in ``unit_days`` (7: weeks). ``monetary`` is the mean net revenue of the repeat days
(the first purchase is left out: it is often different, and the model is about future spend).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from ml_assets.features.frames import as_naive, customer_orders


def transaction_days(orders: pl.DataFrame) -> pl.DataFrame:
    """tenant_id, user_id, day, revenue: one row per customer and purchase day."""
    return (
        customer_orders(orders)
        .group_by("tenant_id", "user_id", pl.col("ordered_at").dt.date().alias("day"))
        .agg(pl.col("net_revenue").sum().alias("revenue"))
        .sort("tenant_id", "user_id", "day")
    )


def rfm_summary(
    orders: pl.DataFrame, calibration_end: datetime, *, unit_days: float = 7.0
) -> pl.DataFrame:
    """tenant_id, user_id, x, t_x, T, monetary, first_day, from purchase days before the end.

    ``calibration_end`` is exclusive: a purchase at or after it is not seen. T counts to it.
    """
    end = as_naive(calibration_end)
    days = transaction_days(orders).filter(pl.col("day") < end.date())
    end_day = pl.lit(end.date())
    return (
        days.group_by("tenant_id", "user_id")
        .agg(
            pl.col("day").min().alias("first_day"),
            pl.col("day").max().alias("last_day"),
            (pl.len() - 1).alias("x"),
            pl.col("revenue").slice(1).mean().alias("monetary"),
            pl.col("revenue").mean().alias("mean_revenue"),
        )
        .with_columns(
            ((pl.col("last_day") - pl.col("first_day")).dt.total_days() / unit_days).alias("t_x"),
            ((end_day - pl.col("first_day")).dt.total_days() / unit_days).alias("T"),
            pl.col("x").cast(pl.Float64),
            pl.col("monetary").fill_null(0.0),
        )
        .select("tenant_id", "user_id", "x", "t_x", "T", "monetary", "mean_revenue", "first_day")
        .sort("tenant_id", "user_id")
    )


def holdout_actuals(orders: pl.DataFrame, start: datetime, length: timedelta) -> pl.DataFrame:
    """tenant_id, user_id, purchases, revenue in ``[start, start + length)`` (purchase days)."""
    begin = as_naive(start).date()
    stop = (as_naive(start) + length).date()
    return (
        transaction_days(orders)
        .filter((pl.col("day") >= begin) & (pl.col("day") < stop))
        .group_by("tenant_id", "user_id")
        .agg(pl.len().cast(pl.Float64).alias("purchases"), pl.col("revenue").sum())
    )
