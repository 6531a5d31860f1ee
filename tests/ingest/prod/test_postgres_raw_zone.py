"""The PostgreSQL raw zone: day partitions, idempotent COPY loads, tenants, erasure, export."""

from __future__ import annotations

import msgspec
import psycopg
import pytest

from ingest.event_log import LogEntry
from ingest.loader import entries_to_table
from ingest.raw_zone import PostgresRawZone
from intellishop.events import RAW_EVENT_SCHEMA, LoggedBatch
from intellishop.privacy import Person

from .helpers import BASE_US, DAY_US, batch, event, pg_rows

pytestmark = pytest.mark.postgres


def chunk(*batches: LoggedBatch, first: int = 1) -> object:
    entries = [LogEntry(f"{first + i:012d}", b) for i, b in enumerate(batches)]
    return entries_to_table(entries)


def test_the_database_is_created_and_days_get_partitions(clean_raw: str) -> None:
    zone = PostgresRawZone(clean_raw)  # the session's database does not exist before this
    zone.write_events(chunk(batch("a", "m1"), batch("a", "m2", timestamp_us=BASE_US + DAY_US)), "c")
    with psycopg.connect(clean_raw) as con:
        partitions = con.execute(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
            " where i.inhparent = 'raw.events'::regclass order by 1"
        ).fetchall()
    assert [p[0] for p in partitions] == ["events_p20260101", "events_p20260102"]
    assert pg_rows(clean_raw) == [("a", "2026-01-01", "m1"), ("a", "2026-01-02", "m2")]
    PostgresRawZone(clean_raw).close()  # opening again is idempotent
    zone.close()


def test_the_same_message_lands_once_per_tenant(clean_raw: str) -> None:
    zone = PostgresRawZone(clean_raw)
    table = chunk(batch("a", "m1", "m2", "m1"), batch("b", "m1"))
    zone.write_events(table, "c1")
    assert zone.last_inserted == 3
    zone.write_events(table, "c1")  # a redone chunk
    assert zone.last_inserted == 0
    zone.write_events(chunk(batch("a", "m2"), first=9), "c9")  # a client's retry, later
    assert zone.last_inserted == 0
    # A retry whose corrected timestamp crossed midnight is the same message too.
    zone.write_events(chunk(batch("a", "m1", timestamp_us=BASE_US - 1)), "c10")
    assert zone.last_inserted == 0
    assert pg_rows(clean_raw) == [
        ("a", "2026-01-01", "m1"),
        ("a", "2026-01-01", "m2"),
        ("b", "2026-01-01", "m1"),
    ]
    zone.close()


def test_columns_round_trip_and_erase_export_stay_in_the_tenant(clean_raw: str) -> None:
    zone = PostgresRawZone(clean_raw)
    weird = event("m2", user_id='gone"\n,', anonymous_id="")
    zone.write_events(
        chunk(
            LoggedBatch("a", [event("m1", user_id="gone"), weird, event("m3", user_id="keep")]),
            LoggedBatch("b", [event("m1", user_id="gone")]),
        ),
        "c",
    )
    person = Person("a", user_ids=frozenset({"gone", 'gone"\n,'}))
    exported = zone.export(person)
    assert exported.schema == RAW_EVENT_SCHEMA
    rows = exported.to_pylist()
    assert [r["message_id"] for r in rows] == ["m1", "m2"]
    assert rows[1]["user_id"] == 'gone"\n,' and rows[1]["anonymous_id"] == ""
    assert rows[0]["previous_id"] is None and rows[0]["properties"] == '{"product_id":"p1"}'
    assert rows[0]["timestamp"].isoformat() == "2026-01-01T00:00:00+00:00"
    assert zone.erase(person) == 2
    assert pg_rows(clean_raw) == [("a", "2026-01-01", "m3"), ("b", "2026-01-01", "m1")]
    assert zone.export(person).num_rows == 0
    zone.close()


def test_identity_rows_find_linking_events_of_the_tenant_only(clean_raw: str) -> None:
    zone = PostgresRawZone(clean_raw)
    with_email = msgspec.structs.replace(
        event("m3", user_id="u3"), type="identify", traits=b'{"email": "Jo@Example.com"}'
    )
    zone.write_events(
        chunk(
            LoggedBatch(
                "a",
                [
                    event("m1", user_id="u1", anonymous_id="a1"),  # links a device to a user
                    event("m2", user_id="u2"),  # links nothing
                    with_email,
                ],
            ),
            LoggedBatch("b", [event("m1", user_id="u1", anonymous_id="a9")]),
        ),
        "c",
    )
    rows = zone.identity_rows("a").to_pylist()
    assert sorted((r["user_id"], r["anonymous_id"]) for r in rows) == [("u1", "a1"), ("u3", None)]
    assert zone.identity_rows("b").num_rows == 1
    assert zone.identity_rows("nobody").num_rows == 0
    zone.close()
