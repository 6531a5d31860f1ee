"""Forecast many daily series: Prophet where there is enough history, seasonal naive elsewhere.

The rule (:func:`choose_method`): Prophet needs at least ``MIN_HISTORY_DAYS`` (8 weeks, so the
weekly pattern is seen eight times) and at least ``MIN_SALE_DAYS`` days with a sale; a newer or
sparser series gets the seasonal-naive forecast, which needs one week. Series are independent,
so ``n_jobs > 1`` spreads them over spawned processes (each imports Prophet once, a few
seconds: worth it from a few hundred series on; keep 1 in tests and on shared machines).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from ml_assets.forecast.naive import seasonal_naive
from ml_assets.forecast.prophet_model import prophet_forecast

Array = npt.NDArray[np.float64]
Method = Literal["prophet", "seasonal_naive"]
MIN_HISTORY_DAYS = 56
MIN_SALE_DAYS = 14
FORECAST_SCHEMA = {
    "tenant_id": pl.String,
    "series": pl.String,
    "forecast_date": pl.Date,
    "yhat": pl.Float64,
    "yhat_lower": pl.Float64,
    "yhat_upper": pl.Float64,
    "method": pl.String,
}


def choose_method(history: Array) -> Method:
    """Prophet for long enough, dense enough series; seasonal naive otherwise."""
    y = np.asarray(history)
    if y.size >= MIN_HISTORY_DAYS and int((y > 0).sum()) >= MIN_SALE_DAYS:
        return "prophet"
    return "seasonal_naive"


Task = tuple[str, str, list[float], date, int, float, str | None]


def _run(task: Task) -> list[tuple[str, str, date, float, float, float, str]]:
    tenant, series, history, last, horizon, width, forced = task
    y = np.asarray(history, dtype=np.float64)
    method = forced or choose_method(y)
    if method == "prophet":
        dates, yhat, lower, upper = prophet_forecast(y, last, horizon, width)
    else:
        dates, yhat, lower, upper = seasonal_naive(y, last, horizon, width)
    return [
        (tenant, series, d, float(a), float(b), float(c), method)
        for d, a, b, c in zip(dates, yhat, lower, upper, strict=True)
    ]


def forecast_series(
    daily: pl.DataFrame,
    *,
    horizon_days: int,
    interval_width: float = 0.8,
    n_jobs: int = 1,
    method: Method | None = None,
) -> pl.DataFrame:
    """One forecast per (tenant_id, series) of ``daily`` (from :func:`daily_units`).

    Each series is forecast from its own history, for the ``horizon_days`` after its last day.
    ``method`` forces one model for every series (the evaluation's baseline).
    """
    tasks: list[Task] = []
    for (tenant, series), part in daily.sort("ds").group_by(
        ["tenant_id", "series"], maintain_order=True
    ):
        last = part["ds"][-1]
        tasks.append((str(tenant), str(series), part["y"].to_list(), last, horizon_days,
                      interval_width, method))  # fmt: skip
    rows: Iterable[list[tuple[str, str, date, float, float, float, str]]]
    if n_jobs > 1 and len(tasks) > 1:
        # Spawned, not forked: forking a process that runs polars' and Stan's threads deadlocks.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=context) as pool:
            rows = list(pool.map(_run, tasks, chunksize=max(1, len(tasks) // (4 * n_jobs))))
    else:
        rows = [_run(task) for task in tasks]
    flat = [row for chunk in rows for row in chunk]
    return pl.DataFrame(flat, schema=FORECAST_SCHEMA, orient="row")
