"""Item 6's proof, by simulation through the production functions (vectorised with numpy).

Each rate is a mean of independent 0/1 outcomes over ``SIMULATIONS`` experiments, so its
standard error is sqrt(q (1 - q) / SIMULATIONS); every tolerance below is three of those
(a correct implementation fails one check in about 740), never a guess. Where a rate is
compared with a computed one (:mod:`intellishop.experiments.design`), the SE is taken at the
computed rate.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from intellishop.experiments.design import (
    fixed_horizon_power,
    msprt_power,
    peeking_false_positive_rate,
)
from intellishop.experiments.sequential import msprt
from intellishop.experiments.stats import (
    Array,
    sample_ratio_mismatch,
    two_proportion_z_test,
    welch_t_test,
)

SIMULATIONS = 2000
DAYS = 28
UNITS_PER_DAY = 300  # per arm
ALPHA = 0.05
BASE_RATE = 0.05


def se(rate: float, n: int = SIMULATIONS) -> float:
    return float(np.sqrt(rate * (1 - rate) / n))


def units_per_arm() -> Array:
    return np.arange(1, DAYS + 1, dtype=np.float64) * UNITS_PER_DAY


def conversions(rng: np.random.Generator, rate_a: float, rate_b: float) -> tuple[Array, Array]:
    """Cumulative converters per arm after each day: shape (SIMULATIONS, DAYS)."""
    daily_a = rng.binomial(UNITS_PER_DAY, rate_a, (SIMULATIONS, DAYS))
    daily_b = rng.binomial(UNITS_PER_DAY, rate_b, (SIMULATIONS, DAYS))
    return daily_a.cumsum(axis=1).astype(float), daily_b.cumsum(axis=1).astype(float)


def sequential_rejections(xa: Array, xb: Array) -> Array:
    """Did the mSPRT reject at any daily look? (bool per simulation)."""
    n = units_per_arm()
    pa, pb = xa / n, xb / n
    va, vb = pa * (1 - pa) * n / (n - 1), pb * (1 - pb) * n / (n - 1)
    looks = msprt(pb - pa, va / n + vb / n, va, vb, alpha=ALPHA)
    return np.asarray(looks.significant).any(axis=1)


def naive_daily_rejections(xa: Array, xb: Array) -> Array:
    """A fixed-horizon z-test looked at every day, stopped at the first p < alpha."""
    n = units_per_arm()
    return np.asarray(two_proportion_z_test(xa, n, xb, n).p_value < ALPHA).any(axis=1)


def test_aa_conversion_checked_daily_keeps_false_positives_at_or_under_alpha() -> None:
    xa, xb = conversions(np.random.default_rng(1), BASE_RATE, BASE_RATE)
    fpr = float(sequential_rejections(xa, xb).mean())
    assert fpr <= ALPHA + 3 * se(ALPHA)
    # And it is the rate the boundary-crossing computation predicts for these 28 looks.
    var = BASE_RATE * (1 - BASE_RATE)
    predicted = msprt_power(units_per_arm(), var, var, 0.0, alpha=ALPHA)
    assert predicted <= ALPHA
    assert abs(fpr - predicted) <= 3 * se(predicted)


def test_naive_daily_peeking_with_a_fixed_horizon_test_exceeds_alpha() -> None:
    """The same A/A data judged the naive way: the check above can fail."""
    xa, xb = conversions(np.random.default_rng(1), BASE_RATE, BASE_RATE)
    fpr = float(naive_daily_rejections(xa, xb).mean())
    assert fpr > ALPHA + 3 * se(ALPHA)
    predicted = peeking_false_positive_rate(units_per_arm(), alpha=ALPHA)
    assert predicted > 0.2
    assert abs(fpr - predicted) <= 3 * se(predicted)
    # Looked at once, at the end, the same z-test is right.
    final_only = float(
        (
            two_proportion_z_test(
                xa[:, -1], units_per_arm()[-1], xb[:, -1], units_per_arm()[-1]
            ).p_value
            < ALPHA
        ).mean()
    )
    assert abs(final_only - ALPHA) <= 3 * se(ALPHA)


def test_aa_revenue_per_user_checked_daily_keeps_false_positives_at_or_under_alpha() -> None:
    """Revenue is mostly zeros with a log-normal tail: the Welch-variance mSPRT still holds."""
    rng = np.random.default_rng(2)
    buyers = rng.binomial(UNITS_PER_DAY, BASE_RATE, (SIMULATIONS, DAYS, 2))
    cell = np.repeat(np.arange(buyers.size), buyers.ravel())
    spend = rng.lognormal(mean=4.0, sigma=1.0, size=cell.size)
    total = np.bincount(cell, weights=spend, minlength=buyers.size).reshape(buyers.shape)
    squares = np.bincount(cell, weights=spend**2, minlength=buyers.size).reshape(buyers.shape)
    n = units_per_arm()[None, :, None]
    mean = total.cumsum(axis=1) / n
    var = (squares.cumsum(axis=1) - n * mean**2) / (n - 1)
    ma, mb, va, vb = mean[..., 0], mean[..., 1], var[..., 0], var[..., 1]
    nn = units_per_arm()
    looks = msprt(mb - ma, va / nn + vb / nn, va, vb, alpha=ALPHA)
    fpr = float(np.asarray(looks.significant).any(axis=1).mean())
    assert fpr <= ALPHA + 3 * se(ALPHA)
    naive = float((welch_t_test(ma, va, nn, mb, vb, nn).p_value < ALPHA).any(axis=1).mean())
    assert naive > ALPHA + 3 * se(ALPHA)


def test_a_real_lift_is_found_with_the_computed_power() -> None:
    """5% -> 6% conversion (a 20% lift), 300 users per arm a day for 28 days."""
    rate_b = 0.06
    xa, xb = conversions(np.random.default_rng(3), BASE_RATE, rate_b)
    va, vb = BASE_RATE * (1 - BASE_RATE), rate_b * (1 - rate_b)
    delta = rate_b - BASE_RATE

    power = float(sequential_rejections(xa, xb).mean())
    predicted = msprt_power(units_per_arm(), va, vb, delta, alpha=ALPHA)
    assert 0.3 < predicted < 0.9  # a regime where a wrong power would show
    assert abs(power - predicted) <= 3 * se(predicted)

    # The fixed-horizon z-test, looked at once after 28 days, has the textbook power.
    n = units_per_arm()[-1]
    fixed = float((two_proportion_z_test(xa[:, -1], n, xb[:, -1], n).p_value < ALPHA).mean())
    textbook = fixed_horizon_power(n, va, vb, delta, alpha=ALPHA)
    assert abs(fixed - textbook) <= 3 * se(textbook)
    # The price of peeking safely: less power than one planned look at the same sample.
    assert predicted < textbook


def test_srm_check_rarely_fires_on_fair_splits_and_catches_a_52_48_split() -> None:
    rng = np.random.default_rng(4)
    total, threshold = 20_000, 0.001
    fair = rng.multinomial(total, [0.5, 0.3, 0.2], SIMULATIONS)
    false_alarms = np.mean(
        [sample_ratio_mismatch(list(row), [0.5, 0.3, 0.2]).mismatch for row in fair]
    )
    assert false_alarms <= threshold + 3 * se(threshold)

    broken = rng.binomial(total, 0.52, SIMULATIONS)
    caught = np.mean(
        [sample_ratio_mismatch([int(b), total - int(b)], [1, 1]).mismatch for b in broken]
    )
    # Power of the chi-square test: non-central chi-square, lambda = n * sum((q - p)^2 / p).
    noncentrality = total * ((0.52 - 0.5) ** 2 / 0.5 + (0.48 - 0.5) ** 2 / 0.5)
    expected = float(stats.ncx2.sf(stats.chi2.isf(threshold, 1), 1, noncentrality))
    assert expected > 0.9
    assert abs(caught - expected) <= 3 * se(expected)
