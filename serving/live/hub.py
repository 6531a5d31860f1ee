"""One tailing task per API process, waking the WebSockets of each tenant whose numbers moved.

On its first subscriber the hub reads the event log back to the start of the UTC day before
yesterday's end (enough for "today" in any time zone), then follows it: SQLite every
``poll_seconds`` (100 ms), Redis with a blocking read. A WebSocket waits on its tenant's
:class:`asyncio.Event`; when events arrive the hub sets it and the socket sends a fresh
snapshot, so an event is on the screen within the poll interval plus one send. A slow client
skips intermediate states rather than queueing them: each message is the whole snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from intellishop.settings import Settings
from intellishop.tenants import Tenant, TenantRegistry

from .metrics import TenantLive
from .tail import LogTail, open_log_tail

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
READ_LIMIT = 1000
#: How far back a starting hub reads: today in the tenant's zone began at most 26 h ago.
WARMUP_SECONDS = 26 * 3600


class LiveHub:
    """The live numbers of every tenant seen in the log since the warm-up, and who listens."""

    def __init__(self, settings: Settings, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._tenants: dict[str, TenantLive] = {}
        self._registry: TenantRegistry | None = None
        self._unknown: set[str] = set()
        self._wakeups: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._tail: LogTail | None = None

    def _state(self, tenant_id: str) -> TenantLive | None:
        state = self._tenants.get(tenant_id)
        if state is not None or tenant_id in self._unknown:
            return state
        if self._registry is None:
            self._registry = TenantRegistry(self.settings.tenants_db_path)
        tenant = self._registry.get(tenant_id)
        if tenant is None:  # an entry of a deleted tenant, or an empty erased entry
            self._unknown.add(tenant_id)
            return None
        state = self._tenants[tenant_id] = TenantLive(tenant_id, tenant.timezone, tenant.currency)
        return state

    async def subscribe(self, tenant: Tenant) -> asyncio.Event:
        """A wake-up for the tenant's changes; the hub is started and warmed up first."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-hub")
        await self._ready.wait()
        if tenant.tenant_id not in self._tenants:
            self._tenants[tenant.tenant_id] = TenantLive(
                tenant.tenant_id, tenant.timezone, tenant.currency
            )
        wakeup = asyncio.Event()
        self._wakeups.setdefault(tenant.tenant_id, set()).add(wakeup)
        return wakeup

    def unsubscribe(self, tenant_id: str, wakeup: asyncio.Event) -> None:
        self._wakeups.get(tenant_id, set()).discard(wakeup)

    def snapshot(self, tenant_id: str) -> dict[str, Any]:
        state = self._tenants[tenant_id]
        return state.snapshot(time.time_ns() // 1000)

    async def _run(self) -> None:
        tail = self._tail = await asyncio.to_thread(open_log_tail, self.settings)
        since_us = time.time_ns() // 1000 - WARMUP_SECONDS * 1_000_000
        cursor = "0"
        while True:
            try:
                cursor = await asyncio.to_thread(tail.start_cursor, since_us)
                break
            except Exception:  # the event log is not reachable yet: numbers start at zero
                log.exception("live: cannot position on the event log, retrying")
                self._ready.set()
                await asyncio.sleep(1.0)
        warming = True
        while True:
            try:
                batches, cursor = await asyncio.to_thread(tail.read, cursor, READ_LIMIT)
            except Exception:
                log.exception("live: event log read failed, retrying")
                self._ready.set()  # serve what we have rather than keep sockets waiting
                await asyncio.sleep(1.0)
                continue
            changed = self._apply(batches)
            if warming and len(batches) < READ_LIMIT:
                warming = False
                self._ready.set()
            if not warming:
                for tenant_id in changed:
                    for wakeup in self._wakeups.get(tenant_id, ()):
                        wakeup.set()
            if not batches:
                await asyncio.sleep(self.poll_seconds)

    def _apply(self, batches: list[Any]) -> set[str]:
        changed: set[str] = set()
        for batch in batches:
            state = self._state(batch.tenant_id)
            if state is None:
                continue
            for event in batch.events:
                if state.apply(event):
                    changed.add(batch.tenant_id)
        return changed

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._tail is not None:
            await asyncio.to_thread(self._tail.close)
            self._tail = None
