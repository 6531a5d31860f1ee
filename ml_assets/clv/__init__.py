"""Customer lifetime value: BG/NBD (purchases) x Gamma-Gamma (spend), written with scipy.

See :mod:`ml_assets.clv.bgnbd` and :mod:`ml_assets.clv.gamma_gamma` for the models and their
assumptions, :mod:`ml_assets.clv.evaluate` for the calibration/holdout check on CDNOW.
"""

from ml_assets.clv.bgnbd import BgNbdParams
from ml_assets.clv.evaluate import ClvEvaluation, evaluate_clv
from ml_assets.clv.gamma_gamma import GammaGammaParams
from ml_assets.clv.model import ClvModel, fit_clv, fit_tenant, predict_clv
from ml_assets.clv.summary import holdout_actuals, rfm_summary

__all__ = [
    "BgNbdParams",
    "ClvEvaluation",
    "ClvModel",
    "GammaGammaParams",
    "evaluate_clv",
    "fit_clv",
    "fit_tenant",
    "holdout_actuals",
    "predict_clv",
    "rfm_summary",
]
