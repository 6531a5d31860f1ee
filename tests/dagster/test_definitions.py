"""The Dagster definitions load, and their lineage joins up end to end.

Raw zone -> dbt sources -> dbt models (grouped by layer) -> ML assets -> publish, with no
dangling dependency anywhere: a renamed source, model or key shows up here as a broken edge.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
import pytest

from dagster_project.definitions import defs, intellishop_pipeline
from dagster_project.defs.dbt.assets import MART_FRESHNESS, warehouse_models
from dagster_project.partitions import DAILY, PARTITIONS_START
from dagster_project.resources import WarehouseResource, resources_for
from intellishop.quality import CHECKS
from intellishop.services import PROJECT_ROOT
from intellishop.settings import Profile, Settings

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

RAW_EVENTS = dg.AssetKey(["raw", "events"])
RAW_TENANTS = dg.AssetKey(["raw", "tenants"])
RAW_EVENT_DAYS = dg.AssetKey(["raw", "event_days"])
STAGING = {"stg_collector__events", "stg_collector__tenants"}
INTERMEDIATE = {
    "int_identity_map",
    "int_events_stitched",
    "int_sessions",
    "int_orders",
    "int_product_mentions",
    "int_product_interactions",
}
MARTS = {
    "daily_metrics",
    "products",
    "product_performance",
    "funnel_daily",
    "geo_daily",
    "customers",
    "cohort_retention",
}
ML = {
    "product_interactions",
    "order_history",
    "session_history",
    "trending",
    "popular",
    "user_recommendations",
    "similar_products",
    "frequently_bought_together",
    "cold_start_lists",
    "customer_models",
    "customer_scores",
    "demand_forecast",
    "category_demand_forecast",
    "reorder_suggestions",
}


def dbt_model_names() -> set[str]:
    """Every dbt model, as the dbt assets name them."""
    return {key.to_user_string() for key in warehouse_models.keys}


@pytest.fixture
def definitions(settings: Settings) -> dg.Definitions:
    """``defs()`` with the environment pointing at an empty data directory."""
    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    return loaded


@pytest.fixture
def asset_graph(definitions: dg.Definitions) -> AssetGraph:
    return definitions.resolve_asset_graph()


def parents(asset_graph: AssetGraph, key: str | dg.AssetKey) -> set[str]:
    asset_key = key if isinstance(key, dg.AssetKey) else dg.AssetKey(key)
    node = asset_graph.get(asset_key)
    return {parent.to_user_string() for parent in node.parent_keys}


def test_definitions_load_with_the_local_resources(definitions: dg.Definitions) -> None:
    assert set(definitions.resources or {}) == {"settings", "dbt", "warehouse", "serving_store"}
    job = definitions.resolve_job_def("intellishop_pipeline")
    assert job.name == intellishop_pipeline.name


def test_the_main_job_selects_every_asset_but_the_day_profile(
    definitions: dg.Definitions, asset_graph: AssetGraph
) -> None:
    job = definitions.resolve_job_def("intellishop_pipeline")
    every_asset = asset_graph.materializable_asset_keys
    assert job.asset_layer.selected_asset_keys == every_asset - {RAW_EVENT_DAYS}
    assert job.partitions_def is None
    names = {key.to_user_string() for key in every_asset}
    # The models listed here must exist; models added to dbt_project join the job by themselves.
    assert names >= {*STAGING, *INTERMEDIATE, *MARTS}
    ml = {key.to_user_string() for key in asset_graph.asset_keys_for_group("ml")}
    assert ml >= ML
    assert names - dbt_model_names() == {
        "raw/events",
        "raw/tenants",
        "raw/event_days",
        *ml,
        "serving_artifacts",
        "experiment_looks",
    }


def test_the_daily_job_is_the_whole_pipeline_by_utc_day(
    definitions: dg.Definitions, asset_graph: AssetGraph
) -> None:
    job = definitions.resolve_job_def("daily_pipeline")
    assert job.asset_layer.selected_asset_keys == asset_graph.materializable_asset_keys
    assert job.partitions_def == DAILY
    assert isinstance(DAILY, dg.DailyPartitionsDefinition)
    assert DAILY.timezone == "UTC"
    assert DAILY.start.date() == date.fromisoformat(PARTITIONS_START)


def test_the_schedules_start_stopped(definitions: dg.Definitions) -> None:
    schedules = {schedule.name for schedule in definitions.schedules or []}
    assert schedules == {
        "hourly_refresh",
        "daily_refresh",
        "weekly_model_retraining",
        "reports_daily",
        "reports_weekly",
        "reports_monthly",
    }
    hourly = definitions.resolve_schedule_def("hourly_refresh")
    assert hourly.job_name == "intellishop_pipeline"
    daily = definitions.resolve_schedule_def("daily_refresh")
    assert daily.job_name == "daily_pipeline"
    assert daily.cron_schedule == "30 5 * * *"
    for schedule in (hourly, daily):
        assert schedule.default_status is dg.DefaultScheduleStatus.STOPPED


def test_the_daily_schedule_runs_yesterdays_partition(definitions: dg.Definitions) -> None:
    schedule = definitions.resolve_schedule_def("daily_refresh")
    tick = datetime(2025, 3, 15, 5, 30, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert requests is not None
    assert [request.partition_key for request in requests] == ["2025-03-14"]


def test_the_sensors_start_stopped(definitions: dg.Definitions) -> None:
    sensors = {sensor.name: sensor for sensor in definitions.sensors or []}
    assert set(sensors) == {"new_events"}
    for sensor in sensors.values():
        assert sensor.default_status is dg.DefaultSensorStatus.STOPPED


def test_dbt_sources_are_the_raw_zone_assets(asset_graph: AssetGraph) -> None:
    assert parents(asset_graph, RAW_EVENT_DAYS) == {"raw/events"}
    assert parents(asset_graph, "stg_collector__events") == {"raw/events"}
    assert parents(asset_graph, "stg_collector__tenants") == {"raw/tenants"}
    for key in (RAW_EVENTS, RAW_TENANTS):
        produced_by = asset_graph.assets_def_for_key(key)
        assert produced_by.node_def.name == "raw_zone"
        assert parents(asset_graph, key) == set()


def test_every_dependency_is_an_asset_of_the_project(asset_graph: AssetGraph) -> None:
    """No edge ends at an unknown key (a dbt source not mapped to raw/<table>, a typo in deps)."""
    known = asset_graph.materializable_asset_keys
    assert asset_graph.external_asset_keys == set()
    for key in known:
        node = asset_graph.get(key)
        assert node.parent_keys <= known, key


def test_ml_and_publish_assets_hang_off_the_warehouse(asset_graph: AssetGraph) -> None:
    assert parents(asset_graph, "product_interactions") == {"int_product_interactions"}
    assert parents(asset_graph, "trending") == {"product_interactions"}
    assert parents(asset_graph, "popular") == {"product_interactions"}
    # ML assets (defs/ml, another engineer's, growing) read only the warehouse and each other.
    ml = {key.to_user_string() for key in asset_graph.asset_keys_for_group("ml")}
    for name in ml:
        assert parents(asset_graph, name) <= ml | dbt_model_names(), name
    assert "product_interactions" in parents(asset_graph, "user_recommendations")
    assert parents(asset_graph, "serving_artifacts") >= {
        *MARTS,
        "trending",
        "popular",
        "user_recommendations",
    }
    assert parents(asset_graph, "serving_artifacts") <= ml | dbt_model_names()
    assert parents(asset_graph, "daily_metrics") >= {"int_sessions", "int_orders"}
    assert parents(asset_graph, "experiment_looks") == {
        "int_experiment_exposures",
        "int_experiment_outcomes",
    }


def test_assets_are_grouped_by_layer(asset_graph: AssetGraph) -> None:
    exactly = {
        "raw": {"raw/events", "raw/tenants", "raw/event_days"},
        "publish": {"serving_artifacts"},
        "experiments": {"experiment_looks"},
    }
    at_least = {"staging": STAGING, "intermediate": INTERMEDIATE, "marts": MARTS, "ml": ML}
    assert asset_graph.all_group_names == set(exactly) | set(at_least)
    for group, names in exactly.items():
        keys = asset_graph.asset_keys_for_group(group)
        assert {key.to_user_string() for key in keys} == names, group
    in_layers: set[str] = set()
    for group, names in at_least.items():
        layer = {key.to_user_string() for key in asset_graph.asset_keys_for_group(group)}
        assert layer >= names, group
        in_layers |= layer
    # Every dbt model sits in the group of its folder, and nothing else does.
    ml = {key.to_user_string() for key in asset_graph.asset_keys_for_group("ml")}
    assert in_layers - ml == dbt_model_names()


def test_dbt_data_tests_become_asset_checks(asset_graph: AssetGraph) -> None:
    checks = {
        (check.asset_key.to_user_string(), check.name) for check in asset_graph.asset_check_keys
    }
    assert (
        "int_events_stitched",
        "unique_key_int_events_stitched_tenant_id__message_id",
    ) in checks
    assert ("daily_metrics", "not_null_daily_metrics") in checks


def test_the_raw_suite_checks_raw_events_and_blocks_where_marts_would_suffer(
    asset_graph: AssetGraph,
) -> None:
    raw_checks = {
        check.name: asset_graph.get_check_spec(check)
        for check in asset_graph.asset_check_keys
        if check.asset_key == RAW_EVENTS
    }
    assert set(raw_checks) == set(CHECKS)
    blocking = {name for name, spec in raw_checks.items() if spec.blocking}
    assert blocking == {
        "schema",
        "ids_and_times_not_null",
        "timestamps_in_range",
        "message_id_unique",
    }


def test_every_mart_and_the_publish_step_have_a_freshness_policy(asset_graph: AssetGraph) -> None:
    with_policy = {
        key.to_user_string()
        for key in asset_graph.materializable_asset_keys
        if asset_graph.get(key).freshness_policy is not None
    }
    marts = {key.to_user_string() for key in asset_graph.asset_keys_for_group("marts")}
    assert marts >= MARTS
    assert with_policy == {*marts, "serving_artifacts"}
    policy = asset_graph.get(dg.AssetKey("daily_metrics")).freshness_policy
    assert policy == MART_FRESHNESS


def test_definitions_load_under_the_prod_profile(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prod profile's resources are built without a server (they connect when used)."""
    monkeypatch.setenv("INTELLISHOP_PROFILE", "prod")
    monkeypatch.setenv("INTELLISHOP_ADMIN_TOKEN", "a-test-secret")
    loaded = defs()
    assert loaded.resources is not None
    assert loaded.resources["dbt"].target == "prod"
    for job in ("intellishop_pipeline", "daily_pipeline"):
        loaded.resolve_job_def(job)
    loaded.resolve_asset_graph()


@pytest.mark.parametrize("profile", ["local", "prod"])
def test_dagster_validates_the_workspace(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    """``dagster definitions validate`` over workspace.yaml, as `dagster dev` would load it."""
    env = {
        **os.environ,
        **settings.dbt_env(),
        "INTELLISHOP_PROFILE": profile,
        "INTELLISHOP_ADMIN_TOKEN": "a-test-secret",
        "DAGSTER_HOME": str(settings.dagster_home),
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "All code locations passed validation" in done.stderr + done.stdout


def test_resources_follow_the_profile() -> None:
    local = resources_for(Settings(profile=Profile.LOCAL))
    prod = resources_for(Settings(profile=Profile.PROD, admin_token="a-test-secret"))
    assert local["dbt"].target == "local"
    assert prod["dbt"].target == "prod"
    assert set(local) == set(prod)


def test_the_warehouse_reader_takes_model_names_only() -> None:
    with pytest.raises(ValueError, match="not a model or column name"):
        WarehouseResource().read_table('products"; drop table products; --')


def test_loading_the_definitions_never_opens_the_warehouse(settings: Settings) -> None:
    """With another process writing the DuckDB file, a fresh process still imports and loads
    the definitions (the Dagster UI's code server does exactly that while ``dbt build`` runs).
    The same process then fails to open the file, which shows the lock was really held."""
    writer = duckdb.connect(str(settings.warehouse_path))
    try:
        writer.sql("create table held as select 1 as one")
        script = textwrap.dedent(
            f"""
            import duckdb
            from dagster_project.definitions import defs, intellishop_pipeline

            definitions = defs()
            definitions.resolve_job_def(intellishop_pipeline.name)
            definitions.resolve_asset_graph()
            print("LOADED")
            try:
                duckdb.connect({str(settings.warehouse_path)!r}, read_only=True).close()
            except duckdb.IOException:
                print("LOCKED")
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=PROJECT_ROOT,
            env={**os.environ, **settings.dbt_env()},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        writer.close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["LOADED", "LOCKED"]
