"""The churn classifier: gradient-boosted trees on :data:`FEATURES`, then calibrated.

XGBoost (binary logistic) because the features interact (a long gap means little for someone
who buys twice a year, a lot for a weekly buyer) and have missing values (no sessions data on
imported shops) that trees handle natively. Assumptions: the next weeks resemble the last ones
(the model trained on the previous label window applies to the next); customers are independent.

Raw tree scores may be over- or under-confident, so a calibration fold (a stratified quarter of
the training customers, never used for the trees) maps them to probabilities: isotonic
regression, Platt scaling (a logistic curve on the log-odds) or nothing, whichever has the
lowest cross-validated Brier score within the fold. Per-customer explanations are XGBoost's exact
TreeSHAP contributions (log-odds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import xgboost as xgb
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

from ml_assets.churn.features import FEATURES

Array = npt.NDArray[np.float64]

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "max_depth": 3,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
    "tree_method": "hist",
}
ROUNDS = 200
#: Leaves need at least this much hessian weight per this many training customers, between 1
#: and 20: a big shop's trees must not chase a handful of customers, a small shop's must split.
CUSTOMERS_PER_CHILD_WEIGHT = 1000
#: Isotonic is a candidate only with this many of the rarer class in the calibration fold.
MIN_ISOTONIC_MINORITY = 50
CV_FOLDS = 5


@dataclass
class Calibrator:
    """Isotonic steps (``x`` -> ``y``) or a Platt curve (``a * logit + b``) on raw scores."""

    method: str
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    a: float = 1.0
    b: float = 0.0

    def __call__(self, raw: Array) -> Array:
        if self.method == "isotonic":
            return np.asarray(np.interp(raw, self.x, self.y), dtype=np.float64)
        if self.method == "platt":
            logit = np.log(np.clip(raw, 1e-7, 1 - 1e-7) / np.clip(1 - raw, 1e-7, 1))
            return 1.0 / (1.0 + np.exp(-(self.a * logit + self.b)))
        return raw

    @classmethod
    def fit(cls, raw: Array, labels: npt.NDArray[np.int8], seed: int = 0) -> Calibrator:
        """The calibration (none, Platt or isotonic) with the lowest cross-validated Brier
        score on this fold, refitted on all of it: calibrate only where it helps out of sample
        (trees trained with the logistic loss are often nearly calibrated already)."""
        minority = int(min(labels.sum(), labels.size - labels.sum()))
        methods = ["none"]
        if minority >= CV_FOLDS:
            methods.append("platt")
        if minority >= MIN_ISOTONIC_MINORITY:
            methods.append("isotonic")
        if len(methods) == 1:
            return cls("none")
        folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)
        losses = dict.fromkeys(methods, 0.0)
        for fit_idx, test_idx in folds.split(raw.reshape(-1, 1), labels):
            for method in methods:
                calibrator = cls._fit_one(method, raw[fit_idx], labels[fit_idx])
                errors = calibrator(raw[test_idx]) - labels[test_idx]
                losses[method] += float(np.sum(errors**2))
        best = min(methods, key=lambda m: (losses[m], methods.index(m)))
        return cls._fit_one(best, raw, labels)

    @classmethod
    def _fit_one(cls, method: str, raw: Array, labels: npt.NDArray[np.int8]) -> Calibrator:
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
            return cls("isotonic", [float(v) for v in iso.X_thresholds_],
                       [float(v) for v in iso.y_thresholds_])  # fmt: skip
        if method == "platt":
            logit = np.log(np.clip(raw, 1e-7, 1 - 1e-7) / np.clip(1 - raw, 1e-7, 1))
            lr = LogisticRegression(C=1e6).fit(logit.reshape(-1, 1), labels)
            return cls("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
        return cls("none")


@dataclass
class ChurnModel:
    """A trained booster, its calibrator and what it was trained for."""

    booster: xgb.Booster
    calibrator: Calibrator
    horizon_days: int
    features: tuple[str, ...] = FEATURES
    params: dict[str, Any] = field(default_factory=dict)

    def _matrix(self, frame: pl.DataFrame) -> xgb.DMatrix:
        values = frame.select(self.features).to_numpy().astype(np.float64)
        return xgb.DMatrix(values, feature_names=list(self.features), missing=np.nan)

    def raw_scores(self, frame: pl.DataFrame) -> Array:
        """Uncalibrated P(churn) from the trees."""
        return np.asarray(self.booster.predict(self._matrix(frame)), dtype=np.float64)

    def predict(self, frame: pl.DataFrame) -> Array:
        """Calibrated P(no purchase within ``horizon_days``)."""
        return self.calibrator(self.raw_scores(frame))

    def top_features(self, frame: pl.DataFrame, k: int = 3) -> list[str]:
        """Per row, JSON text: the ``k`` largest |SHAP| as [{feature, contribution}] (log-odds).

        A positive contribution pushes toward churn. The bias column is left out.
        """
        contribs = np.asarray(self.booster.predict(self._matrix(frame), pred_contribs=True))
        contribs = contribs[:, :-1]
        order = np.argsort(-np.abs(contribs), axis=1)[:, :k]
        return [
            json.dumps(
                [
                    {"feature": self.features[j], "contribution": round(float(row[j]), 4)}
                    for j in top
                ]
            )
            for row, top in zip(contribs, order, strict=True)
        ]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(directory / "booster.json")
        meta = {
            "calibrator": self.calibrator.__dict__,
            "horizon_days": self.horizon_days,
            "features": list(self.features),
            "params": self.params,
        }
        (directory / "churn.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: Path) -> ChurnModel:
        meta = json.loads((directory / "churn.json").read_text())
        booster = xgb.Booster()
        booster.load_model(directory / "booster.json")
        return cls(
            booster,
            Calibrator(**meta["calibrator"]),
            int(meta["horizon_days"]),
            tuple(meta["features"]),
            meta["params"],
        )


def train_churn(
    labelled: pl.DataFrame,
    *,
    horizon_days: int,
    seed: int = 0,
    nthread: int = 1,
    rounds: int = ROUNDS,
    calibration_share: float = 0.25,
) -> tuple[ChurnModel, pl.DataFrame]:
    """Train on ``labelled`` (features + ``churned``); return the model and its calibration fold.

    The calibration fold (with a ``raw`` score column) lets the caller report calibration.
    """
    labels = labelled["churned"].to_numpy().astype(np.int8)
    if labels.min() == labels.max():
        raise ValueError("churn training needs both churned and retained customers")
    index = np.arange(labelled.height)
    fit_idx, cal_idx = train_test_split(
        index, test_size=calibration_share, random_state=seed, stratify=labels
    )
    values = labelled.select(FEATURES).to_numpy().astype(np.float64)
    min_child_weight = float(np.clip(len(fit_idx) / CUSTOMERS_PER_CHILD_WEIGHT, 1.0, 20.0))
    params = {
        **DEFAULT_PARAMS,
        "min_child_weight": min_child_weight,
        "seed": seed,
        "nthread": nthread,
    }
    train = xgb.DMatrix(values[fit_idx], label=labels[fit_idx], feature_names=list(FEATURES),
                        missing=np.nan)  # fmt: skip
    booster = xgb.train(params, train, num_boost_round=rounds)
    model = ChurnModel(
        booster, Calibrator("none"), horizon_days, FEATURES, {**params, "rounds": rounds}
    )
    fold = labelled[cal_idx.tolist()]
    raw = model.raw_scores(fold)
    model.calibrator = Calibrator.fit(raw, labels[cal_idx], seed=seed)
    return model, fold.with_columns(pl.Series("raw", raw))
