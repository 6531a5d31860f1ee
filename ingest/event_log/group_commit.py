"""Group commit: the batches of requests that arrive together share one event-log write.

A durable append costs an ``fsync`` (SQLite) or a network round trip (Redis), and while one
write is in flight more requests finish validating. Instead of queueing each behind its own
write, they wait for the next one, which stores all of them in one transaction (SQLite) or one
pipeline (Redis). Every request still gets its 2xx only after its own batch is durable: the
promise is unchanged, only fewer writes carry it. Under load this is what keeps the append from
being the bottleneck (one write per group, not per request); with one request at a time it is
the same single write as before.

The committer runs on the event loop: requests add their batch to the pending group, and one
drain task per event loop hands each group to a worker thread and resolves every request's
future with its entry id (or the write's exception).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio

from intellishop.events import LoggedBatch

from .base import EventLog

#: Batches written at most in one group (about 10 MB of 100-event batches).
MAX_GROUP = 100


@dataclass
class _LoopState:
    pending: list[tuple[LoggedBatch, asyncio.Future[str]]] = field(default_factory=list)
    draining: bool = False
    #: The running drain (held so the loop cannot garbage-collect it mid-write).
    task: asyncio.Task[None] | None = None


class GroupCommitter:
    """Appends to ``log`` in groups (see the module); ``append`` is what a request awaits."""

    def __init__(self, log: EventLog, max_group: int = MAX_GROUP) -> None:
        self.log = log
        self.max_group = max_group
        # Per event loop: a test client may run each request on a loop of its own.
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        #: Writes made and batches they carried (for tests and the benchmark).
        self.writes = 0
        self.batches = 0

    async def append(self, batch: LoggedBatch) -> str:
        """Store ``batch`` durably (with whatever else is pending); returns its entry id."""
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState()
        future: asyncio.Future[str] = loop.create_future()
        state.pending.append((batch, future))
        if not state.draining:
            state.draining = True
            state.task = loop.create_task(self._drain(state))
        # Shielded: a client that hangs up does not cancel the write others share.
        return await asyncio.shield(future)

    async def _drain(self, state: _LoopState) -> None:
        try:
            while state.pending:
                group = state.pending[: self.max_group]
                del state.pending[: self.max_group]
                try:
                    ids = await anyio.to_thread.run_sync(self._write, [batch for batch, _ in group])
                except BaseException as error:  # every waiter learns its batch was not stored
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for (_, future), entry_id in zip(group, ids, strict=True):
                    if not future.done():
                        future.set_result(entry_id)
        finally:
            state.draining = False

    def _write(self, batches: Sequence[LoggedBatch]) -> list[str]:
        self.writes += 1
        self.batches += len(batches)
        if len(batches) == 1:
            return [self.log.append(batches[0])]
        return self.log.append_many(batches)
