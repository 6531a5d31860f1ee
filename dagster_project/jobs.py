"""The jobs: the main one (everything but the day profile) and the daily, partitioned one."""

import dagster as dg

from intellishop.observability import record_pipeline_run
from intellishop.settings import get_settings

from .defs.raw.assets import RAW_EVENT_DAYS


@dg.failure_hook(name="record_pipeline_failure")
def record_pipeline_failure(context: dg.HookContext) -> None:
    """A failed step fails the run: Prometheus sees it (the PipelineRunFailed alert)."""
    record_pipeline_run(get_settings(), context.run_id, succeeded=False)


#: The main job: load the raw zone, check it, build every dbt model, train, publish. Not
#: partitioned: what the demo, ``intellishop pipeline run``, the sensor and the hourly schedule
#: run.
intellishop_pipeline = dg.define_asset_job(
    "intellishop_pipeline",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(RAW_EVENT_DAYS),
    description="Raw zone -> dbt build -> recommendations -> serving artifacts, all tenants.",
    hooks={record_pipeline_failure},
)

#: The same pipeline for one UTC day: the raw-zone checks look at that day only, and the day's
#: raw profile is materialized. Partitioned by the day profile (the other assets are not).
daily_pipeline = dg.define_asset_job(
    "daily_pipeline",
    selection=dg.AssetSelection.all(),
    description=(
        "The whole pipeline for one UTC day: raw checks on that day, the day's raw profile, "
        "then dbt (incremental, with its own lookback), ML and publish."
    ),
    hooks={record_pipeline_failure},
)
