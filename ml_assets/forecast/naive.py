"""Seasonal-naive forecast: the same weekday last week. The baseline and the fallback.

Assumes demand repeats weekly and nothing else. Its intervals come from its own past errors: the
empirical quantiles of y[t] - y[t-7] over the last ``INTERVAL_WEEKS`` weeks of history.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

from ml_assets.forecast.series import future_dates

Array = npt.NDArray[np.float64]
SEASON = 7
INTERVAL_WEEKS = 8


def seasonal_naive(
    history: Array, last: date, horizon_days: int, interval_width: float = 0.8
) -> tuple[list[date], Array, Array, Array]:
    """Dates, yhat, lower and upper for ``horizon_days`` after ``last`` (history ends at last)."""
    y = np.asarray(history, dtype=np.float64)
    if y.size == 0:
        zeros = np.zeros(horizon_days)
        return future_dates(last, horizon_days), zeros, zeros, zeros
    season = y[-SEASON:] if y.size >= SEASON else np.full(SEASON, y.mean())
    yhat = np.asarray([season[k % SEASON] for k in range(horizon_days)], dtype=np.float64)
    residuals = (
        (y[SEASON:] - y[:-SEASON])[-INTERVAL_WEEKS * SEASON :] if y.size > SEASON else y - y.mean()
    )
    tail = (1 - interval_width) / 2
    low, high = np.quantile(residuals, [tail, 1 - tail]) if residuals.size else (0.0, 0.0)
    lower = np.maximum(yhat + low, 0.0)
    upper = np.maximum(yhat + high, lower)
    return future_dates(last, horizon_days), yhat, lower, upper
