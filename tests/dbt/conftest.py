"""One ``dbt build`` per target over the hand-made raw zone (tests/dbt/scenario.py).

The DuckDB build (local profile) reads a Parquet raw zone; the PostgreSQL build (prod profile)
reads ``raw.events`` in a database of its own. Both raw zones are written by the product's own
writers (``ParquetRawZone``, ``PostgresRawZone``, the catalogue importer's ``write_catalog``),
so the tests see what the loader would have produced. Builds are session-scoped: several test
modules read the same warehouse.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ingest.imports.products import CATALOG_SCHEMA, write_catalog
from ingest.raw_zone import ParquetRawZone
from ingest.raw_zone.postgres import PostgresRawZone
from intellishop.services import PROJECT_ROOT
from intellishop.settings import Profile, Settings
from tests.dbt.scenario import LATE, NY_CATALOG, deliver_late, write_scenario

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")


@dataclass(frozen=True)
class Build:
    """A finished ``dbt build``: the settings it ran with and dbt's target directory."""

    settings: Settings
    target: Path
    output: str


def run_dbt(
    arguments: list[str], settings: Settings, work: Path, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``dbt <arguments>`` on the settings' target; asserts success unless ``check`` is off."""
    done = subprocess.run(
        [
            DBT,
            *arguments,
            "--profiles-dir",
            ".",
            "--target",
            settings.dbt_target,
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **settings.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done


def catalog_table() -> pa.Table:
    return pa.Table.from_pylist(NY_CATALOG, schema=CATALOG_SCHEMA)


@pytest.fixture(scope="session")
def duckdb_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The scenario in a Parquet raw zone, then one ``dbt build`` on the local target."""
    root = tmp_path_factory.mktemp("dbt-duckdb")
    settings = Settings(data_dir=root / "data", profile=Profile.LOCAL)
    settings.ensure_dirs()
    write_scenario(ParquetRawZone(settings.raw_zone_dir))
    write_catalog(settings, "ny", catalog_table())
    done = run_dbt(["build"], settings, root)
    return Build(settings, root / "target", done.stdout)


def open_warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-only connection to the settings' DuckDB warehouse, in UTC, closed after use."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    con.sql("set TimeZone = 'UTC'")
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="session")
def warehouse(duckdb_build: Build) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-only connection to the DuckDB warehouse the build made."""
    yield from open_warehouse(duckdb_build.settings)


@pytest.fixture(scope="session")
def dbt_postgres_dsn(postgres_dsn: str) -> Iterator[str]:
    """A database of the dbt tests' own, beside the session's: other packages' events stay out
    of these marts. Dropped afterwards."""
    name = f"{conninfo_to_dict(postgres_dsn)['dbname']}_dbt"
    yield make_conninfo(postgres_dsn, dbname=name)
    with psycopg.connect(make_conninfo(postgres_dsn, dbname="postgres"), autocommit=True) as con:
        con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def write_postgres_catalog(settings: Settings, dsn: str, table: pa.Table) -> None:
    """The ny catalogue in ``raw.catalog``: through the importer when it writes the prod raw
    zone, else (until it does) a table of the importer's columns plus tenant_id, by COPY."""
    try:
        write_catalog(settings, "ny", table)
        return
    except NotImplementedError:
        pass
    rows = table.append_column("tenant_id", pa.array(["ny"] * table.num_rows))
    buffer = io.BytesIO()
    pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False))
    with psycopg.connect(dsn) as con:
        con.execute(
            "create table if not exists raw.catalog (product_id text not null, name text not null,"
            " category text, brand text, price double precision, currency text, sku text,"
            " imported_at timestamptz not null, tenant_id text not null,"
            " primary key (tenant_id, product_id))"
        )
        with con.cursor().copy(
            "copy raw.catalog (product_id, name, category, brand, price, currency, sku,"
            " imported_at, tenant_id) from stdin (format csv)"
        ) as copy:
            copy.write(buffer.getvalue())


@pytest.fixture(scope="session")
def postgres_build(tmp_path_factory: pytest.TempPathFactory, dbt_postgres_dsn: str) -> Build:
    """The same scenario in ``raw.events`` (PostgresRawZone), built on prod incrementally: a
    first ``dbt run`` without the events of scenario.LATE, then ``dbt build`` once they land."""
    root = tmp_path_factory.mktemp("dbt-postgres")
    # Built without validation: the prod profile refuses the shipped API secrets, which these
    # tests never use (only dbt_env(), write_catalog and the DSN are read).
    settings = Settings.model_construct(
        data_dir=root / "data", profile=Profile.PROD, postgres_dsn=dbt_postgres_dsn
    )
    zone = PostgresRawZone(dbt_postgres_dsn)
    try:
        held = write_scenario(zone, hold_back=LATE)
        write_postgres_catalog(settings, dbt_postgres_dsn, catalog_table())
        run_dbt(["run"], settings, root)
        deliver_late(zone, held)
    finally:
        zone.close()
    done = run_dbt(["build"], settings, root)
    return Build(settings, root / "target", done.stdout)
