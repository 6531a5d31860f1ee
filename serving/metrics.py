"""Prometheus metrics of the serving API: requests, latency, data freshness, model quality.

Request counts and latencies are per process (like the collector's, see ``ingest.metrics``);
freshness (the last pipeline run, the age of each tenant's artifacts) and model quality (the
registry's active versions) are read at scrape time from their sources, so every worker reports
the same numbers and a restart loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import Scope

from intellishop.artifacts import ServingStore
from intellishop.observability import FreshnessCollector, ObservedRequests
from intellishop.settings import Settings

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "intellishop_api_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "intellishop_api_request_duration_seconds",
    "Time from the request's arrival to the end of the response, in seconds.",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)


class ModelQualityCollector(Collector):
    """The comparison metrics of each tenant's active model versions (the model registry)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "intellishop_model_metric",
            "Holdout metrics of the active model version per tenant and kind.",
            labels=["tenant", "kind", "metric"],
        )
        registry_file = self.settings.data_dir / "models" / "registry.sqlite3"
        if self.settings.profile.value == "local" and not registry_file.exists():
            yield family  # no model trained yet: nothing to open (and nothing to create)
            return
        try:
            from intellishop.commands.models import open_registry

            registry = open_registry(self.settings)
            for version in registry.history():
                if version.status != "active":
                    continue
                for metric, value in version.metrics.items():
                    family.add_metric([version.tenant_id, version.kind, metric], float(value))
        except Exception:  # a registry problem must not hide the other metrics
            log.warning("model registry unreadable for /metrics", exc_info=True)
        yield family


def install_metrics(settings: Settings, store: ServingStore) -> None:
    """Register the scrape-time collectors (once per process)."""
    if getattr(REGISTRY, "_intellishop_installed", False):
        return
    REGISTRY.register(FreshnessCollector(settings, store))
    REGISTRY.register(ModelQualityCollector(settings))
    REGISTRY._intellishop_installed = True  # type: ignore[attr-defined]


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


#: (route, method, status) -> its counter and histogram children: ``labels()`` validates and
#: locks on every call, a dictionary lookup does not (same label sets, so same cardinality).
_CHILDREN: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


class RequestMetricsMiddleware(ObservedRequests):
    """Counts and times every HTTP request of the API."""

    def observe(self, scope: Scope, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = _CHILDREN.get(key)
        if children is None:
            children = _CHILDREN[key] = (
                REQUESTS.labels(route=route, method=method, status=str(status)),
                REQUEST_SECONDS.labels(route=route),
            )
        children[0].inc()
        children[1].observe(seconds)
