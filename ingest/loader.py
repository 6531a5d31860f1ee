"""The loader: moves event-log entries into the raw zone, in bulk, exactly once in effect.

For each chunk of entries it writes the raw zone first and commits its offset second. A loader
killed in between redoes the chunk on restart; the chunk is named after its first entry, so the
redo replaces the files instead of adding to them, and staging deduplicates by message id the
rare event that a client sent twice. Only one loader runs at a time per data directory (a file
lock), so the demo's pipeline and a manual ``intellishop load`` cannot interleave.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from .event_log import LogEntry, open_event_log
from .raw_zone import open_raw_zone

LOADER_CONSUMER = "raw-loader"
#: Entries per chunk: with 100-event batches, 100k events per Parquet write.
CHUNK_ENTRIES = 1000

_RAW_WITH_KEYS = pa.schema(
    [*RAW_EVENT_SCHEMA, pa.field("tenant_id", pa.string()), pa.field("event_date", pa.date32())]
)


@dataclass
class LoadReport:
    """What one drain of the event log did."""

    batches: int = 0
    events: int = 0
    files: list[Path] = field(default_factory=list)


def entries_to_table(entries: Sequence[LogEntry]) -> pa.Table:
    """Flatten event-log entries into raw-zone rows (with tenant_id and event_date columns)."""
    columns: dict[str, list[object]] = {name: [] for name in _RAW_WITH_KEYS.names}
    for entry in entries:
        offset = int(entry.entry_id.split("-")[0])
        tenant_id = entry.batch.tenant_id
        for event in entry.batch.events:
            columns["message_id"].append(event.message_id)
            columns["type"].append(event.type)
            columns["event"].append(event.event)
            columns["user_id"].append(event.user_id)
            columns["anonymous_id"].append(event.anonymous_id)
            columns["previous_id"].append(event.previous_id)
            columns["timestamp"].append(event.timestamp_us)
            columns["sent_at"].append(event.sent_at_us)
            columns["received_at"].append(event.received_at_us)
            columns["properties"].append(event.properties.decode())
            columns["traits"].append(event.traits.decode())
            columns["context"].append(event.context.decode())
            columns["log_offset"].append(offset)
            columns["tenant_id"].append(tenant_id)
            columns["event_date"].append(
                datetime.fromtimestamp(event.timestamp_us / 1_000_000, tz=UTC).date()
            )
    return pa.table(
        {
            name: pa.array(values, type=_RAW_WITH_KEYS.field(name).type)
            for name, values in columns.items()
        }
    )


@contextmanager
def _loader_lock(settings: Settings) -> Iterator[None]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / "loader.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def drain_event_log(settings: Settings, *, chunk_entries: int = CHUNK_ENTRIES) -> LoadReport:
    """Load every pending event-log entry into the raw zone; returns what was loaded."""
    report = LoadReport()
    with _loader_lock(settings):
        log = open_event_log(settings)
        zone = open_raw_zone(settings)
        try:
            while entries := log.read(LOADER_CONSUMER, chunk_entries):
                table = entries_to_table(entries)
                report.files.extend(zone.write_events(table, chunk_id=entries[0].entry_id))
                log.commit(LOADER_CONSUMER, entries[-1].entry_id)
                report.batches += len(entries)
                report.events += table.num_rows
        finally:
            log.close()
    return report


def export_tenants(settings: Settings) -> Path:
    """Write the tenant table (ids, time zones, currencies) to the raw zone for dbt."""
    tenants = TenantRegistry(settings.tenants_db_path).list()
    table = pa.table(
        {
            "tenant_id": pa.array([t.tenant_id for t in tenants], pa.string()),
            "name": pa.array([t.name for t in tenants], pa.string()),
            "timezone": pa.array([t.timezone for t in tenants], pa.string()),
            "currency": pa.array([t.currency for t in tenants], pa.string()),
            "created_at": pa.array([t.created_at for t in tenants], pa.string()),
            "disabled": pa.array([t.disabled for t in tenants], pa.bool_()),
        }
    )
    return open_raw_zone(settings).write_tenants(table)
