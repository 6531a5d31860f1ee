"""Live numbers for the Live page, folded by the same code as the API's ``/v1/live`` socket.

The dashboards process tails the event log itself (read-only: SQLite locally, ``XREAD`` in
prod) with :mod:`serving.live`'s :class:`~serving.live.metrics.TenantLive`, so the page shows
exactly the numbers the WebSocket pushes, without a hop through the API or an API key. One
reader per process is shared by every session; each refresh reads only what was appended
since the last one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import streamlit as st

from intellishop.settings import get_settings
from serving.live.hub import READ_LIMIT, WARMUP_SECONDS
from serving.live.metrics import TenantLive
from serving.live.tail import LogTail, open_log_tail

#: Reads per refresh at most (a burst is caught up over the next refreshes).
MAX_READS = 50


class LiveReader:
    """The event log's tail and one :class:`TenantLive` per tenant asked about."""

    def __init__(self, tail: LogTail) -> None:
        self._tail = tail
        self._lock = threading.Lock()
        self._cursor: str | None = None
        self._tenants: dict[str, TenantLive] = {}
        self._pending: dict[str, list[Any]] = {}

    def snapshot(self, tenant_id: str, timezone: str, currency: str) -> dict[str, Any]:
        """The tenant's live numbers now (the ``/v1/live`` snapshot's fields)."""
        with self._lock:
            state = self._tenants.get(tenant_id)
            if state is None:
                state = self._tenants[tenant_id] = TenantLive(tenant_id, timezone, currency)
                for event in self._pending.pop(tenant_id, []):
                    state.apply(event)
            self._catch_up()
            return state.snapshot(time.time_ns() // 1000)

    def warm(self, shops: Iterable[tuple[str, str, str]]) -> None:
        """Fold every given shop's last day now, so the Live page's first visitor does not wait.

        ``shops`` are (tenant id, timezone, currency). After a busy day (or a demo, whose whole
        history is a few minutes old) that is hundreds of thousands of events and seconds of
        work; the lock is taken per read, so a page asking meanwhile waits for one read only.
        """
        with self._lock:
            for tenant_id, timezone, currency in shops:
                if tenant_id not in self._tenants:
                    state = self._tenants[tenant_id] = TenantLive(tenant_id, timezone, currency)
                    for event in self._pending.pop(tenant_id, []):
                        state.apply(event)
        while True:
            with self._lock:
                if not self._catch_up(max_reads=1):
                    return

    def _catch_up(self, max_reads: int = MAX_READS) -> bool:
        """Read what was appended since the last call; True if more is waiting."""
        if self._cursor is None:
            self._cursor = self._tail.start_cursor(
                time.time_ns() // 1000 - WARMUP_SECONDS * 1_000_000
            )
        for _ in range(max_reads):
            batches, self._cursor = self._tail.read(self._cursor, READ_LIMIT)
            for batch in batches:
                state = self._tenants.get(batch.tenant_id)
                if state is None:  # nobody looks at this shop yet: keep its events for later
                    self._pending.setdefault(batch.tenant_id, []).extend(batch.events)
                    continue
                for event in batch.events:
                    state.apply(event)
            if len(batches) < READ_LIMIT:
                return False
        return True


@st.cache_resource
def _reader(event_log: str) -> LiveReader:
    return LiveReader(open_log_tail(get_settings()))


def shared_reader() -> LiveReader:
    """The process's one reader of the profile's event log."""
    settings = get_settings()
    key = settings.redis_url if settings.profile.value == "prod" else str(settings.event_log_path)
    return _reader(key)


def live_snapshot(tenant_id: str, timezone: str, currency: str) -> dict[str, Any]:
    """The signed-in tenant's live numbers (one reader per process and event log)."""
    return shared_reader().snapshot(tenant_id, timezone, currency)


def warm_live(reader: LiveReader) -> None:
    """Fold every shop's last day into ``reader`` (the dashboards' warm-up thread calls this)."""
    from intellishop.tenants import TenantRegistry

    tenants = TenantRegistry(get_settings().tenants_db_path).list()
    reader.warm((t.tenant_id, t.timezone, t.currency) for t in tenants)
