"""Erasure against the warehouse and artifacts the real pipeline built (dbt models, ML, publish).

Slower (one whole pipeline run, about 40 s here), hence the ``e2e`` mark; the other tests use a
hand-built warehouse of the same shape.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from fastapi.testclient import TestClient

from ingest.app import create_app
from intellishop.artifacts import LocalArtifactStore
from intellishop.privacy import SubjectKind, SubjectRequest, erase_subject
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from .conftest import (
    ALICE_ANONYMOUS_IDS,
    ALICE_USER_IDS,
    SHOP_A,
    SHOP_B,
    Installation,
    first_half,
    second_half,
    shop_b_events,
)

ALICE_IDS = sorted(ALICE_USER_IDS | ALICE_ANONYMOUS_IDS)
ID_COLUMNS = ("user_id", "anonymous_id", "actor_id", "resolved_user_id", "previous_id")


def warehouse_rows(settings: Settings) -> dict[tuple[str, str], int]:
    """(table, who) -> rows, for every table with person ids; who is alice, shop-a or shop-b."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables: dict[str, list[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from information_schema.columns"
            " where table_schema = current_schema()"
        ).fetchall():
            tables.setdefault(table, []).append(column)
        counts: dict[tuple[str, str], int] = {}
        for table, columns in tables.items():
            ids = [c for c in columns if c in ID_COLUMNS]
            if "tenant_id" not in columns or not ids:
                continue
            alice = " or ".join(f'"{c}" in (select unnest(?))' for c in ids)
            for who, where, params in (
                ("alice", f"tenant_id = ? and ({alice})", [SHOP_A, *[ALICE_IDS] * len(ids)]),
                ("shop-a", "tenant_id = ?", [SHOP_A]),
                ("shop-b", "tenant_id = ?", [SHOP_B]),
            ):
                row = con.execute(f'select count(*) from "{table}" where {where}', params)
                counts[table, who] = int(row.fetchone()[0])  # type: ignore[index]
        return counts
    finally:
        con.close()


def base_tables(settings: Settings) -> set[str]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "select table_name from information_schema.tables where table_type = 'BASE TABLE'"
        ).fetchall()
    finally:
        con.close()
    return {name for (name,) in rows}


@pytest.mark.e2e
def test_erasure_reaches_the_pipelines_warehouse_and_artifacts(environment: Settings) -> None:
    from dagster_project.definitions import defs

    registry = TenantRegistry(environment.tenants_db_path)
    keys = {t: registry.create(t.upper(), tenant_id=t)[1] for t in (SHOP_A, SHOP_B)}
    installation = Installation(environment, TestClient(create_app(environment)), keys, {})
    installation.post(SHOP_A, first_half(SHOP_A))
    installation.post(SHOP_B, shop_b_events())
    job = defs().resolve_job_def("intellishop_pipeline")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success, [e.step_key for e in result.all_events if e.is_step_failure]
    installation.post(SHOP_A, second_half(SHOP_A))
    before = warehouse_rows(environment)
    store = LocalArtifactStore(environment.artifacts_dir, refresh_seconds=0)
    recommendations = {
        tenant: store.current(tenant).tables["recommendations"]["user_id"].to_pylist()  # type: ignore[union-attr]
        for tenant in (SHOP_A, SHOP_B)
    }
    alice_recs = [u for u in recommendations[SHOP_A] if u in ALICE_IDS]
    assert before["stg_collector__events", "alice"] > 0 and alice_recs

    report = erase_subject(
        environment,
        SubjectRequest(SHOP_A, SubjectKind.EMAIL, "alice@example.com"),
        requested_by="test",
    )

    after = warehouse_rows(environment)
    assert report.warehouse_status == "erased"
    for (table, who), rows in before.items():
        if who == "alice":
            assert after[table, who] == 0, table
            if table in base_tables(environment):  # a view's rows follow its tables
                assert report.warehouse.get(table, 0) == rows, table
            assert after[table, "shop-a"] == before[table, "shop-a"] - rows, table
        elif who == "shop-b":
            assert after[table, who] == rows, table
    assert report.serving["rows"]["recommendations"] == len(alice_recs)
    published = store.current(SHOP_A)
    assert published is not None and published.version == report.serving["version"]
    left = published.tables["recommendations"]["user_id"].to_pylist()
    assert left == [u for u in recommendations[SHOP_A] if u not in ALICE_IDS]
    other = store.current(SHOP_B)
    assert other is not None
    assert other.tables["recommendations"]["user_id"].to_pylist() == recommendations[SHOP_B]
