"""One set of models, two warehouses: the same raw events give the same marts on DuckDB (local
profile, Parquet raw zone) and on PostgreSQL (prod profile, ``raw.events``).

The PostgreSQL warehouse is built incrementally: first without the events of scenario.LATE,
then with them delivered late (a late identify re-stitches a device's past), so this also
checks the incremental path on PostgreSQL against DuckDB's full build. Values are compared
after one normalisation only: exact decimals and floats as floats rounded to 9 places,
instants in UTC, JSON text as the document it holds. Column names, their order and every row
must match, except the columns in IGNORED.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from psycopg import sql

from tests.dbt.conftest import Build, run_dbt

#: Every model a reader sees: the marts, and the intermediate models the ML reads.
COMPARED = [
    "stg_collector__events",
    "stg_imports__products",
    "int_identity_map",
    "int_events_stitched",
    "int_sessions",
    "int_orders",
    "int_product_mentions",
    "int_product_interactions",
    "daily_metrics",
    "hourly_metrics",
    "funnel_daily",
    "geo_daily",
    "products",
    "product_performance",
    "customers",
    "persons",
    "behavioural_segments",
    "cohort_retention",
    "recommendation_attribution",
]
#: Views with a row per arrival of a message: the Parquet raw zone keeps every copy of a retried
#: message, PostgreSQL's only the first (the prod loader drops copies as it lands them), so
#: they are compared as sets of rows (the copies differ only in IGNORED columns).
PER_ARRIVAL = {"stg_collector__events"}
#: Columns that differ by construction: the build's bookkeeping, where DuckDB read a row in the
#: Parquet raw zone (staging's `raw_row_address`; PostgreSQL has no such columns), and the
#: arrival (time, offset) of the events the PostgreSQL build received late
#: (conftest.postgres_build).
IGNORED = {
    "_batch_at",
    "_raw_file",
    "_raw_row",
    "previous_actor_id",
    "received_at",
    "last_link_received_at",
    "log_offset",
}


def normalise(value: Any) -> Any:
    """One representation per value. JSON text is compared as the document it holds:
    PostgreSQL re-serialises what it takes out of jsonb (key order, spaces)."""
    if isinstance(value, str) and value[:1] in {"[", "{"}:
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    if isinstance(value, Decimal | float):
        return round(float(value), 9)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def sort_key(row: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, repr(value)) for value in row)


def duckdb_table(con: duckdb.DuckDBPyConnection, model: str) -> tuple[list[str], list[Any]]:
    relation = con.table(model)
    names = [name for name in relation.columns if name not in IGNORED]
    rows = con.sql(
        "select " + ", ".join(f'"{name}"' for name in names) + f' from "{model}"'
    ).fetchall()
    return names, sorted((tuple(map(normalise, row)) for row in rows), key=sort_key)


def assert_same_table(
    built: duckdb.DuckDBPyConnection, expected: duckdb.DuckDBPyConnection, model: str
) -> None:
    """``model`` holds the same columns and rows in both warehouses, and some rows."""
    names, rows = duckdb_table(built, model)
    expected_names, expected_rows = duckdb_table(expected, model)
    assert names == expected_names
    assert expected_rows
    assert rows == expected_rows


def postgres_table(con: psycopg.Connection[Any], model: str) -> tuple[list[str], list[Any]]:
    cur = con.execute(
        sql.SQL("select * from {} limit 0").format(sql.Identifier("analytics", model))
    )
    assert cur.description is not None
    names = [column.name for column in cur.description if column.name not in IGNORED]
    rows = con.execute(
        sql.SQL("select {} from {}").format(
            sql.SQL(", ").join(sql.Identifier(name) for name in names),
            sql.Identifier("analytics", model),
        )
    ).fetchall()
    return names, sorted((tuple(map(normalise, row)) for row in rows), key=sort_key)


@pytest.fixture(scope="module")
def postgres(postgres_build: Build) -> Any:
    with psycopg.connect(postgres_build.settings.postgres_dsn) as con:
        yield con


def test_dbt_build_passes_on_postgres(postgres_build: Build) -> None:
    results = json.loads((postgres_build.target / "run_results.json").read_text())["results"]
    failed = {
        r["unique_id"]: r["status"] for r in results if r["status"] not in {"success", "pass"}
    }
    assert failed == {}
    assert sum(r["unique_id"].startswith("unit_test.") for r in results) >= 8


def test_dbt_sessions_on_postgres_run_in_utc_without_jit(
    postgres_build: Build, tmp_path: Path
) -> None:
    # dbt's connections get their settings from the environment Settings.dbt_env() makes:
    # UTC for date casts, and no JIT compilation (seconds per wide query, docs/benchmarks.md).
    done = run_dbt(
        [
            "show",
            "--inline",
            "select current_setting('jit') as jit, current_setting('TimeZone') as time_zone",
            "--output",
            "json",
        ],
        postgres_build.settings,
        tmp_path,
    )
    assert '"jit": "off"' in done.stdout, done.stdout[-2000:]
    assert '"time_zone": "UTC"' in done.stdout, done.stdout[-2000:]


@pytest.mark.parametrize("model", COMPARED)
def test_model_is_identical_on_both_targets(
    model: str, warehouse: duckdb.DuckDBPyConnection, postgres: psycopg.Connection[Any]
) -> None:
    duck_names, duck_rows = duckdb_table(warehouse, model)
    pg_names, pg_rows = postgres_table(postgres, model)
    if model in PER_ARRIVAL:
        duck_rows = sorted(set(duck_rows), key=sort_key)
        pg_rows = sorted(set(pg_rows), key=sort_key)
    assert pg_names == duck_names
    assert duck_rows, f"{model} is empty: nothing was compared"
    assert pg_rows == duck_rows


def test_a_table_from_an_earlier_version_is_rebuilt_on_postgres(
    postgres_build: Build, postgres: psycopg.Connection[Any], tmp_path: Path
) -> None:
    # As on DuckDB (test_incremental.py): the stored table lacks a column the model declares,
    # so the run drops it and builds the model in full, its rows the same as before.
    before = postgres_table(postgres, "int_identity_map")
    postgres.execute("alter table analytics.int_identity_map drop column _batch_at")
    postgres.commit()
    done = run_dbt(["run", "--select", "int_identity_map"], postgres_build.settings, tmp_path)
    assert "Rebuilding int_identity_map in full: its table has no _batch_at" in done.stdout
    assert postgres_table(postgres, "int_identity_map") == before
    [(stamped,)] = postgres.execute(
        "select count(_batch_at) from analytics.int_identity_map"
    ).fetchall()
    assert stamped == len(before[1])
