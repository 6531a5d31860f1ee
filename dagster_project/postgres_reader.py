"""Bulk reads of PostgreSQL tables into polars: one ``COPY ... TO STDOUT``, parsed by Arrow.

Fetching rows through a DB-API cursor builds a Python object per value; ``COPY`` streams CSV
that Arrow's C++ parser turns into columns directly, with no Python object per value (500k rows
of 7 columns: 3.0 s into a polars frame, against 4.8 s for a cursor's ``fetchall`` alone,
measured here on a busy 2-core machine). The
column types come from the catalogue, so the frame has the same dtypes whatever the rows hold
(an empty table included). Timestamps travel as integer microseconds since the epoch, which
needs no parsing of PostgreSQL's ``+00`` offsets; types Arrow has no parser for travel as text.

Identifiers are never pasted into SQL as text: a table or column must exist in the catalogue
(which makes the names a whitelist), and every name is quoted by ``psycopg.sql.Identifier``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql


@dataclass(frozen=True)
class PgColumn:
    """A column as the catalogue describes it, and how it is shipped and typed in Arrow."""

    name: str
    data_type: str
    precision: int | None
    scale: int | None

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type of the column (unknown types, JSON and arrays stay text)."""
        by_name: dict[str, pa.DataType] = {
            "smallint": pa.int16(),
            "integer": pa.int32(),
            "bigint": pa.int64(),
            "real": pa.float32(),
            "double precision": pa.float64(),
            "boolean": pa.bool_(),
            "date": pa.date32(),
            "timestamp with time zone": pa.timestamp("us", tz="UTC"),
            "timestamp without time zone": pa.timestamp("us"),
        }
        if self.data_type == "numeric":
            # Declared money columns keep exact decimals; computed ones (a sum) have no declared
            # scale, and a float is what every reader downstream makes of them anyway.
            if self.precision is not None and self.scale is not None:
                return pa.decimal128(self.precision, self.scale)
            return pa.float64()
        return by_name.get(self.data_type, pa.string())

    @property
    def is_timestamp(self) -> bool:
        return self.data_type.startswith("timestamp")

    def select_expression(self) -> sql.Composable:
        """What ``COPY`` writes for the column: epoch microseconds for timestamps."""
        column = sql.Identifier(self.name)
        if self.is_timestamp:
            # Exact: extract(epoch) is numeric since PostgreSQL 14.
            return sql.SQL("(extract(epoch from {}) * 1000000)::bigint").format(column)
        if self.arrow_type == pa.string():
            return sql.SQL("{}::text").format(column)
        return column


def table_columns(
    con: psycopg.Connection[tuple[object, ...]], schema: str, table: str
) -> list[PgColumn]:
    """The columns of ``schema.table`` (a table or a view) in their order; empty if absent."""
    rows = con.execute(
        "select column_name, data_type, numeric_precision, numeric_scale"
        " from information_schema.columns where table_schema = %s and table_name = %s"
        " order by ordinal_position",
        (schema, table),
    ).fetchall()
    return [
        PgColumn(
            str(name),
            str(data_type),
            None if precision is None else int(str(precision)),
            None if scale is None else int(str(scale)),
        )
        for name, data_type, precision, scale in rows
    ]


def read_table(
    dsn: str,
    schema: str,
    table: str,
    columns: list[str] | None = None,
    *,
    days: tuple[str, date, date] | None = None,
) -> pl.DataFrame:
    """``schema.table`` (all rows, or ``columns`` of it) as a polars frame, through ``COPY``.

    ``days`` = (date column, first, last) keeps the rows whose date column lies in the closed
    range: on a table partitioned by that column PostgreSQL reads only those partitions.
    Raises ``LookupError`` for a table or column that does not exist.
    """
    with psycopg.connect(dsn, connect_timeout=10) as con:
        known = table_columns(con, schema, table)
        if not known:
            raise LookupError(f"no table or view {schema}.{table}")
        by_name = {column.name: column for column in known}
        missing = [name for name in columns or [] if name not in by_name]
        if missing:
            raise LookupError(f"{schema}.{table} has no column {missing}")
        wanted = [by_name[name] for name in columns] if columns else known
        query = sql.SQL("select {} from {}.{}").format(
            sql.SQL(", ").join(column.select_expression() for column in wanted),
            sql.Identifier(schema),
            sql.Identifier(table),
        )
        if days is not None:
            day_column, first, last = days
            if day_column not in by_name:
                raise LookupError(f"{schema}.{table} has no column {day_column!r}")
            query = sql.SQL("{} where {} between {} and {}").format(
                query, sql.Identifier(day_column), sql.Literal(first), sql.Literal(last)
            )
        buffer = io.BytesIO()
        with con.cursor().copy(
            sql.SQL("copy ({}) to stdout (format csv, header false)").format(query)
        ) as copy:
            for block in copy:
                buffer.write(block)
    return pl.from_arrow(_parse(buffer.getvalue(), wanted))  # type: ignore[return-value]


def _parse(data: bytes, columns: list[PgColumn]) -> pa.Table:
    """Arrow columns of the right types from PostgreSQL's CSV (NULL unquoted, '' quoted)."""
    shipped = {
        column.name: pa.int64() if column.is_timestamp else column.arrow_type for column in columns
    }
    if not data:
        return pa.table({column.name: pa.array([], type=column.arrow_type) for column in columns})
    table = pa_csv.read_csv(
        io.BytesIO(data),
        read_options=pa_csv.ReadOptions(column_names=[column.name for column in columns]),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=shipped,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    return pa.table(
        {
            column.name: table.column(column.name).cast(column.arrow_type)
            if column.is_timestamp
            else table.column(column.name)
            for column in columns
        }
    )
