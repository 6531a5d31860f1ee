"""The local event log: one SQLite file in WAL mode.

``synchronous=FULL`` makes every append durable on return, even across a power cut, which is
what a 2xx promises. Several collector processes may append at once: SQLite serialises writers
and each waits up to ``busy_timeout``. Connections are per thread because the collector appends
from a thread pool.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from intellishop.events import LoggedBatch
from intellishop.privacy import Person
from intellishop.sqlite_wal import use_wal

from .base import LogEntry

_SCHEMA = """
create table if not exists entries (
    entry_offset    integer primary key autoincrement,
    tenant_id       text not null,
    appended_at_us  integer not null,
    event_count     integer not null,
    payload         blob not null
);
create table if not exists consumer_offsets (
    consumer        text primary key,
    entry_offset    integer not null
);
"""

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(LoggedBatch)


def _offset(entry_id: str) -> int:
    return int(entry_id)


def _entry_id(offset: int) -> str:
    # Zero-padded so entry ids sort as text and make stable file names.
    return f"{offset:012d}"


class SqliteEventLog:
    """Event log in a SQLite database file (the local profile's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        con = self._con()
        con.executescript(_SCHEMA)

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            con.execute("pragma busy_timeout=30000")
            use_wal(con)
            con.execute("pragma synchronous=full")
            self._local.con = con
        return con

    def append(self, batch: LoggedBatch) -> str:
        cur = self._con().execute(
            "insert into entries (tenant_id, appended_at_us, event_count, payload)"
            " values (?, ?, ?, ?)",
            (batch.tenant_id, time.time_ns() // 1000, len(batch.events), _encoder.encode(batch)),
        )
        assert cur.lastrowid is not None
        return _entry_id(cur.lastrowid)

    def append_many(self, batches: Sequence[LoggedBatch]) -> list[str]:
        """One transaction, so one fsync, for every batch (see ``group_commit``)."""
        con = self._con()
        now_us = time.time_ns() // 1000
        ids: list[str] = []
        con.execute("begin immediate")
        try:
            for batch in batches:
                cur = con.execute(
                    "insert into entries (tenant_id, appended_at_us, event_count, payload)"
                    " values (?, ?, ?, ?)",
                    (batch.tenant_id, now_us, len(batch.events), _encoder.encode(batch)),
                )
                assert cur.lastrowid is not None
                ids.append(_entry_id(cur.lastrowid))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return ids

    def _committed(self, consumer: str) -> int:
        row = (
            self._con()
            .execute("select entry_offset from consumer_offsets where consumer = ?", (consumer,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def read(self, consumer: str, limit: int) -> list[LogEntry]:
        rows = (
            self._con()
            .execute(
                "select entry_offset, payload from entries where entry_offset > ?"
                " order by entry_offset limit ?",
                (self._committed(consumer), limit),
            )
            .fetchall()
        )
        return [LogEntry(_entry_id(offset), _decoder.decode(payload)) for offset, payload in rows]

    def commit(self, consumer: str, entry_id: str) -> None:
        self._con().execute(
            "insert into consumer_offsets (consumer, entry_offset) values (?, ?)"
            " on conflict (consumer) do update"
            " set entry_offset = max(entry_offset, excluded.entry_offset)",
            (consumer, _offset(entry_id)),
        )

    def lag(self, consumer: str) -> int:
        row = (
            self._con()
            .execute(
                "select count(*) from entries where entry_offset > ?", (self._committed(consumer),)
            )
            .fetchone()
        )
        return int(row[0])

    def events_after(self, consumer: str) -> int:
        """Events (not entries) not yet committed by the consumer."""
        row = (
            self._con()
            .execute(
                "select coalesce(sum(event_count), 0) from entries where entry_offset > ?",
                (self._committed(consumer),),
            )
            .fetchone()
        )
        return int(row[0])

    def erase(self, person: Person) -> int:
        """Rewrite the tenant's entries that mention the person, in one write transaction.

        Entries keep their offsets (an entry may become an empty batch), so every consumer's
        committed offset stays valid. The person's ids are matched as bytes inside the msgpack
        payload first, so only candidate entries are decoded; decoding then decides exactly.
        """
        ids = sorted(person.user_ids | person.anonymous_ids)
        if not ids:
            return 0
        # One bound parameter per id: the ids never become SQL text.
        candidates = " or ".join(["instr(payload, cast(? as blob)) > 0"] * len(ids))
        con = self._con()
        removed = 0
        con.execute("begin immediate")
        try:
            rows = con.execute(
                f"select entry_offset, payload from entries where tenant_id = ? and ({candidates})",
                (person.tenant_id, *(i.encode() for i in ids)),
            ).fetchall()
            for offset, payload in rows:
                batch = _decoder.decode(payload)
                kept = [
                    e
                    for e in batch.events
                    if not person.matches(e.user_id, e.anonymous_id, e.previous_id)
                ]
                if len(kept) == len(batch.events):
                    continue
                removed += len(batch.events) - len(kept)
                con.execute(
                    "update entries set payload = ?, event_count = ? where entry_offset = ?",
                    (_encoder.encode(LoggedBatch(batch.tenant_id, kept)), len(kept), offset),
                )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return removed

    def close(self) -> None:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
