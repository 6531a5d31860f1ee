"""Each store's erase on its own: what stays (entry ids, empty batches, empty files)."""

from __future__ import annotations

import fcntl

import pyarrow.parquet as pq
import pytest

from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER, drain_event_log
from ingest.raw_zone import ParquetRawZone
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.privacy import (
    LoaderBusyError,
    Person,
    SubjectKind,
    SubjectRequest,
    audit_log,
    erase_subject,
    resolve_identities,
)
from intellishop.settings import Settings

BASE_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def event(message_id: str, user_id: str | None, anonymous_id: str | None = None) -> LoggedEvent:
    return LoggedEvent(
        message_id=message_id,
        type="track",
        event="Product Viewed",
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp_us=BASE_US,
        sent_at_us=None,
        received_at_us=BASE_US,
        properties=b'{"product_id":"p1"}',
        traits=b"{}",
        context=b"{}",
    )


def test_the_event_log_keeps_entry_ids_and_empty_batches(settings: Settings) -> None:
    log = SqliteEventLog(settings.event_log_path)
    only_hers = log.append(LoggedBatch("t", [event("m1", "u1"), event("m2", None, "a1")]))
    mixed = log.append(LoggedBatch("t", [event("m3", "u2"), event("m4", "u1")]))
    other_tenant = log.append(LoggedBatch("x", [event("m5", "u1")]))
    log.commit(LOADER_CONSUMER, only_hers)

    removed = log.erase(Person("t", frozenset({"u1"}), frozenset({"a1"})))

    assert removed == 3
    entries = log.read("from-the-start", 10)
    assert [e.entry_id for e in entries] == [only_hers, mixed, other_tenant]
    assert [[m.message_id for m in e.batch.events] for e in entries] == [[], ["m3"], ["m5"]]
    assert log.lag(LOADER_CONSUMER) == 2 and log.events_after(LOADER_CONSUMER) == 2
    assert log.erase(Person("t", frozenset({"u1"}))) == 0


def test_a_raw_file_left_empty_stays_readable(settings: Settings) -> None:
    log = SqliteEventLog(settings.event_log_path)
    log.append(LoggedBatch("t", [event("m1", "u1")]))
    log.append(LoggedBatch("t", [event("m2", "u2")]))
    drain_event_log(settings)
    zone = ParquetRawZone(settings.raw_zone_dir)
    (path,) = zone.event_files()
    assert zone.erase(Person("t", frozenset({"u1", "u2"}))) == 2
    assert zone.event_files() == [path]
    assert pq.read_table(path).num_rows == 0
    assert not list(path.parent.glob(".*.tmp"))
    # The loader goes on appending chunks next to it.
    log.append(LoggedBatch("t", [event("m3", "u3")]))
    assert drain_event_log(settings).events == 1
    assert zone.export(Person("t", frozenset({"u3"}))).column("message_id").to_pylist() == ["m3"]


def test_an_alias_and_a_trimmed_email_join_the_person() -> None:
    request = SubjectRequest("t", SubjectKind.EMAIL, "Jo@Example.com ")
    rows = [
        ("u1", "a1", None, '{"email": " jo@example.COM"}'),
        ("u1", None, "old", None),  # alias: old -> u1
        ("old", "a2", None, None),  # the old id's device
        ("u9", "a9", None, '{"email": "someone@example.com"}'),
    ]
    person = resolve_identities(request, rows)
    assert person == Person("t", frozenset({"u1", "old"}), frozenset({"a1", "a2", "old"}))


def test_a_loader_that_keeps_its_lock_makes_the_request_fail_clearly(settings: Settings) -> None:
    with open(settings.data_dir / "loader.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(LoaderBusyError, match="loader"):
            erase_subject(
                settings,
                SubjectRequest("t", SubjectKind.USER_ID, "u1"),
                requested_by="test",
                lock_wait_seconds=0.2,
            )
    assert audit_log(settings).records() == []
