"""Gamma-Gamma: how much a customer spends per purchase.

Fader & Hardie (2013), "The Gamma-Gamma model of monetary value". Assumptions:

- a customer's transaction values vary around their own mean, Gamma(p, nu) with nu per customer;
- nu varies across customers as Gamma(q, gamma);
- spend per transaction is independent of how often the customer buys (check: the correlation
  of frequency and mean spend should be near 0; the evaluation reports it).

Fitted on customers with at least one repeat purchase, from ``x`` (repeat transactions) and
``m`` (their mean value). The conditional expectation shrinks a customer's own mean toward the
population's, the more so the fewer purchases they made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma(p, nu) spend per transaction, nu ~ Gamma(q, gamma) across customers."""

    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @property
    def population_mean(self) -> float:
        """E[M] of a customer we know nothing about: p * gamma / (q - 1) (needs q > 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("nan")


def log_likelihood(params: GammaGammaParams, x: Array, m: Array) -> Array:
    """Per-customer log-likelihood of mean spend ``m`` over ``x`` transactions (x >= 1)."""
    p, q, g = params.p, params.q, params.gamma
    return np.asarray(
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + (p * x) * np.log(x)
        - (p * x + q) * np.log(g + m * x),
        dtype=np.float64,
    )


def fit(x: Array, m: Array, *, penalizer: float = 0.0) -> GammaGammaParams:
    """Maximum-likelihood parameters from customers with x >= 1 and m > 0 (others ignored)."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    keep = (x >= 1) & (m > 0)
    x, m = x[keep], m[keep]
    if x.size < 2:
        raise ValueError("Gamma-Gamma needs at least two repeat customers with positive spend")

    def objective(theta: Array) -> float:
        params = GammaGammaParams(*np.exp(theta))
        return -float(np.mean(log_likelihood(params, x, m))) + penalizer * float(
            np.sum(np.exp(theta) ** 2)
        )

    theta0 = np.log(np.asarray([1.0, 2.0, max(float(np.mean(m)), 1.0)]))
    options = {"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10}
    result = optimize.minimize(objective, theta0, method="Nelder-Mead", options=options)
    refined = optimize.minimize(objective, result.x, method="L-BFGS-B")
    best = refined.x if refined.fun <= result.fun else result.x
    return GammaGammaParams(*(float(v) for v in np.exp(best)))


def expected_spend(params: GammaGammaParams, x: Array, m: Array) -> Array:
    """E[M | x, m]: p (gamma + x m) / (p x + q - 1); the population mean when x = 0."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    m = np.where(x > 0, m, 0.0)
    return np.asarray(p * (g + x * m) / (p * x + q - 1), dtype=np.float64)
