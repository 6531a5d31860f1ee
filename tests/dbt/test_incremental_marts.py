"""The incremental person table catches every way a person's row changes after their events.

``persons`` rebuilds only the people that upstream rows newer than its latest batch touch
(dbt_project/models/marts/customers/persons.sql). scenario.LATE already re-stitches carol's
device (its person must vanish) and brings her identify and orders late; this module adds late
events whose effect lands on someone other than their own actor, which a filter on the new
events' actors alone would miss:

- a refund of berlin's guest order o-1 (bought by the anonymous dev-1) that the back office
  sends server-side under the user id ``bert``: dev-1's order is refunded, bert is no person;
- a second ``Order Completed`` of ny's o-2, sent earlier-dated by the backend for ``nina``: the
  order's first occurrence, so its buyer, moves from dev-2 to nina;
- a later identify of alice with new traits: her email and phone change.

One warehouse gets everything in one build; another first runs without the late events, then
again incrementally once they land. Both must hold the same marts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.imports.products import write_catalog
from ingest.raw_zone import ParquetRawZone
from intellishop.settings import Profile, Settings
from tests.dbt.conftest import catalog_table, open_warehouse, run_dbt
from tests.dbt.scenario import (
    LATE,
    SERVER,
    chunk_table,
    deliver_late,
    message,
    order,
    track,
    utc,
    write_scenario,
)
from tests.dbt.test_targets import assert_same_table

#: The marts this module builds (with everything upstream of them) and compares.
MARTS = ["persons", "products", "product_performance"]
SELECT = ["--select", *(f"+{mart}" for mart in MARTS)]
#: Late events whose effect lands on another person than their own actor.
EXTRA: list[tuple[str, dict[str, Any]]] = [
    (
        "berlin",
        track(
            "x01",
            utc(6, 9),
            "Order Refunded",
            {"order_id": "o-1", "total": 20},
            user="bert",
            context=SERVER,
        ),
    ),
    (
        "ny",
        track(
            "x02", utc(2, 2, 55), "Order Completed", order("o-2", 40), user="nina", context=SERVER
        ),
    ),
    (
        "ny",
        message(
            "x03",
            "identify",
            utc(7, 10),
            user="alice",
            anon="dev-1",
            traits={"email": "alice@new.example", "phone": "555-0100"},
        ),
    ),
]
#: The event-log offset of the chunks holding EXTRA in the warehouse built in one go.
EXTRA_OFFSET = 50


def build(root: Path, *, late: bool) -> Settings:
    """The scenario plus EXTRA, built once (``late`` off) or first without scenario.LATE and
    EXTRA and then incrementally with them (``late`` on)."""
    settings = Settings(data_dir=root / "data", profile=Profile.LOCAL)
    settings.ensure_dirs()
    zone = ParquetRawZone(settings.raw_zone_dir)
    write_catalog(settings, "ny", catalog_table())
    if not late:
        write_scenario(zone)
        for offset, tenant_id in enumerate(sorted({t for t, _ in EXTRA}), start=EXTRA_OFFSET):
            rows = [row for t, row in EXTRA if t == tenant_id]
            zone.write_events(chunk_table(tenant_id, rows, offset), chunk_id=f"{offset:012d}")
        run_dbt(["run", *SELECT], settings, root)
        return settings
    held = write_scenario(zone, hold_back=LATE)
    run_dbt(["run", *SELECT], settings, root)
    deliver_late(zone, held + EXTRA)
    run_dbt(["run", *SELECT], settings, root)
    return settings


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    yield from open_warehouse(build(tmp_path_factory.mktemp("marts-full"), late=False))


@pytest.fixture(scope="module")
def incremental(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    yield from open_warehouse(build(tmp_path_factory.mktemp("marts-incremental"), late=True))


def person(con: duckdb.DuckDBPyConnection, tenant_id: str, person_id: str) -> dict[str, Any]:
    relation = con.sql(
        "select * from persons where tenant_id = ? and person_id = ?",
        params=[tenant_id, person_id],
    )
    rows = relation.fetchall()
    assert len(rows) <= 1
    return dict(zip(relation.columns, rows[0], strict=True)) if rows else {}


def test_the_late_events_changed_other_people(full: duckdb.DuckDBPyConnection) -> None:
    # What the late events do, in the warehouse built in one go: each lands on someone else.
    assert person(full, "berlin", "dev-1")["refunded_orders"] == 1
    assert person(full, "berlin", "bert") == {}
    assert person(full, "ny", "dev-2")["all_orders"] == 0
    assert person(full, "ny", "nina")["all_orders"] == 1
    assert person(full, "ny", "alice")["email"] == "alice@new.example"
    assert person(full, "lon", "dev-c") == {}


def test_the_second_run_rebuilt_only_the_touched_people(
    incremental: duckdb.DuckDBPyConnection,
) -> None:
    batches = dict(
        incremental.sql("select tenant_id || '/' || person_id, _batch_at from persons").fetchall()
    )
    first, second = sorted(set(batches.values()))
    # Touched through another actor's event (the refund's, the re-sent order's) or their own.
    for touched in ("berlin/dev-1", "ny/dev-2", "ny/nina", "ny/alice", "lon/carol"):
        assert batches[touched] == second
    # Untouched people keep the first run's row.
    assert batches["lon/dev-e"] == first
    # No tombstone is left behind, and the re-stitched device's person is gone.
    assert "lon/dev-c" not in batches
    assert incremental.sql(
        "select count(*) from persons where first_seen_at is null"
    ).fetchall() == [(0,)]


@pytest.mark.parametrize("model", MARTS)
def test_incremental_equals_full_build(
    model: str, incremental: duckdb.DuckDBPyConnection, full: duckdb.DuckDBPyConnection
) -> None:
    assert_same_table(incremental, full, model)
