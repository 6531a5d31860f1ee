"""BG/NBD and Gamma-Gamma written from the papers: checked against their own definitions.

The likelihood must equal the model's probability integrated numerically over the Gamma and
Beta mixing distributions; the conditional expectation, averaged over customers simulated from
the model, must equal the unconditional one (law of total expectation); and maximum likelihood
must recover the parameters that generated a large simulated population.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
from scipy import integrate, special, stats

from ml_assets.clv import bgnbd, gamma_gamma
from ml_assets.clv.summary import rfm_summary

TRUE = bgnbd.BgNbdParams(r=0.5, alpha=4.0, a=0.8, b=2.5)


def simulate_bgnbd(
    params: bgnbd.BgNbdParams, age: float, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, t_x for ``n`` customers observed for ``age`` weeks after their first purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        gap = rng.exponential(1 / np.maximum(lam, 1e-12))
        nxt = now + gap
        buys = alive & (nxt <= age)
        x[buys] += 1
        t_x[buys] = nxt[buys]
        now = np.where(buys, nxt, now)
        dies = buys & (rng.random(n) < p)
        alive = buys & ~dies
    return x, t_x, np.full(n, age)


def test_likelihood_equals_the_integral_over_the_mixing_distributions() -> None:
    """The rate integral is the Gamma's closed form; the drop-out one is done numerically."""
    params = bgnbd.BgNbdParams(0.243, 4.41, 0.793, 2.43)
    r, alpha = params.r, params.alpha

    def rate_moment(x: float, t: float) -> float:
        """E[lambda^x exp(-lambda t)] for lambda ~ Gamma(r, alpha)."""
        return float(
            np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha))
            / (alpha + t) ** (r + x)
        )

    for x, t_x, age in ((0.0, 0.0, 30.0), (3.0, 20.0, 35.0), (10.0, 38.0, 39.0)):

        def given_p(p: float, x: float = x, t_x: float = t_x, age: float = age) -> float:
            alive = (1 - p) ** x * rate_moment(x, age)
            dead = p * (1 - p) ** (x - 1) * rate_moment(x, t_x) if x > 0 else 0.0
            return float((alive + dead) * stats.beta.pdf(p, params.a, params.b))

        numeric, _ = integrate.quad(given_p, 0, 1, epsabs=0, epsrel=1e-10, limit=200)
        ours = bgnbd.log_likelihood(params, np.array([x]), np.array([t_x]), np.array([age]))[0]
        assert abs(ours - np.log(numeric)) < 1e-6, (x, t_x, age)


def test_fit_recovers_the_parameters_of_a_simulated_population() -> None:
    x, t_x, age = simulate_bgnbd(TRUE, 40.0, 20_000, seed=1)
    fitted = bgnbd.fit(x, t_x, age)
    for name, true in TRUE.as_dict().items():
        assert abs(fitted.as_dict()[name] / true - 1) < 0.15, (name, fitted)


def test_conditional_expectations_average_to_the_unconditional_one() -> None:
    age, horizon = 30.0, 39.0
    x, t_x, ages = simulate_bgnbd(TRUE, age, 40_000, seed=2)
    conditional = bgnbd.expected_purchases(TRUE, horizon, x, t_x, ages).mean()
    unconditional = bgnbd.expected_purchases_new_customer(
        TRUE, age + horizon
    ) - bgnbd.expected_purchases_new_customer(TRUE, age)
    assert abs(conditional / unconditional - 1) < 0.03
    # A customer who has just arrived is the population's average.
    new = bgnbd.expected_purchases(TRUE, horizon, np.zeros(1), np.zeros(1), np.zeros(1))[0]
    assert abs(new - bgnbd.expected_purchases_new_customer(TRUE, horizon)) < 1e-9


def test_a_long_silence_after_frequent_buying_means_probably_dead() -> None:
    x = np.array([10.0, 10.0, 0.0])
    t_x = np.array([38.0, 5.0, 0.0])
    alive = bgnbd.probability_alive(TRUE, x, t_x, np.full(3, 39.0))
    assert alive[0] > 0.9 > 0.1 > alive[1]
    assert alive[2] == 1.0


def test_gamma_gamma_recovers_its_parameters_and_shrinks_toward_the_mean() -> None:
    rng = np.random.default_rng(3)
    p, q, g = 6.0, 4.0, 15.0
    n = 20_000
    nu = rng.gamma(q, 1 / g, n)
    x = rng.integers(1, 8, n).astype(float)
    m = np.array([rng.gamma(p, 1 / v, int(k)).mean() for v, k in zip(nu, x, strict=True)])
    fitted = gamma_gamma.fit(x, m)
    assert abs(fitted.p / p - 1) < 0.1 and abs(fitted.q / q - 1) < 0.1
    assert abs(fitted.gamma / g - 1) < 0.15
    spend = gamma_gamma.expected_spend(fitted, np.array([1.0, 50.0, 0.0]), np.array([100.0] * 3))
    population = fitted.population_mean
    assert population < spend[0] < spend[1] < 100.0  # one purchase: pulled toward the mean
    assert abs(spend[2] - population) < 1e-9


def test_rfm_summary_counts_purchase_days_in_weeks() -> None:
    orders = pl.DataFrame(
        {
            "tenant_id": ["t"] * 5 + ["u"],
            "order_id": ["1", "2", "3", "4", "5", "6"],
            "user_id": ["a", "a", "a", "a", "b", "a"],
            "ordered_at": [
                datetime(2025, 1, 1, 9),
                datetime(2025, 1, 1, 18),  # same day: one transaction of 30
                datetime(2025, 1, 15, 10),
                datetime(2025, 3, 1),  # at the end: not seen
                datetime(2025, 2, 1),
                datetime(2025, 1, 8),  # another tenant's customer a
            ],
            "net_revenue": [10.0, 20.0, 50.0, 999.0, 5.0, 7.0],
        }
    )
    summary = rfm_summary(orders, datetime(2025, 3, 1)).filter(pl.col("tenant_id") == "t")
    a = summary.filter(pl.col("user_id") == "a").row(0, named=True)
    assert (a["x"], a["t_x"], a["T"], a["monetary"]) == (1.0, 2.0, 59 / 7, 50.0)
    b = summary.filter(pl.col("user_id") == "b").row(0, named=True)
    assert (b["x"], b["t_x"], b["monetary"]) == (0.0, 0.0, 0.0)
