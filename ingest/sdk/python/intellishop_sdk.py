"""IntelliShop server-side client: Segment-style events from a shop's backend to its collector.

One file, depending only on httpx and the standard library, so a shop can copy it into its code
base. Promises:

- ``track``/``identify``/``page``/``alias``/``group`` never block on the network and never
  raise for delivery problems: they put the message on an in-memory queue and return its
  ``messageId`` (a uuid4; the collector and the warehouse deduplicate on it).
- A background thread sends the queue to ``POST {host}/v1/batch`` every ``flush_at`` messages or
  ``flush_interval`` seconds, whichever comes first.
- Network errors, 5xx and 429 are retried with exponential backoff and full jitter (a 429's or
  503's ``Retry-After`` is a floor), up to ``max_retries`` times; other 4xx answers are not
  retried (the same bytes would be refused again) and are logged and counted.
- The queue is bounded (``max_queue_size``). When the collector is unreachable for long enough
  to fill it, the *oldest* messages are dropped and counted in :attr:`Client.dropped` (logged
  with a warning) instead of blocking the application's threads or growing without end.
- :meth:`Client.flush` blocks until everything queued so far is delivered (or given up);
  :meth:`Client.close` flushes and stops the thread, and runs by itself at interpreter exit.
- Thread safe: any number of threads may call the client at once.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import random
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = ["Client", "DeliveryStats"]
__version__ = "1.0.0"

LIBRARY = {"name": "intellishop-python", "version": __version__}
log = logging.getLogger("intellishop_sdk")

#: The collector refuses events over 32 KB and batches over 500 KB; stay under both.
MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 450 * 1024


def _iso(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with milliseconds; a naive datetime is taken as UTC."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_value(value: Any) -> Any:
    """Values json cannot encode, as a shop's code has them: money, times, ids, sets."""
    if isinstance(value, Decimal):
        return float(value)  # prices and revenue are JSON numbers in the event schema
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)  # UUIDs, enums, paths...


def _close_at_exit(client_ref: weakref.ReferenceType[Client]) -> Callable[[], None]:
    def close() -> None:
        client = client_ref()
        if client is not None:
            client.close()

    return close


def _retry_after_seconds(response: httpx.Response) -> float:
    value: str | None = response.headers.get("retry-after")
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when: datetime = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return 0.0


class DeliveryStats:
    """Counters of what happened to messages (read them for monitoring; not reset)."""

    def __init__(self) -> None:
        self.queued = 0
        self.delivered = 0
        #: Dropped because the queue was full (oldest first).
        self.dropped = 0
        #: Refused by the collector (4xx other than 429, or listed as rejected in a 200).
        self.rejected = 0
        #: Given up after ``max_retries`` failed attempts.
        self.failed = 0
        self.retries = 0


class Client:
    """Send events to an IntelliShop collector from a server, in batches, in the background."""

    def __init__(
        self,
        write_key: str,
        host: str = "http://127.0.0.1:8000",
        *,
        flush_at: int = 100,
        flush_interval: float = 0.5,
        max_queue_size: int = 10_000,
        max_retries: int = 10,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not write_key:
            raise ValueError("write_key is required (the key `intellishop tenants create` printed)")
        if flush_at < 1 or max_queue_size < 1:
            raise ValueError("flush_at and max_queue_size must be at least 1")
        self.host = host.rstrip("/")
        self.flush_at = flush_at
        self.flush_interval = flush_interval
        self.max_queue_size = max_queue_size
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.shutdown_timeout = shutdown_timeout
        self.stats = DeliveryStats()
        self._queue: deque[bytes] = deque()  # encoded messages
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the sender waits on it for work
        self._idle = threading.Condition(self._lock)  # flush() waits on it for an empty queue
        self._sending = 0  # messages taken off the queue and not yet settled
        self._flush_requested = False
        self._closed = False
        self._abandon = threading.Event()  # set when close() stops waiting for retries
        self._http = httpx.Client(
            auth=(write_key, ""),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"intellishop-python/{__version__}"},
        )
        self._thread = threading.Thread(target=self._run, name="intellishop-sender", daemon=True)
        self._thread.start()
        # A weak reference: registering close() itself would keep every client alive forever.
        self._atexit = _close_at_exit(weakref.ref(self))
        atexit.register(self._atexit)

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full."""
        return self.stats.dropped

    # ---- the Segment calls ----------------------------------------------------------------

    def track(
        self,
        event: str,
        properties: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        **options: Any,
    ) -> str:
        """Record that a user did something; returns the messageId."""
        if not event or not event.strip():
            raise ValueError("track needs a non-empty event name")
        message = {"type": "track", "event": event, "properties": dict(properties or {})}
        return self._enqueue(message, user_id, anonymous_id, **options)

    def identify(
        self,
        user_id: str | None = None,
        traits: Mapping[str, Any] | None = None,
        *,
        anonymous_id: str | None = None,
        **options: Any,
    ) -> str:
        """Tie a user to their traits (and to ``anonymous_id``, linking earlier visits)."""
        message = {"type": "identify", "traits": dict(traits or {})}
        return self._enqueue(message, user_id, anonymous_id, **options)

    def page(
        self,
        name: str | None = None,
        properties: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        category: str | None = None,
        **options: Any,
    ) -> str:
        """A page view rendered by the server."""
        props = dict(properties or {})
        if category:
            props.setdefault("category", category)
        message: dict[str, Any] = {"type": "page", "properties": props}
        if name:
            message["name"] = name
        return self._enqueue(message, user_id, anonymous_id, **options)

    def alias(self, user_id: str, previous_id: str, **options: Any) -> str:
        """Merge ``previous_id`` (an older user or anonymous id) into ``user_id``."""
        if not previous_id:
            raise ValueError("alias needs previous_id")
        message = {"type": "alias", "previousId": previous_id}
        return self._enqueue(message, user_id, None, **options)

    def group(
        self,
        group_id: str,
        traits: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        **options: Any,
    ) -> str:
        """Associate a user with a company or account."""
        message = {"type": "group", "groupId": group_id, "traits": dict(traits or {})}
        return self._enqueue(message, user_id, anonymous_id, **options)

    # ---- delivery control -----------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is queued now and wait; True when nothing is left queued or in flight."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._flush_requested = True
            self._wake.notify_all()
            while self._queue or self._sending:
                if not self._thread.is_alive():
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining if remaining is not None else 1.0)
            return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush, stop the sender thread and release the connection pool (idempotent).

        Returns True when everything queued was settled within ``timeout`` (default:
        ``shutdown_timeout``); what is still queued after that is counted as failed.
        """
        timeout = self.shutdown_timeout if timeout is None else timeout
        with self._lock:
            if self._closed:
                return not self._queue
            self._closed = True
            self._wake.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abandon.set()  # cut the backoff sleep short; the thread ends soon after
            self._thread.join(1.0)
        with self._lock:
            settled = not self._queue and not self._sending
            if not settled:
                self.stats.failed += len(self._queue)
                log.error("intellishop: %d message(s) not delivered before close", len(self._queue))
                self._queue.clear()
            self._idle.notify_all()
        atexit.unregister(self._atexit)
        if not self._thread.is_alive():
            self._http.close()
        return settled

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- internals ------------------------------------------------------------------------

    def _enqueue(
        self,
        message: dict[str, Any],
        user_id: str | None,
        anonymous_id: str | None,
        *,
        context: Mapping[str, Any] | None = None,
        timestamp: datetime | None = None,
        message_id: str | None = None,
        integrations: Mapping[str, Any] | None = None,
    ) -> str:
        if user_id is None and anonymous_id is None:
            raise ValueError("user_id or anonymous_id is required")
        if user_id is not None:
            message["userId"] = str(user_id)
        if anonymous_id is not None:
            message["anonymousId"] = str(anonymous_id)
        message["messageId"] = message_id or str(uuid.uuid4())
        message["timestamp"] = _iso(timestamp)
        message["context"] = {**(context or {}), "library": LIBRARY}
        if integrations:
            message["integrations"] = dict(integrations)
        # Encoded here, in the caller's thread: a bad value fails where it was passed, and the
        # sender thread never holds the lock while encoding.
        encoded = json.dumps(message, separators=(",", ":"), default=_json_value).encode()
        if len(encoded) > MAX_EVENT_BYTES:
            raise ValueError(
                f"this {message['type']} message is {len(encoded)} bytes encoded; the collector "
                f"takes at most {MAX_EVENT_BYTES}"
            )
        with self._lock:
            if self._closed:
                raise RuntimeError("this intellishop Client is closed")
            if len(self._queue) >= self.max_queue_size:
                self._queue.popleft()
                self.stats.dropped += 1
                if self.stats.dropped & (self.stats.dropped - 1) == 0:  # 1, 2, 4, 8, ...
                    log.warning(
                        "intellishop: queue full (%d), dropped %d oldest message(s) so far",
                        self.max_queue_size,
                        self.stats.dropped,
                    )
            self._queue.append(encoded)
            self.stats.queued += 1
            if len(self._queue) >= self.flush_at:
                self._wake.notify_all()
        return str(message["messageId"])

    def _take_batch(self) -> list[bytes]:
        """Up to ``flush_at`` encoded messages under the batch byte limit (lock held)."""
        batch: list[bytes] = []
        size = 64
        while self._queue and len(batch) < self.flush_at:
            encoded = self._queue[0]
            if batch and size + len(encoded) + 1 > MAX_BATCH_BYTES:
                break
            self._queue.popleft()
            batch.append(encoded)
            size += len(encoded) + 1
        return batch

    def _run(self) -> None:
        while True:
            with self._lock:
                deadline = time.monotonic() + self.flush_interval
                while (
                    len(self._queue) < self.flush_at
                    and not self._flush_requested
                    and not self._closed
                ):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
                batch = [] if self._abandon.is_set() else self._take_batch()
                if not batch:
                    self._flush_requested = False
                    self._idle.notify_all()
                    if self._closed:
                        return
                    continue
                self._sending = len(batch)
            try:
                self._deliver(batch)
            finally:
                with self._lock:
                    self._sending = 0
                    if not self._queue:
                        self._flush_requested = False
                        self._idle.notify_all()

    def _deliver(self, batch: list[bytes]) -> None:
        body = b'{"batch":[' + b",".join(batch) + b'],"sentAt":"' + _iso().encode() + b'"}'
        for attempt in range(self.max_retries + 1):
            floor = 0.0
            try:
                response = self._http.post(
                    f"{self.host}/v1/batch",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    self._settled(batch, response)
                    return
                if response.status_code != 429 and response.status_code < 500:
                    with self._lock:
                        self.stats.rejected += len(batch)
                    log.error(
                        "intellishop: the collector refused %d message(s): %d %s",
                        len(batch),
                        response.status_code,
                        response.text[:500],
                    )
                    return
                reason = f"HTTP {response.status_code}"
                floor = _retry_after_seconds(response)
            if attempt == self.max_retries:
                break
            # Full jitter: many clients recovering from one outage do not retry in step.
            ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
            delay = max(floor, random.uniform(0, ceiling))  # noqa: S311 - jitter, not crypto
            with self._lock:
                self.stats.retries += 1
            log.info("intellishop: send failed (%s); retrying in %.2f s", reason, delay)
            if self._abandon.wait(delay):
                break
        with self._lock:
            self.stats.failed += len(batch)
        log.error("intellishop: gave up on %d message(s) after retries", len(batch))

    def _settled(self, batch: list[bytes], response: httpx.Response) -> None:
        rejected = 0
        with contextlib.suppress(ValueError, AttributeError):  # a 2xx without our JSON body
            rejected = len(response.json().get("rejected") or [])
        with self._lock:
            self.stats.delivered += len(batch) - rejected
            self.stats.rejected += rejected
        if rejected:
            log.warning(
                "intellishop: the collector rejected %d message(s): %s",
                rejected,
                response.text[:500],
            )
