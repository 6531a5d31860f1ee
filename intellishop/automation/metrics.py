"""Prometheus metrics of the automation worker, read from its store at scrape time.

The store is the truth (the outbox survives restarts and is shared by every worker), so the
numbers come from it rather than from per-process counters that a restart would reset. Served
on ``INTELLISHOP_METRICS_PORT`` (deploy/prometheus/alerts.yml: ``AutomationDeadLetters``).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .store import AutomationStore


class AutomationCollector(Collector):
    def __init__(self, store: AutomationStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
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


def automation_registry(store: AutomationStore) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(AutomationCollector(store))
    return registry
