"""Time-based evaluation of the churn model against recency-only and RFM baselines.

With data up to ``end`` and a label horizon N: the model trains on features at
``T1 = end - 2N`` with labels from ``[T1, T1 + N)``, and is tested on features at
``T2 = end - N`` with labels from ``[T2, end)``: test labels lie entirely after the training
labels, and every feature is computed from rows before its own cut-off. Baselines, in the same
run and on the same test customers: recency alone (the AUC of recency_days as a score; recency
is often most of the signal) and a logistic regression on log recency, frequency and monetary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml_assets.churn.features import churn_features, churn_labels
from ml_assets.churn.model import ChurnModel, train_churn
from ml_assets.features.frames import as_naive

Array = npt.NDArray[np.float64]
DEFAULT_HORIZON_DAYS = 60


@dataclass(frozen=True)
class ChurnEvaluation:
    """Holdout quality of the model and of its baselines (same customers, same labels)."""

    train_cutoff: datetime
    test_cutoff: datetime
    horizon_days: int
    train_customers: int
    test_customers: int
    test_churn_rate: float
    auc: float
    auc_recency: float
    auc_rfm_logistic: float
    brier_raw: float
    brier_calibrated: float
    brier_base_rate: float
    calibration_method: str
    #: Ten bins of calibrated probability: (bin low, bin high, n, mean predicted raw,
    #: mean predicted calibrated, observed churn rate).
    reliability: list[tuple[float, float, int, float, float, float]]
    top_importance: list[tuple[str, float]]

    def metrics(self) -> dict[str, float]:
        return {
            k: float(v)
            for k, v in asdict(self).items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }


def labelled_at(
    orders: pl.DataFrame,
    cutoff: datetime,
    horizon_days: int,
    interactions: pl.DataFrame | None,
    sessions: pl.DataFrame | None,
) -> pl.DataFrame:
    features = churn_features(
        orders, cutoff, interactions=interactions, sessions=sessions, horizon_days=horizon_days
    )
    labels = churn_labels(orders, cutoff, horizon_days)
    return features.join(labels, on=["tenant_id", "user_id"], how="inner")


def reliability_table(
    raw: Array, calibrated: Array, labels: Array, bins: int = 10
) -> list[tuple[float, float, int, float, float, float]]:
    """Equal-width bins of the calibrated probability: predicted vs observed churn."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(calibrated, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            table.append(
                (float(edges[b]), float(edges[b + 1]), int(mask.sum()), float(raw[mask].mean()),
                 float(calibrated[mask].mean()), float(labels[mask].mean()))
            )  # fmt: skip
    return table


def evaluate_churn(
    orders: pl.DataFrame,
    *,
    end: datetime | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    interactions: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
    seed: int = 0,
    nthread: int = 1,
) -> tuple[ChurnEvaluation, ChurnModel]:
    """Train at ``end - 2N``, test at ``end - N`` (one tenant's frames); see the module doc."""
    last = end or orders["ordered_at"].max()
    assert isinstance(last, datetime)
    test_cutoff = as_naive(last) - timedelta(days=horizon_days)
    train_cutoff = test_cutoff - timedelta(days=horizon_days)
    train = labelled_at(orders, train_cutoff, horizon_days, interactions, sessions)
    test = labelled_at(orders, test_cutoff, horizon_days, interactions, sessions)
    model, _ = train_churn(train, horizon_days=horizon_days, seed=seed, nthread=nthread)
    labels = test["churned"].to_numpy().astype(np.float64)
    raw = model.raw_scores(test)
    calibrated = model.calibrator(raw)
    rfm = ["recency_days", "frequency", "monetary"]

    def rfm_matrix(frame: pl.DataFrame) -> Array:
        values = frame.select(rfm).fill_null(0).to_numpy().astype(np.float64)
        return np.asarray(np.log1p(np.clip(values, 0, None)), dtype=np.float64)

    baseline = LogisticRegression(max_iter=1000).fit(rfm_matrix(train), train["churned"].to_numpy())
    base_rate = float(train["churned"].mean())  # type: ignore[arg-type]
    gain = {
        name: float(value)  # type: ignore[arg-type]
        for name, value in model.booster.get_score(importance_type="total_gain").items()
    }
    total = sum(gain.values()) or 1.0
    evaluation = ChurnEvaluation(
        train_cutoff=train_cutoff,
        test_cutoff=test_cutoff,
        horizon_days=horizon_days,
        train_customers=train.height,
        test_customers=test.height,
        test_churn_rate=float(labels.mean()),
        auc=float(roc_auc_score(labels, raw)),
        auc_recency=float(roc_auc_score(labels, test["recency_days"].to_numpy())),
        auc_rfm_logistic=float(
            roc_auc_score(labels, baseline.predict_proba(rfm_matrix(test))[:, 1])
        ),
        brier_raw=float(brier_score_loss(labels, raw)),
        brier_calibrated=float(brier_score_loss(labels, calibrated)),
        brier_base_rate=float(brier_score_loss(labels, np.full_like(labels, base_rate))),
        calibration_method=model.calibrator.method,
        reliability=reliability_table(raw, calibrated, labels),
        top_importance=sorted(((k, v / total) for k, v in gain.items()), key=lambda kv: -kv[1])[:8],
    )
    return evaluation, model


def holdout_auc(
    model: ChurnModel,
    orders: pl.DataFrame,
    *,
    end: datetime,
    interactions: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
) -> float:
    """AUC of an already trained model (the registry's active one) on the holdout at
    ``end - horizon``: the same customers and labels a new candidate is tested on."""
    cutoff = as_naive(end) - timedelta(days=model.horizon_days)
    test = labelled_at(orders, cutoff, model.horizon_days, interactions, sessions)
    labels = test["churned"].to_numpy()
    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, model.raw_scores(test)))
