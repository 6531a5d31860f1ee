"""Planning: the chance that a test with several looks ever rejects, computed, not simulated.

At look k the standardised difference is z_k = S_k / sqrt(I_k), where I_k = 1 / V_k is the
information (V_k the variance of the estimated difference) and S_k = d_k * I_k is a sum of
independent normal increments with mean delta * I_k (Brownian motion in information time).
A test rejects at the first look where |z_k| >= c_k. The chance of that, by look K, follows
from integrating the density of S over the continuation region look after look (the recursion
of Armitage, McPherson and Rowe, 1969), on a fine grid.

It gives the power of the mSPRT for a planned traffic and effect, the false-positive rate of
any boundary under repeated looks (delta = 0), and what a fixed-horizon z-test checked every
day really costs. The simulation tests compare their Monte Carlo rates with these numbers.
"""

from __future__ import annotations

import numpy as np
from scipy import signal, stats

from .sequential import DEFAULT_TAU_STD, boundary
from .stats import Array


def crossing_probability(
    information: list[float] | Array,
    boundaries: list[float] | Array,
    delta: float,
    *,
    steps_per_sd: int = 24,
) -> float:
    """P(|z_k| >= c_k at some look k) for a difference ``delta`` (in the metric's units).

    ``information[k]`` is 1 / Var(estimated difference) at look k (increasing);
    ``boundaries[k]`` is c_k. The density of S lives on one evenly spaced grid, fine enough
    for ``steps_per_sd`` points per standard deviation of the smallest increment, so each
    look's integral is one convolution; the result is exact for normal increments up to a
    quadrature error far below the simulation tests' tolerances.
    """
    info = np.asarray(information, dtype=np.float64)
    bounds = np.asarray(boundaries, dtype=np.float64)
    steps = np.diff(info, prepend=0.0)
    if np.any(steps <= 0):
        raise ValueError("information must increase from look to look")
    h = float(np.sqrt(steps.min())) / steps_per_sd
    crossed = 0.0
    mass = np.ones(1)  # S_0 = 0 with probability one
    m_prev = 0
    for step, i_k, c_k in zip(steps, info, bounds, strict=True):
        mean_step, sd_step = delta * step, float(np.sqrt(step))
        limit = c_k * np.sqrt(i_k)
        grid_prev = h * np.arange(-m_prev, m_prev + 1)
        crossed += float(
            np.sum(
                mass
                * (
                    stats.norm.sf(limit, grid_prev + mean_step, sd_step)
                    + stats.norm.cdf(-limit, grid_prev + mean_step, sd_step)
                )
            )
        )
        if np.isfinite(limit):
            m_new = int(np.rint(limit / h))
            edge = limit - (m_new - 0.5) * h  # the last cell ends at the boundary
        else:
            m_new, edge = m_prev + int(8 * sd_step / h), h
        reach = m_prev + m_new
        kernel = stats.norm.pdf(h * np.arange(-reach, reach + 1), mean_step, sd_step)
        full = signal.fftconvolve(mass, kernel)
        centre = m_prev + reach
        density = np.clip(full[centre - m_new : centre + m_new + 1], 0.0, None)
        weights = np.full(density.size, h)
        weights[0] = weights[-1] = edge
        mass = density * weights  # midpoint rule, cells cut at +-limit
        m_prev = m_new
    return crossed


def msprt_power(
    units_per_arm: list[float] | Array,
    var_a: float,
    var_b: float,
    delta: float,
    *,
    alpha: float = 0.05,
    tau_std: float = DEFAULT_TAU_STD,
) -> float:
    """Chance the mSPRT declares a difference by the last look, with ``units_per_arm[k]`` units
    in each arm at look k, per-unit variances ``var_a``/``var_b`` and true difference ``delta``
    (delta = 0 gives its false-positive rate under these looks)."""
    n = np.asarray(units_per_arm, dtype=np.float64)
    v = var_a / n + var_b / n
    r = v / (tau_std**2 * (var_a + var_b) / 2)
    return crossing_probability(1 / v, boundary(r, alpha), delta)


def fixed_horizon_power(
    units_per_arm: float, var_a: float, var_b: float, delta: float, *, alpha: float = 0.05
) -> float:
    """Power of one two-sided z-test at the end (the textbook sample-size formula's power)."""
    se = np.sqrt(var_a / units_per_arm + var_b / units_per_arm)
    crit = stats.norm.isf(alpha / 2)
    return float(stats.norm.sf(crit - delta / se) + stats.norm.cdf(-crit - delta / se))


def peeking_false_positive_rate(
    units_per_arm: list[float] | Array, *, alpha: float = 0.05
) -> float:
    """False-positive rate of a fixed-horizon z-test looked at at every one of these looks and
    stopped at the first p < alpha (what a dashboard with a p-value invites)."""
    n = np.asarray(units_per_arm, dtype=np.float64)
    crit = np.full(len(n), stats.norm.isf(alpha / 2))
    return crossing_probability(n, crit, 0.0)
