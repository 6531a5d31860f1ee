"""The local event log: one SQLite file in WAL mode.

``synchronous=FULL`` makes every append durable on return, even across a power cut, which is
what a 2xx promises. Several collector processes may append at once: SQLite serialises writers
and each waits up to ``busy_timeout``. Connections are per thread because the collector appends
from a thread pool. The WAL is copied into the database file by a thread of the appending
process, not inside an append (see ``checkpoint``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

from intellishop.events import LoggedBatch
from intellishop.privacy import Person
from intellishop.sqlite_wal import use_wal

from .base import LogEntry
from .checkpoint import CHECKPOINT_AFTER_BYTES, Checkpointer, turn_off_autocheckpoint
from .payload import decode_payload, encode_payload, payload_msgpack

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


def _offset(entry_id: str) -> int:
    return int(entry_id)


def _entry_id(offset: int) -> str:
    # Zero-padded so entry ids sort as text and make stable file names.
    return f"{offset:012d}"


class SqliteEventLog:
    """Event log in a SQLite database file (the local profile's)."""

    def __init__(self, path: Path, checkpoint_after_bytes: int = CHECKPOINT_AFTER_BYTES) -> None:
        self.path = path
        self.checkpoint_after_bytes = checkpoint_after_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        #: Started by the first append of this process (readers never copy the WAL in a thread).
        self._checkpointer: Checkpointer | None = None
        self._checkpointer_lock = threading.Lock()
        con = self._con()
        con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        con.execute("pragma busy_timeout=30000")
        use_wal(con)
        con.execute("pragma synchronous=full")
        return con

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    def _appending(self) -> tuple[sqlite3.Connection, Checkpointer]:
        """This thread's connection, without autocheckpoints, and the checkpointer thread."""
        con = self._con()
        if not getattr(self._local, "appends", False):
            turn_off_autocheckpoint(con)
            self._local.appends = True
        checkpointer = self._checkpointer
        if checkpointer is None:
            with self._checkpointer_lock:
                if self._checkpointer is None:
                    self._checkpointer = Checkpointer(self._connect, self.checkpoint_after_bytes)
                    # A log dropped without ``close`` does not leave its thread behind.
                    weakref.finalize(self, self._checkpointer.stop)
                checkpointer = self._checkpointer
        return con, checkpointer

    def append(self, batch: LoggedBatch) -> str:
        con, checkpointer = self._appending()
        payload = encode_payload(batch)
        cur = con.execute(
            "insert into entries (tenant_id, appended_at_us, event_count, payload)"
            " values (?, ?, ?, ?)",
            (batch.tenant_id, time.time_ns() // 1000, len(batch.events), payload),
        )
        assert cur.lastrowid is not None
        checkpointer.appended(len(payload))
        return _entry_id(cur.lastrowid)

    def append_many(self, batches: Sequence[LoggedBatch]) -> list[str]:
        """One transaction, so one fsync, for every batch (see ``group_commit``)."""
        con, checkpointer = self._appending()
        now_us = time.time_ns() // 1000
        ids: list[str] = []
        written = 0
        con.execute("begin immediate")
        try:
            for batch in batches:
                payload = encode_payload(batch)
                written += len(payload)
                cur = con.execute(
                    "insert into entries (tenant_id, appended_at_us, event_count, payload)"
                    " values (?, ?, ?, ?)",
                    (batch.tenant_id, now_us, len(batch.events), payload),
                )
                assert cur.lastrowid is not None
                ids.append(_entry_id(cur.lastrowid))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        checkpointer.appended(written)
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
        return [LogEntry(_entry_id(offset), decode_payload(payload)) for offset, payload in rows]

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
        committed offset stays valid. The person's ids are looked for as bytes in each entry's
        msgpack first, so only candidate entries are decoded; decoding then decides exactly.
        """
        needles = [i.encode() for i in sorted(person.user_ids | person.anonymous_ids)]
        if not needles:
            return 0
        con = self._con()
        removed = 0
        con.execute("begin immediate")
        try:
            rewrites: list[tuple[bytes, int, int]] = []
            rows = con.execute(
                "select entry_offset, payload from entries where tenant_id = ?",
                (person.tenant_id,),
            )
            for offset, payload in rows:
                packed = payload_msgpack(payload)
                if not any(needle in packed for needle in needles):
                    continue
                batch = decode_payload(packed)
                kept = [
                    e
                    for e in batch.events
                    if not person.matches(e.user_id, e.anonymous_id, e.previous_id)
                ]
                if len(kept) < len(batch.events):
                    removed += len(batch.events) - len(kept)
                    kept_batch = LoggedBatch(batch.tenant_id, kept)
                    rewrites.append((encode_payload(kept_batch), len(kept), offset))
            con.executemany(
                "update entries set payload = ?, event_count = ? where entry_offset = ?", rewrites
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return removed

    def close(self) -> None:
        """Close this thread's connection and stop the checkpointer (after a last checkpoint)."""
        with self._checkpointer_lock:
            checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.close()
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
            self._local.appends = False
