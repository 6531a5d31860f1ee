"""Daily demand series (units sold per day) per product or per category, from interactions.

Demand is the ``quantity`` of ``Order Completed`` lines in ``int_product_interactions``, summed
per UTC day. A series starts on its first sale and is zero-filled up to the day before
``end``: a day without a sale is a day of zero demand, not a missing day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

import polars as pl

from ml_assets.features.frames import as_naive, prepare_interactions

Level = Literal["product", "category"]
SALE_EVENT = "Order Completed"


def daily_units(
    interactions: pl.DataFrame, *, end: datetime, level: Level = "product"
) -> pl.DataFrame:
    """tenant_id, series (product_id or category), ds (date), y (units) before ``end``'s day."""
    last = as_naive(end).date() - timedelta(days=1)
    key = "product_id" if level == "product" else "category"
    sales = (
        prepare_interactions(interactions)
        .filter((pl.col("event") == SALE_EVENT) & (pl.col("occurred_at").dt.date() <= last))
        .filter(pl.col(key).is_not_null())
        .group_by(
            "tenant_id", pl.col(key).alias("series"), pl.col("occurred_at").dt.date().alias("ds")
        )
        .agg(pl.col("quantity").sum().alias("y"))
    )
    if sales.is_empty():
        return pl.DataFrame(
            schema={"tenant_id": pl.String, "series": pl.String, "ds": pl.Date, "y": pl.Float64}
        )
    spans = sales.group_by("tenant_id", "series").agg(pl.col("ds").min().alias("first"))
    grid = spans.with_columns(
        pl.date_ranges(pl.col("first"), pl.lit(last), interval="1d").alias("ds")
    ).explode("ds")
    return (
        grid.select("tenant_id", "series", "ds")
        .join(sales, on=["tenant_id", "series", "ds"], how="left")
        .with_columns(pl.col("y").fill_null(0.0))
        .sort("tenant_id", "series", "ds")
    )


def future_dates(last: date, horizon_days: int) -> list[date]:
    return [last + timedelta(days=k) for k in range(1, horizon_days + 1)]
