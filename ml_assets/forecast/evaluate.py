"""Holdout evaluation of the demand forecast against the seasonal-naive baseline.

The last ``holdout_days`` of every series are hidden; both the production rule (Prophet, with its
seasonal-naive fallback) and the pure seasonal-naive baseline forecast them from the days
before, in the same run. Metrics per series, then averaged over series:

- MAPE over days with a sale (undefined on zero demand, which dominates single products);
- sMAPE = mean(2|F - A| / (|F| + |A|)), with 0 for days where both are 0;
- MASE = MAE / MAE of the in-sample seasonal-naive (lag 7) forecast: < 1 beats "last week";
- coverage: share of holdout days inside [yhat_lower, yhat_upper] (nominal: the interval width);
- WAPE over all series: sum |F - A| / sum A (the volume-weighted error a buyer feels).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from ml_assets.forecast.model import forecast_series
from ml_assets.forecast.naive import SEASON


@dataclass(frozen=True)
class ForecastScores:
    """One model's averaged holdout metrics."""

    mape: float
    smape: float
    mase: float
    wape: float
    coverage: float


@dataclass(frozen=True)
class ForecastEvaluation:
    """The model (with fallback) and the seasonal-naive baseline on the same holdout."""

    level: str
    series: int
    prophet_series: int
    holdout_days: int
    interval_width: float
    model: ForecastScores
    baseline: ForecastScores
    fit_seconds: float

    def metrics(self) -> dict[str, float]:
        flat: dict[str, float] = {
            "series": self.series,
            "prophet_series": self.prophet_series,
            "holdout_days": self.holdout_days,
            "fit_seconds": self.fit_seconds,
        }
        for prefix, scores in (("", self.model), ("baseline_", self.baseline)):
            for key, value in scores.__dict__.items():
                flat[f"{prefix}{key}"] = value
        return flat


def split_holdout(daily: pl.DataFrame, holdout_days: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per tenant, the last ``holdout_days`` calendar days become the holdout."""
    last = daily.group_by("tenant_id").agg(pl.col("ds").max().alias("last"))
    marked = daily.join(last, on="tenant_id").with_columns(
        (pl.col("ds") > pl.col("last") - timedelta(days=holdout_days)).alias("held")
    )
    train = marked.filter(~pl.col("held")).drop("held", "last")
    test = marked.filter(pl.col("held")).drop("held", "last")
    return train, test


def score(forecast: pl.DataFrame, test: pl.DataFrame, train: pl.DataFrame) -> ForecastScores:
    """Average metrics over series that have at least one holdout day and a lag-7 history."""
    scale = (
        train.sort("ds")
        .with_columns(
            (pl.col("y") - pl.col("y").shift(SEASON).over("tenant_id", "series")).abs().alias("e")
        )
        .group_by("tenant_id", "series")
        .agg(pl.col("e").mean().alias("scale"))
    )
    joined = test.rename({"ds": "forecast_date"}).join(
        forecast, on=["tenant_id", "series", "forecast_date"], how="inner"
    )
    a, f = joined["y"].to_numpy(), joined["yhat"].to_numpy()
    both = np.abs(a) + np.abs(f)
    per_day = joined.with_columns(
        pl.Series("ae", np.abs(f - a)),
        pl.Series("ape", np.where(a > 0, np.abs(f - a) / np.where(a > 0, a, 1.0), np.nan)),
        pl.Series(
            "sape", np.where(both > 0, 2 * np.abs(f - a) / np.where(both > 0, both, 1.0), 0.0)
        ),
        ((pl.col("y") >= pl.col("yhat_lower")) & (pl.col("y") <= pl.col("yhat_upper"))).alias(
            "inside"
        ),
    )
    per_series = (
        per_day.group_by("tenant_id", "series")
        .agg(
            pl.col("ape").fill_nan(None).mean().alias("mape"),
            pl.col("sape").mean().alias("smape"),
            pl.col("ae").mean().alias("mae"),
            pl.col("inside").mean().alias("coverage"),
        )
        .join(scale, on=["tenant_id", "series"], how="left")
        .with_columns(
            pl.when(pl.col("scale") > 0).then(pl.col("mae") / pl.col("scale")).alias("mase")
        )
    )

    def mean(column: str) -> float:
        value = per_series[column].drop_nulls().mean()
        return float(value) if isinstance(value, int | float) else float("nan")

    return ForecastScores(
        mape=mean("mape"),
        smape=mean("smape"),
        mase=mean("mase"),
        wape=float(np.abs(f - a).sum() / max(a.sum(), 1e-9)),
        coverage=mean("coverage"),
    )


def evaluate_forecast(
    daily: pl.DataFrame,
    *,
    level: str,
    holdout_days: int = 14,
    interval_width: float = 0.8,
    n_jobs: int = 1,
) -> ForecastEvaluation:
    """Hide the last ``holdout_days``, forecast them with the model and the baseline, score."""
    import time

    train, test = split_holdout(daily, holdout_days)
    # Series born inside the holdout have no history to forecast from.
    train = train.join(
        test.select("tenant_id", "series").unique(), on=["tenant_id", "series"], how="semi"
    )
    started = time.perf_counter()
    model = forecast_series(
        train, horizon_days=holdout_days, interval_width=interval_width, n_jobs=n_jobs
    )
    fit_seconds = time.perf_counter() - started
    baseline = forecast_series(
        train, horizon_days=holdout_days, interval_width=interval_width, method="seasonal_naive"
    )
    methods = model.group_by("tenant_id", "series").agg(pl.col("method").first())
    return ForecastEvaluation(
        level=level,
        series=methods.height,
        prophet_series=int((methods["method"] == "prophet").sum()),
        holdout_days=holdout_days,
        interval_width=interval_width,
        model=score(model, test, train),
        baseline=score(baseline, test, train),
        fit_seconds=fit_seconds,
    )
