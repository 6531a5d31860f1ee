"""Prometheus metrics of the automation worker.

Outbox numbers are read from the store at scrape time: the store is the truth (the outbox
survives restarts and is shared by every worker), so they come from it rather than from
per-process counters that a restart would reset.

The worker's progress through the event log is the exception: how far its consumer group is
behind (``intellishop_event_log_lag_entries{consumer="automation"}``, the loader's metric and
label style) and how many events it processed. The running worker measures them itself, once
per pass (one ``XINFO GROUPS`` or one SQLite count, never per event), into a
:class:`WorkerProgress`; a scrape only reads that. The lag is per process on purpose: a worker
that died stops answering scrapes (``up == 0``) instead of showing a frozen number.

Served on ``INTELLISHOP_METRICS_PORT`` (deploy/prometheus/alerts.yml: ``AutomationDeadLetters``,
``AutomationLagHigh``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .store import AutomationStore


class WorkerProgress:
    """What this process's worker last measured; written by its loop, read by scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lag: dict[str, int] = {}
        self._events = 0

    def set_lag(self, consumer: str, entries: int | None) -> None:
        """``None`` (the event log did not answer) drops the sample rather than keep a stale one."""
        with self._lock:
            if entries is None:
                self._lag.pop(consumer, None)
            else:
                self._lag[consumer] = entries

    def add_events(self, count: int) -> None:
        with self._lock:
            self._events += count

    def lag(self) -> dict[str, int]:
        with self._lock:
            return dict(self._lag)

    @property
    def events(self) -> int:
        with self._lock:
            return self._events


#: The process's worker progress: the CLI's worker writes it, its metrics server reads it.
PROGRESS = WorkerProgress()


class AutomationCollector(Collector):
    def __init__(self, store: AutomationStore, progress: WorkerProgress = PROGRESS) -> None:
        self.store = store
        self.progress = progress

    def collect(self) -> Iterator[Metric]:
        counts = self.store.delivery_counts()
        deliveries = GaugeMetricFamily(
            "intellishop_automation_deliveries",
            "Webhook and email deliveries in the outbox, by status.",
            labels=["status"],
        )
        for status, count in sorted(counts.items()):
            deliveries.add_metric([status], count)
        yield deliveries
        dead = GaugeMetricFamily(
            "intellishop_automation_dead_letters",
            "Deliveries that failed every retry and wait for a replay.",
        )
        dead.add_metric([], counts.get("dead", 0))
        yield dead
        lag = GaugeMetricFamily(
            "intellishop_event_log_lag_entries",
            "Event-log entries not yet committed by the consumer, measured once per worker pass.",
            labels=["consumer"],
        )
        for consumer, entries in sorted(self.progress.lag().items()):
            lag.add_metric([consumer], entries)
        yield lag
        events = CounterMetricFamily(
            "intellishop_automation_events_processed",
            "Event-log events this worker process evaluated against the rules.",
        )
        events.add_metric([], self.progress.events)
        yield events


def automation_registry(
    store: AutomationStore, progress: WorkerProgress = PROGRESS
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(AutomationCollector(store, progress))
    return registry
