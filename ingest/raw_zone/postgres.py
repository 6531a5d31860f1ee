"""The prod raw zone: PostgreSQL table ``raw.events``, partitioned by UTC day.

Loading is bulk and idempotent. A chunk is COPYed (CSV written by Arrow, no per-row Python)
into a temporary staging table; then one statement claims the chunk's message ids in
``raw.loaded_messages`` (primary key (tenant_id, message_id), ``on conflict do nothing ...
returning``) and inserts into ``raw.events`` only the rows whose id it claimed, with ``on
conflict do nothing`` against the unique index ``(tenant_id, event_date, message_id)`` as well.
Both happen in one transaction, so a chunk redone after a crash, an entry redelivered by Redis
and a client's retry of a message all land once, even a retry whose skew-corrected timestamp
moved to another day; the same message id in two tenants lands once in each. Every check is an
index probe per row: the cost does not grow with the size of ``raw.events``.

Day partitions (``raw.events_pYYYYMMDD``) are created on demand, under a transaction-scoped
advisory lock so concurrent loaders do not race. Native declarative partitioning is the tested
path (pg_partman and TimescaleDB are not needed). Identifiers are constants or derived from
dates; every value is bound.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.privacy import Person

EVENT_COLUMNS: tuple[str, ...] = (*RAW_EVENT_SCHEMA.names, "tenant_id", "event_date")
TENANT_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "name",
    "timezone",
    "currency",
    "created_at",
    "disabled",
)
#: Any constant key for pg_advisory_xact_lock: serialises partition creation across loaders.
_PARTITION_LOCK = 0x1D5E_0001
Connection = psycopg.Connection[tuple[object, ...]]
_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def ensure_database(dsn: str) -> None:
    """Create the database the DSN names if it does not exist (via the ``postgres`` database)."""
    params = conninfo_to_dict(dsn)
    name = str(params.get("dbname") or params.get("user") or "postgres")
    try:
        psycopg.connect(dsn, connect_timeout=10).close()
        return
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise
    admin = make_conninfo(dsn, dbname="postgres")
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as con:
        exists = con.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            # Another process may create it first.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def _schema_sql() -> str:
    return resources.files("ingest.raw_zone").joinpath("postgres_schema.sql").read_text()


def _partition(day: date) -> sql.Composed:
    return sql.SQL("raw.{}").format(sql.Identifier(f"events_p{day:%Y%m%d}"))


def _columns(names: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


class PostgresRawZone:
    """Raw zone in PostgreSQL (the prod profile's). One connection, reopened if it broke."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        ensure_database(dsn)
        self._con: Connection | None = None
        self._partitions: set[date] = set()
        con = self._connection()
        with con.transaction():
            con.execute("select pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
            con.execute(_schema_sql())
        #: Rows the last ``write_events`` inserted (the rest were already there).
        self.last_inserted = 0

    def _connection(self) -> Connection:
        if self._con is None or self._con.closed or self._con.broken:
            self._con = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            self._partitions.clear()
        return self._con

    def _ensure_partitions(self, con: Connection, days: set[date]) -> None:
        missing = days - self._partitions
        if not missing:
            return
        con.execute("select pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
        for day in sorted(missing):
            con.execute(
                sql.SQL(
                    "create table if not exists {} partition of raw.events"
                    " for values from ({}) to ({})"
                ).format(_partition(day), sql.Literal(day), sql.Literal(day + timedelta(days=1)))
            )
        self._partitions |= missing

    def write_events(self, table: pa.Table, chunk_id: str) -> list[Path]:
        """Insert the chunk's events that are not stored yet; returns no files (a table).

        ``chunk_id`` is not needed: idempotency comes from the unique message key."""
        self.last_inserted = 0
        if table.num_rows == 0:
            return []
        table = table.select(list(EVENT_COLUMNS))
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, _CSV)
        days = set(table.column("event_date").unique().to_pylist())
        con = self._connection()
        with con.transaction():
            self._ensure_partitions(con, days)
            con.execute(
                "create temp table if not exists events_stage"
                " (like raw.events) on commit delete rows"
            )
            with con.cursor().copy(
                sql.SQL("copy events_stage ({}) from stdin (format csv)").format(
                    _columns(EVENT_COLUMNS)
                )
            ) as copy:
                copy.write(buffer.getbuffer())
            cur = con.execute(
                sql.SQL(
                    "with fresh as ("
                    "  insert into raw.loaded_messages (tenant_id, message_id)"
                    "  select distinct tenant_id, message_id from events_stage"
                    "  on conflict do nothing returning tenant_id, message_id)"
                    " insert into raw.events ({cols})"
                    " select distinct on (s.tenant_id, s.message_id) {s_cols}"
                    " from events_stage s join fresh f using (tenant_id, message_id)"
                    " order by s.tenant_id, s.message_id, s.log_offset"
                    " on conflict (tenant_id, event_date, message_id) do nothing"
                ).format(
                    cols=_columns(EVENT_COLUMNS),
                    s_cols=sql.SQL(", ").join(
                        sql.SQL("s.{}").format(sql.Identifier(c)) for c in EVENT_COLUMNS
                    ),
                )
            )
            self.last_inserted = cur.rowcount
        return []

    def write_tenants(self, table: pa.Table) -> Path:
        """Replace ``raw.tenants`` in one transaction; returns the table's name as a path."""
        buffer = io.BytesIO()
        pa_csv.write_csv(table.select(list(TENANT_COLUMNS)), buffer, _CSV)
        con = self._connection()
        with con.transaction():
            con.execute("delete from raw.tenants")
            with con.cursor().copy(
                sql.SQL("copy raw.tenants ({}) from stdin (format csv)").format(
                    _columns(TENANT_COLUMNS)
                )
            ) as copy:
                copy.write(buffer.getbuffer())
        return Path("raw") / "tenants"

    def erase(self, person: Person) -> int:
        """Delete the person's events. Their message ids stay in ``raw.loaded_messages``
        (random ids, no personal data), so a late redelivery cannot bring the events back."""
        con = self._connection()
        cur = con.execute(
            "delete from raw.events where tenant_id = %s"
            " and (user_id = any(%s) or anonymous_id = any(%s))",
            (person.tenant_id, sorted(person.user_ids), sorted(person.anonymous_ids)),
        )
        return cur.rowcount

    def export(self, person: Person) -> pa.Table:
        cur = self._connection().execute(
            sql.SQL(
                "select {} from raw.events where tenant_id = %s"
                " and (user_id = any(%s) or anonymous_id = any(%s))"
                ' order by "timestamp", log_offset, message_id'
            ).format(_columns(tuple(RAW_EVENT_SCHEMA.names))),
            (person.tenant_id, sorted(person.user_ids), sorted(person.anonymous_ids)),
        )
        return _arrow(cur.fetchall(), list(RAW_EVENT_SCHEMA.names))

    def identity_rows(self, tenant_id: str) -> pa.Table:
        """The tenant's rows that can link identities (to resolve a data subject by email).

        Events carrying both a user id and an anonymous id, alias calls, and events whose
        traits mention an email: columns user_id, anonymous_id, previous_id, traits.
        """
        names = ["user_id", "anonymous_id", "previous_id", "traits"]
        cur = self._connection().execute(
            sql.SQL(
                "select {} from raw.events where tenant_id = %s"
                " and ((user_id is not null and anonymous_id is not null)"
                " or previous_id is not null or traits ilike %s)"
            ).format(_columns(tuple(names))),
            (tenant_id, "%email%"),
        )
        return _arrow(cur.fetchall(), names)

    def count_events(self, tenant_id: str | None = None) -> int:
        """Rows in ``raw.events`` (of one tenant, if given): for checks and benchmarks."""
        con = self._connection()
        if tenant_id is None:
            row = con.execute("select count(*) from raw.events").fetchone()
        else:
            row = con.execute(
                "select count(*) from raw.events where tenant_id = %s", (tenant_id,)
            ).fetchone()
        assert row is not None
        return int(str(row[0]))

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _arrow(rows: list[tuple[Any, ...]], names: list[str]) -> pa.Table:
    """Fetched rows as an Arrow table with the raw zone's types for ``names``."""
    fields = [RAW_EVENT_SCHEMA.field(name) for name in names]
    columns: list[Sequence[object]] = (
        list(zip(*rows, strict=True)) if rows else [[] for _ in fields]
    )
    return pa.table(
        [
            pa.array(list(values), type=field.type)
            for values, field in zip(columns, fields, strict=True)
        ],
        schema=pa.schema(fields),
    )
