"""Churn on the real CDNOW log: purchases only, so recency and frequency carry the signal.

Trained at 1998-03-03 (labels to 1998-05-02), tested at 1998-05-02 (labels to 1998-07-01),
60-day horizon. Measured: AUC 0.847 against recency alone 0.838 and a logistic regression on
recency, frequency and monetary 0.845: the model adds to recency, barely, on this data.
"""

from __future__ import annotations

from datetime import datetime

from intellishop.datasets import DatasetUnavailableError
from ml_assets.churn import evaluate_churn
from ml_assets.features.cdnow import load_cdnow_orders
from tests.conftest import _unreachable


def test_cdnow_churn_beats_recency_on_a_later_holdout() -> None:
    try:
        orders = load_cdnow_orders()
    except DatasetUnavailableError as error:
        _unreachable("The CDNOW dataset", error)
        raise
    e, _ = evaluate_churn(orders, end=datetime(1998, 7, 1), horizon_days=60)
    assert e.test_customers == e.train_customers == 23_570  # the cohort of Q1 1997
    assert e.auc > 0.75
    assert e.auc > e.auc_recency + 0.005
    assert e.brier_calibrated < e.brier_base_rate
    assert e.auc < 0.95  # real data: far from the simulator's near-perfect separation
