"""Prometheus metrics of a following loader (``intellishop load --follow``), read at scrape time.

Throughput comes from the loader's own running ``LoadReport``; the lag from the event log itself
(entries appended but not yet committed by the raw loader), so it is right even when several
loaders share the consumer group. Served on ``INTELLISHOP_METRICS_PORT``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from intellishop.settings import Settings

from .event_log import open_event_log
from .loader import LOADER_CONSUMER, LoadReport

log = logging.getLogger(__name__)


class LoaderCollector(Collector):
    def __init__(self, settings: Settings, report: LoadReport) -> None:
        self.settings = settings
        self.report = report

    def collect(self) -> Iterator[Metric]:
        loaded = CounterMetricFamily(
            "intellishop_loader_events_loaded",
            "Events written to the raw zone by this loader (repeated message ids excluded).",
        )
        loaded.add_metric([], self.report.events - self.report.duplicates)
        yield loaded
        duplicates = CounterMetricFamily(
            "intellishop_loader_duplicates",
            "Events skipped because their tenant already had the message id.",
        )
        duplicates.add_metric([], self.report.duplicates)
        yield duplicates
        batches = CounterMetricFamily(
            "intellishop_loader_batches", "Event-log entries committed by this loader."
        )
        batches.add_metric([], self.report.batches)
        yield batches
        lag = GaugeMetricFamily(
            "intellishop_event_log_lag_entries",
            "Event-log entries not yet committed by the consumer, read at scrape time.",
            labels=["consumer"],
        )
        try:
            event_log = open_event_log(self.settings)
            try:
                lag.add_metric([LOADER_CONSUMER], event_log.lag(LOADER_CONSUMER))
            finally:
                event_log.close()
        except Exception:  # an unreachable backend must not hide the throughput
            log.warning("event log unreachable for /metrics", exc_info=True)
        yield lag


def loader_registry(settings: Settings, report: LoadReport) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(LoaderCollector(settings, report))
    return registry
