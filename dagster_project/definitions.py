"""Everything Dagster loads: assets, the main job, its schedule, and the profile's resources.

The profile is read when Dagster loads the definitions (``@dg.definitions``), not at import time,
so that tests and tools can import the modules without an environment.
"""

from __future__ import annotations

import dagster as dg

from intellishop.settings import get_settings

from .defs.automation.sensors import pending_events_sensor
from .defs.dbt.assets import warehouse_models
from .defs.ml.assets import popular, product_interactions, trending, user_recommendations
from .defs.publish.assets import serving_artifacts
from .defs.raw.assets import raw_zone
from .progress import progress_logger
from .resources import resources_for

#: The main job: load the raw zone, build every dbt model, train, publish.
intellishop_pipeline = dg.define_asset_job(
    "intellishop_pipeline",
    selection=dg.AssetSelection.all(),
    description="Raw zone -> dbt build -> recommendations -> serving artifacts, all tenants.",
)

#: Hourly refresh; off until an operator turns it on in the UI (the demo runs the job itself).
hourly_refresh = dg.ScheduleDefinition(
    name="hourly_refresh",
    job=intellishop_pipeline,
    cron_schedule="15 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

ASSETS = [
    raw_zone,
    warehouse_models,
    product_interactions,
    trending,
    popular,
    user_recommendations,
    serving_artifacts,
]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        jobs=[intellishop_pipeline],
        schedules=[hourly_refresh],
        sensors=[pending_events_sensor(intellishop_pipeline)],
        resources=resources_for(get_settings()),
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    )
