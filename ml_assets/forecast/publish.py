"""``demand_forecast``: daily units per product (and per category) for every tenant."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from ml_assets.forecast.model import forecast_series
from ml_assets.forecast.series import daily_units

DEMAND_SCHEMA = {
    "tenant_id": pl.String,
    "product_id": pl.String,
    "forecast_date": pl.Date,
    "yhat": pl.Float64,
    "yhat_lower": pl.Float64,
    "yhat_upper": pl.Float64,
}


def demand_forecast(
    interactions: pl.DataFrame,
    *,
    as_of: datetime,
    horizon_days: int = 28,
    interval_width: float = 0.8,
    n_jobs: int = 1,
) -> pl.DataFrame:
    """tenant_id, product_id, forecast_date, yhat, yhat_lower, yhat_upper (units per day).

    History is every sale before ``as_of``'s UTC day; the forecast covers the ``horizon_days``
    from that day on. A product with no sale yet has no row (nothing to forecast from).
    """
    daily = daily_units(interactions, end=as_of, level="product")
    forecast = forecast_series(
        daily, horizon_days=horizon_days, interval_width=interval_width, n_jobs=n_jobs
    )
    return (
        forecast.rename({"series": "product_id"})
        .select(list(DEMAND_SCHEMA))
        .sort("tenant_id", "product_id", "forecast_date")
    )


def category_forecast(
    interactions: pl.DataFrame,
    *,
    as_of: datetime,
    horizon_days: int = 28,
    interval_width: float = 0.8,
    n_jobs: int = 1,
) -> pl.DataFrame:
    """The same per category: tenant_id, category, forecast_date, yhat, yhat_lower, yhat_upper."""
    daily = daily_units(interactions, end=as_of, level="category")
    forecast = forecast_series(
        daily, horizon_days=horizon_days, interval_width=interval_width, n_jobs=n_jobs
    )
    return (
        forecast.rename({"series": "category"})
        .drop("method")
        .sort("tenant_id", "category", "forecast_date")
    )
