"""Reads of the raw zone for checks and metadata, in either profile, one UTC day range at a time.

Local: the Parquet files, through DuckDB, which skips every ``event_date=`` directory outside the
range. Prod: ``raw.events`` through ``COPY``, which PostgreSQL answers from the range's day
partitions only. Either way the cost follows the days asked for, not the size of the raw zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.settings import Profile, Settings

from . import postgres_reader

#: Raw rows as the checks see them: the loaded columns plus the two partition keys. Every
#: column may hold nulls here: a null where the loader never writes one is for the checks to
#: report, not for the read to choke on.
RAW_ROWS_SCHEMA = pa.schema(
    [
        *(field.with_nullable(True) for field in RAW_EVENT_SCHEMA),
        pa.field("tenant_id", pa.string()),
        pa.field("event_date", pa.date32()),
    ]
)
#: The last day a date column can hold in both backends: "no upper bound".
OPEN_END = date(9999, 12, 31)


@dataclass(frozen=True)
class DayRange:
    """UTC event dates ``first`` to ``last``, both included."""

    first: date
    last: date = OPEN_END

    def __str__(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        end = "" if self.last == OPEN_END else self.last.isoformat()
        return f"{self.first.isoformat()}..{end}"


def read_raw_events(settings: Settings, days: DayRange) -> pa.Table:
    """Every raw row whose ``event_date`` is in ``days``, in :data:`RAW_ROWS_SCHEMA` order."""
    if settings.profile is Profile.PROD:
        frame = postgres_reader.read_table(
            settings.postgres_dsn,
            "raw",
            "events",
            RAW_ROWS_SCHEMA.names,
            days=("event_date", days.first, days.last),
        )
        return frame.to_arrow().cast(RAW_ROWS_SCHEMA)
    pattern = _parquet_glob(settings)
    if pattern is None:
        return RAW_ROWS_SCHEMA.empty_table()
    con = duckdb.connect()
    try:
        columns = ", ".join(f'"{name}"' for name in RAW_ROWS_SCHEMA.names)
        table: pa.Table = (
            con.sql(
                f"select {columns} from read_parquet(?, hive_partitioning = true,"
                " union_by_name = true,"
                " hive_types = {'tenant_id': varchar, 'event_date': date})"
                " where event_date between ? and ?",
                params=[pattern, days.first, days.last],
            )
            .arrow()
            .read_all()
        )
    finally:
        con.close()
    return table.cast(RAW_ROWS_SCHEMA)


def count_raw_events(settings: Settings) -> dict[str, int]:
    """Rows in the raw zone per tenant (the Parquet footers, or one ``count(*)`` in prod)."""
    if settings.profile is Profile.PROD:
        import psycopg

        with psycopg.connect(settings.postgres_dsn, connect_timeout=10) as pg:
            counted = pg.execute(
                "select tenant_id, count(*) from raw.events group by 1 order by 1"
            ).fetchall()
        return {str(tenant): int(str(n)) for tenant, n in counted}
    pattern = _parquet_glob(settings)
    if pattern is None:
        return {}
    con = duckdb.connect()
    try:
        rows = con.execute(
            "select tenant_id, count(*) from read_parquet(?, hive_partitioning = true,"
            " hive_types = {'tenant_id': varchar, 'event_date': date}) group by 1 order by 1",
            [pattern],
        ).fetchall()
    finally:
        con.close()
    return {str(tenant): int(n) for tenant, n in rows}


def _parquet_glob(settings: Settings) -> str | None:
    """The glob of the local raw events, or None while there is no file (DuckDB would fail)."""
    events = settings.raw_zone_dir / "events"
    if not any(events.glob("tenant_id=*/event_date=*/*.parquet")):
        return None
    return str(events / "tenant_id=*" / "event_date=*" / "*.parquet")
