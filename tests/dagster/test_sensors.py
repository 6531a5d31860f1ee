"""The new-events sensor asks for a run only when the loader is behind and no run is going."""

from __future__ import annotations

import dagster as dg

from dagster_project.definitions import intellishop_pipeline
from dagster_project.defs.automation.sensors import pending_events_sensor
from ingest.event_log import open_event_log
from ingest.loader import drain_event_log
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.settings import Settings


def append_one_batch(settings: Settings) -> None:
    event = LoggedEvent(
        message_id="m1",
        type="track",
        event="Product Viewed",
        user_id=None,
        anonymous_id="a1",
        timestamp_us=1_700_000_000_000_000,
        sent_at_us=None,
        received_at_us=1_700_000_000_000_000,
        properties=b'{"product_id": "p1"}',
        traits=b"{}",
        context=b"{}",
    )
    log = open_event_log(settings)
    try:
        log.append(LoggedBatch(tenant_id="shop", events=[event]))
    finally:
        log.close()


def evaluate(instance: dg.DagsterInstance) -> dg.SensorResult:
    sensor = pending_events_sensor(intellishop_pipeline)
    result = sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult)
    return result


def test_no_run_without_new_events(settings: Settings) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = evaluate(instance)
    assert not result.run_requests
    assert result.skip_reason is not None
    assert "no new events" in str(result.skip_reason)


def test_a_run_when_events_wait_and_none_after_loading(settings: Settings) -> None:
    append_one_batch(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        result = evaluate(instance)
        assert result.run_requests and len(result.run_requests) == 1
        assert result.run_requests[0].tags["intellishop/pending_batches"] == "1"
        drain_event_log(settings)
        assert not evaluate(instance).run_requests
