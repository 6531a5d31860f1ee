"""The prod raw zone: PostgreSQL table ``raw.events``, partitioned by UTC day.

Loading is bulk and idempotent. The chunk's message ids are COPYed (CSV written by Arrow, no
per-row SQL) into a temporary table and claimed in ``raw.loaded_messages`` (primary key
(tenant_id, message_id), ``on conflict do nothing ... returning``); only the rows whose id was
claimed are then COPYed into ``raw.events``, whose unique index ``(tenant_id, event_date,
message_id)`` backs this up (a conflict there sends the chunk down a staging-table path with
``on conflict do nothing``, see :meth:`PostgresRawZone.write_events`). Both happen in one
transaction, so a chunk redone after a crash, an entry redelivered by Redis
and a client's retry of a message all land once, even a retry whose skew-corrected timestamp
moved to another day; the same message id in two tenants lands once in each. Every check is an
index probe per row: the cost does not grow with the size of ``raw.events``.

Day partitions (``raw.events_pYYYYMMDD``) are created on demand, under a transaction-scoped
advisory lock so concurrent loaders do not race. Native declarative partitioning is the tested
path (pg_partman and TimescaleDB are not needed); when the server offers TimescaleDB, a new
``raw.events`` is a hypertable instead (see :mod:`.events_layout`). Identifiers are constants
or derived from dates; every value is bound.
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

from .events_layout import EventsLayout, detect_layout, events_ddl

EVENT_COLUMNS: tuple[str, ...] = (*RAW_EVENT_SCHEMA.names, "tenant_id", "event_date")
#: ``raw.catalog``: ``ingest.imports.products.CATALOG_SCHEMA`` plus the tenant.
CATALOG_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "product_id",
    "name",
    "category",
    "brand",
    "price",
    "currency",
    "sku",
    "imported_at",
)
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
            # Another process may create it first: PostgreSQL then says so, or (both inside
            # CREATE DATABASE at once) the catalog's unique index does.
            with contextlib.suppress(
                psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
            ):
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
            #: Native daily partitions, or a TimescaleDB hypertable (see ``events_layout``).
            self.layout = detect_layout(con)
            for statement in events_ddl(self.layout):
                con.execute(statement)
        #: Rows the last ``write_events`` inserted (the rest were already there).
        self.last_inserted = 0

    def _connection(self) -> Connection:
        if self._con is None or self._con.closed or self._con.broken:
            self._con = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            self._partitions.clear()
        return self._con

    def _ensure_partitions(self, con: Connection, days: set[date]) -> None:
        if self.layout is EventsLayout.HYPERTABLE:
            return  # TimescaleDB creates its chunks itself
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

        ``chunk_id`` is not needed: idempotency comes from the message ids. The fast path
        moves each row once: the chunk's ids (first of each id in the chunk) are claimed in
        ``raw.loaded_messages``, and only the claimed rows are COPYed straight into
        ``raw.events``. If that meets a row already in ``raw.events`` (an id pruned from
        ``raw.loaded_messages`` after the dedup window, then resent for the same day) the
        transaction is rolled back and the chunk redone through a staging table with ``on
        conflict do nothing``."""
        self.last_inserted = 0
        if table.num_rows == 0:
            return []
        table = _first_of_each_id(table.select(list(EVENT_COLUMNS)))
        days = set(table.column("event_date").unique().to_pylist())
        con = self._connection()
        try:
            with con.transaction():
                self._ensure_partitions(con, days)
                self.last_inserted = self._copy_claimed(con, table)
        except psycopg.errors.UniqueViolation:
            self._partitions -= days  # created in the rolled-back transaction, if at all
            with con.transaction():
                self._ensure_partitions(con, days)
                self.last_inserted = self._insert_staged(con, table)
        except BaseException:
            self._partitions -= days
            raise
        return []

    def _copy_claimed(self, con: Connection, table: pa.Table) -> int:
        """Claim the chunk's ids, then COPY the claimed rows into ``raw.events``."""
        con.execute(
            "create temp table if not exists ids_stage (tenant_id text not null,"
            " message_id text not null) on commit delete rows"
        )
        ids = io.BytesIO()
        pa_csv.write_csv(table.select(["tenant_id", "message_id"]), ids, _CSV)
        with con.cursor().copy(
            "copy ids_stage (tenant_id, message_id) from stdin (format csv)"
        ) as copy:
            copy.write(ids.getbuffer())
        claimed = con.execute(
            "insert into raw.loaded_messages (tenant_id, message_id)"
            " select tenant_id, message_id from ids_stage"
            " on conflict do nothing returning tenant_id, message_id"
        ).fetchall()
        if len(claimed) < table.num_rows:
            wanted = {(str(t), str(m)) for t, m in claimed}
            keep = [
                key in wanted
                for key in zip(
                    table.column("tenant_id").to_pylist(),
                    table.column("message_id").to_pylist(),
                    strict=True,
                )
            ]
            table = table.filter(pa.array(keep, pa.bool_()))
        if table.num_rows:
            rows = io.BytesIO()
            pa_csv.write_csv(table, rows, _CSV)
            with con.cursor().copy(
                sql.SQL("copy raw.events ({}) from stdin (format csv)").format(
                    _columns(EVENT_COLUMNS)
                )
            ) as copy:
                copy.write(rows.getbuffer())
        return int(table.num_rows)

    def _insert_staged(self, con: Connection, table: pa.Table) -> int:
        """The careful path: stage the chunk, insert what neither table has yet."""
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, _CSV)
        con.execute(
            "create temp table if not exists events_stage (like raw.events) on commit delete rows"
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
                " select {s_cols} from events_stage s join fresh f using (tenant_id, message_id)"
                " on conflict (tenant_id, event_date, message_id) do nothing"
            ).format(
                cols=_columns(EVENT_COLUMNS),
                s_cols=sql.SQL(", ").join(
                    sql.SQL("s.{}").format(sql.Identifier(c)) for c in EVENT_COLUMNS
                ),
            )
        )
        return int(cur.rowcount)

    def prune_loaded_messages(self, window_seconds: int) -> int:
        """Forget the message ids loaded more than ``window_seconds`` ago (the dedup window of
        ``ingest.loader``); returns how many were dropped. ``loaded_at`` is indexed, so this
        reads only what it deletes."""
        cur = self._connection().execute(
            "delete from raw.loaded_messages where loaded_at < now() - make_interval(secs => %s)",
            (window_seconds,),
        )
        return cur.rowcount

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

    def write_catalog(self, tenant_id: str, table: pa.Table) -> None:
        """Replace the tenant's rows of ``raw.catalog`` with ``table`` (the catalog import's
        columns) in one transaction: readers see the old catalog or the new one, never a mix."""
        with_tenant = table.append_column(
            "tenant_id", pa.array([tenant_id] * table.num_rows, pa.string())
        ).select(list(CATALOG_COLUMNS))
        buffer = io.BytesIO()
        pa_csv.write_csv(with_tenant, buffer, _CSV)
        con = self._connection()
        with con.transaction():
            con.execute("delete from raw.catalog where tenant_id = %s", (tenant_id,))
            with con.cursor().copy(
                sql.SQL("copy raw.catalog ({}) from stdin (format csv)").format(
                    _columns(CATALOG_COLUMNS)
                )
            ) as copy:
                copy.write(buffer.getbuffer())

    def erase(self, person: Person) -> int:
        """Delete the person's events. Their message ids stay in ``raw.loaded_messages`` for
        the rest of the dedup window (random ids, no personal data), so a redelivery in that
        time cannot bring the events back; after it, the event log has none left to redeliver
        (it strips the person's events on read and deletes loaded entries)."""
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


def _first_of_each_id(table: pa.Table) -> pa.Table:
    """The table without repeats of a (tenant_id, message_id) it already has (rows are in
    event-log order, so the first is the one with the lowest ``log_offset``)."""
    seen: set[tuple[str, str]] = set()
    keep: list[bool] = []
    for key in zip(
        table.column("tenant_id").to_pylist(), table.column("message_id").to_pylist(), strict=True
    ):
        keep.append(key not in seen)
        seen.add(key)
    return table if all(keep) else table.filter(pa.array(keep, pa.bool_()))


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
