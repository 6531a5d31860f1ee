"""The loader: moves event-log entries into the raw zone, in bulk, exactly once in effect.

For each chunk of entries it writes the raw zone first and commits its offset second. A loader
killed in between redoes the chunk on restart, and the redo must neither lose nor double:

- local (Parquet): the chunk is named after its first entry, so the redo replaces the files
  instead of adding to them. A message id the tenant already has in an *earlier* chunk (a
  client's retry in a later batch) is skipped, using :class:`LoadedMessages`, a SQLite table of
  (tenant, message id, first offset) beside the event log. It is written after the Parquet files
  and before the offset commit; rows of the chunk being redone have offsets inside the chunk, so
  the redo keeps them and rewrites the same files.
- prod (PostgreSQL): the unique key (tenant_id, event_date, message_id) makes every insert
  idempotent (see ``ingest.raw_zone.postgres``); Redis redelivers what was not acknowledged, and
  acknowledged entries are trimmed from the stream after each drain.

Locally only one loader runs at a time per data directory (a file lock), so the demo's pipeline
and a manual ``intellishop load`` cannot interleave. In prod the lock is per consumer-group
member (``INTELLISHOP_LOADER_MEMBER``, the host's name by default): replicas on different hosts
split the stream and load side by side, each message landing once (PostgreSQL's claims above),
while two loaders of one member take turns. :func:`follow_event_log` keeps loading until
stopped (the prod deployment's loader and the latency benchmark).
"""

from __future__ import annotations

import fcntl
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pyarrow as pa
import redis

from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.settings import Profile, Settings
from intellishop.sqlite_wal import use_wal
from intellishop.tenants import TenantRegistry

from .event_log import EventLog, LogEntry, RedisStreamEventLog, entry_offset, open_event_log
from .raw_zone import PostgresRawZone, RawZone, open_raw_zone

logger = logging.getLogger(__name__)

LOADER_CONSUMER = "raw-loader"
#: Errors of a backend that went away (a restart): the following loader waits and reopens.
_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, psycopg.OperationalError)
#: Entries per chunk: with 100-event batches, 100k events per Parquet write.
CHUNK_ENTRIES = 1000
#: Entries per chunk of a following loader (``intellishop load --follow``): a chunk's events are
#: committed together, so its size bounds the accept-to-raw-zone latency of a loader that has
#: fallen behind (100 entries of 100 events: about 0.2-0.3 s of PostgreSQL work here); when it
#: has caught up a chunk is whatever arrived since the last poll.
FOLLOW_CHUNK_ENTRIES = 100
#: A loader that keeps running prunes at most this often.
PRUNE_EVERY_SECONDS = 600.0

_RAW_WITH_KEYS = pa.schema(
    [*RAW_EVENT_SCHEMA, pa.field("tenant_id", pa.string()), pa.field("event_date", pa.date32())]
)


@dataclass
class LoadReport:
    """What one drain of the event log did."""

    batches: int = 0
    #: Events read from the event log (duplicates included).
    events: int = 0
    #: Events not written because the tenant already had their message id.
    duplicates: int = 0
    files: list[Path] = field(default_factory=list)
    #: Loaded message ids forgotten because they were older than the dedup window.
    pruned: int = 0


def entries_to_table(entries: Sequence[LogEntry]) -> pa.Table:
    """Flatten event-log entries into raw-zone rows (with tenant_id and event_date columns).

    Column by column (one list comprehension each) and the UTC date computed by Arrow: this
    loop is the loader's hot path."""
    events = [event for entry in entries for event in entry.batch.events]
    sizes = [len(entry.batch.events) for entry in entries]
    offsets = [entry_offset(entry.entry_id) for entry in entries]
    tenants = [entry.batch.tenant_id for entry in entries]
    columns: dict[str, list[object]] = {
        "message_id": [e.message_id for e in events],
        "type": [e.type for e in events],
        "event": [e.event for e in events],
        "user_id": [e.user_id for e in events],
        "anonymous_id": [e.anonymous_id for e in events],
        "previous_id": [e.previous_id for e in events],
        "timestamp": [e.timestamp_us for e in events],
        "sent_at": [e.sent_at_us for e in events],
        "received_at": [e.received_at_us for e in events],
        "properties": [e.properties.decode() for e in events],
        "traits": [e.traits.decode() for e in events],
        "context": [e.context.decode() for e in events],
        "log_offset": [o for o, n in zip(offsets, sizes, strict=True) for _ in range(n)],
        "tenant_id": [t for t, n in zip(tenants, sizes, strict=True) for _ in range(n)],
    }
    arrays = {
        name: pa.array(values, type=_RAW_WITH_KEYS.field(name).type)
        for name, values in columns.items()
    }
    arrays["event_date"] = arrays["timestamp"].cast(pa.date32())
    return pa.table({name: arrays[name] for name in _RAW_WITH_KEYS.names})


def _lock_path(settings: Settings) -> Path:
    """The loader lock: one per installation locally (the SQLite log has one offset, and the
    Parquet files one writer); in prod one per consumer-group member, so replicas (each its own
    member) split the stream, while two loaders of one member, which would read the same
    pending entries, take turns."""
    if settings.profile is Profile.LOCAL:
        return settings.data_dir / "loader.lock"
    member = re.sub(r"[^A-Za-z0-9_.-]", "_", settings.loader_member)
    return settings.data_dir / f"loader-{member}.lock"


@contextmanager
def _loader_lock(settings: Settings, *, wait: bool = True) -> Iterator[bool]:
    """One loader per lock (:func:`_lock_path`) at a time; yields False (with ``wait=False``)
    if taken."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(settings), "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: How long a drain waits for a following loader to catch up before it gives up.
FOLLOWER_CATCH_UP_SECONDS = 300.0


def now_us() -> int:
    """The loader's clock: microseconds since the epoch (a function, so tests can move it)."""
    return time.time_ns() // 1000


def dedup_window_seconds(settings: Settings) -> int:
    """How long a loaded message id is remembered (``INTELLISHOP_DEDUP_WINDOW_SECONDS``)."""
    return settings.dedup_window_seconds


class LoadedMessages:
    """Message ids already in the local raw zone, per tenant, with the offset that brought them
    and when they were loaded (``loaded_at_us``, for pruning after the dedup window).

    A separate SQLite file (not the event log's), so the loader never holds the lock the
    collector's appends wait for. Lookups and inserts are one statement per chunk (a temporary
    table join and ``executemany``), never a round trip per event."""

    def __init__(self, path: Path, clock: Callable[[], int] | None = None) -> None:
        self._clock = clock or now_us
        self.con = sqlite3.connect(path, timeout=30, isolation_level=None)
        use_wal(self.con)
        self.con.execute("pragma synchronous=full")
        self.con.execute(
            "create table if not exists loaded_messages (tenant_id text not null,"
            " message_id text not null, log_offset integer not null,"
            " loaded_at_us integer not null default 0,"
            " primary key (tenant_id, message_id)) without rowid"
        )
        columns = {row[1] for row in self.con.execute("pragma table_info(loaded_messages)")}
        if "loaded_at_us" not in columns:
            # A table from before pruning: its ids count as loaded now (kept one window).
            self.con.execute(
                "alter table loaded_messages add column loaded_at_us integer not null default 0"
            )
            self.con.execute("update loaded_messages set loaded_at_us = ?", (self._clock(),))
        self.con.execute(
            "create index if not exists loaded_messages_loaded_at on loaded_messages (loaded_at_us)"
        )
        self.con.execute(
            "create temp table chunk (tenant_id text not null, message_id text not null)"
        )

    def new_in_chunk(self, table: pa.Table, first_offset: int) -> pa.Table:
        """The rows to write: not loaded by an earlier chunk, first of their id in this one."""
        tenants = table.column("tenant_id").to_pylist()
        messages = table.column("message_id").to_pylist()
        self.con.execute("begin")
        try:
            self.con.execute("delete from chunk")
            self.con.executemany(
                "insert into chunk values (?, ?)", zip(tenants, messages, strict=True)
            )
            earlier = set(
                self.con.execute(
                    "select l.tenant_id, l.message_id from loaded_messages l join chunk c"
                    " using (tenant_id, message_id) where l.log_offset < ?",
                    (first_offset,),
                ).fetchall()
            )
        finally:
            self.con.execute("commit")
        seen: set[tuple[str, str]] = set()
        keep: list[bool] = []
        for key in zip(tenants, messages, strict=True):
            keep.append(key not in earlier and key not in seen)
            seen.add(key)
        return table.filter(pa.array(keep, pa.bool_())) if not all(keep) else table

    def record(self, table: pa.Table) -> None:
        """Remember the written rows; the first offset of a message id wins (idempotent)."""
        self.con.execute("begin")
        try:
            now_us = self._clock()
            self.con.executemany(
                "insert or ignore into loaded_messages"
                " (tenant_id, message_id, log_offset, loaded_at_us) values (?, ?, ?, ?)",
                (
                    (tenant, message, offset, now_us)
                    for tenant, message, offset in zip(
                        table.column("tenant_id").to_pylist(),
                        table.column("message_id").to_pylist(),
                        table.column("log_offset").to_pylist(),
                        strict=True,
                    )
                ),
            )
        finally:
            self.con.execute("commit")

    def prune(self, window_seconds: int) -> int:
        """Forget ids loaded more than ``window_seconds`` ago; returns how many were dropped."""
        cutoff = self._clock() - window_seconds * 1_000_000
        return self.con.execute(
            "delete from loaded_messages where loaded_at_us < ?", (cutoff,)
        ).rowcount

    def count(self) -> int:
        row = self.con.execute("select count(*) from loaded_messages").fetchone()
        return int(row[0])

    def close(self) -> None:
        self.con.close()


def _load_pending(
    log: EventLog,
    zone: RawZone,
    loaded: LoadedMessages | None,
    chunk_entries: int,
    report: LoadReport,
    on_written: Callable[[pa.Table], None] | None = None,
) -> None:
    """Move every pending entry, chunk by chunk: raw zone first, then the offset."""
    batches_before = report.batches
    while entries := log.read(LOADER_CONSUMER, chunk_entries):
        table = entries_to_table(entries)
        read = table.num_rows
        if loaded is not None:
            table = loaded.new_in_chunk(table, entry_offset(entries[0].entry_id))
        report.files.extend(zone.write_events(table, chunk_id=entries[0].entry_id))
        if on_written is not None:
            on_written(table)
        if loaded is not None:
            loaded.record(table)
            report.duplicates += read - table.num_rows
        elif isinstance(zone, PostgresRawZone):
            report.duplicates += read - zone.last_inserted
        log.commit(LOADER_CONSUMER, entries[-1].entry_id)
        report.batches += len(entries)
        report.events += read
    if isinstance(log, RedisStreamEventLog) and report.batches > batches_before:
        log.trim_acknowledged()  # Redis holds its data in memory: keep only what is unloaded


@contextmanager
def _opened(settings: Settings) -> Iterator[tuple[EventLog, RawZone, LoadedMessages | None]]:
    log = open_event_log(settings)
    try:
        zone = open_raw_zone(settings)
        loaded = (
            LoadedMessages(settings.data_dir / "loaded_messages.sqlite3")
            if settings.profile is Profile.LOCAL
            else None
        )
        try:
            yield log, zone, loaded
        finally:
            if loaded is not None:
                loaded.close()
            if isinstance(zone, PostgresRawZone):
                zone.close()
    finally:
        log.close()


def prune_loaded_ids(zone: RawZone, loaded: LoadedMessages | None, window_seconds: int) -> int:
    """Drop the loaded message ids older than the dedup window (see
    :data:`DEDUP_WINDOW_SECONDS`); returns how many were dropped."""
    if loaded is not None:
        return loaded.prune(window_seconds)
    if isinstance(zone, PostgresRawZone):
        return zone.prune_loaded_messages(window_seconds)
    return 0


def drain_event_log(
    settings: Settings,
    *,
    chunk_entries: int = CHUNK_ENTRIES,
    follower_timeout_seconds: float = FOLLOWER_CATCH_UP_SECONDS,
) -> LoadReport:
    """Load every pending event-log entry into the raw zone; returns what was loaded.

    Afterwards, ids loaded longer ago than the dedup window are pruned. When a following loader
    (``intellishop load --follow``) holds the same loader lock (:func:`_lock_path`), this loads
    nothing itself: it waits until the log has no pending entries (the pipeline then sees
    everything accepted before its run), and raises ``TimeoutError`` if that takes longer than
    ``follower_timeout_seconds``. A prod drain on another host is a member of its own: it loads
    beside the followers, and a chunk they commit after it returns is read by staging's next
    run (which re-reads the last hours received)."""
    report = LoadReport()
    with _loader_lock(settings, wait=False) as locked:
        if locked:
            with _opened(settings) as (log, zone, loaded):
                _load_pending(log, zone, loaded, chunk_entries, report)
                report.pruned = prune_loaded_ids(zone, loaded, dedup_window_seconds(settings))
            return report
    _wait_for_follower(settings, follower_timeout_seconds)
    return report


def _wait_for_follower(settings: Settings, timeout_seconds: float) -> None:
    log = open_event_log(settings)
    try:
        deadline = time.monotonic() + timeout_seconds
        while (lag := log.lag(LOADER_CONSUMER)) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the following loader still has {lag} event-log entries to load after "
                    f"{timeout_seconds:.0f} s; is `intellishop load --follow` stuck?"
                )
            time.sleep(0.2)
    finally:
        log.close()


def follow_event_log(
    settings: Settings,
    stop: threading.Event,
    *,
    chunk_entries: int = FOLLOW_CHUNK_ENTRIES,
    idle_seconds: float = 0.01,
    report: LoadReport | None = None,
    on_written: Callable[[pa.Table], None] | None = None,
) -> LoadReport:
    """Keep loading until ``stop`` is set, sleeping ``idle_seconds`` when nothing is pending.

    A lost connection to Redis or PostgreSQL (a restart) is waited out and retried: nothing
    is committed before the raw zone has it, so a retry can only redo, never skip.
    ``on_written`` sees each chunk's rows once they are durable in the raw zone (the latency
    benchmark times them)."""
    report = report if report is not None else LoadReport()
    window = dedup_window_seconds(settings)
    pruned_at = -PRUNE_EVERY_SECONDS
    with _loader_lock(settings):
        while not stop.is_set():
            try:
                with _opened(settings) as (log, zone, loaded):
                    while not stop.is_set():
                        before = report.batches
                        _load_pending(log, zone, loaded, chunk_entries, report, on_written)
                        if time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                            report.pruned += prune_loaded_ids(zone, loaded, window)
                            pruned_at = time.monotonic()
                        if report.batches == before:
                            stop.wait(idle_seconds)
            except _UNAVAILABLE as error:
                # Reopen everything: uncommitted entries are read again, and loaded once.
                logger.warning("loader: backend unavailable, retrying: %s", error)
                stop.wait(0.5)
    return report


def export_tenants(settings: Settings) -> Path:
    """Write the tenant table (ids, time zones, currencies) to the raw zone for dbt."""
    tenants = TenantRegistry(settings.tenants_db_path).list()
    table = pa.table(
        {
            "tenant_id": pa.array([t.tenant_id for t in tenants], pa.string()),
            "name": pa.array([t.name for t in tenants], pa.string()),
            "timezone": pa.array([t.timezone for t in tenants], pa.string()),
            "currency": pa.array([t.currency for t in tenants], pa.string()),
            "created_at": pa.array([t.created_at for t in tenants], pa.string()),
            "disabled": pa.array([t.disabled for t in tenants], pa.bool_()),
        }
    )
    zone = open_raw_zone(settings)
    try:
        return zone.write_tenants(table)
    finally:
        if isinstance(zone, PostgresRawZone):
            zone.close()
