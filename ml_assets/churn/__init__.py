"""Churn: will a customer go without a purchase for the next N days? (XGBoost, calibrated.)

:mod:`features` builds leakage-free features and labels at a cut-off, :mod:`model` trains,
calibrates and explains, :mod:`evaluate` runs the time-based holdout against recency-only and
RFM baselines, :mod:`publish` makes the ``customer_scores`` frame (with lifetime value).
"""

from ml_assets.churn.evaluate import ChurnEvaluation, evaluate_churn
from ml_assets.churn.features import FEATURES, churn_features, churn_labels
from ml_assets.churn.model import ChurnModel, train_churn
from ml_assets.churn.publish import (
    SCORES_SCHEMA,
    CustomerModels,
    customer_scores,
    train_customer_models,
)

__all__ = [
    "FEATURES",
    "SCORES_SCHEMA",
    "ChurnEvaluation",
    "ChurnModel",
    "CustomerModels",
    "churn_features",
    "churn_labels",
    "customer_scores",
    "evaluate_churn",
    "train_churn",
    "train_customer_models",
]
