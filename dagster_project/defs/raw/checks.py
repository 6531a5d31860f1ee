"""The Great Expectations suite of the raw events (``intellishop.quality``) as Dagster asset checks.

One step validates once and reports one check per named group of expectations. Checks that
would let corrupt rows into the marts (schema, null ids and times, out-of-range times, duplicate
ids) are *blocking*: when one fails, the dbt models downstream of ``raw/events`` are not built
in that run, and the marts keep their last good state. The others (negative amounts, freshness)
warn.

What is checked: in a run of the daily job, the run's UTC day (its partition); in any other run
(the main job, the sensor's runs), the recent days, from ``RECENT_DAYS`` ago on, including any
day in the future. The cost follows those days, not the size of the raw zone; a backfill of the
daily job checks history day by day.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from intellishop.quality import CHECKS, CheckOutcome, validate_raw_events

from ...partitions import day_of_run
from ...preview import cell
from ...raw_reader import DayRange, read_raw_events
from ...resources import SettingsResource
from .assets import RAW_EVENTS

#: Days the checks of an unpartitioned run look back over (the loader's late events land here).
RECENT_DAYS = 7
#: The newest event received longer ago than this makes the freshness check warn.
FRESHNESS_MAX_AGE = timedelta(hours=24)


def checked_days(partition: date | None, today: date) -> DayRange:
    """The run's partition day, or the recent days (and any future day) when it has none."""
    if partition is not None:
        return DayRange(partition, partition)
    return DayRange(today - timedelta(days=RECENT_DAYS))


def fresh_as_of(partition: date | None, now: datetime) -> datetime:
    """The "now" of the freshness check: a day's partition is judged at the end of that day
    (the range checks always use the real now: an event from tomorrow is wrong on any day)."""
    if partition is None:
        return now
    end_of_day = datetime.combine(partition + timedelta(days=1), datetime.min.time(), UTC)
    return min(now, end_of_day)


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            check.name, asset=RAW_EVENTS, description=check.description, blocking=check.blocking
        )
        for check in CHECKS.values()
    ],
    name="raw_events_quality",
    description="Great Expectations suite on the raw events of the run's day or recent days.",
)
def raw_events_quality(
    context: dg.AssetCheckExecutionContext, settings: SettingsResource
) -> Iterator[dg.AssetCheckResult]:
    """Validate the raw rows of the checked days once; one result per named check."""
    config = settings.get()
    partition = day_of_run(context.run.tags)
    now = datetime.now(UTC)
    days = checked_days(partition, now.date())
    events = read_raw_events(config, days)
    outcomes = validate_raw_events(
        events,
        as_of=now,
        max_age=FRESHNESS_MAX_AGE,
        max_future=timedelta(seconds=config.max_clock_skew_seconds),
        fresh_as_of=fresh_as_of(partition, now),
    )
    context.log.info(f"validated {events.num_rows} raw events of days {days}")
    for name, outcome in outcomes.items():
        yield dg.AssetCheckResult(
            check_name=name,
            asset_key=RAW_EVENTS,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR
            if outcome.check.blocking
            else dg.AssetCheckSeverity.WARN,
            metadata=check_metadata(outcome, days),
        )


def check_metadata(outcome: CheckOutcome, days: DayRange) -> dict[str, Any]:
    """What the UI shows for one check: scope, counts, and failing rows to go and look at."""
    metadata: dict[str, Any] = {
        "days_checked": str(days),
        "rows_checked": outcome.rows,
        "unexpected_values": outcome.unexpected,
    }
    if outcome.failures:
        metadata["failures"] = dg.MetadataValue.json(
            [
                {
                    "expectation": failure.expectation,
                    "unexpected": failure.unexpected,
                    "observed": failure.observed,
                }
                for failure in outcome.failures
            ]
        )
        metadata["examples"] = dg.MetadataValue.md(examples_table(outcome))
    return metadata


def examples_table(outcome: CheckOutcome) -> str:
    """The failing rows' ids and values as a Markdown table (ids identify the row to fix)."""
    lines = ["| expectation | tenant_id | message_id | value |", "| --- | --- | --- | --- |"]
    for failure in outcome.failures:
        if not failure.examples:
            lines.append(f"| {failure.expectation} | | | observed: {cell(failure.observed)} |")
        for example in failure.examples:
            values = {k: v for k, v in example.items() if k not in {"tenant_id", "message_id"}}
            value = ", ".join(f"{k}={v}" for k, v in values.items())
            lines.append(
                f"| {failure.expectation} | {cell(example.get('tenant_id'))} "
                f"| {cell(example.get('message_id'))} | {cell(value)} |"
            )
    return "\n".join(lines)
