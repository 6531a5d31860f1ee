"""The local raw zone: Parquet files, hive-partitioned by tenant and UTC event date.

Each loader chunk writes one file per (tenant, date) it touches, named after the chunk's first
event-log entry. Files are written to a temporary name, fsynced, then renamed, so a reader (dbt)
never sees half a file and a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.privacy import Person


class ParquetRawZone:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.events_dir = root / "events"
        self.tenants_dir = root / "tenants"

    def write_events(self, table: pa.Table, chunk_id: str) -> list[Path]:
        written: list[Path] = []
        keys = (
            table.select(["tenant_id", "event_date"])
            .group_by(["tenant_id", "event_date"])
            .aggregate([])
        )
        for tenant_id, event_date in zip(
            keys.column("tenant_id").to_pylist(), keys.column("event_date").to_pylist(), strict=True
        ):
            mask = pc.and_(
                pc.equal(table.column("tenant_id"), tenant_id),
                pc.equal(table.column("event_date"), event_date),
            )
            part = table.filter(mask).select(RAW_EVENT_SCHEMA.names).cast(RAW_EVENT_SCHEMA)
            directory = (
                self.events_dir / f"tenant_id={tenant_id}" / f"event_date={event_date.isoformat()}"
            )
            written.append(_write_atomically(part, directory / f"part-{chunk_id}.parquet"))
        return written

    def erase(self, person: Person) -> int:
        raise NotImplementedError("GDPR erasure of the Parquet raw zone is being built")

    def export(self, person: Person) -> pa.Table:
        raise NotImplementedError("GDPR export of the Parquet raw zone is being built")

    def write_tenants(self, table: pa.Table) -> Path:
        return _write_atomically(table, self.tenants_dir / "tenants.parquet")

    def event_files(self) -> list[Path]:
        return sorted(self.events_dir.glob("tenant_id=*/event_date=*/*.parquet"))


def _write_atomically(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        pq.write_table(table, handle, compression="zstd")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path
