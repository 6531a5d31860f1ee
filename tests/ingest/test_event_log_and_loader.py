"""Event log durability and order, and the loader's exactly-once effect on the raw zone."""

from __future__ import annotations

import threading

import duckdb
import pyarrow.parquet as pq
import pytest

from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER, drain_event_log, entries_to_table, export_tenants
from ingest.raw_zone import ParquetRawZone
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

DAY_US = 86_400_000_000
BASE_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def event(message_id: str, timestamp_us: int = BASE_US) -> LoggedEvent:
    return LoggedEvent(
        message_id=message_id,
        type="track",
        event="Product Viewed",
        user_id="u1",
        anonymous_id=None,
        timestamp_us=timestamp_us,
        sent_at_us=None,
        received_at_us=timestamp_us,
        properties=b'{"product_id":"p1"}',
        traits=b"{}",
        context=b"{}",
    )


def raw_rows(settings: Settings) -> list[tuple[str, str, str]]:
    pattern = f"{settings.raw_zone_dir}/events/**/*.parquet"
    relation = duckdb.sql(
        f"select tenant_id, cast(event_date as varchar), message_id from read_parquet('{pattern}',"
        " hive_partitioning = true) order by all"
    )
    assert relation is not None
    return [(str(t), str(d), str(m)) for t, d, m in relation.fetchall()]


def test_entries_come_back_in_order_after_the_committed_offset(settings: Settings) -> None:
    log = SqliteEventLog(settings.event_log_path)
    ids = [log.append(LoggedBatch("t", [event(f"m{i}")])) for i in range(5)]
    assert ids == sorted(ids)
    assert [e.entry_id for e in log.read("c", 10)] == ids
    log.commit("c", ids[2])
    assert [e.batch.events[0].message_id for e in log.read("c", 10)] == ["m3", "m4"]
    assert log.lag("c") == 2
    log.commit("c", ids[0])  # an old commit never moves the offset back
    assert log.lag("c") == 2
    assert log.lag("other-consumer") == 5


def test_concurrent_appends_lose_nothing(settings: Settings) -> None:
    log = SqliteEventLog(settings.event_log_path)

    def writer(worker: int) -> None:
        for i in range(50):
            log.append(LoggedBatch("t", [event(f"w{worker}-{i}")]))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.lag("c") == 200
    assert len({e.batch.events[0].message_id for e in log.read("c", 1000)}) == 200


def test_loader_partitions_by_tenant_and_utc_date(settings: Settings) -> None:
    log = SqliteEventLog(settings.event_log_path)
    log.append(LoggedBatch("a", [event("a1"), event("a2", BASE_US + DAY_US)]))
    log.append(LoggedBatch("b", [event("b1")]))
    report = drain_event_log(settings)
    assert (report.batches, report.events, len(report.files)) == (2, 3, 3)
    assert raw_rows(settings) == [
        ("a", "2026-01-01", "a1"),
        ("a", "2026-01-02", "a2"),
        ("b", "2026-01-01", "b1"),
    ]
    assert drain_event_log(settings).events == 0
    assert log.lag(LOADER_CONSUMER) == 0


def test_a_loader_that_crashed_before_committing_redoes_its_chunk_without_doubles(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = SqliteEventLog(settings.event_log_path)
    for i in range(3):
        log.append(LoggedBatch("a", [event(f"m{i}")]))

    def crash(self: SqliteEventLog, consumer: str, entry_id: str) -> None:
        raise RuntimeError("killed before commit")

    monkeypatch.setattr(SqliteEventLog, "commit", crash)
    with pytest.raises(RuntimeError):
        drain_event_log(settings, chunk_entries=2)
    assert len(raw_rows(settings)) == 2  # written, not committed
    monkeypatch.undo()
    log.append(LoggedBatch("a", [event("m3")]))  # arrives while the loader is down
    drain_event_log(settings, chunk_entries=2)
    assert [row[2] for row in raw_rows(settings)] == ["m0", "m1", "m2", "m3"]


def test_raw_files_match_the_schema_and_no_temp_files_remain(settings: Settings) -> None:
    log = SqliteEventLog(settings.event_log_path)
    log.append(LoggedBatch("a", [event("m1")]))
    report = drain_event_log(settings)
    schema = pq.read_schema(report.files[0])
    assert "tenant_id" not in schema.names  # it is the partition key
    assert schema.field("timestamp").type.tz == "UTC"
    assert not list(settings.raw_zone_dir.rglob(".*.tmp"))


def test_entries_to_table_keeps_json_and_offsets(settings: Settings) -> None:
    log = SqliteEventLog(settings.event_log_path)
    log.append(LoggedBatch("a", [event("m1")]))
    table = entries_to_table(log.read("c", 10))
    row = table.to_pylist()[0]
    assert row["properties"] == '{"product_id":"p1"}'
    assert row["log_offset"] == 1


def test_tenants_are_exported_for_dbt(settings: Settings) -> None:
    TenantRegistry(settings.tenants_db_path).create(
        "Berlin Books", timezone="Europe/Berlin", currency="EUR"
    )
    path = export_tenants(settings)
    assert pq.read_table(path).to_pylist()[0]["timezone"] == "Europe/Berlin"
    assert isinstance(ParquetRawZone(settings.raw_zone_dir).event_files(), list)
