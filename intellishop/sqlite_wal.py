"""WAL mode for the SQLite files several processes share (event log, tenants, stores)."""

from __future__ import annotations

import sqlite3
import time


def use_wal(con: sqlite3.Connection, attempts: int = 300) -> None:
    """Switch the file to WAL, retrying: two processes opening a new file at once race for it.

    Changing the journal mode needs an exclusive lock, and SQLite answers ``database is locked``
    at once, without calling the busy handler, while another connection makes the same change.
    WAL mode then persists in the file, so the loser's retry finds it already set.
    """
    for attempt in range(attempts):
        try:
            con.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.01)
