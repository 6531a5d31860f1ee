"""The loader, both profiles: a message id sent twice lands once; two tenants keep theirs."""

from __future__ import annotations

import duckdb
import pytest

from ingest.event_log import RedisStreamEventLog, SqliteEventLog, open_event_log
from ingest.loader import LOADER_CONSUMER, drain_event_log, export_tenants
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from .helpers import batch, pg_rows


def parquet_rows(settings: Settings) -> list[tuple[str, str]]:
    pattern = f"{settings.raw_zone_dir}/events/**/*.parquet"
    relation = duckdb.sql(
        f"select tenant_id, message_id from read_parquet('{pattern}', hive_partitioning = true)"
        " order by all"
    )
    assert relation is not None
    return [(str(t), str(m)) for t, m in relation.fetchall()]


def test_local_a_retry_in_a_later_batch_lands_once(settings: Settings) -> None:
    log = SqliteEventLog(settings.event_log_path)
    log.append(batch("a", "m1", "m2"))
    log.append(batch("b", "m1"))  # another tenant's m1 is another event
    assert drain_event_log(settings).duplicates == 0
    log.append(batch("a", "m2", "m3", "m3"))  # a retry, and a duplicate within one batch
    report = drain_event_log(settings)
    assert (report.events, report.duplicates) == (3, 2)
    assert parquet_rows(settings) == [("a", "m1"), ("a", "m2"), ("a", "m3"), ("b", "m1")]


def test_local_crash_before_commit_redoes_without_loss_or_double(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = SqliteEventLog(settings.event_log_path)
    log.append(batch("a", "m1"))
    drain_event_log(settings)
    for i in range(2, 5):
        log.append(batch("a", f"m{i}", "m1"))  # each batch retries m1 too

    def crash(self: SqliteEventLog, consumer: str, entry_id: str) -> None:
        raise RuntimeError("killed between the raw-zone write and the commit")

    monkeypatch.setattr(SqliteEventLog, "commit", crash)
    with pytest.raises(RuntimeError):
        drain_event_log(settings, chunk_entries=2)
    monkeypatch.undo()
    log.append(batch("a", "m5", "m2"))
    report = drain_event_log(settings, chunk_entries=2)
    assert report.duplicates == 4
    assert [m for _, m in parquet_rows(settings)] == ["m1", "m2", "m3", "m4", "m5"]


@pytest.mark.redis
@pytest.mark.postgres
def test_prod_drain_loads_once_per_tenant_and_trims_the_stream(prod_settings: Settings) -> None:
    log = open_event_log(prod_settings)
    log.append(batch("a", "m1", "m2"))
    log.append(batch("b", "m1"))
    log.append(batch("a", "m2", "m3"))  # a client's retry of m2
    report = drain_event_log(prod_settings)
    assert (report.batches, report.events, report.duplicates) == (3, 5, 1)
    assert [(t, m) for t, _, m in pg_rows(prod_settings.postgres_dsn)] == [
        ("a", "m1"),
        ("a", "m2"),
        ("a", "m3"),
        ("b", "m1"),
    ]
    assert log.lag(LOADER_CONSUMER) == 0
    assert isinstance(log, RedisStreamEventLog)
    assert log.client.xlen(prod_settings.redis_stream) == 0  # loaded entries leave Redis' memory
    assert drain_event_log(prod_settings).events == 0
    TenantRegistry(prod_settings.tenants_db_path).create("Shop", timezone="Europe/Berlin")
    export_tenants(prod_settings)
    export_tenants(prod_settings)  # replaces, never doubles
    import psycopg

    with psycopg.connect(prod_settings.postgres_dsn) as con:
        assert con.execute("select name, timezone from raw.tenants").fetchall() == [
            ("Shop", "Europe/Berlin")
        ]
    log.close()
