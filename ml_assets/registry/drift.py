"""Input drift: population stability index (PSI) of each feature, training window vs now.

PSI = sum over bins of (a - e) * ln(a / e), with e and a the shares of the training and the
current values in each bin; bins are the training values' deciles, so each holds about a tenth
of the training window. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 a shift
worth retraining for. Missing values get a bin of their own (a feature that stops arriving is
drift too). Shares are floored at 1e-4 so an empty bin does not make the index infinite.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import polars as pl

Array = npt.NDArray[np.float64]
FLOOR = 1e-4


def population_stability_index(expected: Array, actual: Array, bins: int = 10) -> float:
    """PSI of ``actual`` against ``expected`` (both 1-d; NaN = missing)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.size == 0 or a.size == 0:
        return float("nan")
    finite = e[np.isfinite(e)]
    edges = (
        np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
        if finite.size
        else np.array([])
    )

    def shares(values: Array) -> Array:
        missing = ~np.isfinite(values)
        counts = np.bincount(np.searchsorted(edges, values[~missing], side="right"),
                             minlength=edges.size + 1).astype(np.float64)  # fmt: skip
        counts = np.append(counts, missing.sum())
        return np.maximum(counts / values.size, FLOOR)

    pe, pa = shares(e), shares(a)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def feature_drift(
    training: pl.DataFrame, current: pl.DataFrame, features: Iterable[str], bins: int = 10
) -> dict[str, float]:
    """PSI per feature present in both frames (nulls count as missing)."""
    result = {}
    for name in features:
        if name in training.columns and name in current.columns:
            e = training[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
            a = current[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
            result[name] = round(population_stability_index(e, a, bins), 6)
    return result
