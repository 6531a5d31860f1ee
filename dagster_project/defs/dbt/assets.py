"""The dbt models as assets: one ``dbt build`` (models and their tests) per run.

dbt costs seconds of start-up per command, so the models are built together; dbt's data tests
become Dagster asset checks (dagster-dbt's default: each test on a model is a check of that
model's asset, run and reported by the same ``dbt build``). Sources map onto the raw-zone assets
so the lineage joins up.

A run of the daily job does not pass its day to dbt: the event models are incremental with their
own lookback (``late_arrival_hours``), so one build brings every day up to date, late events
included. See docs/orchestration.md.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from intellishop.privacy import apply_pending_erasures

from ...project import dbt_project
from ...resources import SettingsResource

#: What a pipeline run asks dbt for: every selected model and its data tests, not dbt's unit
#: tests. Unit tests check the SQL against fixed inputs, so they pass or fail with the code, not
#: with the data; CI runs them (tests/dbt), and re-running them on every scheduled build cost
#: about a fifth of an incremental run (8 fixtures set up and torn down each time).
DBT_BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")

#: The model folders, which are also the Dagster asset groups.
LAYERS = ("staging", "intermediate", "marts")

#: The marts are what merchants and analysts read: older than a day (plus the daily schedule's
#: slack) means nothing is rebuilding them; two hours already means the hourly refresh stalled.
#: Dagster evaluates the policy itself (no sensor, no check run) and shows each mart's state.
MART_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=2)
)


class IntelliShopDbtTranslator(DagsterDbtTranslator):
    """Sources are the raw zone (``raw/<table>``); models are grouped by their layer folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(
        self,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetSpec:
        """Marts carry a freshness policy (the UI shows them fresh, late or failing)."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.group_name == "marts":
            return spec.replace_attributes(freshness_policy=MART_FRESHNESS)
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        for layer in LAYERS:
            if layer in fqn:
                return layer
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=IntelliShopDbtTranslator(),
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource
) -> Iterator[Any]:
    """Build the selected models and run their tests, in the profile's dbt target.

    dbt reads the warehouse and raw-zone paths from its environment, which ``DbtCliResource``
    copies from this process: they are set from the run's settings while dbt starts, so dbt
    builds the warehouse that the steps downstream read, whatever the shell exported.

    dbt's target folder lives in the data directory, one per installation rather than one per
    run: runs do not pile up folders, and dbt's partial parse state carries over between runs.
    """
    config = settings.get()
    # Staging is incremental: it no longer rebuilds from the (erased) raw zone, so erasures
    # that found the warehouse busy are finished here, while this run holds it.
    finished = apply_pending_erasures(config)
    if finished:
        context.log.info(f"finished pending GDPR erasures: {finished}")
    with _environment(config.dbt_env()):
        invocation = dbt.cli(
            list(DBT_BUILD_ARGS),
            context=context,
            target_path=config.data_dir.resolve() / "dbt-target",
        )
    yield from invocation.stream()


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
