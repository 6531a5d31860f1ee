"""The tables of loaded message ids are pruned after the dedup window, on both profiles.

A retry within the window still lands once; ids older than the window are forgotten, so the
tables hold one window of ids instead of growing forever.
"""

from __future__ import annotations

import psycopg
import pytest

from ingest import loader
from ingest.event_log import SqliteEventLog, open_event_log
from ingest.loader import LoadedMessages, drain_event_log
from ingest.raw_zone import PostgresRawZone
from intellishop.settings import DEDUP_WINDOW_SECONDS, Settings

from .helpers import BASE_US, DAY_US, batch, pg_rows
from .test_loader_idempotency import parquet_rows
from .test_postgres_raw_zone import chunk

SECOND_US = 1_000_000


def test_local_pruning_keeps_the_window_and_drops_what_is_older(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_800_000_000 * SECOND_US]
    monkeypatch.setattr(loader, "now_us", lambda: clock[0])
    log = SqliteEventLog(settings.event_log_path)
    log.append(batch("a", "m1", "m2"))
    assert drain_event_log(settings).pruned == 0

    clock[0] += (DEDUP_WINDOW_SECONDS - 60) * SECOND_US  # a minute inside the window
    log.append(batch("a", "m3", "m1"))  # m1 retried
    report = drain_event_log(settings)
    assert (report.duplicates, report.pruned) == (1, 0)
    assert parquet_rows(settings) == [("a", "m1"), ("a", "m2"), ("a", "m3")]

    clock[0] += 120 * SECOND_US  # m1 and m2 are now older than the window; m3 is not
    report = drain_event_log(settings)
    assert report.pruned == 2
    loaded = LoadedMessages(settings.data_dir / "loaded_messages.sqlite3")
    assert loaded.count() == 1
    loaded.close()

    log.append(batch("a", "m3"))  # m3's retry is still inside its window: lands once
    assert drain_event_log(settings).duplicates == 1
    assert parquet_rows(settings) == [("a", "m1"), ("a", "m2"), ("a", "m3")]


def test_local_a_table_from_before_pruning_gets_its_column(settings: Settings) -> None:
    """An installation's existing table gains ``loaded_at_us``; its ids get a full window."""
    import sqlite3

    path = settings.data_dir / "loaded_messages.sqlite3"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as con:
        con.execute(
            "create table loaded_messages (tenant_id text not null, message_id text not null,"
            " log_offset integer not null, primary key (tenant_id, message_id)) without rowid"
        )
        con.execute("insert into loaded_messages values ('a', 'old', 1)")
    loaded = LoadedMessages(path, clock=lambda: 5_000 * SECOND_US)
    assert loaded.prune(DEDUP_WINDOW_SECONDS) == 0
    assert loaded.count() == 1
    later = LoadedMessages(path, clock=lambda: (5_001 + DEDUP_WINDOW_SECONDS) * SECOND_US)
    assert later.prune(DEDUP_WINDOW_SECONDS) == 1
    loaded.close()
    later.close()


def test_prod_pruning_keeps_the_window_and_drops_what_is_older(prod_settings: Settings) -> None:
    log = open_event_log(prod_settings)
    log.append(batch("a", "m1", "m2"))
    assert drain_event_log(prod_settings).pruned == 0
    dsn = prod_settings.postgres_dsn
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(
            "update raw.loaded_messages set loaded_at = now() - make_interval(secs => %s)"
            " where tenant_id = 'a' and message_id = 'm1'",
            (DEDUP_WINDOW_SECONDS + 60,),
        )
    # m2 retried on another day: only raw.loaded_messages can catch it, and does.
    log.append(batch("a", "m2", timestamp_us=BASE_US + DAY_US))
    report = drain_event_log(prod_settings)
    assert (report.duplicates, report.pruned) == (1, 1)
    with psycopg.connect(dsn) as con:
        kept = con.execute("select message_id from raw.loaded_messages order by 1").fetchall()
    assert kept == [("m2",)]
    assert [row[2] for row in pg_rows(dsn)] == ["m1", "m2"]
    zone = PostgresRawZone(dsn)
    assert zone.prune_loaded_messages(DEDUP_WINDOW_SECONDS) == 0
    zone.close()
    log.close()


def test_prod_an_id_resent_after_its_window_on_the_same_day_still_lands_once(
    clean_raw: str,
) -> None:
    """Past the window the id is out of ``raw.loaded_messages``; the day's unique index still
    catches it, and the chunk's new day partition survives the redo."""
    zone = PostgresRawZone(clean_raw)
    zone.write_events(chunk(batch("a", "m1")), "c1")
    with psycopg.connect(clean_raw, autocommit=True) as con:
        con.execute("update raw.loaded_messages set loaded_at = now() - interval '30 days'")
    assert zone.prune_loaded_messages(DEDUP_WINDOW_SECONDS) == 1
    later = BASE_US + 5 * DAY_US  # a day with no partition yet, in the same chunk
    zone.write_events(chunk(batch("a", "m1"), batch("a", "m2", timestamp_us=later), first=7), "c7")
    assert zone.last_inserted == 1
    assert pg_rows(clean_raw) == [("a", "2026-01-01", "m1"), ("a", "2026-01-06", "m2")]
    zone.close()
