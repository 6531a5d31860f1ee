"""Demand forecast: daily series, the seasonal-naive baseline, the fallback rule, and Prophet
beating the baseline on a holdout of series with a weekly pattern, a trend and Poisson noise.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ml_assets.forecast import (
    DEMAND_SCHEMA,
    choose_method,
    daily_units,
    demand_forecast,
    evaluate_forecast,
)
from ml_assets.forecast.naive import seasonal_naive

START = datetime(2025, 1, 6)  # a Monday
WEEKLY = np.array([0.8, 0.8, 0.9, 0.9, 1.0, 1.5, 1.6])


def sales(tenant: str, product: str, units: list[float], start: datetime = START) -> list[dict]:
    return [
        {
            "tenant_id": tenant,
            "actor_id": f"u{k}",
            "user_id": f"u{k}",
            "product_id": product,
            "category": "cat",
            "event": "Order Completed",
            "quantity": float(q),
            "occurred_at": start + timedelta(days=k, hours=12),
        }
        for k, q in enumerate(units)
        if q > 0
    ]


def synthetic(days: int, level: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    mean = level * WEEKLY[t % 7] * (1 + 0.004 * t)
    return rng.poisson(mean).astype(float).tolist()


def test_daily_units_are_zero_filled_from_the_first_sale() -> None:
    rows = sales("t", "p1", [0, 2, 0, 3]) + sales("u", "p1", [5])
    rows.append({**rows[0], "event": "Product Viewed", "quantity": 9.0})  # not a sale
    frame = pl.DataFrame(rows)
    daily = daily_units(frame, end=START + timedelta(days=5))
    t = daily.filter(pl.col("tenant_id") == "t")
    assert t["ds"].to_list() == [date(2025, 1, 7) + timedelta(days=k) for k in range(4)]
    assert t["y"].to_list() == [2.0, 0.0, 3.0, 0.0]
    assert daily.filter(pl.col("tenant_id") == "u")["y"].sum() == 5.0


def test_seasonal_naive_repeats_last_week() -> None:
    history = np.arange(14, dtype=float)  # last week: 7..13
    dates, yhat, lower, upper = seasonal_naive(history, date(2025, 1, 14), 10)
    assert dates[0] == date(2025, 1, 15) and len(dates) == 10
    assert yhat.tolist() == [7, 8, 9, 10, 11, 12, 13, 7, 8, 9]
    # Every weekly difference was exactly 7: the interval is the forecast shifted by 7.
    assert np.allclose(lower, yhat + 7) and np.allclose(upper, yhat + 7)


def test_fallback_rule() -> None:
    assert choose_method(np.ones(56)) == "prophet"
    assert choose_method(np.ones(55)) == "seasonal_naive"  # too short
    sparse = np.zeros(90)
    sparse[::7] = 1  # 13 sale days
    assert choose_method(sparse) == "seasonal_naive"


@pytest.mark.timeout(120)
def test_prophet_beats_seasonal_naive_on_the_holdout() -> None:
    rows: list[dict] = []
    for k, level in enumerate((6.0, 12.0, 25.0)):
        rows += sales("t", f"p{k}", synthetic(112, level, seed=k))
    rows += sales("t", "new", synthetic(30, 10.0, seed=9), start=START + timedelta(days=82))
    daily = daily_units(pl.DataFrame(rows), end=START + timedelta(days=112))
    e = evaluate_forecast(daily, level="product", holdout_days=14)
    assert e.series == 4 and e.prophet_series == 3  # the 30-day series falls back
    assert e.model.smape < e.baseline.smape
    assert e.model.mase < e.baseline.mase
    assert e.model.wape < e.baseline.wape
    assert 0.5 <= e.model.coverage <= 1.0


def test_demand_forecast_frame() -> None:
    rows = sales("t", "p1", synthetic(20, 5.0, seed=1)) + sales("u", "p2", [1, 0, 2])
    as_of = START + timedelta(days=21)
    out = demand_forecast(pl.DataFrame(rows), as_of=as_of, horizon_days=7)
    assert dict(out.schema) == DEMAND_SCHEMA
    assert out.group_by("tenant_id", "product_id").len().sort("tenant_id")["len"].to_list() == [
        7,
        7,
    ]
    assert out["forecast_date"].min() == as_of.date()
    assert (out["yhat_lower"] <= out["yhat"]).all() and (out["yhat"] <= out["yhat_upper"]).all()
    assert (out["yhat_lower"] >= 0).all()


def test_a_prophet_forecast_prints_nothing() -> None:
    """Prophet's plotting module logs an error when plotly is missing (it is not a dependency)
    and cmdstanpy logs two lines a fit: none of it may reach a user's terminal (``make demo``).
    A fresh interpreter, since Prophet logs as it is first imported."""
    program = (
        "from datetime import date; import numpy as np;"
        " from ml_assets.forecast.prophet_model import prophet_forecast;"
        " prophet_forecast(np.arange(60, dtype=float) % 7 + 3, date(2026, 11, 1), 7)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout == "" and done.stderr == "", done.stdout + done.stderr
