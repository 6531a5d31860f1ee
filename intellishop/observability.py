"""Operational signals shared by the services: pipeline status, data freshness, worker metrics.

Dagster keeps its run history in its own storage, which Prometheus cannot scrape. The pipeline
therefore records the outcome of each run of the main job in a small JSON file under
``data_dir`` (on the shared volume in a cluster), and the serving API exports it at scrape time
together with the age of each tenant's published artifacts. Alerts ``DataStale`` and
``PipelineRunFailed`` (deploy/prometheus/alerts.yml) read these.

Workers without an HTTP port (loader, automation) serve ``/metrics`` on
``INTELLISHOP_METRICS_PORT`` through ``start_worker_metrics``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intellishop.artifacts import ServingStore
from intellishop.settings import Settings

STATUS_FILE = "pipeline_status.json"


@dataclass(frozen=True)
class PipelineStatus:
    """The last finished run of the main job, and the last one that succeeded."""

    last_run_id: str | None = None
    last_run_status: str | None = None  # "success" | "failure"
    last_run_finished_at: str | None = None  # ISO 8601, UTC
    last_success_at: str | None = None

    @property
    def last_run_failed(self) -> bool:
        return self.last_run_status == "failure"


def status_path(settings: Settings) -> Path:
    return settings.data_dir / STATUS_FILE


def read_pipeline_status(settings: Settings) -> PipelineStatus:
    try:
        data = json.loads(status_path(settings).read_text())
    except (OSError, ValueError):
        return PipelineStatus()
    fields = PipelineStatus.__dataclass_fields__
    return PipelineStatus(**{key: value for key, value in data.items() if key in fields})


def record_pipeline_run(
    settings: Settings, run_id: str, *, succeeded: bool, finished_at: datetime | None = None
) -> PipelineStatus:
    """Record a finished run (atomically: a scrape never reads half a file)."""
    moment = (finished_at or datetime.now(UTC)).astimezone(UTC).isoformat()
    previous = read_pipeline_status(settings)
    status = PipelineStatus(
        last_run_id=run_id,
        last_run_status="success" if succeeded else "failure",
        last_run_finished_at=moment,
        last_success_at=moment if succeeded else previous.last_success_at,
    )
    path = status_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(status)))
    partial.replace(path)
    return status


def _timestamp(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


class FreshnessCollector(Collector):
    """Pipeline outcome and the age of each tenant's published artifacts, read at scrape time."""

    def __init__(self, settings: Settings, store: ServingStore) -> None:
        self.settings = settings
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = read_pipeline_status(self.settings)
        success = GaugeMetricFamily(
            "intellishop_pipeline_last_success_timestamp_seconds",
            "Unix time the last successful run of the main pipeline finished.",
        )
        last_success = _timestamp(status.last_success_at)
        if last_success is not None:
            success.add_metric([], last_success)
        yield success
        failed = GaugeMetricFamily(
            "intellishop_pipeline_last_run_failed",
            "1 if the last finished run of the main pipeline failed, else 0.",
        )
        if status.last_run_status is not None:
            failed.add_metric([], 1.0 if status.last_run_failed else 0.0)
        yield failed
        age = GaugeMetricFamily(
            "intellishop_serving_artifact_age_seconds",
            "Seconds since each tenant's serving artifacts were published.",
            labels=["tenant"],
        )
        now = datetime.now(UTC).timestamp()
        for tenant_id in self.store.tenants():
            version = self.store.current(tenant_id)
            published = _timestamp(version.published_at) if version else None
            if published is not None:
                age.add_metric([tenant_id], max(0.0, now - published))
        yield age


def start_worker_metrics(settings: Settings, registry: CollectorRegistry) -> bool:
    """Serve ``registry`` on ``settings.metrics_port`` (if set) from a daemon thread."""
    if settings.metrics_port is None:
        return False
    start_http_server(settings.metrics_port, addr=settings.host, registry=registry)
    return True


class ObservedRequests:
    """Pure ASGI middleware that times every HTTP request and hands the outcome to ``observe``.

    No body buffering and no task hop (unlike Starlette's BaseHTTPMiddleware), so it costs
    microseconds on the hot path. ``observe`` runs after the response, with the route template
    (``unmatched`` for a 404 of no route), which keeps label cardinality bounded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def observe(self, scope: Scope, route: str, method: str, status: int, seconds: float) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.observe(scope, route, method, status, time.perf_counter() - started)
