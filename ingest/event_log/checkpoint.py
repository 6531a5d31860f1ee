"""Checkpoints of the local event log, off the request path.

In WAL mode every append is written twice: into the WAL (synced before the 2xx) and later, by
a checkpoint, into the database file. SQLite's default runs that checkpoint inside the commit
that crosses ``wal_autocheckpoint`` pages (4 MB), i.e. inside some request's append: that
group waited for a 4 MB copy and an ``fsync`` of the database file on top of its own (the
slowest group writes took 5-7 times the median, ``benchmarks/event_log.py``). The appending
connections therefore turn autocheckpoints off, and a :class:`Checkpointer` thread copies the
WAL (``PASSIVE``: it never blocks a writer nor waits for a reader) once appends have written
about as much.

A checkpoint only moves bytes that are already durable in the WAL, so no acknowledged event
depends on it: a process killed mid-checkpoint leaves a WAL that the next one checkpoints.
Consumers' connections keep SQLite's autocheckpoint, so a loader that commits its offset also
checkpoints what it has drained (the collector might be stopped by then). Once a checkpoint has
caught up, the WAL is rewound to its beginning (see ``Checkpointer._checkpoint``), so it stays
at a few checkpoints' worth of appends, ``WAL_SIZE_LIMIT_BYTES`` at most under back-to-back
writes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Payload bytes appended after which a checkpoint is due (SQLite's own autocheckpoint: 4 MB).
CHECKPOINT_AFTER_BYTES = 4 * 1024 * 1024
#: An idle log is checkpointed this often (whatever little was appended since).
IDLE_CHECKPOINT_SECONDS = 1.0
#: A WAL larger than this is rewound even if that makes writers wait (and truncated to it).
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
#: How long a checkpoint then waits for a gap between writers.
RESTART_WAIT_MS = 100


def turn_off_autocheckpoint(con: sqlite3.Connection) -> None:
    """Make an appending connection leave checkpoints to the :class:`Checkpointer`."""
    con.execute("pragma wal_autocheckpoint=0")
    con.execute(f"pragma journal_size_limit={WAL_SIZE_LIMIT_BYTES}")


class Checkpointer:
    """A daemon thread that checkpoints the WAL of ``connect()``'s database when told to.

    ``appended(n)`` is what the append path calls after each commit (a counter and, every
    ``after_bytes``, an event set: nothing that waits)."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        after_bytes: int = CHECKPOINT_AFTER_BYTES,
        idle_seconds: float = IDLE_CHECKPOINT_SECONDS,
    ) -> None:
        self._connect = connect
        self.after_bytes = after_bytes
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._unchecked = 0  # payload bytes appended since the last checkpoint began
        self._due = threading.Event()
        self._stop = threading.Event()
        #: Checkpoints run, and the last one's (busy, WAL frames, frames copied) (for tests).
        self.checkpoints = 0
        self.last: tuple[int, int, int] | None = None
        self._page_size = 4096  # the database's, read when the thread connects
        self._thread = threading.Thread(target=self._run, name="event-log-checkpoint", daemon=True)
        self._thread.start()

    def appended(self, payload_bytes: int) -> None:
        with self._lock:
            self._unchecked += payload_bytes
            due = self._unchecked >= self.after_bytes
        if due:
            self._due.set()

    def _run(self) -> None:
        con = self._connect()
        self._page_size = int(con.execute("pragma page_size").fetchone()[0])
        try:
            while not self._stop.is_set():
                self._due.wait(self.idle_seconds)
                self._due.clear()
                with self._lock:
                    pending, self._unchecked = self._unchecked, 0
                if pending:
                    self._checkpoint(con)
            self._checkpoint(con)
        finally:
            con.close()

    def _checkpoint(self, con: sqlite3.Connection) -> None:
        """Copy the WAL without blocking anyone; once it is all copied, rewind it.

        A writer rewinds the WAL itself only if everything was copied when its transaction
        began, which back-to-back appends rarely allow: the WAL would grow without end. So once
        caught up, a ``RESTART`` checkpoint copies the last few frames and rewinds the WAL. It
        needs a moment without a writer: normally it does not wait for one (the next checkpoint
        tries again); past ``WAL_SIZE_LIMIT_BYTES`` it waits up to ``RESTART_WAIT_MS`` for the
        gap between two group writes, and the writers then wait for it (a few ms)."""
        try:
            busy, frames, copied = con.execute("pragma wal_checkpoint(passive)").fetchone()
            if not busy and frames > 0 and copied == frames:
                wait_ms = RESTART_WAIT_MS if frames * self._page_size > WAL_SIZE_LIMIT_BYTES else 0
                con.execute(f"pragma busy_timeout={wait_ms}")
                busy, frames, copied = con.execute("pragma wal_checkpoint(restart)").fetchone()
        except sqlite3.Error:  # the database gone or broken: the next checkpoint tries again
            log.warning("event log: checkpoint failed", exc_info=True)
            return
        self.checkpoints += 1
        self.last = (int(busy), int(frames), int(copied))

    def stop(self) -> None:
        """Tell the thread to checkpoint once more and end (without waiting for it)."""
        self._stop.set()
        self._due.set()

    def close(self) -> None:
        """Checkpoint once more and stop the thread."""
        self.stop()
        self._thread.join()
