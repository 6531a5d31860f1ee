"""The raw-event suite, run as Dagster asset checks over a tiny raw zone written in the loader's
layout: a clean zone passes; each kind of bad row fails its own check (and only that one);
blocking failures keep the assets downstream of ``raw/events`` from being built."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_project.defs.raw.assets import RAW_EVENT_DAYS, RAW_EVENTS, raw_event_days, raw_zone
from dagster_project.defs.raw.checks import checked_days, fresh_as_of, raw_events_quality
from dagster_project.raw_reader import RAW_ROWS_SCHEMA, DayRange
from dagster_project.resources import SettingsResource
from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.quality import CHECKS, validate_raw_events
from intellishop.settings import Settings

#: The rows' "now": at least 02:00 UTC of today. Rows go into day partitions by their time, and
#: in a day's first hours "an hour ago" would be yesterday (every check counted one day short
#: in a run at 00:27). Up to two hours ahead of the clock is well within the allowed clock
#: skew (``max_clock_skew_seconds``), so the checks treat these rows as now.
NOW = max(
    datetime.now(UTC),
    datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC) + timedelta(hours=2),
)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
BLOCKING = {name for name, check in CHECKS.items() if check.blocking}


def event(message_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """One raw row, received a minute after it happened."""
    return {
        "message_id": message_id,
        "type": "track",
        "event": "Product Viewed",
        "user_id": None,
        "anonymous_id": "anon-1",
        "previous_id": None,
        "timestamp": at,
        "sent_at": None,
        "received_at": at + timedelta(minutes=1),
        "properties": '{"product_id": "p1", "price": 19.5, "quantity": 1}',
        "traits": "{}",
        "context": "{}",
        "log_offset": 1,
        **fields,
    }


def clean_rows() -> dict[tuple[str, date], list[dict[str, Any]]]:
    """Two tenants, yesterday and today; both use message id "m1" (ids are per tenant)."""
    noon = datetime.combine(YESTERDAY, datetime.min.time(), UTC) + timedelta(hours=12)
    recent = NOW - timedelta(minutes=30)
    order = '{"order_id": "o1", "revenue": 30, "products": [{"price": 10, "quantity": 3}]}'
    return {
        ("shop-a", YESTERDAY): [event("m1", noon), event("m2", noon + timedelta(hours=1))],
        ("shop-a", recent.date()): [event("m3", recent, event="Order Completed", properties=order)],
        ("shop-b", YESTERDAY): [event("m1", noon), event("m4", noon)],
    }


def write_raw_zone(settings: Settings, rows: dict[tuple[str, date], list[dict[str, Any]]]) -> None:
    """Parquet files where the loader puts them (``tenant_id=/event_date=``), nulls allowed."""
    loose = pa.schema([field.with_nullable(True) for field in RAW_EVENT_SCHEMA])
    for (tenant_id, day), events in rows.items():
        directory = (
            settings.raw_zone_dir / "events" / f"tenant_id={tenant_id}" / f"event_date={day}"
        )
        directory.mkdir(parents=True, exist_ok=True)
        existing = len(list(directory.glob("*.parquet")))
        table = pa.Table.from_pylist(events, schema=loose)
        pq.write_table(table, directory / f"part-{existing:012d}.parquet")


DOWNSTREAM = dg.AssetKey("built_from_raw")


@dg.asset(key=DOWNSTREAM, deps=[RAW_EVENTS])
def built_from_raw() -> None:
    """Stands in for the dbt models: it must not be built when a blocking check fails."""


def run_checks(partition: date | None = None) -> dg.ExecuteInProcessResult:
    """raw_zone (drains the empty event log), the checks, and a downstream asset, in process."""
    assets: list[Any] = [raw_zone, built_from_raw]
    if partition is not None:
        assets.append(raw_event_days)
    definitions = dg.Definitions(
        assets=assets,
        asset_checks=[raw_events_quality],
        jobs=[dg.define_asset_job("checks", selection=dg.AssetSelection.all())],
        resources={"settings": SettingsResource()},
    )
    job = definitions.resolve_job_def("checks")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            partition_key=None if partition is None else partition.isoformat(),
        )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def built(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {e.asset_key for e in result.get_asset_materialization_events() if e.asset_key}


@pytest.fixture
def raw_settings(settings: Settings) -> Iterator[Settings]:
    write_raw_zone(settings, clean_rows())
    yield settings


def test_a_clean_raw_zone_passes_every_check(raw_settings: Settings) -> None:
    result = run_checks()
    assert result.success
    checks = evaluations(result)
    assert set(checks) == set(CHECKS)
    assert all(check.passed for check in checks.values()), {
        name: check.metadata for name, check in checks.items() if not check.passed
    }
    assert checks["message_id_unique"].metadata["rows_checked"].value == 5
    assert DOWNSTREAM in built(result)
    raw = result.asset_materializations_for_node("raw_zone")
    events_metadata = next(m.metadata for m in raw if m.asset_key == RAW_EVENTS)
    assert events_metadata["dagster/row_count"].value == 5
    assert events_metadata["rows_by_tenant"].value == {"shop-a": 3, "shop-b": 2}
    assert "m3" in str(events_metadata["newest_events"].value)


@pytest.mark.parametrize(
    ("failing_check", "bad_row", "example"),
    [
        # A client's retry that landed on another day under the same id.
        ("message_id_unique", ("shop-a", TODAY, event("m2", NOW - timedelta(hours=1))), "m2"),
        ("ids_and_times_not_null", ("shop-b", TODAY, event("m9", NOW, timestamp=None)), "m9"),
        (
            "timestamps_in_range",
            ("shop-b", TODAY + timedelta(days=400), event("m8", NOW + timedelta(days=400))),
            "m8",
        ),
    ],
)
def test_a_bad_row_fails_its_blocking_check_and_stops_the_models(
    raw_settings: Settings,
    failing_check: str,
    bad_row: tuple[str, date, dict[str, Any]],
    example: str,
) -> None:
    tenant_id, day, row = bad_row
    write_raw_zone(raw_settings, {(tenant_id, day): [row]})
    result = run_checks()
    checks = evaluations(result)
    failed = {name for name, check in checks.items() if not check.passed}
    assert failed == {failing_check}
    assert failing_check in BLOCKING
    check = checks[failing_check]
    assert check.severity is dg.AssetCheckSeverity.ERROR
    assert check.metadata["unexpected_values"].value >= 1
    assert example in check.metadata["examples"].value
    assert DOWNSTREAM not in built(result)
    assert not result.success


def test_a_negative_price_only_warns(raw_settings: Settings) -> None:
    refund = event("m7", NOW, properties='{"products": [{"price": -5, "quantity": 1}]}')
    write_raw_zone(raw_settings, {("shop-a", NOW.date()): [refund]})
    result = run_checks()
    checks = evaluations(result)
    assert {name for name, check in checks.items() if not check.passed} == {"amounts_non_negative"}
    assert checks["amounts_non_negative"].severity is dg.AssetCheckSeverity.WARN
    assert checks["amounts_non_negative"].metadata["unexpected_values"].value == 1
    assert "m7" in checks["amounts_non_negative"].metadata["examples"].value
    assert DOWNSTREAM in built(result)


def test_stale_data_fails_the_freshness_warning(settings: Settings) -> None:
    old = NOW - timedelta(days=3)
    write_raw_zone(settings, {("shop-a", old.date()): [event("m1", old)]})
    result = run_checks()
    checks = evaluations(result)
    assert {name for name, check in checks.items() if not check.passed} == {"fresh"}
    assert checks["fresh"].severity is dg.AssetCheckSeverity.WARN
    assert DOWNSTREAM in built(result)


def test_a_partition_run_checks_its_day_only(raw_settings: Settings) -> None:
    """A bad row today does not fail the checks of yesterday's partition, and the day's
    profile counts yesterday's rows."""
    write_raw_zone(raw_settings, {("shop-b", TODAY): [event("m9", NOW, timestamp=None)]})
    result = run_checks(partition=YESTERDAY)
    assert result.success
    checks = evaluations(result)
    assert all(check.passed for check in checks.values())
    assert checks["schema"].metadata["days_checked"].value == YESTERDAY.isoformat()
    assert checks["schema"].metadata["rows_checked"].value == 4
    [profile] = result.asset_materializations_for_node("raw__event_days")
    assert profile.asset_key == RAW_EVENT_DAYS
    assert profile.partition == YESTERDAY.isoformat()
    assert profile.metadata["dagster/row_count"].value == 4
    assert "shop-b" in str(profile.metadata["by_tenant_and_type"].value)


def test_a_past_day_is_judged_fresh_at_its_end_but_ranged_against_now() -> None:
    day_before = YESTERDAY - timedelta(days=1)
    assert fresh_as_of(None, NOW) == NOW
    assert fresh_as_of(day_before, NOW) == datetime.combine(YESTERDAY, datetime.min.time(), UTC)
    # Received late (today) for an event two days ago, with no clock skew allowed: in range.
    late = {
        **event("m1", datetime.combine(day_before, datetime.min.time(), UTC)),
        "received_at": NOW - timedelta(minutes=1),
        "tenant_id": "shop-a",
        "event_date": day_before,
    }
    table = pa.Table.from_pylist([late], schema=RAW_ROWS_SCHEMA)
    outcomes = validate_raw_events(
        table, as_of=NOW, max_future=timedelta(0), fresh_as_of=fresh_as_of(day_before, NOW)
    )
    assert all(outcome.passed for outcome in outcomes.values())


def test_unpartitioned_runs_check_recent_and_future_days() -> None:
    recent = checked_days(None, TODAY)
    assert recent.first == TODAY - timedelta(days=7)
    assert recent.last > TODAY + timedelta(days=365 * 100)
    assert checked_days(YESTERDAY, TODAY) == DayRange(YESTERDAY, YESTERDAY)


def test_the_schema_check_names_a_missing_or_retyped_column() -> None:
    clean = pa.Table.from_pylist(
        [{**event("m1", NOW), "tenant_id": "shop-a", "event_date": TODAY}], schema=RAW_ROWS_SCHEMA
    )
    missing = validate_raw_events(clean.drop_columns(["log_offset"]), as_of=NOW)
    assert not missing["schema"].passed
    retyped = clean.set_column(
        clean.schema.get_field_index("log_offset"),
        "log_offset",
        pa.array(["1"], pa.string()),
    )
    outcome = validate_raw_events(retyped, as_of=NOW)["schema"]
    assert [failure.expectation for failure in outcome.failures] == [
        "expect_column_values_to_be_of_type(log_offset)"
    ]
    assert validate_raw_events(clean, as_of=NOW)["schema"].passed
