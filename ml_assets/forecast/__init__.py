"""Demand forecast: Prophet per product and per category, seasonal naive as fallback/baseline.

:mod:`series` builds daily unit series, :mod:`model` picks the model per series (the rule is
there), :mod:`evaluate` scores a holdout against the seasonal-naive baseline, :mod:`publish`
makes the ``demand_forecast`` frame.
"""

from ml_assets.forecast.evaluate import ForecastEvaluation, evaluate_forecast
from ml_assets.forecast.model import choose_method, forecast_series
from ml_assets.forecast.publish import DEMAND_SCHEMA, category_forecast, demand_forecast
from ml_assets.forecast.series import daily_units

__all__ = [
    "DEMAND_SCHEMA",
    "ForecastEvaluation",
    "category_forecast",
    "choose_method",
    "daily_units",
    "demand_forecast",
    "evaluate_forecast",
    "forecast_series",
]
