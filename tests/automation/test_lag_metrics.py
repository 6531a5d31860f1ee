"""The worker exports how far its consumer group is behind the event log, on its metrics port.

Real event logs (the local SQLite file and a Redis stream of the test's own), a real worker and
the registry its metrics server serves: the lag shows the entries appended and not yet
committed, drops to zero after a pass, and is measured once per read, not once per event."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import msgspec
import pytest
import redis
from prometheus_client import CollectorRegistry

from ingest.event_log import RedisStreamEventLog, SqliteEventLog
from ingest.event_log.base import EventLog, LogEntry
from ingest.loader import LOADER_CONSUMER
from intellishop.automation.metrics import WorkerProgress, automation_registry
from intellishop.automation.worker import AUTOMATION_CONSUMER, Worker
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.settings import Settings

from .conftest import fast_config

LAG = "intellishop_event_log_lag_entries"


def viewed(message_id: str) -> LoggedEvent:
    return LoggedEvent(
        message_id=message_id,
        type="track",
        event="Product Viewed",
        user_id="u1",
        anonymous_id=None,
        timestamp_us=1,
        sent_at_us=None,
        received_at_us=1,
        properties=msgspec.json.encode({"product_id": "p1"}),
        traits=b"{}",
        context=b"{}",
    )


def append(log: EventLog, entries: int, events_each: int = 3) -> None:
    for e in range(entries):
        batch = [viewed(f"m-{uuid.uuid4().hex}-{e}-{i}") for i in range(events_each)]
        log.append(LoggedBatch("shop-a", batch))


def lag_of(registry: CollectorRegistry, consumer: str = AUTOMATION_CONSUMER) -> float | None:
    return registry.get_sample_value(LAG, {"consumer": consumer})


def make(settings: Settings, log: EventLog, progress: WorkerProgress, **config: int) -> Worker:
    worker = Worker(settings, fast_config(settings, **config), event_log=log, progress=progress)
    worker.lag_seconds = 0.0
    return worker


def check_lag_follows_the_log(settings: Settings, log: EventLog, already: int = 0) -> None:
    """``already``: entries in the log before, of 3 events each (behind for this group too)."""
    progress = WorkerProgress()
    worker = make(settings, log, progress)
    registry = automation_registry(worker.store, progress)
    try:
        assert lag_of(registry) is None  # nothing measured yet: no made-up zero
        append(log, 4)
        worker.measure_lag(force=True)
        assert lag_of(registry) == 4 + already
        report = worker.run_once()
        assert report.events == 12 + 3 * already
        assert lag_of(registry) == 0
        assert (
            registry.get_sample_value("intellishop_automation_events_processed_total")
            == report.events
        )
        append(log, 2)
        worker.measure_lag(force=True)
        assert lag_of(registry) == 2
        assert lag_of(registry, LOADER_CONSUMER) is None  # the loader exports its own
    finally:
        worker.close()


def test_sqlite_lag_follows_the_log(settings: Settings) -> None:
    check_lag_follows_the_log(settings, SqliteEventLog(settings.event_log_path))


@pytest.fixture
def stream(redis_client: redis.Redis) -> Iterator[str]:
    key = f"test:automation-lag:{uuid.uuid4().hex}"
    yield key
    for found in redis_client.scan_iter(f"{key}*"):
        redis_client.delete(found)


def test_redis_lag_follows_the_consumer_group(
    settings: Settings, redis_client: redis.Redis, stream: str
) -> None:
    log = RedisStreamEventLog(redis_client, stream, member="test-host")
    append(log, 1)
    log.read(LOADER_CONSUMER, 10)  # another group's progress must not count as ours
    check_lag_follows_the_log(settings, log, already=1)


class CountingLog:
    """The real SQLite log, counting reads and lag queries (the cost a pass pays)."""

    def __init__(self, inner: SqliteEventLog) -> None:
        self.inner = inner
        self.reads = 0
        self.lags: list[int] = []

    def read(self, consumer: str, limit: int) -> list[LogEntry]:
        self.reads += 1
        return self.inner.read(consumer, limit)

    def lag(self, consumer: str) -> int:
        self.lags.append(self.inner.lag(consumer))
        return self.lags[-1]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_lag_measured_per_read_not_per_event(settings: Settings) -> None:
    counting = CountingLog(SqliteEventLog(settings.event_log_path))
    progress = WorkerProgress()
    worker = make(settings, counting, progress, read_limit=2)  # type: ignore[arg-type]
    registry = automation_registry(worker.store, progress)
    try:
        append(counting.inner, 6, events_each=5)
        report = worker.run_once()
        assert report.events == 30
        assert counting.reads == 4  # 2 + 2 + 2 + the empty read that ends the catch-up
        # Measured after each full read (a catch-up pass can last minutes), not per event.
        assert counting.lags == [4, 2, 0, 0]
        assert lag_of(registry) == 0
        # Throttled: with a long interval, back-to-back passes do not query again.
        worker.lag_seconds = 3600.0
        worker.run_once()
        worker.run_once()
        assert len(counting.lags) == 4
    finally:
        worker.close()
