"""The evaluation harness: metrics by hand, the split's rules, the CLI, and the quality goals.

Goals (issue 5): the blend beats the best baseline on nDCG@10 on every dataset; on MovieLens
ALS reaches 1.5x popularity's nDCG@10; precision@10 above 0.15 on the simulator. A goal not met
yet is ``xfail(strict=True)``: it still runs, and the suite fails the day it passes, so the
marker has to go then.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from intellishop.commands.evaluate import evaluate_app
from ml_assets.evaluation.datasets import Dataset, movielens_dataset, simulator_dataset
from ml_assets.evaluation.harness import Evaluation, evaluate_recommenders
from ml_assets.evaluation.metrics import precision_ceiling, ranking_metrics
from ml_assets.evaluation.split import time_split
from ml_assets.recommend.als import ALS, HALF_LIFE_GRID, POPULARITY_WEIGHT_GRID
from ml_assets.recommend.blend import Blend

from .conftest import AS_OF, interactions


def test_metrics_by_hand() -> None:
    users = pl.DataFrame({"tenant_id": ["t", "t"], "user_id": ["a", "b"]})
    targets = pl.DataFrame(
        {"tenant_id": ["t"] * 3, "user_id": ["a", "a", "b"], "product_id": ["x", "y", "z"]}
    )
    lists = pl.DataFrame(
        {
            "tenant_id": ["t"] * 3,
            "user_id": ["a", "a", "a"],
            "product_id": ["x", "q", "y"],
            "rank": [1, 2, 3],
        }
    )  # b gets no list at all: zeros
    got = ranking_metrics(lists, targets, users, catalog_size=6, k=2)
    assert got["precision"] == pytest.approx((1 / 2 + 0) / 2)
    assert got["recall"] == pytest.approx((1 / 2 + 0) / 2)
    assert got["ndcg"] == pytest.approx((1.0 / (1 + 1 / math.log2(3)) + 0) / 2)
    assert got["map"] == pytest.approx((1.0 / 2 + 0) / 2)
    assert got["coverage"] == pytest.approx(2 / 6)
    assert precision_ceiling(targets, users, k=2) == pytest.approx((2 / 2 + 1 / 2) / 2)


def test_split_counts_cold_users_and_hides_the_future() -> None:
    day = timedelta(days=1)
    frame = interactions(
        [
            {"user_id": "old", "product_id": "p1", "occurred_at": AS_OF - 9 * day},
            {"user_id": "old", "product_id": "p2", "occurred_at": AS_OF - 8 * day},
            {"user_id": "x", "product_id": "p1", "occurred_at": AS_OF - 7 * day},
            {"user_id": "x", "product_id": "p3", "occurred_at": AS_OF - 6 * day},
            {
                "user_id": "old",
                "product_id": "p3",
                "occurred_at": AS_OF,
                "event": "Order Completed",
            },
            {
                "user_id": "new",
                "product_id": "p3",
                "occurred_at": AS_OF,
                "event": "Order Completed",
            },
            {"user_id": "old", "product_id": "p1", "occurred_at": AS_OF},
        ]
    )
    split = time_split(frame, target="purchase", test_share=0.3)
    assert split.cut == AS_OF
    assert split.train["occurred_at"].max() < AS_OF  # type: ignore[operator]
    assert split.users["user_id"].to_list() == ["old"]
    assert split.targets["product_id"].to_list() == ["p3"]  # the view of p1 is no purchase
    assert split.cold_users == 1
    touched = time_split(frame, target="touch", test_share=0.3)
    assert touched.targets["product_id"].to_list() == ["p1", "p3"]


@pytest.fixture(scope="module")
def simulator() -> Evaluation:
    data = simulator_dataset(days=60, customers=400, products=200, seed=11)
    return evaluate_recommenders(data, [ALS(target=data.target), Blend(target=data.target)])


def test_simulator_blend_beats_every_baseline(simulator: Evaluation) -> None:
    _, best = simulator.best_baseline("ndcg")
    assert simulator.split.users.height > 100
    assert simulator.metric("blend", "ndcg") > best


def test_simulator_precision_above_goal(simulator: Evaluation) -> None:
    assert simulator.precision_ceiling > 0.15  # the goal is reachable on this data
    assert simulator.metric("blend", "precision") > 0.15


@pytest.fixture(scope="module")
def movielens_data() -> Dataset:
    return movielens_dataset()


@pytest.fixture(scope="module")
def movielens_als(movielens_data: Dataset) -> tuple[Evaluation, ALS]:
    """ALS alone (seconds, apart from loading the data), with one BLAS thread: implicit's
    fit is then deterministic (``random_state`` 0), so the 1.5x goal is a fixed figure."""
    model = ALS(target=movielens_data.target)
    with threadpool_limits(limits=1, user_api="blas"):
        return evaluate_recommenders(movielens_data, [model]), model


@pytest.fixture(scope="module")
def movielens(movielens_data: Dataset) -> Evaluation:
    with threadpool_limits(limits=1, user_api="blas"):
        return evaluate_recommenders(movielens_data, [Blend(target=movielens_data.target)])


def test_movielens_is_imported_with_ratings_as_strength(movielens: Evaluation) -> None:
    assert movielens.split.users.height > 50
    events = movielens.split.train.group_by("event").len()
    assert set(events["event"]) == {"Order Completed", "Product Viewed"}
    # The blend beats all-time popularity on real data (ALS: the tests below).
    assert movielens.metric("blend", "ndcg") > movielens.metric("popular_all_time", "ndcg")


def test_movielens_als_parameters_are_chosen_on_the_training_window(
    movielens_als: tuple[Evaluation, ALS],
) -> None:
    """The half-life and the recent-popularity prior's weight are chosen per tenant on the
    training window's own latest touches, never on the test window: MovieLens's crowd follows
    new releases, so there the validation picks a short memory and some prior."""
    evaluation, model = movielens_als
    scores = model.validation_scores["movielens"]
    assert set(scores) == {(h, w) for h in HALF_LIFE_GRID for w in POPULARITY_WEIGHT_GRID}
    half_life, weight = model.half_lives["movielens"], model.popularity_weights["movielens"]
    assert scores[(half_life, weight)] == max(scores.values())
    assert weight > 0 and half_life <= 14.0
    assert evaluation.metric("als", "ndcg") > evaluation.metric("popular_all_time", "ndcg")


def test_movielens_als_reaches_one_and_a_half_popularity(
    movielens_als: tuple[Evaluation, ALS],
) -> None:
    """Issue 5's goal: ALS at least 1.5x all-time popularity's nDCG@10 on the time split
    (measured 0.2345 vs 0.1539 = 1.52x; recent popularity is still higher, see
    docs/models/recommendations.md)."""
    evaluation, _ = movielens_als
    als = evaluation.metric("als", "ndcg")
    assert als >= 1.5 * evaluation.metric("popular_all_time", "ndcg")


def test_movielens_blend_beats_the_best_baseline(movielens: Evaluation) -> None:
    _, best = movielens.best_baseline("ndcg")
    assert movielens.metric("blend", "ndcg") > best


def write_orders(path: Path, *, bad_row: bool = False) -> None:
    """A small shop: 60 customers, each buying from a favourite aisle every few days."""
    start = datetime(2025, 1, 1)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["order_id", "date", "customer_id", "product_id", "category", "quantity", "unit_price"]
        )
        for customer in range(60):
            aisle = customer % 4
            for visit in range(10):
                when = start + timedelta(days=3 * visit + customer % 3, hours=customer % 7)
                for line in range(2):
                    product = f"a{aisle}-p{(visit + line * 3 + customer) % 6}"
                    writer.writerow(
                        [
                            f"o{customer}-{visit}",
                            when.isoformat(),
                            f"c{customer}",
                            product,
                            f"aisle{aisle}",
                            1,
                            "9.50",
                        ]
                    )
        if bad_row:
            writer.writerow(["o-bad", "not a date", "c1", "a0-p1", "aisle0", 1, "9.50"])


def test_cli_evaluates_an_orders_csv(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders)
    result = CliRunner().invoke(
        evaluate_app, ["recommenders", "--orders", str(orders)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "ndcg@10" in result.output and "best baseline" in result.output
    assert "blend" in result.output and "popular_30d" in result.output


def test_cli_refuses_a_bad_orders_csv(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, bad_row=True)
    result = CliRunner().invoke(evaluate_app, ["recommenders", "--orders", str(orders)])
    assert result.exit_code == 2
    assert "not a date" in result.output
