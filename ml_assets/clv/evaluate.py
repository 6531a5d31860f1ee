"""Calibration/holdout evaluation of the lifetime-value model against a naive baseline.

Fit on purchases before ``calibration_end``; predict each of those customers' purchases and
revenue in the holdout ``[calibration_end, calibration_end + holdout_days)``; compare with what
they did. The naive baseline says each customer keeps their calibration-period rate: repeat
purchase days / age, times the holdout length, times their mean spend so far. The classic CDNOW
split is calibration 1997-01-01..1997-09-30, holdout to 1998-06-30 (39 weeks each).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from ml_assets.clv.model import UNIT_DAYS, ClvModel, fit_tenant, predict_clv
from ml_assets.clv.summary import holdout_actuals, rfm_summary

CDNOW_CALIBRATION_END = datetime(1997, 10, 1)
CDNOW_HOLDOUT_DAYS = 273  # 1997-10-01 .. 1998-06-30, 39 weeks


@dataclass(frozen=True)
class ClvEvaluation:
    """Holdout totals and per-customer errors of the model and of the naive baseline."""

    customers: int
    actual_purchases: float
    predicted_purchases: float
    naive_purchases: float
    actual_revenue: float
    predicted_revenue: float
    naive_revenue: float
    purchases_mae: float
    naive_purchases_mae: float
    revenue_mae: float
    naive_revenue_mae: float
    #: Correlation of repeat frequency and mean spend (Gamma-Gamma assumes about 0).
    frequency_spend_correlation: float
    params: dict[str, float]
    fit_seconds: float

    @property
    def purchases_error(self) -> float:
        """Aggregate relative error of predicted holdout purchases (signed)."""
        return self.predicted_purchases / self.actual_purchases - 1

    @property
    def revenue_error(self) -> float:
        return self.predicted_revenue / self.actual_revenue - 1

    @property
    def naive_purchases_error(self) -> float:
        return self.naive_purchases / self.actual_purchases - 1

    @property
    def naive_revenue_error(self) -> float:
        return self.naive_revenue / self.actual_revenue - 1

    def metrics(self) -> dict[str, float]:
        """Flat numbers for the registry and the benchmark (errors as signed fractions)."""
        flat = {k: v for k, v in asdict(self).items() if isinstance(v, float | int)}
        flat.update(
            purchases_error=self.purchases_error,
            revenue_error=self.revenue_error,
            naive_purchases_error=self.naive_purchases_error,
            naive_revenue_error=self.naive_revenue_error,
        )
        return {k: float(v) for k, v in flat.items()}


def evaluate_clv(
    orders: pl.DataFrame,
    *,
    calibration_end: datetime = CDNOW_CALIBRATION_END,
    holdout_days: int = CDNOW_HOLDOUT_DAYS,
    tenant_id: str | None = None,
    model: ClvModel | None = None,
) -> ClvEvaluation:
    """Fit on one tenant's calibration period and score its holdout (no holdout data is used).

    With ``model`` (e.g. the registry's active version) nothing is fitted: that model is scored
    on this holdout, so a new candidate and the champion are compared on the same customers.
    """
    import time

    summary = rfm_summary(orders, calibration_end, unit_days=UNIT_DAYS)
    tenant = tenant_id or str(summary["tenant_id"][0])
    summary = summary.filter(pl.col("tenant_id") == tenant)
    started = time.perf_counter()
    if model is None:
        model = fit_tenant(summary, tenant, calibration_end)
    fit_seconds = time.perf_counter() - started
    predicted = predict_clv(model, summary, holdout_days)
    actual = holdout_actuals(
        orders.filter(pl.col("tenant_id") == tenant), calibration_end, timedelta(days=holdout_days)
    )
    joined = predicted.join(actual, on=["tenant_id", "user_id"], how="left").with_columns(
        pl.col("purchases").fill_null(0.0), pl.col("revenue").fill_null(0.0)
    )
    rate = joined["x"].to_numpy() / np.maximum(joined["T"].to_numpy(), 1e-9)
    naive_purchases = rate * holdout_days / UNIT_DAYS
    naive_revenue = naive_purchases * joined["mean_revenue"].to_numpy()
    purchases = joined["purchases"].to_numpy()
    revenue = joined["revenue"].to_numpy()
    predicted_purchases = joined["expected_purchases"].to_numpy()
    predicted_revenue = joined["expected_revenue"].to_numpy()
    repeaters = joined.filter(pl.col("x") > 0)
    return ClvEvaluation(
        customers=joined.height,
        actual_purchases=float(purchases.sum()),
        predicted_purchases=float(predicted_purchases.sum()),
        naive_purchases=float(naive_purchases.sum()),
        actual_revenue=float(revenue.sum()),
        predicted_revenue=float(predicted_revenue.sum()),
        naive_revenue=float(naive_revenue.sum()),
        purchases_mae=float(np.mean(np.abs(predicted_purchases - purchases))),
        naive_purchases_mae=float(np.mean(np.abs(naive_purchases - purchases))),
        revenue_mae=float(np.mean(np.abs(predicted_revenue - revenue))),
        naive_revenue_mae=float(np.mean(np.abs(naive_revenue - revenue))),
        frequency_spend_correlation=float(
            np.corrcoef(repeaters["x"].to_numpy(), repeaters["monetary"].to_numpy())[0, 1]
        ),
        params={**model.purchases.as_dict(), **model.spend.as_dict()},
        fit_seconds=fit_seconds,
    )
