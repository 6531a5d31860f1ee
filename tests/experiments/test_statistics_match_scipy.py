"""The statistics on fixed data, against scipy (or a direct numerical integral of the same
quantity), so a wrong formula fails here before it misleads a merchant."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from intellishop.experiments.design import crossing_probability, fixed_horizon_power
from intellishop.experiments.sequential import boundary, log_likelihood_ratio, msprt
from intellishop.experiments.stats import (
    beta_binomial,
    normal_posterior,
    sample_ratio_mismatch,
    two_proportion_z_test,
    welch_t_test,
)


def test_two_proportion_z_test_is_pearson_chi_square_without_correction() -> None:
    result = two_proportion_z_test(130, 2400, 171, 2450)
    table = np.array([[130, 2400 - 130], [171, 2450 - 171]])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert dof == 1
    assert float(result.statistic) ** 2 == pytest.approx(chi2, rel=1e-10)
    assert float(result.p_value) == pytest.approx(p, rel=1e-9)
    assert float(result.difference) == pytest.approx(171 / 2450 - 130 / 2400)
    # The interval uses each arm's own rate (Wald), centred on the difference.
    se = np.sqrt(130 / 2400 * (1 - 130 / 2400) / 2400 + 171 / 2450 * (1 - 171 / 2450) / 2450)
    assert float(result.ci_high - result.ci_low) == pytest.approx(2 * 1.959963985 * se)


def test_welch_matches_scipy_ttest_ind_unequal_variances() -> None:
    rng = np.random.default_rng(7)
    control = rng.exponential(20.0, 300) * (rng.random(300) < 0.3)
    treatment = rng.exponential(26.0, 280) * (rng.random(280) < 0.3)
    ours = welch_t_test(
        control.mean(),
        control.var(ddof=1),
        len(control),
        treatment.mean(),
        treatment.var(ddof=1),
        len(treatment),
    )
    theirs = stats.ttest_ind(treatment, control, equal_var=False)
    assert float(ours.statistic) == pytest.approx(theirs.statistic, rel=1e-10)
    assert float(ours.p_value) == pytest.approx(theirs.pvalue, rel=1e-9)
    assert float(ours.df) == pytest.approx(theirs.df, rel=1e-10)
    low, high = theirs.confidence_interval(0.95)
    assert float(ours.ci_low) == pytest.approx(low, rel=1e-9)
    assert float(ours.ci_high) == pytest.approx(high, rel=1e-9)


def test_sample_ratio_check_is_scipy_chisquare() -> None:
    observed, weights = [5210, 2950, 1840], [0.5, 0.3, 0.2]
    ours = sample_ratio_mismatch(observed, weights)
    theirs = stats.chisquare(observed, np.array(weights) * sum(observed))
    assert ours.chi_square == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


def test_srm_fires_on_a_broken_split_and_not_on_a_fair_one() -> None:
    broken = sample_ratio_mismatch([10_400, 9_600], [1, 1])  # 52/48 configured 50/50
    assert broken.mismatch and broken.p_value < 1e-6
    fair = sample_ratio_mismatch([10_050, 9_950], [1, 1])
    assert not fair.mismatch and fair.p_value > 0.4


def test_beta_binomial_chance_to_beat_matches_the_integral() -> None:
    xa, na, xb, nb = 48, 1000, 62, 1000
    post_a, post_b = stats.beta(1 + xa, 1 + na - xa), stats.beta(1 + xb, 1 + nb - xb)
    # P(B > A) = integral of f_B(x) F_A(x). E[max(A - B, 0)] = integral of f_A(a) E[(a - B)+],
    # and E[(a - B)+] = a F_B(a) - E[B] F_B'(a), with B' ~ Beta(alpha_B + 1, beta_B).
    chance, _ = integrate.quad(lambda x: post_b.pdf(x) * post_a.cdf(x), 0, 0.2, limit=200)
    shifted_b = stats.beta(2 + xb, 1 + nb - xb)
    loss, _ = integrate.quad(
        lambda a: post_a.pdf(a) * (a * post_b.cdf(a) - post_b.mean() * shifted_b.cdf(a)),
        0,
        0.2,
        limit=200,
    )
    ours = beta_binomial(xa, na, xb, nb)
    # Monte Carlo with 200k draws: standard error below 0.0012 for a probability.
    assert ours.chance_to_beat_control == pytest.approx(chance, abs=4 * 0.0012)
    assert ours.expected_loss_choosing_treatment == pytest.approx(loss, abs=2e-4)


def test_normal_posterior_closed_form_matches_quadrature() -> None:
    ours = normal_posterior(10.0, 900.0, 4000, 11.0, 1000.0, 4100)
    m, s = 1.0, np.sqrt(900 / 4000 + 1000 / 4100)
    diff = stats.norm(m, s)
    assert ours.chance_to_beat_control == pytest.approx(diff.sf(0.0), rel=1e-9)
    loss_t, _ = integrate.quad(lambda d: -d * diff.pdf(d), -np.inf, 0)
    loss_c, _ = integrate.quad(lambda d: d * diff.pdf(d), 0, np.inf)
    assert ours.expected_loss_choosing_treatment == pytest.approx(loss_t, rel=1e-6)
    assert ours.expected_loss_choosing_control == pytest.approx(loss_c, rel=1e-6)


def test_msprt_likelihood_ratio_is_the_normal_mixture_integral() -> None:
    d, v, tau2 = 0.012, 0.00002, 0.0001
    mixture, _ = integrate.quad(
        lambda theta: (
            stats.norm.pdf(d, theta, np.sqrt(v))
            / stats.norm.pdf(d, 0, np.sqrt(v))
            * stats.norm.pdf(theta, 0, np.sqrt(tau2))
        ),
        -0.1,
        0.1,
        points=[d],
    )
    z, r = d / np.sqrt(v), v / tau2
    assert float(np.exp(log_likelihood_ratio(z, r))) == pytest.approx(mixture, rel=1e-7)
    # At the boundary the ratio is exactly 1 / alpha.
    c = float(boundary(r, 0.05))
    assert float(np.exp(log_likelihood_ratio(c, r))) == pytest.approx(20.0, rel=1e-10)
    # tau from tau_std: tau^2 = tau_std^2 * (var_a + var_b) / 2.
    var_a = var_b = tau2 / 0.03**2
    look = msprt(d, v, var_a, var_b, tau_std=0.03)
    assert float(look.p_value) == pytest.approx(1 / mixture, rel=1e-7)


def test_crossing_probability_matches_bivariate_normal_for_two_looks() -> None:
    info, bounds, delta = [400.0, 900.0], [2.4, 2.2], 0.05
    inside = stats.multivariate_normal(
        mean=[delta * np.sqrt(400), delta * np.sqrt(900)],
        cov=[[1, np.sqrt(400 / 900)], [np.sqrt(400 / 900), 1]],
    ).cdf([2.4, 2.2], lower_limit=[-2.4, -2.2])
    assert crossing_probability(info, bounds, delta) == pytest.approx(1 - inside, abs=1e-4)


def test_one_look_is_the_textbook_power() -> None:
    n, va, vb, delta = 8400.0, 0.05 * 0.95, 0.06 * 0.94, 0.01
    crit = stats.norm.isf(0.025)
    se = np.sqrt((va + vb) / n)
    assert crossing_probability([1 / se**2], [crit], delta) == pytest.approx(
        fixed_horizon_power(n, va, vb, delta), abs=1e-5
    )
