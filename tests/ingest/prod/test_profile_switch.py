"""``open_event_log`` and ``open_raw_zone`` pick the prod backends from the one switch."""

from __future__ import annotations

import psycopg
import pytest

from ingest.event_log import RedisStreamEventLog, entry_offset, open_event_log
from ingest.raw_zone import PostgresRawZone, open_raw_zone
from intellishop.settings import Settings


def test_entry_offsets_of_both_backends_are_increasing_integers() -> None:
    assert entry_offset("000000000042") == 42
    assert entry_offset("1700000000000-0") == 1_700_000_000_000_000_000
    ids = ["1700000000000-9", "1700000000000-10", "1700000000001-0"]
    assert [entry_offset(i) for i in ids] == sorted(entry_offset(i) for i in ids)
    assert entry_offset(ids[1]) - entry_offset(ids[0]) == 1


@pytest.mark.redis
@pytest.mark.postgres
def test_prod_profile_opens_redis_and_postgres(prod_settings: Settings) -> None:
    log = open_event_log(prod_settings)
    zone = open_raw_zone(prod_settings)
    try:
        assert isinstance(log, RedisStreamEventLog)
        assert log.stream == prod_settings.redis_stream
        assert isinstance(zone, PostgresRawZone)
        with psycopg.connect(prod_settings.postgres_dsn) as con:  # created, with the schema
            assert con.execute("select to_regclass('raw.events')::text").fetchone() == (
                "raw.events",
            )
    finally:
        log.close()
        assert isinstance(zone, PostgresRawZone)
        zone.close()
