"""Fixed-horizon and Bayesian statistics for comparing a treatment with its control.

Every function works on sufficient statistics (counts, means, variances) and broadcasts over
numpy arrays, so the simulation tests run thousands of experiments through the very code that
judges a real one. Arm ``a`` is the control and ``b`` the treatment; differences are ``b - a``.

These tests assume one look at a horizon fixed in advance. Looking every day and stopping at
the first small p-value inflates the false-positive rate (tests/experiments prove it); decisions
are therefore taken by :mod:`intellishop.experiments.sequential`, and these numbers are shown
alongside as the familiar description of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

Array = npt.NDArray[np.float64]
#: Scalars or arrays: everything here broadcasts.
Num = float | int | npt.ArrayLike

#: A sample-ratio mismatch is flagged below this p-value (the industry's usual, strict threshold:
#: with daily checks over weeks a looser one raises false alarms).
SRM_P_THRESHOLD = 0.001


def _arr(value: Num) -> Array:
    return np.asarray(value, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A two-sided test of ``b - a``: statistic, p-value and a (1 - alpha) interval."""

    difference: Array
    statistic: Array
    p_value: Array
    ci_low: Array
    ci_high: Array
    #: Degrees of freedom (Welch); infinite for z-tests.
    df: Array


def two_proportion_z_test(
    conversions_a: Num, units_a: Num, conversions_b: Num, units_b: Num, *, alpha: float = 0.05
) -> Comparison:
    """Two-proportion z-test: pooled standard error for the test, unpooled for the interval.

    The pooled variance is the variance under the null (both rates equal), which is what the
    test statistic needs; the interval describes the difference as estimated, so it uses each
    arm's own rate. Its square equals Pearson's chi-square on the 2x2 table without continuity
    correction (the tests check this against scipy).
    """
    xa, na, xb, nb = _arr(conversions_a), _arr(units_a), _arr(conversions_b), _arr(units_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        pa, pb = xa / na, xb / nb
        pooled = (xa + xb) / (na + nb)
        se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        diff = pb - pa
        z = np.where(se_pooled > 0, diff / se_pooled, 0.0)
        se = np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    p = 2 * stats.norm.sf(np.abs(z))
    crit = stats.norm.isf(alpha / 2)
    return Comparison(diff, z, p, diff - crit * se, diff + crit * se, np.full_like(z, np.inf))


def welch_t_test(
    mean_a: Num,
    var_a: Num,
    units_a: Num,
    mean_b: Num,
    var_b: Num,
    units_b: Num,
    *,
    alpha: float = 0.05,
) -> Comparison:
    """Welch's t-test on means with unequal variances (``var_*`` are sample variances, ddof=1).

    Revenue per user is mostly zeros with a long right tail and different spreads per arm, so
    the equal-variance t-test is wrong here; Welch with the Satterthwaite degrees of freedom is
    what scipy's ``ttest_ind(equal_var=False)`` computes. The mean of thousands of users is
    close to normal even when single users are not (central limit theorem); with few users
    and heavy tails the p-value is approximate.
    """
    ma, va, na = _arr(mean_a), _arr(var_a), _arr(units_a)
    mb, vb, nb = _arr(mean_b), _arr(var_b), _arr(units_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        sa, sb = va / na, vb / nb
        se = np.sqrt(sa + sb)
        diff = mb - ma
        t = np.where(se > 0, diff / se, 0.0)
        df = np.where(se > 0, (sa + sb) ** 2 / (sa**2 / (na - 1) + sb**2 / (nb - 1)), np.inf)
    df = np.where(np.isfinite(df), df, 1e12)
    p = 2 * stats.t.sf(np.abs(t), df)
    crit = stats.t.isf(alpha / 2, df)
    return Comparison(diff, t, p, diff - crit * se, diff + crit * se, df)


@dataclass(frozen=True, slots=True)
class SampleRatioCheck:
    """Pearson's chi-square of the observed units per variant against the configured weights."""

    chi_square: float
    p_value: float
    mismatch: bool
    observed: list[int]
    expected: list[float]


def sample_ratio_mismatch(
    observed: list[int], weights: list[float], *, threshold: float = SRM_P_THRESHOLD
) -> SampleRatioCheck:
    """Chi-square goodness of fit of units per variant to the weights (k - 1 degrees of freedom).

    A mismatch means assignment or exposure logging is broken (bots, redirects, a variant that
    crashes before it logs), so no effect estimate can be trusted, however significant.
    """
    counts = np.asarray(observed, dtype=np.float64)
    shares = np.asarray(weights, dtype=np.float64)
    shares = shares / shares.sum()
    total = counts.sum()
    expected = total * shares
    if total == 0:
        return SampleRatioCheck(0.0, 1.0, False, [int(c) for c in counts], expected.tolist())
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    p = float(stats.chi2.sf(chi2, len(counts) - 1))
    return SampleRatioCheck(chi2, p, p < threshold, [int(c) for c in counts], expected.tolist())


@dataclass(frozen=True, slots=True)
class BayesComparison:
    """Posterior chance that the treatment beats the control, and the expected loss of each
    choice (how much of the metric we give up, on average, if we pick it and are wrong)."""

    chance_to_beat_control: float
    expected_loss_choosing_treatment: float
    expected_loss_choosing_control: float


def beta_binomial(
    conversions_a: int,
    units_a: int,
    conversions_b: int,
    units_b: int,
    *,
    draws: int = 200_000,
    seed: int = 0,
) -> BayesComparison:
    """Conversion rates with independent Beta(1, 1) priors, so Beta(1 + x, 1 + n - x) posteriors.

    The probabilities are Monte Carlo estimates from ``draws`` posterior samples with a fixed
    seed (the same data always gives the same numbers); their error is below 0.2 percentage
    points at the default.
    """
    rng = np.random.default_rng(seed)
    a = rng.beta(1 + conversions_a, 1 + units_a - conversions_a, draws)
    b = rng.beta(1 + conversions_b, 1 + units_b - conversions_b, draws)
    return BayesComparison(
        float(np.mean(b > a)),
        float(np.mean(np.maximum(a - b, 0.0))),
        float(np.mean(np.maximum(b - a, 0.0))),
    )


def normal_posterior(
    mean_a: float, var_a: float, units_a: int, mean_b: float, var_b: float, units_b: int
) -> BayesComparison:
    """Means (revenue per user) with flat priors and the normal approximation of each mean.

    The posterior of each arm's mean is N(sample mean, variance / n), so the difference
    D = b - a is normal and both answers are closed form: P(D > 0) = Phi(m / s) and
    E[max(-D, 0)] = s * phi(m / s) - m * Phi(-m / s). Like Welch's test, this leans on the
    central limit theorem: fine for thousands of users, rough for a few dozen big spenders.
    """
    m = mean_b - mean_a
    s = float(np.sqrt(var_a / units_a + var_b / units_b)) if units_a and units_b else 0.0
    if s == 0.0:
        return BayesComparison(float(m > 0), max(-m, 0.0), max(m, 0.0))
    u = m / s
    loss_treatment = s * stats.norm.pdf(u) - m * stats.norm.cdf(-u)
    loss_control = s * stats.norm.pdf(u) + m * stats.norm.cdf(u)
    return BayesComparison(float(stats.norm.cdf(u)), float(loss_treatment), float(loss_control))


def relative_interval(
    mean_a: float, var_mean_a: float, mean_b: float, var_mean_b: float, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Relative lift ``b / a - 1`` and its delta-method interval (``var_mean_*``: variance of
    each mean, i.e. variance / n). Returns NaNs when the control's mean is zero."""
    if mean_a == 0:
        return (float("nan"),) * 3
    lift = mean_b / mean_a - 1
    se = float(np.sqrt(var_mean_b / mean_a**2 + mean_b**2 * var_mean_a / mean_a**4))
    crit = float(stats.norm.isf(alpha / 2))
    return lift, lift - crit * se, lift + crit * se


def scalar(value: Any) -> float:
    """A 0-d result as a plain float (for JSON)."""
    return float(np.asarray(value))
