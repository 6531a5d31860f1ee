"""raw.events layout: TimescaleDB hypertable when offered, else native daily partitions.

TimescaleDB cannot be installed here, so the decision and the DDL are checked as functions, and
the partitioned path against the real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from ingest.raw_zone import PostgresRawZone
from ingest.raw_zone.events_layout import (
    EventsLayout,
    choose_layout,
    detect_layout,
    events_ddl,
    existing_layout,
)


def test_timescaledb_among_the_available_extensions_picks_a_hypertable() -> None:
    assert choose_layout(["plpgsql", "pg_partman", "TimescaleDB"]) is EventsLayout.HYPERTABLE
    assert choose_layout(["plpgsql", "pg_partman", "pg_cron"]) is EventsLayout.PARTITIONED
    assert choose_layout([]) is EventsLayout.PARTITIONED


def test_hypertable_ddl_creates_the_extension_and_one_day_chunks() -> None:
    statements = events_ddl(EventsLayout.HYPERTABLE)
    assert statements[0] == "create extension if not exists timescaledb"
    assert "partition by" not in statements[1]
    assert (
        "create_hypertable('raw.events', by_range('event_date', interval '1 day'),"
        " if_not_exists => true)" in statements[2]
    )
    # TimescaleDB needs the time column in every unique index: the dedup key has it.
    unique = [s for s in statements if "unique index" in s]
    assert unique and all("event_date" in s for s in unique)


def test_partitioned_ddl_is_range_partitioned_by_day_and_has_no_extension() -> None:
    statements = events_ddl(EventsLayout.PARTITIONED)
    assert statements[0].endswith("partition by range (event_date)")
    assert not any("timescaledb" in s or "hypertable" in s for s in statements)
    assert [s for s in statements if "index" in s] == [
        s for s in events_ddl(EventsLayout.HYPERTABLE) if "index" in s
    ]


def test_an_existing_table_keeps_its_layout() -> None:
    assert existing_layout(None, False) is None
    assert existing_layout("p", False) is EventsLayout.PARTITIONED
    assert existing_layout("r", True) is EventsLayout.HYPERTABLE
    with pytest.raises(RuntimeError, match="neither partitioned nor"):
        existing_layout("r", False)


def test_this_server_without_timescaledb_gets_partitions(clean_raw: str) -> None:
    zone = PostgresRawZone(clean_raw)
    assert zone.layout is EventsLayout.PARTITIONED
    with psycopg.connect(clean_raw) as con:
        available = {str(n) for (n,) in con.execute("select name from pg_available_extensions")}
        assert "timescaledb" not in available
        relkind = con.execute(
            "select relkind::text from pg_class where oid = 'raw.events'::regclass"
        )
        assert relkind.fetchone() == ("p",)
        assert detect_layout(con) is EventsLayout.PARTITIONED  # read back from the table
    zone.close()
