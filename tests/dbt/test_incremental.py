"""Incremental runs give what a full build gives, late events and late identities included.

A warehouse is built from the scenario with some events held back (scenario.LATE): carol's
identify and everything she did after it (so her device dev-c is anonymous at first), and
dev-3's product view (arriving ten days late). The held-back events then land, received on 11
March, and a plain ``dbt run`` runs incrementally. Every model must then equal the session's
full build of the whole scenario (tests/dbt/conftest.py), except the bookkeeping columns, the
arrival times and the event-log offsets, which differ by construction. (The PostgreSQL build of
test_targets.py is made the same way: the incremental path is checked on both targets.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from ingest.imports.products import write_catalog
from ingest.raw_zone import ParquetRawZone
from intellishop.settings import Profile, Settings
from tests.dbt.conftest import catalog_table, open_warehouse, run_dbt
from tests.dbt.scenario import (
    LATE,
    LATE_RECEIVED_AT,
    NY,
    chunk_table,
    deliver_late,
    write_scenario,
)
from tests.dbt.test_targets import COMPARED, assert_same_table


@pytest.fixture(scope="module")
def incremental_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The settings of a warehouse built, then run again incrementally over late events."""
    root: Path = tmp_path_factory.mktemp("dbt-incremental")
    settings = Settings(data_dir=root / "data", profile=Profile.LOCAL)
    settings.ensure_dirs()
    zone = ParquetRawZone(settings.raw_zone_dir)
    held = write_scenario(zone, hold_back=LATE)
    write_catalog(settings, "ny", catalog_table())
    run_dbt(["run"], settings, root)
    deliver_late(zone, held)
    second = run_dbt(["run"], settings, root)
    # Every incremental table has the columns its model declares: nothing is rebuilt in full.
    assert "Rebuilding" not in second.stdout
    return settings


@pytest.fixture(scope="module")
def incremental(incremental_settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    yield from open_warehouse(incremental_settings)


def test_the_second_run_was_incremental(incremental: duckdb.DuckDBPyConnection) -> None:
    # Two batches in the stitched events: the first build's and the late events'.
    [(batches,)] = incremental.sql(
        "select count(distinct _batch_at) from int_events_stitched"
    ).fetchall()
    assert batches == 2
    # dev-c's anonymous start was re-stitched to carol by the late identify.
    assert incremental.sql(
        "select message_id, previous_actor_id, actor_id from int_events_stitched"
        " where tenant_id = 'lon' and message_id in ('l06', 'l07') order by 1"
    ).fetchall() == [("l06", "dev-c", "carol"), ("l07", "dev-c", "carol")]
    # ... and dev-c's old visit is gone: only carol's remain.
    assert incremental.sql(
        "select actor_id, count(*) from int_sessions where tenant_id = 'lon'"
        " and actor_id in ('dev-c', 'carol') group by 1"
    ).fetchall() == [("carol", 4)]


@pytest.mark.parametrize("model", COMPARED)
def test_incremental_equals_full_build(
    model: str,
    incremental: duckdb.DuckDBPyConnection,
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    assert_same_table(incremental, warehouse, model)


@pytest.mark.parametrize(
    ("model", "stamp", "test"),
    [
        ("int_events_stitched", "_batch_at", "unique_key_int_events_stitched_"),
        ("int_sessions", "_batch_at", "unique_key_int_sessions_tenant_id__actor_id__"),
    ],
)
def test_an_incremental_run_checks_its_batch_against_every_row(
    model: str, stamp: str, test: str, incremental_settings: Settings, tmp_path: Path
) -> None:
    # The data tests of an incremental run look at the latest batch only (unique_key's
    # batch_column): a row that run wrote again, under a key an earlier run wrote, must fail.
    copy = Settings(data_dir=tmp_path / "data", profile=Profile.LOCAL)
    copy.ensure_dirs()
    shutil.copy(incremental_settings.warehouse_path, copy.warehouse_path)
    passed = run_dbt(["test", "--select", model], copy, tmp_path, check=False)
    assert passed.returncode == 0, passed.stdout[-3000:]

    with duckdb.connect(str(copy.warehouse_path)) as con:
        [(before,)] = con.sql(f"select min({stamp}) from {model}").fetchall()
        [(latest,)] = con.sql(f"select max({stamp}) from {model}").fetchall()
        assert before < latest
        con.execute(
            f"create temp table again as select * from {model} where {stamp} = ? limit 1",
            [before],
        )
        con.execute(f"update again set {stamp} = ?", [latest])
        con.execute(f"insert into {model} select * from again")
    failed = run_dbt(["test", "--select", model], copy, tmp_path, check=False)
    assert failed.returncode == 1
    assert f"FAIL 1 {test}" in failed.stdout


def _copy_of(settings: Settings, tmp_path: Path) -> Settings:
    """Settings of a copy of ``settings``' data directory, for a test that alters it."""
    copy = Settings(data_dir=tmp_path / "data", profile=Profile.LOCAL)
    copy.ensure_dirs()
    shutil.copytree(settings.data_dir, copy.data_dir, dirs_exist_ok=True)
    return copy


def _earlier_version(
    settings: Settings, tmp_path: Path, table: str, *statements: str
) -> tuple[Settings, int]:
    """A copy of ``settings``' data directory whose warehouse ``statements`` turn into what an
    earlier version left, and how many rows ``table`` had before them."""
    copy = _copy_of(settings, tmp_path)
    with duckdb.connect(str(copy.warehouse_path)) as con:
        [(rows,)] = con.sql(f"select count(*) from {table}").fetchall()
        for statement in statements:
            con.execute(statement)
    return copy, rows


def test_a_table_from_an_earlier_version_is_rebuilt_in_full(
    incremental_settings: Settings, tmp_path: Path
) -> None:
    # A warehouse built before int_identity_map kept its batch stamp: the next run rebuilds
    # that model from scratch instead of failing on the missing column.
    copy, devices = _earlier_version(
        incremental_settings,
        tmp_path,
        "int_identity_map",
        "alter table int_identity_map drop column _batch_at",
    )
    done = run_dbt(["run", "--select", "int_identity_map"], copy, tmp_path)
    assert "Rebuilding int_identity_map in full: its table has no _batch_at" in done.stdout
    with duckdb.connect(str(copy.warehouse_path), read_only=True) as con:
        assert con.sql("select count(*), count(_batch_at) from int_identity_map").fetchall() == [
            (devices, devices)
        ]


def test_a_table_with_retired_columns_is_rebuilt_in_full(
    incremental_settings: Settings, tmp_path: Path
) -> None:
    # Warehouses built before int_events_stitched stopped carrying the raw context (the user
    # agent, ...) have those columns (its meta.retired_columns): the next run rebuilds it.
    copy, events = _earlier_version(
        incremental_settings,
        tmp_path,
        "int_events_stitched",
        "alter table int_events_stitched add column user_agent varchar",
    )
    done = run_dbt(["run", "--select", "int_events_stitched"], copy, tmp_path)
    assert (
        "Rebuilding int_events_stitched in full: its table has retired columns user_agent"
        in done.stdout
    )
    with duckdb.connect(str(copy.warehouse_path), read_only=True) as con:
        columns = {
            name
            for (name,) in con.sql(
                "select column_name from information_schema.columns"
                " where table_name = 'int_events_stitched'"
            ).fetchall()
        }
        assert con.sql("select count(*) from int_events_stitched").fetchall() == [(events,)]
    assert "user_agent" not in columns
    assert {"actor_id", "page_url", "_batch_at"} <= columns


def test_a_retry_days_after_the_first_copy_changes_nothing(
    incremental_settings: Settings, tmp_path: Path
) -> None:
    # A client retried m01 two days after the late events landed, far past the lookback:
    # stitching keeps the copy it stored (its arrival, its batch) and writes no new batch.
    copy = _copy_of(incremental_settings, tmp_path)
    stored = (
        "select received_at, _batch_at from int_events_stitched"
        " where tenant_id = 'ny' and message_id = 'm01'"
    )
    with duckdb.connect(str(copy.warehouse_path), read_only=True) as con:
        before = con.sql(stored).fetchall()
        [(batches,)] = con.sql(
            "select count(distinct _batch_at) from int_events_stitched"
        ).fetchall()
    retry = [{**NY[0], "received_at": LATE_RECEIVED_AT + timedelta(days=2)}]
    ParquetRawZone(copy.raw_zone_dir).write_events(
        chunk_table("ny", retry, 300), chunk_id=f"{300:012d}"
    )
    run_dbt(["run"], copy, tmp_path)
    with duckdb.connect(str(copy.warehouse_path), read_only=True) as con:
        # The staging view sees both copies; the stored row is still the first arrival.
        assert con.sql(
            "select count(*) from stg_collector__events"
            " where tenant_id = 'ny' and message_id = 'm01'"
        ).fetchall() == [(2,)]
        assert con.sql(stored).fetchall() == before
        assert con.sql("select count(distinct _batch_at) from int_events_stitched").fetchall() == [
            (batches,)
        ]


def test_a_warehouse_with_a_staged_table_gets_the_view_and_stitches_again(
    incremental_settings: Settings, tmp_path: Path
) -> None:
    # Before 2026-11-27 staging was an incremental table and stitching carried its batch stamp
    # (_staged_at, now in meta.retired_columns): the next run makes staging a view and
    # stitches every event again, with the same rows.
    copy, events = _earlier_version(
        incremental_settings,
        tmp_path,
        "int_events_stitched",
        "create table staged as select * from stg_collector__events",
        "drop view stg_collector__events",
        "alter table staged rename to stg_collector__events",
        "alter table int_events_stitched add column _staged_at timestamptz",
    )
    done = run_dbt(["run"], copy, tmp_path)
    assert (
        "Rebuilding int_events_stitched in full: its table has retired columns _staged_at"
        in done.stdout
    )
    with duckdb.connect(str(copy.warehouse_path), read_only=True) as con:
        assert con.sql(
            "select table_type from information_schema.tables"
            " where table_name = 'stg_collector__events'"
        ).fetchall() == [("VIEW",)]
        assert con.sql("select count(*) from int_events_stitched").fetchall() == [(events,)]


#: Stitching the copy's new event (its staging view rebuilt: it names the copy's raw zone).
STITCH = ["run", "--select", "stg_collector__events", "int_events_stitched"]


def test_an_incremental_run_leaves_a_few_deleted_rows_for_later(
    incremental_settings: Settings, tmp_path: Path
) -> None:
    # DuckDB's vacuum of a run's small appends and deletes waits (macros/vacuum.sql): the
    # run stitches the new event and the deleted rows stay stored.
    copy, deleted = _with_deleted_rows(incremental_settings, tmp_path, 0.1)
    [_, live] = _stored_and_live(copy)
    done = run_dbt(STITCH, copy, tmp_path)
    assert "Vacuuming" not in done.stdout
    assert _stored_and_live(copy) == (live + 1 + deleted, live + 1)


def test_a_run_vacuums_once_deleted_rows_pile_up(
    incremental_settings: Settings, tmp_path: Path
) -> None:
    # A third of int_events_stitched is deleted rows, past var('vacuum_at_deleted_share'):
    # this run's checkpoint drops them.
    copy, deleted = _with_deleted_rows(incremental_settings, tmp_path, 0.5)
    stored, live = _stored_and_live(copy)
    done = run_dbt(STITCH, copy, tmp_path)
    share = round(deleted / stored * 100, 1)
    assert (
        f"Vacuuming the tables this run changes: int_events_stitched holds {share} % deleted rows"
        in done.stdout
    )
    assert _stored_and_live(copy) == (live + 1, live + 1)


def _with_deleted_rows(
    settings: Settings, tmp_path: Path, share_of_copies: float
) -> tuple[Settings, int]:
    """A copy of ``settings``' data directory whose int_events_stitched also holds deleted
    rows (``share_of_copies`` of its rows, stored again and deleted in their first place) and
    one new event in the raw zone; returns the copy and how many deleted rows the table holds."""
    copy = _copy_of(settings, tmp_path)
    stored, live = _stored_and_live(copy)
    copies = max(1, round(live * share_of_copies))
    with duckdb.connect(str(copy.warehouse_path)) as con:
        # No vacuum in this process either, so that closing keeps the deleted rows.
        con.execute("set global max_vacuum_tasks = 0")
        # Each picked row is stored again, then its first copy deleted: the same live rows.
        con.execute(
            "create temp table picked as select rowid as picked_id from int_events_stitched"
            f" order by rowid limit {copies}"
        )
        picked = "rowid in (select picked_id from picked)"
        con.execute(
            f"insert into int_events_stitched select * from int_events_stitched where {picked}"
        )
        con.execute("checkpoint")
        con.execute(f"delete from int_events_stitched where {picked}")
    assert _stored_and_live(copy) == (stored + copies, live)
    event = {**NY[0], "message_id": "m-new", "received_at": LATE_RECEIVED_AT + timedelta(days=1)}
    ParquetRawZone(copy.raw_zone_dir).write_events(
        chunk_table("ny", [event], 301), chunk_id=f"{301:012d}"
    )
    return copy, stored + copies - live


def _stored_and_live(settings: Settings) -> tuple[int, int]:
    """Rows int_events_stitched stores (its deleted rows too) and its live rows."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        [(stored, live)] = con.sql(
            "select estimated_size, (select count(*) from int_events_stitched)"
            " from duckdb_tables() where table_name = 'int_events_stitched'"
        ).fetchall()
    return stored, live


def test_a_model_with_nulls_where_none_may_be_fails_its_not_null_check(
    incremental_settings: Settings, tmp_path: Path
) -> None:
    # One not_null_columns test per model: it fails with one row per column holding nulls.
    copy = _copy_of(incremental_settings, tmp_path)
    check = ["test", "--select", "not_null_daily_metrics"]
    assert run_dbt(check, copy, tmp_path).returncode == 0
    with duckdb.connect(str(copy.warehouse_path)) as con:
        con.execute("update daily_metrics set sessions = null, visitors = null where rowid = 0")
        con.execute("update daily_metrics set revenue = null where rowid = 1")
        con.execute("update daily_metrics set currency = null")  # may be null: not listed
    failed = run_dbt(check, copy, tmp_path, check=False)
    assert failed.returncode == 1
    assert "Failure in test not_null_daily_metrics" in failed.stdout
    assert "Got 3 results, configured to fail if != 0" in failed.stdout
