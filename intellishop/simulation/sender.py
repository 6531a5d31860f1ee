"""Sending events to a collector the way Segment's libraries do: batches over HTTP, with retries.

``POST {collector}/v1/batch`` with ``{"batch": [...], "sentAt": ...}`` and the API key as the
HTTP Basic user. Batches go out from a few threads at once (bounded, so a generator of millions
of events is never held in memory). Connection errors, 5xx and 429 are retried with exponential
backoff and jitter, honouring ``Retry-After``; ``sentAt`` is stamped per attempt, so the
collector's clock-skew correction stays right after a long wait. A batch that still fails, or a
refused API key, stops the run with :class:`SendError`: half a simulation is worse than none.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec

#: The collector's default limit is 500 KiB per request; stay under it with headroom.
DEFAULT_MAX_BATCH_BYTES = 480 * 1024
#: First retry wait, and the longest wait between two attempts (seconds).
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 30.0
#: How many error bodies a report keeps.
KEEP_ERRORS = 5

_encoder = msgspec.json.Encoder()


@dataclass
class SendReport:
    """What a :func:`send_events` run did; counts are events unless named otherwise."""

    events_sent: int = 0
    events_accepted: int = 0
    events_rejected: int = 0
    #: Events in batches that got no answer after every retry (the run stops at the first).
    events_failed: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0
    #: The first few error bodies: rejected events' errors, or a refused request's detail.
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every event was accepted."""
        return self.events_rejected == 0 and self.events_failed == 0

    @property
    def events_per_second(self) -> float:
        return self.events_sent / self.seconds if self.seconds > 0 else 0.0


class SendError(RuntimeError):
    """The collector could not be reached, or refused the key; ``report`` has the counts so far."""

    def __init__(self, message: str, report: SendReport) -> None:
        super().__init__(message)
        self.report = report


class _FatalSendError(Exception):
    pass


def _sent_at() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_quota(response: httpx.Response) -> bool:
    """A 429 for the monthly quota (not the rate limit), as the collector's body says."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("limit") == "quota"


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    value: str | None = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}: {detail if detail is not None else body}"


def _batches(events: Iterable[dict[str, Any]], size: int, max_bytes: int) -> Iterator[list[bytes]]:
    """Encoded events in groups of ``size`` whose request body stays under ``max_bytes``."""
    batch: list[bytes] = []
    batch_bytes = 0
    for event in events:
        encoded = _encoder.encode(event)
        if batch and (len(batch) >= size or batch_bytes + len(encoded) + 64 > max_bytes):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(encoded)
        batch_bytes += len(encoded) + 1
    if batch:
        yield batch


class _BatchSender:
    """Posts one batch with retries; shared by the worker threads (one client per thread)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float,
        max_retries: int,
        report: SendReport,
        sleep: Callable[[float], None],
    ) -> None:
        self.url = url
        self.auth = httpx.BasicAuth(api_key, "")
        self.timeout = timeout
        self.max_retries = max_retries
        self.report = report
        self.sleep = sleep
        self.lock = threading.Lock()
        self.local = threading.local()
        self.clients: list[httpx.Client] = []
        self.jitter = random.Random()  # noqa: S311 - retry timing only, never the events
        #: Set when one batch failed for good: the others stop instead of retrying on.
        self.stop = threading.Event()

    def client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self.local, "client", None)
        if client is None:
            client = httpx.Client(timeout=self.timeout, auth=self.auth)
            self.local.client = client
            with self.lock:
                self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def _record_error(self, text: str) -> None:
        with self.lock:
            if len(self.report.errors) < KEEP_ERRORS:
                self.report.errors.append(text)

    def send(self, batch: list[bytes]) -> None:
        body_events = b"[" + b",".join(batch) + b"]"
        attempt = 0
        while True:
            if self.stop.is_set():
                with self.lock:
                    self.report.events_failed += len(batch)
                return
            body = b'{"batch":' + body_events + b',"sentAt":"' + _sent_at().encode() + b'"}'
            wait: float | None = None
            try:
                response = self.client().post(
                    self.url, content=body, headers={"Content-Type": "application/json"}
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status < 500 and status != 429:
                    self._count(batch, response)
                    return
                problem = _error_text(response)
                if status == 429 and _is_quota(response):
                    # The month's quota is spent: Retry-After can be weeks, so stop now.
                    with self.lock:
                        self.report.events_failed += len(batch)
                    self._record_error(problem)
                    self.stop.set()
                    raise _FatalSendError(f"the tenant's monthly quota is used up: {problem}")
                wait = _retry_after(response)
            if attempt >= self.max_retries:
                with self.lock:
                    self.report.events_failed += len(batch)
                self._record_error(problem)
                self.stop.set()
                raise _FatalSendError(f"gave up on a batch after {attempt + 1} attempts: {problem}")
            if wait is None:
                wait = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)
                wait *= 0.5 + self.jitter.random()
            attempt += 1
            with self.lock:
                self.report.retries += 1
            self.sleep(min(wait, BACKOFF_CAP_S * 2))

    def _count(self, batch: list[bytes], response: httpx.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            text = _error_text(response)
            self._record_error(text)
            with self.lock:
                self.report.events_failed += len(batch)
            self.stop.set()
            raise _FatalSendError(f"the collector refused the API key: {text}")
        if status == 413 and len(batch) > 1:  # the collector's limit is lower than ours: halve
            half = len(batch) // 2
            self.send(batch[:half])
            self.send(batch[half:])
            return
        # A 2xx without our JSON (another Segment-compatible endpoint) accepted everything.
        accepted, rejected = (len(batch), 0) if status < 300 else (0, len(batch))
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            if status < 300:
                accepted = int(body.get("accepted", len(batch)))
                rejected = len(body.get("rejected") or [])
                if rejected:
                    self._record_error(f"HTTP {status}, rejected: {body['rejected'][:3]}")
            else:
                accepted = int(body.get("accepted", 0) or 0)
                rejected = len(batch) - accepted
        if status >= 300:
            self._record_error(_error_text(response))
        with self.lock:
            self.report.batches += 1
            self.report.events_sent += len(batch)
            self.report.events_accepted += accepted
            self.report.events_rejected += rejected


def send_events(
    events: Iterable[dict[str, Any]],
    *,
    collector_url: str,
    api_key: str,
    batch_size: int = 100,
    concurrency: int = 4,
    progress: bool = True,
    timeout: float = 30.0,
    max_retries: int = 6,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send Segment messages to ``{collector_url}/v1/batch``; return what the collector said.

    Events are consumed lazily, encoded once, and posted by ``concurrency`` threads with at
    most ``2 x concurrency`` batches in memory. Raises :class:`SendError` (with the partial
    report) when a batch fails after ``max_retries`` retries or the API key is refused.
    """
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be at least 1")
    report = SendReport()
    url = collector_url.rstrip("/") + "/v1/batch"
    sender = _BatchSender(
        url, api_key, timeout=timeout, max_retries=max_retries, report=report, sleep=sleep
    )
    slots = threading.BoundedSemaphore(concurrency * 2)
    failure: list[BaseException] = []
    started = time.perf_counter()

    def run(batch: list[bytes]) -> None:
        try:
            sender.send(batch)
        except BaseException as exc:
            failure.append(exc)
        finally:
            slots.release()

    display = _Progress() if progress else None
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="send-events") as pool:
            try:
                for batch in _batches(events, batch_size, max_batch_bytes):
                    slots.acquire()
                    if failure:
                        slots.release()
                        break
                    pool.submit(run, batch)
                    if display is not None:
                        display.update(report)
            except BaseException:  # Ctrl-C, or the event source failed: drop what is queued
                sender.stop.set()
                raise
    finally:
        sender.close()
        report.seconds = time.perf_counter() - started
        if display is not None:
            display.close(report)
    if failure:
        cause = failure[0]
        if isinstance(cause, _FatalSendError):
            raise SendError(str(cause), report) from None
        raise SendError(f"sending failed: {cause!r}", report) from cause
    return report


class _Progress:
    """A rich progress line on stderr: events sent, accepted, rejected and the rate."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("sent [bold]{task.completed:,.0f}[/bold]"),
            TextColumn("[green]{task.fields[accepted]:,} ok"),
            TextColumn("[red]{task.fields[rejected]:,} rejected"),
            TextColumn("{task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.task = self.progress.add_task("send", total=None, accepted=0, rejected=0, rate=0.0)
        self.started = time.perf_counter()
        self.last = 0.0
        self.progress.start()

    def update(self, report: SendReport, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        self.progress.update(
            self.task,
            completed=report.events_sent,
            accepted=report.events_accepted,
            rejected=report.events_rejected,
            rate=report.events_sent / elapsed,
        )

    def close(self, report: SendReport) -> None:
        self.update(report, force=True)
        self.progress.stop()
