"""``intellishop evaluate recommenders``: every recommender against the baselines, one table.

    intellishop evaluate recommenders                      # the simulator (deterministic)
    intellishop evaluate recommenders --dataset movielens  # MovieLens 100k via the CSV import
    intellishop evaluate recommenders --orders orders.csv [--mapping mapping.json]

A shop's own orders file goes through the same checks as ``intellishop import orders`` (nothing
is written anywhere); a bad row stops the run with the import's report. The split, metrics and
baselines are ``ml_assets.evaluation``'s (see docs/models/recommendations.md).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the models import xgboost and scikit-learn: only when a command runs
    from ml_assets.evaluation.datasets import Dataset
    from ml_assets.evaluation.harness import Evaluation
    from ml_assets.recommend.protocol import Recommender

evaluate_app = typer.Typer(no_args_is_help=True, help="Evaluate models on time-based holdouts.")
console = Console()


@evaluate_app.callback()
def evaluate_group() -> None:
    """Evaluate models on time-based holdouts (a group, so more models can join it)."""


class DatasetName(StrEnum):
    SIMULATOR = "simulator"
    MOVIELENS = "movielens"


class OrdersFormat(StrEnum):
    GENERIC = "generic"
    SHOPIFY = "shopify"


def models_for(dataset: Dataset) -> list[Recommender]:
    """Every recommender evaluated (the baselines are added by the harness)."""
    from ml_assets.recommend.als import ALS
    from ml_assets.recommend.blend import Blend
    from ml_assets.recommend.repeat import BuyItAgain
    from ml_assets.recommend.sources import Trending, TrendingAffinity

    return [
        ALS(target=dataset.target),
        Trending(),
        TrendingAffinity(),
        BuyItAgain(),
        Blend(target=dataset.target),
    ]


def render(evaluation: Evaluation) -> Table:
    """Metric x algorithm, with the best baseline and the blend's ratio to it."""
    from ml_assets.evaluation.metrics import METRICS

    split = evaluation.split
    table = Table(
        title=(
            f"{evaluation.dataset}: @{evaluation.k}, targets: {evaluation.target} after "
            f"{split.cut:%Y-%m-%d %H:%M}; {split.users.height} users evaluated, "
            f"{split.cold_users} cold users not scored"
        )
    )
    algorithms = evaluation.results["algorithm"].to_list()
    baseline = set(evaluation.results.filter("is_baseline")["algorithm"].to_list())
    table.add_column("metric")
    for name in algorithms:
        table.add_column(name + (" (b)" if name in baseline else ""), justify="right")
    table.add_column("best baseline", justify="right")
    table.add_column("blend / best", justify="right")
    for metric in METRICS:
        best_name, best = evaluation.best_baseline(metric)
        values = [evaluation.metric(name, metric) for name in algorithms]
        blend = evaluation.metric("blend", metric) if "blend" in algorithms else float("nan")
        ratio = f"{blend / best:.2f}x" if best > 0 else "-"
        table.add_row(
            f"{metric}@{evaluation.k}" if metric != "coverage" else metric,
            *(f"{value:.4f}" for value in values),
            f"{best:.4f} ({best_name})",
            ratio,
        )
    table.caption = (
        f"(b) = baseline. precision@{evaluation.k} ceiling (users' targets / k): "
        f"{evaluation.precision_ceiling:.4f}"
    )
    return table


@evaluate_app.command("recommenders")
def evaluate_recommenders_command(
    dataset: Annotated[
        DatasetName, typer.Option("--dataset", help="Built-in dataset (ignored with --orders).")
    ] = DatasetName.SIMULATOR,
    orders: Annotated[
        Path | None,
        typer.Option("--orders", exists=True, dir_okay=False, help="A shop's orders CSV."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", exists=True, dir_okay=False, help="Column mapping (JSON/YAML)."),
    ] = None,
    orders_format: Annotated[
        OrdersFormat, typer.Option("--format", help="generic or shopify (its orders export).")
    ] = OrdersFormat.GENERIC,
    timezone: Annotated[str, typer.Option(help="Time zone of dates without an offset.")] = "UTC",
    k: Annotated[int, typer.Option(min=1, help="List length the metrics are taken at.")] = 10,
    test_share: Annotated[
        float, typer.Option(min=0.05, max=0.5, help="Share of the latest touches held out.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 42,
) -> None:
    """Fit every recommender and baseline before a time cut; score top-k lists after it."""
    from ingest.imports.mapping import MappingError
    from ingest.imports.rows import CsvFormatError
    from ml_assets.evaluation.datasets import (
        ImportFailedError,
        movielens_dataset,
        orders_dataset,
        simulator_dataset,
    )
    from ml_assets.evaluation.harness import evaluate_recommenders

    try:
        if orders is not None:
            data = orders_dataset(
                orders, mapping_path=mapping, file_format=orders_format.value, timezone=timezone
            )
        elif dataset is DatasetName.MOVIELENS:
            data = movielens_dataset()
        else:
            data = simulator_dataset(seed=seed)
    except (ImportFailedError, MappingError, CsvFormatError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{data.description}: {data.interactions.height:,} interactions")
    try:
        evaluation = evaluate_recommenders(
            data,
            models_for(data),
            k=k,
            test_share=test_share,
            on_progress=lambda name: console.print(f"  fitting {name}"),
        )
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if evaluation.split.users.height == 0:
        console.print("[red]error:[/red] no user has history before the cut and targets after it")
        raise typer.Exit(1)
    console.print(render(evaluation))
