"""One small database seam for SQLite (local) and PostgreSQL (prod), same SQL for both.

Statements are written once, with ``?`` bind markers and ``{s}`` before table names; the
PostgreSQL dialect turns them into ``%s`` and the ``automation.`` schema. Values are always
bound, never formatted into the text. Connections are per thread (the API answers from a pool).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import psycopg

from intellishop.sqlite_wal import use_wal

Dialect = Literal["sqlite", "postgres"]
Params = Sequence[Any]


class Database:
    """A SQLite file (a ``Path``) or a PostgreSQL DSN (a ``str``), used through :meth:`run`
    and :meth:`transaction`."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        # A path is a SQLite file; a string is a PostgreSQL DSN (URL or key=value form).
        self.dialect: Dialect = "sqlite" if isinstance(target, Path) else "postgres"
        if isinstance(target, Path):
            target.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    # --- connections -------------------------------------------------------------------------

    def _connection(self) -> Any:
        con = getattr(self._local, "con", None)
        if con is not None:
            return con
        if self.dialect == "sqlite":
            con = sqlite3.connect(
                self.target, timeout=30, isolation_level=None, check_same_thread=False
            )
            con.execute("pragma busy_timeout=30000")
            use_wal(con)
            con.execute("pragma synchronous=full")
        else:
            con = psycopg.connect(str(self.target), autocommit=True)
        self._local.con = con
        self._local.depth = 0
        return con

    def relax_durability(self) -> None:
        """This thread's SQLite commits skip the fsync (WAL, ``synchronous=NORMAL``).

        Still safe when the process is killed (the WAL is in the OS's hands); only a power cut
        can lose the last commits. For the delivery threads, whose commits ("delivered") only
        ever lead to a re-send with the same idempotency key when lost: a much shorter window
        between a receiver's 2xx and its record, and no fsync queue among the threads."""
        if self.dialect == "sqlite":
            self._connection().execute("pragma synchronous=normal")

    def sql(self, text: str) -> str:
        """The statement in this dialect."""
        if self.dialect == "sqlite":
            return text.replace("{s}", "")
        return text.replace("{s}", "automation.").replace("?", "%s")

    def run(self, text: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Execute one statement; its rows (empty for statements without a result)."""
        cur = self._connection().execute(self.sql(text), tuple(params))
        if cur.description is None:
            return []
        return list(cur.fetchall())

    def run_many(self, text: str, rows: Sequence[Params]) -> int:
        """One statement for many rows, in order: one call, not one round trip per row
        (psycopg 3 pipelines ``executemany``). The number of rows changed, all together."""
        if not rows:
            return 0
        con = self._connection()
        if self.dialect == "sqlite":
            return int(con.executemany(self.sql(text), [tuple(r) for r in rows]).rowcount)
        with con.cursor() as cur:
            cur.executemany(self.sql(text), [tuple(r) for r in rows])
            return int(cur.rowcount)

    def count(self, text: str, params: Params = ()) -> int:
        """Execute one statement; the number of rows it changed."""
        cur = self._connection().execute(self.sql(text), tuple(params))
        return int(cur.rowcount)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together; a nested use is a savepoint of the outer one."""
        con = self._connection()
        if self._local.depth:
            # Nested: a savepoint, so a failing inner part can be undone alone.
            self._local.depth += 1
            name = f"sp{self._local.depth}"
            con.execute(f"savepoint {name}")
            try:
                yield
            except BaseException:
                con.execute(f"rollback to savepoint {name}")
                con.execute(f"release savepoint {name}")
                raise
            else:
                con.execute(f"release savepoint {name}")
            finally:
                self._local.depth -= 1
            return
        self._local.depth = 1
        try:
            if self.dialect == "sqlite":
                con.execute("begin immediate")
                try:
                    yield
                except BaseException:
                    con.execute("rollback")
                    raise
                con.execute("commit")
            else:
                with con.transaction():
                    yield
        finally:
            self._local.depth = 0

    def script(self, ddl: str) -> None:
        """Create the schema (idempotent statements separated by ``;``)."""
        if self.dialect == "postgres":
            ddl = (
                ddl.replace("{pk}", "bigserial primary key")
                .replace("{big}", "bigint")
                .replace("{real}", "double precision")
            )
            with self.transaction():
                # One creator at a time: concurrent ``create ... if not exists`` can still clash.
                self.run("select pg_advisory_xact_lock(hashtext('intellishop.automation'))")
                self.run("create schema if not exists automation")
                for statement in filter(str.strip, ddl.split(";")):
                    self.run(statement)
            return
        ddl = (
            ddl.replace("{pk}", "integer primary key autoincrement")
            .replace("{big}", "integer")
            .replace("{real}", "real")
        )
        self._connection().executescript(self.sql(ddl))

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
