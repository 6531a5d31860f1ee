"""The raw zone: what the collector accepted, moved out of the event log by the loader."""

from collections.abc import Iterator

import dagster as dg

from ingest.loader import drain_event_log, export_tenants

from ...resources import SettingsResource

RAW_EVENTS = dg.AssetKey(["raw", "events"])
RAW_TENANTS = dg.AssetKey(["raw", "tenants"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_EVENTS,
            group_name="raw",
            description="Accepted Segment messages, Parquet, partitioned by tenant and UTC date.",
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
    yield dg.MaterializeResult(
        asset_key=RAW_EVENTS,
        metadata={
            "events_loaded": report.events - report.duplicates,
            "duplicates_skipped": report.duplicates,
            "batches_loaded": report.batches,
            "files_written": len(report.files),
        },
    )
    yield dg.MaterializeResult(asset_key=RAW_TENANTS, metadata={"path": str(tenants)})
