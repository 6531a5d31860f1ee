"""Schedules: hourly (the main job) and daily (yesterday's partition). Both start stopped:
the demo runs the pipeline itself, and an operator turns a schedule on in the UI."""

import dagster as dg

from ...jobs import daily_pipeline, intellishop_pipeline

#: Hourly refresh of everything.
hourly_refresh = dg.ScheduleDefinition(
    name="hourly_refresh",
    job=intellishop_pipeline,
    cron_schedule="15 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

#: Each morning at 05:30 UTC, the day that just ended (the last complete daily partition).
#: Half past, so that it does not start together with the hourly refresh at a quarter past.
daily_refresh = dg.build_schedule_from_partitioned_job(
    daily_pipeline,
    name="daily_refresh",
    hour_of_day=5,
    minute_of_hour=30,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Runs the daily job for yesterday's UTC partition every morning.",
)
