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
from .defs.experiments.assets import experiment_looks
from .defs.ml.assets import (
    category_demand_forecast,
    customer_models,
    customer_scores,
    demand_forecast,
    order_history,
    popular,
    product_interactions,
    recommendation_tables_assets,
    reorder_suggestions,
    session_history,
    trending,
)
from .defs.ml.schedules import model_retraining, weekly_model_retraining
from .defs.publish.assets import serving_artifacts
from .defs.raw.assets import raw_event_days, raw_zone
from .defs.raw.checks import raw_events_quality
from .defs.reports.jobs import merchant_reports, reports_daily, reports_monthly, reports_weekly
from .jobs import daily_pipeline, intellishop_pipeline
from .progress import progress_logger
from .resources import resources_for

__all__ = ["ASSETS", "daily_pipeline", "defs", "intellishop_pipeline", "model_retraining"]

ASSETS = [
    raw_zone,
    raw_event_days,
    warehouse_models,
    product_interactions,
    order_history,
    session_history,
    trending,
    popular,
    recommendation_tables_assets,
    customer_models,
    customer_scores,
    demand_forecast,
    category_demand_forecast,
    reorder_suggestions,
    serving_artifacts,
    experiment_looks,
]

#: Checks besides dbt's data tests (which come with ``warehouse_models``). The marts' freshness
#: is their ``FreshnessPolicy`` (set by the dbt translator), which Dagster evaluates itself.
ASSET_CHECKS = [raw_events_quality]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[intellishop_pipeline, daily_pipeline, model_retraining, merchant_reports],
        schedules=[
            hourly_refresh,
            daily_refresh,
            weekly_model_retraining,
            reports_daily,
            reports_weekly,
            reports_monthly,
        ],
        sensors=[pending_events_sensor(intellishop_pipeline)],
        resources=resources_for(get_settings()),
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    )
