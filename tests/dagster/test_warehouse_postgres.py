"""The prod warehouse reader against the real PostgreSQL: types, nulls, awkward text, names.

A small table in the dbt prod target's schema stands in for a model; the reader must hand back
what a polars user expects of each PostgreSQL type, through ``COPY`` (not row by row).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import psycopg
import pyarrow as pa
import pytest

from dagster_project import postgres_reader
from dagster_project.project import dbt_project
from dagster_project.raw_reader import RAW_ROWS_SCHEMA, DayRange, count_raw_events, read_raw_events
from dagster_project.resources import WarehouseResource, dbt_target_schema
from ingest.raw_zone.postgres import PostgresRawZone, ensure_database
from intellishop.quality import validate_raw_events
from intellishop.settings import Profile, Settings

SCHEMA = dbt_target_schema("prod")

ROWS = [
    (
        "t1",
        date(2025, 3, 9),
        datetime(2025, 3, 9, 7, 30, 0, 123456, tzinfo=UTC),
        12,
        Decimal("19.9900"),
        Decimal("0.333333333"),
        1.5,
        True,
        'comma, "quote"\nand a newline',
    ),
    ("t1", date(2025, 3, 10), None, None, None, None, None, False, ""),
    (
        "t2",
        date(2025, 3, 11),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
        0,
        Decimal("0"),
        None,
        None,
        None,
        None,
    ),
]


@pytest.fixture(scope="module")
def prod_table(postgres_dsn: str) -> str:
    """``<schema>.reader_sample`` with one row per interesting case; returns the DSN."""
    ensure_database(postgres_dsn)
    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(f"drop table if exists {SCHEMA}.reader_sample")
        con.execute(
            f"create table {SCHEMA}.reader_sample ("
            " tenant_id text, metric_date date, first_seen_at timestamptz, orders bigint,"
            " revenue numeric(18, 4), share numeric, ratio double precision, active boolean,"
            " note text)"
        )
        with con.cursor() as cur:
            cur.executemany(
                f"insert into {SCHEMA}.reader_sample values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                ROWS,
            )
        con.execute(f"drop table if exists {SCHEMA}.reader_empty")
        con.execute(f"create table {SCHEMA}.reader_empty (tenant_id text, at timestamptz)")
    return postgres_dsn


@pytest.fixture
def prod_env(prod_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("INTELLISHOP_PROFILE", "prod")
    monkeypatch.setenv("INTELLISHOP_ADMIN_TOKEN", "a-test-secret")
    monkeypatch.setenv("INTELLISHOP_POSTGRES_DSN", prod_table)
    return prod_table


def test_the_prod_schema_is_the_dbt_prod_targets_and_models_set_no_custom_schema() -> None:
    assert SCHEMA == "analytics"
    manifest = json.loads(dbt_project.manifest_path.read_text())
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert models
    assert all(node["config"].get("schema") is None for node in models)


def test_every_type_comes_back_as_polars_expects(prod_env: str) -> None:
    frame = WarehouseResource().read_table("reader_sample")
    assert dict(frame.schema) == (
        {
            "tenant_id": pl.String,
            "metric_date": pl.Date,
            "first_seen_at": pl.Datetime("us", "UTC"),
            "orders": pl.Int64,
            "revenue": pl.Decimal(18, 4),
            "share": pl.Float64,
            "ratio": pl.Float64,
            "active": pl.Boolean,
            "note": pl.String,
        }
    )
    rows = frame.rows()
    assert rows[0][:5] == ROWS[0][:5]
    assert rows[0][5] == pytest.approx(float(ROWS[0][5]))  # type: ignore[arg-type]
    assert rows[0][6:] == ROWS[0][6:]
    # NULL and the empty string stay apart.
    assert rows[1] == ("t1", date(2025, 3, 10), None, None, None, None, None, False, "")
    assert rows[2][2] == datetime(1999, 12, 31, 23, 59, tzinfo=UTC)
    assert rows[2][-2:] == (None, None)


def test_columns_are_selected_in_the_order_asked(prod_env: str) -> None:
    frame = WarehouseResource().read_table("reader_sample", ["revenue", "tenant_id"])
    assert frame.columns == ["revenue", "tenant_id"]
    assert frame.height == len(ROWS)


def test_an_empty_table_keeps_its_types(prod_env: str) -> None:
    frame = WarehouseResource().read_table("reader_empty")
    assert frame.height == 0
    assert dict(frame.schema) == {"tenant_id": pl.String, "at": pl.Datetime("us", "UTC")}


def test_unknown_names_never_reach_sql(prod_env: str) -> None:
    with pytest.raises(LookupError, match="no table or view"):
        WarehouseResource().read_table("no_such_model")
    with pytest.raises(LookupError, match="has no column"):
        WarehouseResource().read_table("reader_sample", ["tenant_id", "password"])
    with pytest.raises(ValueError, match="not a model or column name"):
        WarehouseResource().read_table("reader_sample", ['note" from pg_shadow --'])


def test_a_day_range_keeps_only_those_days(prod_table: str) -> None:
    frame = postgres_reader.read_table(
        prod_table,
        SCHEMA,
        "reader_sample",
        ["metric_date"],
        days=("metric_date", date(2025, 3, 10), date(2025, 3, 11)),
    )
    assert frame["metric_date"].to_list() == [date(2025, 3, 10), date(2025, 3, 11)]


def test_the_raw_reader_reads_days_of_raw_events_from_postgres(clean_raw: str) -> None:
    """Rows written by the prod loader's own writer come back for the days asked, typed as the
    checks expect, and pass the raw suite. Its raw zone is dropped afterwards (``clean_raw``):
    its ids m0-m2 would otherwise meet the next prod test of this session's database."""
    postgres_dsn = clean_raw
    day = date(2025, 3, 9)
    at = datetime(2025, 3, 9, 23, 59, 59, 999999, tzinfo=UTC)
    rows = [
        {
            "message_id": f"m{i}",
            "type": "track",
            "event": "Product Viewed",
            "user_id": None,
            "anonymous_id": "a1",
            "previous_id": None,
            "timestamp": at + timedelta(days=i),
            "sent_at": None,
            "received_at": at + timedelta(days=i, seconds=1),
            "properties": '{"price": 5, "note": "a, \\"quoted\\"\\nline"}',
            "traits": "",
            "context": "{}",
            "log_offset": i,
            "tenant_id": tenant_id,
            "event_date": (at + timedelta(days=i)).date(),
        }
        for i in range(3)
        for tenant_id in ("shop-a", "shop-b")
    ]
    zone = PostgresRawZone(postgres_dsn)
    try:
        zone.write_events(pa.Table.from_pylist(rows, schema=RAW_ROWS_SCHEMA), chunk_id="1")
    finally:
        zone.close()
    settings = Settings(
        profile=Profile.PROD, admin_token="a-test-secret", postgres_dsn=postgres_dsn
    )

    one_day = read_raw_events(settings, DayRange(day, day))
    assert one_day.schema == RAW_ROWS_SCHEMA
    assert sorted(one_day.column("tenant_id").to_pylist()) == ["shop-a", "shop-b"]
    assert one_day.column("timestamp").to_pylist() == [at, at]
    assert one_day.column("traits").to_pylist() == ["", ""]
    assert one_day.column("properties")[0].as_py() == rows[0]["properties"]
    assert read_raw_events(settings, DayRange(day + timedelta(days=1))).num_rows == 4
    assert count_raw_events(settings) == {"shop-a": 3, "shop-b": 3}

    outcomes = validate_raw_events(one_day, as_of=at + timedelta(hours=1))
    assert all(outcome.passed for outcome in outcomes.values()), outcomes
