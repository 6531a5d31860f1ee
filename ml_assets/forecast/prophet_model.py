"""Prophet per series: trend + weekly seasonality (+ yearly with two years of history).

Prophet (Taylor & Letham 2018) fits y = trend + seasonality + noise, with a piecewise-linear
trend whose changepoints are regularised. Assumptions: demand is additive in trend and
seasonality, the noise is roughly Gaussian (so for a series selling 0-2 units a day the
intervals are only approximate; they are clipped at 0), and the future continues the recent
trend. Intervals come from Prophet's simulation of trend changes and noise (``UNCERTAINTY_SAMPLES``
draws, fewer than the default 1000: five times faster, interval ends move by a few percent).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_assets.forecast.series import future_dates

Array = npt.NDArray[np.float64]
UNCERTAINTY_SAMPLES = 200


def quiet_stan() -> None:
    """Silence cmdstanpy's per-fit INFO lines (two per series) and Prophet's chatter (its
    plotting module's missing-plotly error included: Prophet's plots are not used here)."""
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.ERROR)
        logger.propagate = False
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.addHandler(logging.NullHandler())


def prophet_forecast(
    history: Array,
    last: date,
    horizon_days: int,
    interval_width: float = 0.8,
    seed: int = 0,
) -> tuple[list[date], Array, Array, Array]:
    """Dates, yhat, lower, upper (all >= 0) for the ``horizon_days`` after ``last``."""
    # Before the import: prophet.plot logs "Importing plotly failed" as it loads (this project
    # draws no Prophet plots, and plotly is not installed).
    quiet_stan()
    from prophet import Prophet

    y = np.asarray(history, dtype=np.float64)
    ds = pd.date_range(end=pd.Timestamp(last), periods=y.size, freq="D")
    model: Any = Prophet(
        growth="linear",
        weekly_seasonality=True,
        yearly_seasonality=y.size >= 730,
        daily_seasonality=False,
        interval_width=interval_width,
        uncertainty_samples=UNCERTAINTY_SAMPLES,
    )
    np.random.seed(seed)  # Prophet draws its intervals from numpy's global generator
    model.fit(pd.DataFrame({"ds": ds, "y": y}))
    dates = future_dates(last, horizon_days)
    frame = model.predict(pd.DataFrame({"ds": pd.to_datetime(dates)}))
    yhat = np.maximum(frame["yhat"].to_numpy(dtype=np.float64), 0.0)
    lower = np.maximum(frame["yhat_lower"].to_numpy(dtype=np.float64), 0.0)
    upper = np.maximum(frame["yhat_upper"].to_numpy(dtype=np.float64), yhat)
    return dates, yhat, lower, upper
