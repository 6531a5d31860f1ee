"""Which orders count for an experiment: all of a unit's orders, or only those the surface
could have changed.

:func:`intellishop.experiments.results.analyse` counts every order a unit places at or after its
first exposure. That is right for recommendations, which touch the whole visit. Two surfaces
need less:

- **price**: an exposure names the ``product_id`` whose price was shown; only order lines of a
  product the unit saw a price for in this experiment, placed at or after that first sight,
  count, with the line's revenue (what was charged for that product). Other products in the
  same basket are noise the price did not cause. This needs line-level outcomes (a
  ``product_id`` column, one row per order line); with order-level outcomes every order
  counts, and the results say so.
- **email**: an exposure carries the campaign's ``window_days`` (the rule's conversion window);
  only orders within that many days of the first exposure count, as in the campaign report.
  A holdout recipient is exposed when the message would have been sent, so both arms are
  measured over the same window.

Line-level outcomes given to any other experiment are summed per order first (``order_id``
when present, else the unit and the order time), so orders are never counted per line.
"""

from __future__ import annotations

import polars as pl

from .model import Experiment, Surface
from .results import _utc

ALL_ORDERS = "all orders at or after the unit's first exposure"
PRODUCT_LINES = (
    "order lines of the products whose price the unit was shown, at or after that first sight"
)
PRICE_WITHOUT_LINES = (
    "all orders at or after the first exposure: the outcomes have no product_id (order lines),"
    " so a price experiment cannot be scoped to its products"
)
WINDOW = "orders within the exposure's window_days (the campaign's conversion window)"


def _has_values(frame: pl.DataFrame, column: str) -> bool:
    return column in frame.columns and frame[column].null_count() < frame.height


def _orders(lines: pl.DataFrame) -> pl.DataFrame:
    """Order lines summed to one row per order (unit_id, ordered_at, revenue)."""
    keys = ["unit_id", "order_id"] if "order_id" in lines.columns else ["unit_id", "ordered_at"]
    return (
        lines.group_by(keys)
        .agg(
            pl.col("ordered_at").min().alias("_at"),
            pl.col("revenue").cast(pl.Float64).fill_null(0.0).sum().alias("revenue"),
        )
        .select("unit_id", pl.col("_at").alias("ordered_at"), "revenue")
    )


def attributable_outcomes(
    experiment: Experiment, exposures: pl.DataFrame, outcomes: pl.DataFrame
) -> tuple[pl.DataFrame, str]:
    """(orders that count: unit_id, ordered_at, revenue; how they were chosen).

    ``exposures`` are this experiment's (unit_id, exposed_at, optionally product_id and
    window_days); ``outcomes`` the tenant's orders or order lines (unit_id, ordered_at,
    revenue, optionally product_id and order_id).
    """
    exposures = _utc(exposures, "exposed_at")
    outcomes = _utc(outcomes, "ordered_at")
    lines = _has_values(outcomes, "product_id")
    description = ALL_ORDERS
    if experiment.surface is Surface.PRICE and _has_values(exposures, "product_id"):
        if lines:
            seen = (
                exposures.filter(pl.col("product_id").is_not_null())
                .group_by("unit_id", "product_id")
                .agg(pl.col("exposed_at").min().alias("_seen_at"))
            )
            counted = outcomes.join(seen, on=["unit_id", "product_id"]).filter(
                pl.col("ordered_at") >= pl.col("_seen_at")
            )
            scoped = _orders(counted)
            description = PRODUCT_LINES
        else:
            scoped = outcomes.select("unit_id", "ordered_at", "revenue")
            description = PRICE_WITHOUT_LINES
    elif lines:
        scoped = _orders(outcomes)
    else:
        scoped = outcomes.select("unit_id", "ordered_at", "revenue")
    if _has_values(exposures, "window_days"):
        first = (
            exposures.sort("exposed_at")
            .group_by("unit_id")
            .agg(
                pl.col("exposed_at").first().alias("_first"),
                pl.col("window_days").cast(pl.Float64).first().alias("_days"),
            )
        )
        scoped = (
            scoped.join(first, on="unit_id")
            .filter(
                pl.col("_days").is_null()
                | (
                    pl.col("ordered_at")
                    <= pl.col("_first")
                    + pl.duration(microseconds=(pl.col("_days") * 86_400_000_000).cast(pl.Int64))
                )
            )
            .select("unit_id", "ordered_at", "revenue")
        )
        description = f"{description}; {WINDOW}"
    return scoped, description
