"""Checks and one internal shape for the warehouse frames the prediction models read.

dbt on DuckDB hands timestamps over with a time zone, PostgreSQL may too, hand-built frames
usually without; money comes as decimals. Everything downstream assumes naive UTC microseconds
and float money, so cut-off arithmetic is plain comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

#: Columns of ``int_orders`` the models read (see dbt_project/models/intermediate/int_orders.sql).
ORDER_COLUMNS = ("tenant_id", "order_id", "user_id", "ordered_at", "net_revenue")


def require_columns(frame: pl.DataFrame, columns: tuple[str, ...] | list[str], name: str) -> None:
    """Raise ``ValueError`` naming the missing columns: a renamed dbt column must fail loudly."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing} (see docs/contracts.md)")


def naive_utc(frame: pl.DataFrame, column: str) -> pl.Expr:
    """``column`` as naive UTC microseconds, whatever zone or unit the warehouse used."""
    dtype = frame.schema[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return expr.cast(pl.Datetime("us")).alias(column)


def as_naive(moment: datetime) -> datetime:
    """``moment`` as naive UTC (a naive value is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def customer_orders(orders: pl.DataFrame) -> pl.DataFrame:
    """Known customers' orders: tenant_id, user_id, order_id, ordered_at, money as floats.

    Orders of anonymous actors (no user_id) are dropped: nobody to score. ``refunded_amount``,
    ``gross_revenue`` and ``discount`` are optional (0 when absent); ``discounted`` is true for an
    order with a ``coupon`` or a positive ``discount``, whichever the frame has.
    ``refund_known_at`` is when the refund became known (``last_refunded_at``, else
    ``cancelled_at``): a feature built at a cut-off may use a refund only if it was known by
    then, otherwise the label leaks into it.
    """
    require_columns(orders, ORDER_COLUMNS, "int_orders")
    optional = {
        "gross_revenue": pl.col("net_revenue"),
        "refunded_amount": pl.lit(0.0),
        "discount": pl.lit(0.0),
    }
    exprs = [
        (pl.col(name) if name in orders.columns else default).cast(pl.Float64).alias(name)
        for name, default in optional.items()
    ]
    known = [
        naive_utc(orders, name).alias(name)
        for name in ("last_refunded_at", "cancelled_at")
        if name in orders.columns
    ]
    refund_known = (
        pl.coalesce(
            [
                pl.col(name)
                for name in ("last_refunded_at", "cancelled_at")
                if name in orders.columns
            ]
        )
        if known
        else pl.lit(None, dtype=pl.Datetime("us"))
    )
    discounted = pl.lit(False)
    if "discount" in orders.columns:
        discounted = discounted | (pl.col("discount").cast(pl.Float64).fill_null(0.0) > 0)
    if "coupon" in orders.columns:
        discounted = discounted | pl.col("coupon").is_not_null()
    return (
        orders.filter(pl.col("user_id").is_not_null())
        .with_columns(naive_utc(orders, "ordered_at"), *known)
        .select(
            pl.col("tenant_id").cast(pl.String),
            pl.col("user_id").cast(pl.String),
            pl.col("order_id").cast(pl.String),
            pl.col("ordered_at"),
            pl.col("net_revenue").cast(pl.Float64).fill_null(0.0),
            *[e.fill_null(0.0) for e in exprs],
            refund_known.cast(pl.Datetime("us")).alias("refund_known_at"),
            discounted.alias("discounted"),
        )
        .sort("tenant_id", "user_id", "ordered_at")
    )


def prepare_sessions(sessions: pl.DataFrame) -> pl.DataFrame:
    """``int_sessions`` reduced to tenant_id, actor_id, started_at (naive UTC)."""
    require_columns(sessions, ("tenant_id", "actor_id", "started_at"), "int_sessions")
    return sessions.select(
        pl.col("tenant_id").cast(pl.String),
        pl.col("actor_id").cast(pl.String),
        naive_utc(sessions, "started_at"),
    )


def prepare_interactions(interactions: pl.DataFrame) -> pl.DataFrame:
    """``int_product_interactions`` with naive UTC times and float quantities."""
    require_columns(
        interactions,
        ("tenant_id", "actor_id", "product_id", "category", "event", "quantity", "occurred_at"),
        "int_product_interactions",
    )
    return interactions.select(
        pl.col("tenant_id").cast(pl.String),
        pl.col("actor_id").cast(pl.String),
        pl.col("product_id").cast(pl.String),
        pl.col("category").cast(pl.String),
        pl.col("event").cast(pl.String),
        pl.col("quantity").cast(pl.Float64).fill_null(1.0),
        naive_utc(interactions, "occurred_at"),
    )
