"""Reading the event log from a position, without consuming it.

The live numbers must not move the loader's offset (SQLite) nor join a consumer group (Redis:
a group would hold every entry pending for us). So the tail keeps its own cursor in memory:

- SQLite (local): ``select ... where entry_offset > cursor``, a cheap indexed read of a local
  file (the primary key), every ``poll_seconds``; never the warehouse;
- Redis Streams (prod): ``XREAD BLOCK`` after the last id, which returns as soon as an entry
  arrives.

Both start from the first entry appended at or after ``since_us`` (for today's totals a live
process reads back to the start of the day), and hand out decoded ``LoggedBatch`` values.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Protocol

import redis

from ingest.event_log.payload import decode_payload
from intellishop.events import LoggedBatch
from intellishop.settings import Profile, Settings


class LogTail(Protocol):
    def start_cursor(self, since_us: int) -> str:
        """A cursor just before the first entry appended at or after ``since_us``."""
        ...

    def read(self, cursor: str, limit: int) -> tuple[list[LoggedBatch], str]:
        """Up to ``limit`` entries after ``cursor`` and the cursor after them (may block
        briefly waiting for new entries)."""
        ...

    def close(self) -> None: ...


class SqliteLogTail:
    """Tails the local event log file; waits ``poll_seconds`` when nothing is new."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection | None:
        if self._con is None:
            if not self.path.exists():  # the collector has not created it yet
                return None
            self._con = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, timeout=5, check_same_thread=False
            )
        return self._con

    def start_cursor(self, since_us: int) -> str:
        con = self._connection()
        if con is None:
            return "0"
        try:
            row = con.execute(
                "select coalesce(max(entry_offset), 0) from entries where appended_at_us < ?",
                (since_us,),
            ).fetchone()
        except sqlite3.OperationalError:  # no table yet
            return "0"
        return str(int(row[0]))

    def read(self, cursor: str, limit: int) -> tuple[list[LoggedBatch], str]:
        con = self._connection()
        if con is None:
            return [], cursor
        try:
            rows = con.execute(
                "select entry_offset, payload from entries where entry_offset > ?"
                " order by entry_offset limit ?",
                (int(cursor), limit),
            ).fetchall()
        except sqlite3.OperationalError:
            return [], cursor
        if not rows:
            return [], cursor
        return [decode_payload(payload) for _, payload in rows], str(rows[-1][0])

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


class RedisLogTail:
    """Tails the prod stream with ``XREAD BLOCK`` (no consumer group: nothing is consumed)."""

    def __init__(self, client: redis.Redis, stream: str, block_ms: int = 500) -> None:
        self.client = client
        self.stream = stream
        self.block_ms = block_ms

    def start_cursor(self, since_us: int) -> str:
        return f"{max(0, since_us // 1000 - 1)}-18446744073709551615"

    def read(self, cursor: str, limit: int) -> tuple[list[LoggedBatch], str]:
        answer: Any = self.client.xread({self.stream: cursor}, count=limit, block=self.block_ms)
        if not answer:
            return [], cursor
        entries = next(iter(answer.values()))[0] if isinstance(answer, dict) else answer[0][1]
        batches: list[LoggedBatch] = []
        for entry_id, fields in entries:
            cursor = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            payload = (fields or {}).get(b"batch")
            if payload:
                batches.append(decode_payload(payload))
        return batches, cursor

    def close(self) -> None:
        self.client.close()


def open_log_tail(settings: Settings) -> LogTail:
    """The profile's event log, for reading only."""
    if settings.profile is Profile.PROD:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2
        )
        return RedisLogTail(client, settings.redis_stream)
    return SqliteLogTail(settings.event_log_path)
