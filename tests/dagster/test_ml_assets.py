"""The ML assets materialized against a real DuckDB warehouse file holding simulated shops.

The warehouse is built from ``ml_assets.features.simulated`` (no dbt: seconds, not minutes) with
the tables the assets read: int_orders, int_sessions, int_product_interactions and products.
``WarehouseResource`` and the model registry find it through ``INTELLISHOP_DATA_DIR``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import pytest

from dagster_project.defs.ml import assets as ml
from dagster_project.defs.ml.forecasting import split_by_method
from dagster_project.defs.ml.schedules import model_retraining, weekly_model_retraining
from dagster_project.resources import SettingsResource, WarehouseResource
from intellishop.commands.models import open_registry
from intellishop.settings import Settings
from ml_assets.features.simulated import simulated_shop

#: The simulated history ends yesterday: the assets forecast and score from "now".
END = datetime.now(UTC).date() - timedelta(days=1)
#: The publish columns proposed for each new serving table (plus tenant_id in the frames).
PUBLISHED = {
    "similar_products": ["product_id", "similar_product_id", "score", "rank", "algorithm"],
    "frequently_bought_together": [
        "product_id", "other_product_id", "orders_together", "confidence", "lift", "rank",
    ],
    "cold_start_lists": ["context", "product_id", "score", "rank"],
    "user_recommendations": ["user_id", "product_id", "score", "rank", "algorithm"],
    "customer_scores": [
        "user_id", "churn_probability", "churn_top_features", "clv_12m",
        "expected_purchases_90d", "model_version",
    ],
    "demand_forecast": ["product_id", "forecast_date", "yhat", "yhat_lower", "yhat_upper"],
    "reorder_suggestions": [
        "product_id", "daily_demand_mean", "daily_demand_std", "lead_time_days",
        "service_level", "safety_stock", "reorder_point", "suggested_order_qty",
    ],
}  # fmt: skip
#: Prophet for two products and one category per tenant: the rest of the test is the point.
FAST_FORECAST = {
    "ops": {
        name: {"config": {"prophet_max_series": 2, "category_prophet_max_series": 1}}
        for name in ("demand_forecast", "category_demand_forecast")
    }
}
FORCE = {"ops": {"customer_models": {"config": {"force": True}}}}
CUSTOMER_ASSETS = [
    ml.order_history,
    ml.session_history,
    ml.product_interactions,
    ml.customer_models,
    ml.customer_scores,
]
RESOURCES = {"settings": SettingsResource(), "warehouse": WarehouseResource()}


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with a shop big enough for every model and one too small for churn."""
    big = simulated_shop(seed=21, days=120, customers=250, products=30, end=END, tenant_id="big")
    tiny = simulated_shop(seed=22, days=120, customers=12, products=20, end=END, tenant_id="tiny")
    frames = big.concat(tiny)
    products = (
        frames.interactions.group_by("tenant_id", "product_id")
        .agg(pl.col("category").drop_nulls().first())
        .with_columns(
            ("Product " + pl.col("product_id")).alias("name"),
            pl.lit("Acme").alias("brand"),
            pl.lit(12.5).alias("price"),
        )
    )
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    tables = {
        "int_orders": frames.orders,
        "int_product_interactions": frames.interactions,
        "int_sessions": frames.sessions,
        "products": products,
    }
    with duckdb.connect(str(path)) as con:
        for name, frame in tables.items():
            con.register("frame", frame.to_arrow())
            con.sql(f"create table {name} as select * from frame")
            con.unregister("frame")
    return path


@pytest.fixture
def data_dir(
    warehouse_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh installation (own registry) holding a copy of the warehouse."""
    shutil.copy(warehouse_file, tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("INTELLISHOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTELLISHOP_PROFILE", "local")
    yield tmp_path


def materialize(
    assets: list[Any], instance: dg.DagsterInstance, run_config: dict[str, Any] | None = None
) -> dg.ExecuteInJobResult:
    result = dg.materialize(assets, resources=RESOURCES, instance=instance, run_config=run_config)
    assert result.success
    return result


def runs_by_tenant(frame: pl.DataFrame) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(row["tenant_id"], row["kind"]): row for row in frame.iter_rows(named=True)}


def test_every_ml_asset_materializes_with_its_columns(data_dir: Path) -> None:
    assets = [
        *CUSTOMER_ASSETS,
        ml.recommendation_tables_assets,
        ml.demand_forecast,
        ml.category_demand_forecast,
        ml.reorder_suggestions,
    ]
    with dg.instance_for_test() as instance:
        result = materialize(assets, instance, FAST_FORECAST)
    multi = set(ml.recommendation_tables_assets.keys_by_output_name)
    for name, columns in PUBLISHED.items():
        node, output = ("recommendation_tables_assets", name) if name in multi else (name, "result")
        frame = result.output_for_node(node, output)
        assert set(["tenant_id", *columns]) <= set(frame.columns), name
        assert frame.height > 0, name
    assert set(result.output_for_node("category_demand_forecast")["method"]) == {
        "prophet",
        "seasonal_naive",
    }
    # Content neighbours came from the products mart: every catalog product has some.
    similar = result.output_for_node("recommendation_tables_assets", "similar_products")
    assert "content" in set(similar["algorithm"])

    runs = runs_by_tenant(result.output_for_node("customer_models"))
    assert runs[("big", "churn")]["version"] == 1 and runs[("big", "churn")]["promoted"]
    assert runs[("big", "clv")]["version"] == 1
    assert runs[("tiny", "churn")]["version"] is None
    assert "too few" in runs[("tiny", "churn")]["note"]
    metadata = result.asset_materializations_for_node("customer_models")[0].metadata
    expected = ["auc", "auc_recency", "auc_rfm_logistic", "brier_calibrated", "max_psi",
                "churn_model_version",
                "clv_purchases_error", "clv_naive_purchases_error"]  # fmt: skip
    for key in expected:
        assert f"big/{key}" in metadata, key
    assert isinstance(metadata["big/drift"], dg.JsonMetadataValue)
    assert "tiny/auc" not in metadata

    scores = result.output_for_node("customer_scores")
    big, tiny = (scores.filter(pl.col("tenant_id") == t) for t in ("big", "tiny"))
    assert set(big["model_version"]) == {"churn-v1+clv-v1"}
    assert big["churn_probability"].is_between(0, 1).all()
    assert tiny["churn_probability"].is_null().all() and set(tiny["model_version"]) == {"none"}


def test_no_retraining_within_a_week_unless_forced(data_dir: Path) -> None:
    training = CUSTOMER_ASSETS[:-1]  # scoring is not the point here
    with dg.instance_for_test() as instance:
        materialize(training, instance)
        registry = open_registry(Settings())
        first = registry.history("big")

        again = runs_by_tenant(materialize(training, instance).output_for_node("customer_models"))
        assert again[("big", None)]["retrained"] is False
        assert "days old" in again[("big", None)]["note"]
        assert registry.history("big") == first

        forced = materialize(training, instance, FORCE).output_for_node("customer_models")
        runs = runs_by_tenant(forced)
        assert runs[("big", "churn")]["version"] == 2
        assert runs[("big", "churn")]["champion_version"] == 1
        assert len(registry.history("big")) == len(first) + 2


def test_scores_use_the_active_version_not_a_rejected_candidate(data_dir: Path) -> None:
    with dg.instance_for_test() as instance:
        materialize(CUSTOMER_ASSETS, instance)
        registry = open_registry(Settings())
        rejected = registry.register(
            "big", "churn", params={}, metrics={"auc": 0.01}, champion_metrics={"auc": 0.99},
            write_artifact=lambda directory: None,
        )  # fmt: skip
        assert rejected.status == "rejected"
        result = materialize(CUSTOMER_ASSETS, instance)
    scores = result.output_for_node("customer_scores").filter(pl.col("tenant_id") == "big")
    assert set(scores["model_version"]) == {"churn-v1+clv-v1"}
    assert scores["churn_probability"].is_not_null().all()


def test_prophet_goes_to_the_best_sellers_only() -> None:
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(70)]
    rows = [
        {"tenant_id": "t", "series": series, "ds": day, "y": float(units)}
        for series, units in (("hot", 5), ("warm", 2), ("cold", 1))
        for day in days
    ] + [{"tenant_id": "t", "series": "new", "ds": day, "y": 9.0} for day in days[-10:]]
    prophet, naive = split_by_method(pl.DataFrame(rows), prophet_max_series=2)
    assert set(prophet["series"]) == {"hot", "warm"}
    # "new" sells most per day but has too little history for Prophet under the library's rule.
    assert set(naive["series"]) == {"cold", "new"}


def test_weekly_retraining_job_and_schedule() -> None:
    defs = dg.Definitions(
        assets=[*CUSTOMER_ASSETS, ml.recommendation_tables_assets, ml.demand_forecast],
        jobs=[model_retraining],
        schedules=[weekly_model_retraining],
        resources=RESOURCES,
    )
    job = defs.resolve_job_def("model_retraining")
    selected = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert selected == {
        "order_history", "session_history", "product_interactions", "customer_models",
        "customer_scores",
    }  # fmt: skip
    assert weekly_model_retraining.cron_schedule == "0 3 * * 1"
    assert weekly_model_retraining.execution_timezone == "UTC"
    assert weekly_model_retraining.default_status == dg.DefaultScheduleStatus.STOPPED
    # The schedule's runs force retraining: the job's default run config says so.
    assert job.run_config is not None
    assert job.run_config["ops"]["customer_models"]["config"] == {"force": True}
