"""Everything Dagster loads: assets, checks, jobs, schedules, sensors, and the profile's resources.

The profile is read when Dagster loads the definitions (``@dg.definitions``), not at import time,
so that tests and tools can import the modules without an environment.
"""

from __future__ import annotations

import dagster as dg

from intellishop.settings import get_settings

from .defs.automation.schedules import daily_refresh, hourly_refresh
from .defs.automation.sensors import pending_events_sensor
from .defs.dbt.assets import warehouse_models
from .defs.ml.assets import popular, product_interactions, trending, user_recommendations
from .defs.publish.assets import serving_artifacts
from .defs.raw.assets import raw_event_days, raw_zone
from .defs.raw.checks import raw_events_quality
from .jobs import daily_pipeline, intellishop_pipeline
from .progress import progress_logger
from .resources import resources_for

__all__ = ["ASSETS", "daily_pipeline", "defs", "intellishop_pipeline"]

ASSETS = [
    raw_zone,
    raw_event_days,
    warehouse_models,
    product_interactions,
    trending,
    popular,
    user_recommendations,
    serving_artifacts,
]

#: Checks besides dbt's data tests (which come with ``warehouse_models``). The marts' freshness
#: is their ``FreshnessPolicy`` (set by the dbt translator), which Dagster evaluates itself.
ASSET_CHECKS = [raw_events_quality]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[intellishop_pipeline, daily_pipeline],
        schedules=[hourly_refresh, daily_refresh],
        sensors=[pending_events_sensor(intellishop_pipeline)],
        resources=resources_for(get_settings()),
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    )
