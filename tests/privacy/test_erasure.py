"""Erasure and right of access across the event log, raw zone, warehouse and serving store."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from typing import Any

import duckdb
import pytest

from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER, drain_event_log
from intellishop.artifacts import LocalArtifactStore
from intellishop.privacy import (
    Person,
    SubjectKind,
    SubjectRequest,
    apply_pending_erasures,
    audit_log,
    erase_subject,
    export_subject,
    resolve_person,
)
from intellishop.settings import Settings

from .conftest import (
    ALICE_ANONYMOUS_IDS,
    ALICE_USER_IDS,
    SHOP_A,
    SHOP_B,
    Installation,
    browse,
    first_half,
    second_half,
)

ALICE_IDS = ALICE_USER_IDS | ALICE_ANONYMOUS_IDS
ID_COLUMNS = ("user_id", "anonymous_id", "previous_id", "actor_id")
ALICE_EMAIL = SubjectRequest(SHOP_A, SubjectKind.EMAIL, "  ALICE@example.com")

#: (store, tenant, id) -> rows carrying that id
Census = Counter[tuple[str, str, str]]


def census(settings: Settings) -> Census:
    """Every id in every store, counted per tenant: what an erasure may and may not change."""
    counts: Census = Counter()
    log = SqliteEventLog(settings.event_log_path)
    for entry in log.read("census-never-commits", 1_000_000):
        for event in entry.batch.events:
            for value in {event.user_id, event.anonymous_id, event.previous_id} - {None}:
                counts["event_log", entry.batch.tenant_id, str(value)] += 1
    log.close()
    raw = f"{settings.raw_zone_dir}/events/**/*.parquet"
    scan = duckdb.connect()
    for tenant, *ids in scan.execute(
        f"select tenant_id, user_id, anonymous_id, previous_id from read_parquet('{raw}',"
        " hive_partitioning = true)"
    ).fetchall():
        for value in set(ids) - {None}:
            counts["raw_zone", tenant, value] += 1
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for table in ("stg_collector__events", "int_sessions", "int_orders"):
            columns = [c for c in con.table(table).columns if c in ID_COLUMNS]
            for tenant, *ids in con.sql(
                f"select tenant_id, {', '.join(columns)} from {table}"
            ).fetchall():
                for value in set(ids) - {None}:
                    counts[f"warehouse.{table}", tenant, value] += 1
    finally:
        con.close()
    store = LocalArtifactStore(settings.artifacts_dir, refresh_seconds=0)
    for tenant in (SHOP_A, SHOP_B):
        version = store.current(tenant)
        assert version is not None
        for user_id in version.tables["recommendations"]["user_id"].to_pylist():
            counts["serving", tenant, user_id] += 1
    return counts


def alices(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages (as sent) that carry any of Alice's ids."""
    return [
        e
        for e in events
        if {e.get("userId"), e.get("anonymousId"), e.get("previousId")} & ALICE_IDS
    ]


def alice_rows(counts: Census) -> Census:
    return Counter({k: v for k, v in counts.items() if k[1] == SHOP_A and k[2] in ALICE_IDS})


def others(counts: Census) -> Census:
    return Counter({k: v for k, v in counts.items() if not (k[1] == SHOP_A and k[2] in ALICE_IDS)})


def test_an_email_resolves_to_every_linked_id_of_the_tenant_only(
    installation: Installation,
) -> None:
    person = resolve_person(installation.settings, ALICE_EMAIL)
    assert person == Person(SHOP_A, frozenset(ALICE_USER_IDS), frozenset(ALICE_ANONYMOUS_IDS))
    # Shop B's person with the same email has only the ids shop B saw.
    other = resolve_person(
        installation.settings, SubjectRequest(SHOP_B, SubjectKind.EMAIL, "alice@example.com")
    )
    assert other == Person(SHOP_B, frozenset({"u-alice"}), frozenset({"anon-1"}))
    # From the second device, the walk reaches the same component.
    by_device = resolve_person(
        installation.settings, SubjectRequest(SHOP_A, SubjectKind.ANONYMOUS_ID, "anon-2")
    )
    assert by_device == person
    unknown = SubjectRequest(SHOP_A, SubjectKind.EMAIL, "nobody@example.com")
    assert resolve_person(installation.settings, unknown) is None


def test_export_holds_the_persons_events_from_every_store(installation: Installation) -> None:
    settings = installation.settings
    document = export_subject(settings, ALICE_EMAIL, requested_by="test")
    sent = {e["messageId"] for e in alices(installation.sent[SHOP_A])}
    assert {e["message_id"] for e in document["events"]} == sent
    sources = Counter(e["source"] for e in document["events"])
    pending = alices(second_half(SHOP_A))
    assert sources["event_log"] == len(pending)
    assert sources["raw_zone"] == len(sent) - len(pending)
    identify = next(e for e in document["events"] if e["message_id"] == "shop-a-a-identify")
    assert identify["traits"]["email"] == " Alice@Example.COM "
    assert len(document["warehouse"]["int_orders"]) == 1
    assert {r["actor_id"] for r in document["warehouse"]["int_sessions"]} == {"u-alice", "anon-1"}
    assert {r["user_id"] for r in document["serving"]["recommendations"]} == {
        "u-alice",
        "anon-1",
        "old-alice",
    }
    json.dumps(document, default=str)  # the CLI and the API serialise it as is
    (record,) = audit_log(settings).records()
    assert record["action"] == "export" and record["exported"]["events"] == len(sent)


def test_erasure_by_email_empties_every_store_and_touches_nothing_else(
    installation: Installation,
) -> None:
    settings = installation.settings
    before = census(settings)
    stores = {store for store, _, _ in alice_rows(before)}
    assert stores == {
        "event_log",
        "raw_zone",
        "warehouse.stg_collector__events",
        "warehouse.int_sessions",
        "warehouse.int_orders",
        "serving",
    }
    offset_before = SqliteEventLog(settings.event_log_path).lag(LOADER_CONSUMER)

    report = erase_subject(settings, ALICE_EMAIL, requested_by="test")

    after = census(settings)
    assert alice_rows(after) == Counter()
    assert others(after) == others(before)  # Bob, Carol and all of shop B: exact counts
    assert report.found and report.warehouse_status == "erased"
    assert report.raw_zone == len(alices(first_half(SHOP_A)))
    assert report.event_log == len(alices(installation.sent[SHOP_A]))
    assert report.serving["rows"] == {"recommendations": 6}
    # Entries keep their ids: the loader's position is unchanged and still valid.
    assert SqliteEventLog(settings.event_log_path).lag(LOADER_CONSUMER) == offset_before

    (record,) = audit_log(settings).records()
    assert record["action"] == "erase" and record["found"]
    assert record["removed"]["event_log"] == report.event_log
    assert record["removed"]["raw_zone"] == report.raw_zone
    assert record["removed"]["warehouse"] == report.warehouse
    assert len(record["user_id_digests"]) == len(ALICE_USER_IDS)
    audit_text = audit_log(settings).path.read_text()
    for personal in (*ALICE_IDS, "alice@example.com", "Alice"):
        assert personal not in audit_text

    # Once more: nothing left to find, and that is recorded too.
    again = erase_subject(settings, ALICE_EMAIL, requested_by="test")
    assert not again.found and (again.event_log, again.raw_zone) == (0, 0)
    records = audit_log(settings).records()
    assert [r["found"] for r in records] == [True, False]
    assert census(settings) == after

    # The loader still works: pending entries (some now empty) and new events load.
    installation.post(SHOP_A, browse({"userId": "u-erin"}, 5000, ["p1"], tag="erin"))
    loaded = drain_event_log(settings)
    pending = second_half(SHOP_A)
    assert loaded.events == len(pending) - len(alices(pending)) + 2
    raw = census(settings)
    assert raw["raw_zone", SHOP_A, "u-erin"] == 2
    assert alice_rows(raw) == Counter()
    assert SqliteEventLog(settings.event_log_path).lag(LOADER_CONSUMER) == 0


def test_a_busy_warehouse_is_erased_when_it_is_free(installation: Installation) -> None:
    settings = installation.settings
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " sys.stdin.read()",
            str(settings.warehouse_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        report = erase_subject(
            settings, ALICE_EMAIL, requested_by="test", warehouse_wait_seconds=0.3
        )
        assert report.warehouse_status == "pending"
        assert apply_pending_erasures(settings, wait_seconds=0.1) == []
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    assert alice_rows(census(settings))["warehouse.int_sessions", SHOP_A, "u-alice"] == 1
    assert apply_pending_erasures(settings) == [report.request_id]
    assert alice_rows(census(settings)) == Counter()
    actions = [r["action"] for r in audit_log(settings).records()]
    assert actions == ["erase", "erase-completed"]
    assert not list((settings.data_dir / "audit" / "pending").glob("*.json"))


def test_erasure_in_one_tenant_never_touches_another_with_the_same_ids(
    installation: Installation,
) -> None:
    settings = installation.settings
    before = census(settings)
    report = erase_subject(
        settings, SubjectRequest(SHOP_B, SubjectKind.USER_ID, "u-alice"), requested_by="test"
    )
    assert report.user_ids == ["u-alice"] and report.anonymous_ids == ["anon-1"]
    after = census(settings)
    assert {k for k in before if k[1] == SHOP_B and k[2] in ALICE_IDS and after[k]} == set()
    assert Counter({k: v for k, v in after.items() if k[1] == SHOP_A}) == Counter(
        {k: v for k, v in before.items() if k[1] == SHOP_A}
    )
    assert after["raw_zone", SHOP_B, "u-dave"] == before["raw_zone", SHOP_B, "u-dave"] > 0


def test_a_request_names_a_valid_tenant(installation: Installation) -> None:
    with pytest.raises(ValueError, match="not a tenant id"):
        erase_subject(
            installation.settings,
            SubjectRequest("../shop-a", SubjectKind.USER_ID, "u-alice"),
            requested_by="test",
        )
