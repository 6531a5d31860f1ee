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
from intellishop.tenants import TENANT_ID_PATTERN

from .extracted import EXTRACTED_SCHEMA, MARKER, with_extracted_fields

#: The columns an event is matched to a person by.
_ID_COLUMNS = ["user_id", "anonymous_id", "previous_id"]
#: Parquet codec of the raw zone: the files are kept for good, and zstd makes them about 40 %
#: smaller than LZ4 or snappy for about 0.2 µs more CPU per event a scan.
COMPRESSION = "zstd"
#: The columns of an events file: the raw event, then the fields staging reads, taken out of
#: its JSON when it landed (``extracted``). Files written before those have the first only.
EVENT_FILE_SCHEMA = pa.schema([*RAW_EVENT_SCHEMA, *EXTRACTED_SCHEMA])


class ParquetRawZone:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.events_dir = root / "events"
        self.tenants_dir = root / "tenants"

    def write_events(self, table: pa.Table, chunk_id: str) -> list[Path]:
        written: list[Path] = []
        if MARKER not in table.column_names:
            table = with_extracted_fields(table)
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
            part = table.filter(mask).select(EVENT_FILE_SCHEMA.names).cast(EVENT_FILE_SCHEMA)
            directory = (
                self.events_dir / f"tenant_id={tenant_id}" / f"event_date={event_date.isoformat()}"
            )
            written.append(_write_atomically(part, directory / f"part-{chunk_id}.parquet"))
        return written

    def erase(self, person: Person) -> int:
        """Rewrite every file of the tenant that holds the person's events, without them.

        Each file is replaced atomically (temporary file, fsync, rename), so dbt reading at the
        same moment sees the old file or the new one. A file left with no rows stays as an empty
        file with the schema, so the tenant's partitions keep a file for readers to glob. The
        caller must keep the loader out meanwhile (``ingest.loader``'s lock): a chunk the loader
        rewrites concurrently could bring the person's rows back.
        """
        removed = 0
        for path in self._tenant_files(person.tenant_id):
            ids = pq.read_table(path, columns=_ID_COLUMNS, partitioning=None)
            mask = _person_mask(ids, person)
            hits = pc.sum(mask).as_py() or 0
            if not hits:
                continue
            table = pq.read_table(path, partitioning=None)
            schema = EVENT_FILE_SCHEMA if MARKER in table.column_names else RAW_EVENT_SCHEMA
            _write_atomically(table.filter(pc.invert(mask)).cast(schema), path)
            removed += hits
        return removed

    def export(self, person: Person) -> pa.Table:
        """The person's events in the tenant's files, RAW_EVENT_SCHEMA columns, by log offset."""
        parts = []
        for path in self._tenant_files(person.tenant_id):
            table = pq.read_table(path, partitioning=None).select(RAW_EVENT_SCHEMA.names)
            parts.append(table.filter(_person_mask(table, person)).cast(RAW_EVENT_SCHEMA))
        if not parts:
            return RAW_EVENT_SCHEMA.empty_table()
        return pa.concat_tables(parts).sort_by([("log_offset", "ascending")])

    def identity_rows(self, tenant_id: str) -> pa.Table:
        """The rows of the tenant that can link identities (for resolving a data subject).

        Events carrying both a user id and an anonymous id, alias calls, and events whose traits
        mention an email: columns user_id, anonymous_id, previous_id, traits.
        """
        columns = [*_ID_COLUMNS, "traits"]
        parts = []
        for path in self._tenant_files(tenant_id):
            table = pq.read_table(path, columns=columns, partitioning=None)
            linking = pc.or_kleene(
                pc.and_kleene(pc.is_valid(table["user_id"]), pc.is_valid(table["anonymous_id"])),
                pc.or_kleene(
                    pc.is_valid(table["previous_id"]),
                    pc.match_substring(table["traits"], "email", ignore_case=True),
                ),
            )
            parts.append(table.filter(pc.fill_null(linking, False)))
        if not parts:
            return pa.schema([RAW_EVENT_SCHEMA.field(name) for name in columns]).empty_table()
        return pa.concat_tables(parts)

    def _tenant_files(self, tenant_id: str) -> list[Path]:
        if not TENANT_ID_PATTERN.match(tenant_id):
            raise ValueError(f"not a tenant id: {tenant_id!r}")
        return sorted((self.events_dir / f"tenant_id={tenant_id}").glob("event_date=*/*.parquet"))

    def write_tenants(self, table: pa.Table) -> Path:
        return _write_atomically(table, self.tenants_dir / "tenants.parquet")

    def event_files(self) -> list[Path]:
        return sorted(self.events_dir.glob("tenant_id=*/event_date=*/*.parquet"))


def _write_atomically(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        pq.write_table(table, handle, compression=COMPRESSION)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def _person_mask(table: pa.Table, person: Person) -> pa.ChunkedArray:
    """True for the rows of ``person`` (by user id, anonymous id or alias previous id)."""
    user_ids = pa.array(sorted(person.user_ids), pa.string())
    anonymous_ids = pa.array(sorted(person.anonymous_ids), pa.string())
    any_ids = pa.array(sorted(person.user_ids | person.anonymous_ids), pa.string())
    mask = pc.or_(
        pc.or_(
            pc.is_in(table["user_id"], value_set=user_ids),
            pc.is_in(table["anonymous_id"], value_set=anonymous_ids),
        ),
        pc.is_in(table["previous_id"], value_set=any_ids),
    )
    return pc.fill_null(mask, False)
