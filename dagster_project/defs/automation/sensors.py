"""Automation: run the pipeline when new events wait in the event log.

Off until an operator turns it on in the Dagster UI (Automation), so the demo and the tests
run the pipeline only when asked. With the sensor on, events a shop sends reach the
dashboards and the API within a couple of minutes, without anyone pressing a button.
"""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from ingest.event_log import open_event_log
from ingest.loader import LOADER_CONSUMER
from intellishop.settings import get_settings

#: The sensor looks at the event log this often (seconds); a run takes about half a minute.
CHECK_EVERY_SECONDS = 60


def pending_events_sensor(job: UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    """A sensor that requests a run of ``job`` when the raw loader is behind the event log."""

    @dg.sensor(
        name="new_events",
        job=job,
        minimum_interval_seconds=CHECK_EVERY_SECONDS,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Runs the pipeline when accepted events wait in the event log.",
    )
    def new_events(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        in_flight = context.instance.get_run_records(
            dg.RunsFilter(
                job_name=job.name,
                statuses=[
                    dg.DagsterRunStatus.QUEUED,
                    dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING,
                    dg.DagsterRunStatus.STARTED,
                ],
            ),
            limit=1,
        )
        if in_flight:
            return dg.SensorResult(skip_reason="a pipeline run is already under way")
        event_log = open_event_log(get_settings())
        try:
            pending = event_log.lag(LOADER_CONSUMER)
        finally:
            event_log.close()
        if pending == 0:
            return dg.SensorResult(skip_reason="no new events")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(tags={"intellishop/pending_batches": str(pending)})]
        )

    return new_events
