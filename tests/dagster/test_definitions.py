"""The Dagster definitions load, and their lineage joins up end to end.

Raw zone -> dbt sources -> dbt models (grouped by layer) -> ML assets -> publish, with no
dangling dependency anywhere: a renamed source, model or key shows up here as a broken edge.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
import pytest

from dagster_project.definitions import defs, intellishop_pipeline
from dagster_project.resources import WarehouseResource, resources_for
from intellishop.services import PROJECT_ROOT
from intellishop.settings import Profile, Settings

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

RAW_EVENTS = dg.AssetKey(["raw", "events"])
RAW_TENANTS = dg.AssetKey(["raw", "tenants"])
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
ML = {"product_interactions", "trending", "popular", "user_recommendations"}


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


def test_the_main_job_selects_every_asset(
    definitions: dg.Definitions, asset_graph: AssetGraph
) -> None:
    job = definitions.resolve_job_def("intellishop_pipeline")
    every_asset = asset_graph.materializable_asset_keys
    assert job.asset_layer.selected_asset_keys == every_asset
    names = {key.to_user_string() for key in every_asset}
    assert names == {
        "raw/events",
        "raw/tenants",
        *STAGING,
        *INTERMEDIATE,
        *MARTS,
        *ML,
        "serving_artifacts",
    }


def test_the_hourly_schedule_runs_the_main_job_and_starts_stopped(
    definitions: dg.Definitions,
) -> None:
    schedules = list(definitions.schedules or [])
    assert len(schedules) == 1
    schedule = definitions.resolve_schedule_def("hourly_refresh")
    assert schedule.job_name == "intellishop_pipeline"
    assert schedule.default_status is dg.DefaultScheduleStatus.STOPPED


def test_dbt_sources_are_the_raw_zone_assets(asset_graph: AssetGraph) -> None:
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
    assert parents(asset_graph, "user_recommendations") == {"product_interactions", "trending"}
    assert parents(asset_graph, "serving_artifacts") == {
        *MARTS,
        "trending",
        "popular",
        "user_recommendations",
    }
    assert parents(asset_graph, "daily_metrics") >= {"int_sessions", "int_orders"}


def test_assets_are_grouped_by_layer(asset_graph: AssetGraph) -> None:
    expected = {
        "raw": {"raw/events", "raw/tenants"},
        "staging": STAGING,
        "intermediate": INTERMEDIATE,
        "marts": MARTS,
        "ml": ML,
        "publish": {"serving_artifacts"},
    }
    assert asset_graph.all_group_names == set(expected)
    for group, names in expected.items():
        keys = asset_graph.asset_keys_for_group(group)
        assert {key.to_user_string() for key in keys} == names, group


def test_dbt_data_tests_become_asset_checks(asset_graph: AssetGraph) -> None:
    checks = {
        (check.asset_key.to_user_string(), check.name) for check in asset_graph.asset_check_keys
    }
    assert (
        "stg_collector__events",
        "unique_key_stg_collector__events_tenant_id__message_id",
    ) in checks
    assert ("daily_metrics", "not_null_daily_metrics_metric_date") in checks


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
