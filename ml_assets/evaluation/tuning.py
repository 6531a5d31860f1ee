"""Choosing ALS's parameters on a validation split, never on the test split.

The training window of an evaluation is split again by time (its latest ``VALIDATION_SHARE``
of touches is the validation window, with the same user and target rules as the test split);
every grid point is fitted on the part before and scored by nDCG@10 on the validation window.
The test window is not read. The factor, regularization and alpha defaults of
``ml_assets.recommend.als.ALS`` are the best points of this search on MovieLens 100k and the
simulator (see docs/models/recommendations.md for the grid and the scores).

The half-life and the weight of the recent-popularity prior are not grid axes here: each grid
point is the model the product serves, ``ALS(half_life_days=None, popularity_weight=None)``,
which chooses both per tenant at fit time on a validation window of its own (the latest touches
*before* this validation window). So this is a nested selection and the validation window
judges the whole procedure; ``GridPoint`` records what it chose.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from ml_assets.recommend.als import ALS

from .datasets import Target
from .metrics import ranking_metrics
from .split import time_split

VALIDATION_SHARE = 0.15

#: The grid searched by default (small: each point is one ALS fit per half-life tried).
GRID: dict[str, tuple[float, ...]] = {
    "factors": (16, 32),
    "regularization": (5.0, 20.0),
    "alpha": (0.5, 2.0, 4.0, 8.0),
}


@dataclass(frozen=True)
class GridPoint:
    factors: int
    regularization: float
    alpha: float
    #: What the model chose on its own inner validation window (one tenant: one value).
    half_life_days: float
    popularity_weight: float
    ndcg: float


def tune_als(
    train: pl.DataFrame,
    *,
    target: Target,
    grid: dict[str, tuple[float, ...]] | None = None,
    iterations: int = 15,
    k: int = 10,
) -> list[GridPoint]:
    """Every grid point's validation nDCG@k, best first."""
    space = grid or GRID
    validation = time_split(train, target=target, test_share=VALIDATION_SHARE)
    points = []
    names = ("factors", "regularization", "alpha")
    values: Iterable[tuple[float, ...]] = itertools.product(*(space[name] for name in names))
    for factors, regularization, alpha in values:
        model = ALS(
            factors=int(factors),
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            target=target,
        ).fit(validation.train, as_of=validation.cut)
        lists = model.recommend(validation.users, n=k)
        ndcg = ranking_metrics(
            lists, validation.targets, validation.users, catalog_size=validation.catalog_size, k=k
        )["ndcg"]
        half_life = next(iter(model.half_lives.values()), float("nan"))
        weight = next(iter(model.popularity_weights.values()), float("nan"))
        points.append(GridPoint(int(factors), regularization, alpha, half_life, weight, ndcg))
    return sorted(points, key=lambda p: -p.ndcg)
