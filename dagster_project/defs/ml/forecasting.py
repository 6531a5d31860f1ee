"""Which demand series get Prophet in the pipeline, and which the seasonal-naive forecast.

The library's rule (``ml_assets.forecast.model.choose_method``) gives Prophet every series with
8 weeks of history and 14 sale days. On the demo (two shops, ~300 products each, 90 days) that
is about 90 product series, 40 s on the busy 2-core machine: more than the rest of the ML steps
together. A product's forecast matters in proportion to what it sells, so the pipeline keeps
Prophet for the ``prophet_max_series`` (10 by default) best sellers of each tenant that pass the
library's rule and forecasts the long tail with seasonal naive (one week of history,
milliseconds). Categories are few and always follow the library's rule.
"""

from datetime import datetime

import numpy as np
import polars as pl

from ml_assets.forecast.model import FORECAST_SCHEMA, choose_method, forecast_series
from ml_assets.forecast.publish import DEMAND_SCHEMA
from ml_assets.forecast.series import Level, daily_units


def split_by_method(
    daily: pl.DataFrame, prophet_max_series: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(Prophet series, seasonal-naive series) of ``daily`` (tenant_id, series, ds, y)."""
    totals = (
        daily.sort("ds")
        .group_by("tenant_id", "series", maintain_order=True)
        .agg(pl.col("y").sum().alias("units"), pl.col("y"))
    )
    eligible = [
        choose_method(np.asarray(history, dtype=np.float64)) == "prophet"
        for history in totals["y"].to_list()
    ]
    ranked = (
        totals.with_columns(pl.Series("eligible", eligible, dtype=pl.Boolean))
        .filter(pl.col("eligible"))
        .sort(["tenant_id", "units", "series"], descending=[False, True, False])
        .with_columns(pl.int_range(pl.len()).over("tenant_id").alias("position"))
        .filter(pl.col("position") < prophet_max_series)
        .select("tenant_id", "series")
    )
    prophet = daily.join(ranked, on=["tenant_id", "series"], how="semi")
    naive = daily.join(ranked, on=["tenant_id", "series"], how="anti")
    return prophet, naive


def forecast_level(
    interactions: pl.DataFrame,
    *,
    as_of: datetime,
    level: Level,
    horizon_days: int,
    prophet_max_series: int | None,
    n_jobs: int = 1,
) -> pl.DataFrame:
    """tenant_id, series, forecast_date, yhat, yhat_lower, yhat_upper, method.

    ``prophet_max_series`` None: the library's rule alone decides.
    """
    daily = daily_units(interactions, end=as_of, level=level)
    if daily.is_empty():
        return pl.DataFrame(schema=FORECAST_SCHEMA)
    if prophet_max_series is None:
        return forecast_series(daily, horizon_days=horizon_days, n_jobs=n_jobs)
    prophet, naive = split_by_method(daily, prophet_max_series)
    return pl.concat(
        [
            forecast_series(prophet, horizon_days=horizon_days, n_jobs=n_jobs),
            forecast_series(naive, horizon_days=horizon_days, method="seasonal_naive"),
        ]
    ).sort("tenant_id", "series", "forecast_date")


def product_demand(forecast: pl.DataFrame) -> pl.DataFrame:
    """A :func:`forecast_level` frame of products in ``DEMAND_SCHEMA`` (the published shape)."""
    return forecast.rename({"series": "product_id"}).select(list(DEMAND_SCHEMA))
