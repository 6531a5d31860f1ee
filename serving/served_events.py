""" "Recommendations Served" events: what the API showed, logged so clicks and orders attribute.

Every list the API serves (personal recommendations, similar products, frequently bought
together) carries a ``recommendation_id``; the shop sends it back with ``Product Clicked`` and
``Order Completed``. The served list itself goes to the tenant's event log as a custom track
event, so the pipeline joins both sides in one place (the attribution mart):

    event "Recommendations Served", message id = the recommendation id,
    properties {recommendation_id, algorithm, product_ids, surface, model_version, context}
    context {"library": {"name": "intellishop-serving"}}

Appending in the request would put an fsync (SQLite) or a round trip (Redis) on every
recommendation's latency. Instead requests hand events to a queue and one background thread
appends whatever arrived, one event-log entry per tenant per flush (every ``flush_seconds``):
the collector's rule of one append per batch, never per event. The price: events queued when
the process dies hard are lost. They are analytics, not a shop's acknowledged events, and a
clean shutdown flushes (``close``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from intellishop.events import LoggedBatch, LoggedEvent

log = logging.getLogger(__name__)

SERVED_EVENT = "Recommendations Served"
LIBRARY_NAME = "intellishop-serving"
FLUSH_SECONDS = 0.2
#: Events per event-log entry at most (a tenant's burst is cut into entries of this size).
MAX_EVENTS_PER_ENTRY = 500

_json = msgspec.json.Encoder()
_CONTEXT = _json.encode({"library": {"name": LIBRARY_NAME, "version": "1"}})


class EventAppender(Protocol):
    """The part of the event log (``ingest.event_log.EventLog``) this module uses."""

    def append(self, batch: LoggedBatch) -> str: ...

    def close(self) -> None: ...


class ServedEventLog:
    """A queue of served-list events and the thread that appends them to the event log."""

    def __init__(
        self,
        open_log: Callable[[], EventAppender],
        *,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self._open_log = open_log
        self._log: EventAppender | None = None
        self.flush_seconds = flush_seconds
        self._queue: queue.SimpleQueue[tuple[str, LoggedEvent]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stopping = threading.Event()
        #: Events appended so far (for tests and health).
        self.appended = 0

    def record(
        self,
        tenant_id: str,
        *,
        recommendation_id: str,
        algorithm: str,
        product_ids: list[str],
        surface: str,
        model_version: str,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        context_product_id: str | None = None,
    ) -> None:
        """Queue one served list; returns at once (the append happens on the thread)."""
        now_us = time.time_ns() // 1000
        properties: dict[str, Any] = {
            "recommendation_id": recommendation_id,
            "algorithm": algorithm,
            "product_ids": product_ids,
            "surface": surface,
            "model_version": model_version,
        }
        if context_product_id is not None:
            properties["context_product_id"] = context_product_id
        event = LoggedEvent(
            message_id=recommendation_id,
            type="track",
            event=SERVED_EVENT,
            user_id=user_id,
            # An event needs someone: without an id, the list itself stands in (never a visitor
            # the pipeline should count: it excludes LIBRARY_NAME's events from sessions).
            anonymous_id=anonymous_id if (anonymous_id or user_id) else f"rec-{recommendation_id}",
            timestamp_us=now_us,
            sent_at_us=None,
            received_at_us=now_us,
            properties=_json.encode(properties),
            traits=b"{}",
            context=_CONTEXT,
        )
        self.put(tenant_id, event)

    def put(self, tenant_id: str, event: LoggedEvent) -> None:
        """Queue a prepared event (an experiment exposure) for the next batched append."""
        self._queue.put((tenant_id, event))
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="served-events", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:  # the event log is down: keep serving, retry next tick
                log.exception("could not append served-recommendation events")

    def flush(self) -> int:
        """Append everything queued now: one entry per tenant (per 500 events)."""
        with self._flush_lock:
            by_tenant: dict[str, list[LoggedEvent]] = {}
            while True:
                try:
                    tenant_id, event = self._queue.get_nowait()
                except queue.Empty:
                    break
                by_tenant.setdefault(tenant_id, []).append(event)
            if not by_tenant:
                return 0
            chunks = [
                (tenant_id, events[start : start + MAX_EVENTS_PER_ENTRY])
                for tenant_id, events in by_tenant.items()
                for start in range(0, len(events), MAX_EVENTS_PER_ENTRY)
            ]
            appended = 0
            for position, (tenant_id, chunk) in enumerate(chunks):
                try:
                    if self._log is None:
                        self._log = self._open_log()
                    self._log.append(LoggedBatch(tenant_id=tenant_id, events=chunk))
                except Exception:
                    for later_tenant, later in chunks[position:]:  # the next tick retries
                        for event in later:
                            self._queue.put((later_tenant, event))
                    self.appended += appended
                    raise
                appended += len(chunk)
            self.appended += appended
            return appended

    def close(self) -> None:
        """Stop the thread and append what is still queued."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush()
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
