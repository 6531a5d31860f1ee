"""The raw zone: what the collector accepted, moved out of the event log by the loader."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

from ingest.loader import drain_event_log, export_tenants

from ...partitions import DAILY
from ...preview import markdown_preview
from ...raw_reader import DayRange, count_raw_events, read_raw_events
from ...resources import SettingsResource

RAW_EVENTS = dg.AssetKey(["raw", "events"])
RAW_TENANTS = dg.AssetKey(["raw", "tenants"])
RAW_EVENT_DAYS = dg.AssetKey(["raw", "event_days"])

#: Columns of the raw-event previews: enough to recognise an event, no personal payload.
PREVIEW_COLUMNS = ["tenant_id", "received_at", "timestamp", "type", "event", "message_id"]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_EVENTS,
            group_name="raw",
            description=(
                "Accepted Segment messages, one row per message id and tenant. Local: Parquet "
                "hive-partitioned by tenant and UTC date; prod: PostgreSQL raw.events, "
                "range-partitioned by day. Checked by the Great Expectations suite."
            ),
            kinds={"parquet"},
        ),
        dg.AssetSpec(
            RAW_TENANTS,
            group_name="raw",
            description="The tenant registry (time zone, currency) exported for the warehouse.",
            kinds={"parquet"},
        ),
    ],
)
def raw_zone(
    context: dg.AssetExecutionContext, settings: SettingsResource
) -> Iterator[dg.MaterializeResult[None]]:
    """Drain the event log into the raw zone (idempotent: a batch is loaded once, by offset)."""
    config = settings.get()
    report = drain_event_log(config)
    tenants = export_tenants(config)
    context.log.info(
        f"loaded {report.events - report.duplicates} events from {report.batches} batches "
        f"({report.duplicates} already loaded) "
        f"into {len(report.files)} files"
    )
    per_tenant = count_raw_events(config)
    today = datetime.now(UTC).date()
    recent = pl.from_arrow(read_raw_events(config, DayRange(today - timedelta(days=1))))
    assert isinstance(recent, pl.DataFrame)
    newest = recent.sort("received_at", descending=True).head(5).select(PREVIEW_COLUMNS)
    yield dg.MaterializeResult(
        asset_key=RAW_EVENTS,
        metadata={
            "events_loaded": report.events - report.duplicates,
            "duplicates_skipped": report.duplicates,
            "batches_loaded": report.batches,
            "files_written": len(report.files),
            "dagster/row_count": sum(per_tenant.values()),
            "rows_by_tenant": dg.MetadataValue.json(per_tenant),
            "newest_events": dg.MetadataValue.md(markdown_preview(newest)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=RAW_TENANTS, metadata={"path": str(tenants), "tenants": len(per_tenant)}
    )


@dg.asset(
    key=RAW_EVENT_DAYS,
    deps=[RAW_EVENTS],
    partitions_def=DAILY,
    group_name="raw",
    kinds={"polars"},
    description=(
        "One UTC day of raw events, profiled: rows per tenant and call type. Materialized by the "
        "daily job (one partition a day) or by a backfill; the partition bar shows which days "
        "have data."
    ),
)
def raw_event_days(
    context: dg.AssetExecutionContext, settings: SettingsResource
) -> dg.MaterializeResult[None]:
    """Count the partition day's raw events per tenant and type; preview the day's first."""
    day = DAILY.time_window_for_partition_key(context.partition_key).start.date()
    events = pl.from_arrow(read_raw_events(settings.get(), DayRange(day, day)))
    assert isinstance(events, pl.DataFrame)
    profile = (
        events.group_by("tenant_id", "type")
        .agg(
            pl.len().alias("events"),
            pl.col("message_id").n_unique().alias("message_ids"),
            pl.col("user_id").n_unique().alias("user_ids"),
        )
        .sort("tenant_id", "type")
    )
    context.log.info(f"{day}: {events.height} raw events")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": events.height,
            "tenants": events["tenant_id"].n_unique(),
            "by_tenant_and_type": dg.MetadataValue.md(markdown_preview(profile, rows=50)),
            "first_events": dg.MetadataValue.md(
                markdown_preview(events.sort("timestamp").head(5).select(PREVIEW_COLUMNS))
            ),
        }
    )
