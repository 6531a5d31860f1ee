"""BG/NBD: how many purchases a customer will make, and whether they are still "alive".

Fader, Hardie & Lee (2005), "Counting your customers the easy way". Assumptions:

- while alive, a customer buys as a Poisson process with rate lambda (no seasonality, no trend);
- lambda varies across customers as Gamma(r, alpha);
- after each purchase the customer drops out ("dies") with probability p, for good;
- p varies across customers as Beta(a, b); lambda and p are independent.

Input per customer, in one time unit (weeks here, as in the paper): ``x`` repeat purchases (days
with a purchase, minus the first), ``t_x`` the time of the last purchase and ``age`` (T in the
papers) the time to the end of the calibration period, both measured from the first purchase.
Parameters are fitted by maximum likelihood (equation 6 of the paper), on log scale so they stay
positive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BgNbdParams:
    """Gamma(r, alpha) purchase rates and Beta(a, b) drop-out probabilities."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def log_likelihood(params: BgNbdParams, x: Array, t_x: Array, age: Array) -> Array:
    """Per-customer log-likelihood (Fader, Hardie & Lee 2005, eq. 6; the note's stable form)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + age)
    repeat = x > 0
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)


def fit(
    x: Array,
    t_x: Array,
    age: Array,
    *,
    initial: BgNbdParams | None = None,
    penalizer: float = 0.0,
) -> BgNbdParams:
    """Maximum-likelihood parameters. Identical (x, t_x, age) rows are weighted, not repeated.

    ``penalizer`` adds an L2 penalty on the parameters (0: plain maximum likelihood), useful for
    tiny shops where the likelihood is flat.
    """
    x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (x, t_x, age))
    if x.size == 0:
        raise ValueError("BG/NBD needs at least one customer")
    if np.any(t_x > age + 1e-9) or np.any(x < 0):
        raise ValueError("each customer needs 0 <= t_x <= age and x >= 0")
    stacked = np.stack([x, t_x, age], axis=1)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    ux, ut, uage = unique[:, 0], unique[:, 1], unique[:, 2]
    weights = counts.astype(np.float64)
    total = weights.sum()

    def objective(theta: Array) -> float:
        params = BgNbdParams(*np.exp(theta))
        ll = float(np.sum(weights * log_likelihood(params, ux, ut, uage)))
        return float(-ll / total + penalizer * float(np.sum(np.exp(theta) ** 2)))

    start = initial or BgNbdParams(r=1.0, alpha=max(float(np.mean(age)), 1.0), a=1.0, b=1.0)
    theta0 = np.log(np.asarray([start.r, start.alpha, start.a, start.b]))
    options = {"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10}
    result = optimize.minimize(objective, theta0, method="Nelder-Mead", options=options)
    refined = optimize.minimize(objective, result.x, method="L-BFGS-B")
    best = refined.x if refined.fun <= result.fun else result.x
    return BgNbdParams(*(float(v) for v in np.exp(best)))


def expected_purchases(
    params: BgNbdParams,
    t: float,
    x: Array,
    t_x: Array,
    age: Array,
) -> Array:
    """E[purchases in (age, age + t] | x, t_x, age] (Fader, Hardie & Lee 2005, eq. 10).

    ``t`` is in the same unit as ``age`` (weeks here).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (x, t_x, age))
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
    numerator = (
        (a + b + x - 1) / (a - 1) * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyp)
    )
    return np.asarray(numerator / _alive_odds_denominator(params, x, t_x, age), dtype=np.float64)


def probability_alive(params: BgNbdParams, x: Array, t_x: Array, age: Array) -> Array:
    """P(still alive at ``age`` | x, t_x, age); 1 for anyone who never repeated."""
    x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (x, t_x, age))
    return 1.0 / _alive_odds_denominator(params, x, t_x, age)


def _alive_odds_denominator(params: BgNbdParams, x: Array, t_x: Array, age: Array) -> Array:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    safe = np.where(x > 0, b + x - 1, 1.0)
    odds = a / safe * ((alpha + age) / (alpha + t_x)) ** (r + x)
    return 1.0 + np.where(x > 0, odds, 0.0)


def expected_purchases_new_customer(params: BgNbdParams, t: float) -> float:
    """E[X(t)] for a customer just acquired (eq. 9): the population's expected repeat purchases."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp))
