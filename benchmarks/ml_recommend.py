"""Recommender benchmark: ALS training and scoring throughput, and every quality metric with
its baselines on the simulator and MovieLens 100k.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/ml_recommend.py [--tune]

1. **ALS training** on a seeded synthetic implicit matrix (``--people`` x ``--products``,
   ``--interactions`` non-zeros, Zipf-skewed products), one thread: interactions x iterations
   per second, for this project's parameters (16 factors) and for implicit's default (100
   factors, the figure ARCHITECTURE.md quotes), same matrix, same run.
2. **Batch scoring**: top-20 lists for every person of that matrix through
   ``ALS.recommend`` (batched numpy scoring, own products masked), against implicit's own
   batched ``model.recommend`` on the same factors (the baseline), in users/s.
3. **Quality**: ``ml_assets.evaluation.evaluate_recommenders`` on the simulator (seed 42, 90
   days) and on MovieLens 100k (imported through the orders CSV path): precision, recall,
   nDCG, MAP @10 and coverage for every recommender and baseline, with the best baseline and
   the ratio; then ALS's nDCG@10 beside all-time popularity and the recent-popularity lists
   (30-day popularity, 7-day trending), with the half-life and prior weight ALS chose.
4. ``--tune``: ALS's validation grid (``ml_assets.evaluation.tuning``) on both datasets.

Prints the command line and the load average; rows for docs/benchmarks.md are at the end.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

# Run as a script, this directory comes first on sys.path, and its ingest.py (the ingest
# benchmark) would shadow the ``ingest`` package that the dataset loaders import.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402

from ml_assets.evaluation.datasets import Dataset, movielens_dataset, simulator_dataset  # noqa: E402
from ml_assets.evaluation.harness import Evaluation, evaluate_recommenders  # noqa: E402
from ml_assets.evaluation.metrics import METRICS  # noqa: E402
from ml_assets.evaluation.split import time_split  # noqa: E402
from ml_assets.evaluation.tuning import tune_als  # noqa: E402
from ml_assets.recommend.als import ALS, TenantFactors, score_top_k  # noqa: E402
from ml_assets.recommend.blend import Blend  # noqa: E402
from ml_assets.recommend.protocol import Recommender  # noqa: E402
from ml_assets.recommend.repeat import BuyItAgain  # noqa: E402
from ml_assets.recommend.sources import Trending, TrendingAffinity  # noqa: E402


def synthetic_matrix(people: int, products: int, nnz: int, seed: int) -> sp.csr_matrix:
    """Zipf-skewed products (a few bestsellers, a long tail), uniform people, log1p weights."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, products + 1) ** 0.8
    cols = rng.choice(products, size=nnz, p=popularity / popularity.sum())
    rows = rng.integers(0, people, size=nnz)
    values = np.log1p(rng.choice([1.0, 3.0, 6.0], size=nnz, p=[0.8, 0.15, 0.05]))
    matrix = sp.csr_matrix((values.astype(np.float32), (rows, cols)), shape=(people, products))
    matrix.sum_duplicates()
    return matrix


def train_rate(
    matrix: sp.csr_matrix, factors: int, iterations: int
) -> tuple[float, AlternatingLeastSquares]:
    defaults = ALS()  # the product's regularization and alpha
    model = AlternatingLeastSquares(
        factors=factors,
        regularization=defaults.regularization,
        alpha=defaults.alpha,
        iterations=iterations,
        random_state=0,
        num_threads=1,
    )
    started = time.perf_counter()
    model.fit(matrix, show_progress=False)
    seconds = time.perf_counter() - started
    return matrix.nnz * iterations / seconds, model


def scoring_rates(matrix: sp.csr_matrix, model: AlternatingLeastSquares) -> tuple[float, float]:
    """(ours, implicit's) users/s for top-20 lists of every person, own products masked."""
    factors = TenantFactors(
        people=[],
        products=[str(i) for i in range(matrix.shape[1])],
        person_index={},
        person_factors=np.asarray(model.user_factors),
        product_factors=np.asarray(model.item_factors),
        matrix=matrix,
        include_seen=False,
        fit_seconds=0.0,
    )
    rows = np.arange(matrix.shape[0], dtype=np.int64)
    started = time.perf_counter()
    score_top_k(factors, rows, 20)
    ours = len(rows) / (time.perf_counter() - started)
    started = time.perf_counter()
    model.recommend(rows, matrix, N=20, filter_already_liked_items=True)
    theirs = len(rows) / (time.perf_counter() - started)
    return ours, theirs


def quality(dataset: Dataset) -> Evaluation:
    als = ALS(target=dataset.target)
    blend = Blend(target=dataset.target)
    models: list[Recommender] = [als, TrendingAffinity(), Trending(), BuyItAgain(), blend]
    evaluation = evaluate_recommenders(dataset, models)
    for tenant, half_life in als.half_lives.items():
        tried = ", ".join(
            f"{days:g}d {score:.4f}" for days, score in als.half_life_scores.get(tenant, {}).items()
        )
        print(
            f"ALS for {tenant}: half-life {half_life:g} days, popularity prior weight "
            f"{als.popularity_weights[tenant]:g} (best validation nDCG@10 per half-life: {tried})"
        )
    for tenant, choice in blend.choice.items():
        scores = ", ".join(f"{k} {v:.4f}" for k, v in blend.validation[tenant].items())
        print(f"blend choice for {tenant}: {choice} (validation nDCG@10: {scores})")
    return evaluation


def als_row(evaluation: Evaluation) -> str:
    """ALS beside all-time popularity and the recent-popularity lists, nDCG@10."""
    ndcg = {
        name: evaluation.metric(name, "ndcg")
        for name in ("als", "popular_all_time", "popular_30d", "trending")
    }
    recent = max(ndcg["popular_30d"], ndcg["trending"])
    return (
        f"| {evaluation.dataset} | {ndcg['als']:.4f} | {ndcg['popular_all_time']:.4f} | "
        f"{ndcg['popular_30d']:.4f} | {ndcg['trending']:.4f} | "
        f"{ndcg['als'] / ndcg['popular_all_time']:.2f}x | {ndcg['als'] / recent:.2f}x |"
    )


def print_quality(evaluation: Evaluation) -> list[str]:
    split = evaluation.split
    print(
        f"\n{evaluation.dataset}: cut {split.cut:%Y-%m-%d %H:%M}, {split.users.height} users "
        f"evaluated, {split.cold_users} cold users not scored, targets: {evaluation.target}; "
        f"precision@10 ceiling {evaluation.precision_ceiling:.4f}"
    )
    with pl.Config(tbl_rows=20, tbl_cols=20, tbl_width_chars=200):
        print(evaluation.results)
    rows = []
    for metric in METRICS:
        name, best = evaluation.best_baseline(metric)
        blend = evaluation.metric("blend", metric)
        als = evaluation.metric("als", metric)
        ratio = blend / best if best else float("nan")
        rows.append(
            f"| {evaluation.dataset} | {metric}@10 | {blend:.4f} | {als:.4f} | "
            f"{best:.4f} ({name}) | {ratio:.2f}x |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tune", action="store_true", help="Also print ALS's validation grid.")
    parser.add_argument(
        "--throughput-only", action="store_true", help="Skip the quality runs (steps 3 and 4)."
    )
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        print("warning: set OPENBLAS_NUM_THREADS=1 (implicit is slower otherwise)")

    matrix = synthetic_matrix(args.people, args.products, args.interactions, args.seed)
    ours_rate, model = train_rate(matrix, 16, args.iterations)
    default_rate, _ = train_rate(matrix, 100, args.iterations)
    print(
        f"\nALS training, 1 thread, {matrix.shape[0]:,} x {matrix.shape[1]:,}, {matrix.nnz:,} "
        f"interactions, {args.iterations} iterations:"
    )
    print(f"  16 factors (ours):        {ours_rate / 1e6:6.2f} M interactions x iterations / s")
    print(
        f"  100 factors (implicit's): {default_rate / 1e6:6.2f} M ({ours_rate / default_rate:.2f}x)"
    )
    scored, baseline = scoring_rates(matrix, model)
    print(
        f"batch scoring, top 20, own products masked: {scored:,.0f} users/s "
        f"(implicit's recommend: {baseline:,.0f} users/s, {scored / baseline:.2f}x)"
    )

    rows, als_rows = [], []
    datasets = [] if args.throughput_only else [simulator_dataset(seed=42), movielens_dataset()]
    for dataset in datasets:
        evaluation = quality(dataset)
        rows += print_quality(evaluation)
        als_rows.append(als_row(evaluation))
    if args.tune:
        for dataset in datasets:
            split = time_split(dataset.interactions, target=dataset.target)
            points = tune_als(split.train, target=dataset.target)
            print(
                f"\nALS validation grid on {dataset.name} (train window only), "
                f"best 5 of {len(points)}:"
            )
            for point in points[:5]:
                print(f"  {point}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print("\nrows for docs/benchmarks.md:")
    print(
        f"| ALS training, 16 factors, 1 thread | {ours_rate / 1e6:.2f} M "
        "interactions x iterations/s |"
    )
    print(
        f"| ALS training, 100 factors, 1 thread | {default_rate / 1e6:.2f} M "
        "interactions x iterations/s |"
    )
    print(f"| ALS batch scoring, top 20 | {scored:,.0f} users/s (implicit: {baseline:,.0f}) |")
    print("| dataset | metric | blend | ALS | best baseline | blend / best |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row)
    print(
        "\n| dataset | ALS | all-time popular | 30-day popular | trending (7-day decay) | "
        "ALS / all-time | ALS / best recent |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in als_rows:
        print(row)


if __name__ == "__main__":
    main()
