"""One evaluation run: split a dataset by time, fit every recommender and every baseline on the
same past, and score their top-k lists on the same future.

The baselines (all-time popularity, last-30-days popularity, the person's own recency-weighted
history) always run in the same call, so a model's number is never compared with a baseline
measured on another day, split or dataset.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl

from ml_assets.recommend.baselines import OwnHistory, Popularity
from ml_assets.recommend.protocol import Recommender

from .datasets import Dataset
from .metrics import METRICS, precision_ceiling, ranking_metrics
from .split import TimeSplit, time_split

K = 10


def baselines() -> list[Recommender]:
    """The simple recommenders every model is compared with."""
    return [Popularity(), Popularity(window_days=30), OwnHistory()]


@dataclass
class Evaluation:
    """Metrics per algorithm on one dataset, with the split's facts."""

    dataset: str
    target: str
    k: int
    split: TimeSplit
    #: algorithm, is_baseline, precision, recall, ndcg, map, coverage, fit_seconds.
    results: pl.DataFrame
    precision_ceiling: float
    notes: list[str] = field(default_factory=list)

    def metric(self, algorithm: str, name: str) -> float:
        row = self.results.filter(pl.col("algorithm") == algorithm)
        if row.height == 0:
            raise KeyError(algorithm)
        return float(row[name][0])

    def best_baseline(self, name: str) -> tuple[str, float]:
        """The baseline with the highest ``name`` metric and its value."""
        rows = self.results.filter(pl.col("is_baseline")).sort(
            [name, "algorithm"], descending=[True, False]
        )
        return str(rows["algorithm"][0]), float(rows[name][0])


def evaluate_recommenders(
    dataset: Dataset,
    models: Sequence[Recommender],
    *,
    k: int = K,
    test_share: float = 0.2,
    on_progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Fit ``models`` and the baselines before the cut; score each on the evaluated users."""
    split = time_split(dataset.interactions, target=dataset.target, test_share=test_share)
    rows = []
    for is_baseline, model in [(True, b) for b in baselines()] + [(False, m) for m in models]:
        if on_progress is not None:
            on_progress(model.name)
        started = time.perf_counter()
        model.fit(split.train, as_of=split.cut)
        lists = model.recommend(split.users, n=k)
        seconds = time.perf_counter() - started
        metrics = ranking_metrics(
            lists, split.targets, split.users, catalog_size=split.catalog_size, k=k
        )
        rows.append(
            {"algorithm": model.name, "is_baseline": is_baseline, **metrics, "seconds": seconds}
        )
    results = pl.DataFrame(
        rows,
        schema={
            "algorithm": pl.String(),
            "is_baseline": pl.Boolean(),
            **{name: pl.Float64() for name in METRICS},
            "seconds": pl.Float64(),
        },
    )
    return Evaluation(
        dataset=dataset.name,
        target=dataset.target,
        k=k,
        split=split,
        results=results,
        precision_ceiling=precision_ceiling(split.targets, split.users, k=k),
    )
