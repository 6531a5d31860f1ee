"""Pipeline status and artifact freshness reach Prometheus; workers serve /metrics."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import pyarrow as pa
from prometheus_client import CollectorRegistry, Counter, generate_latest

from intellishop.artifacts import LocalArtifactStore
from intellishop.observability import (
    FreshnessCollector,
    read_pipeline_status,
    record_pipeline_run,
    start_worker_metrics,
)
from intellishop.settings import Settings


def scrape(settings: Settings) -> str:
    registry = CollectorRegistry()
    registry.register(FreshnessCollector(settings, LocalArtifactStore(settings.artifacts_dir)))
    return generate_latest(registry).decode()


def sample(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_no_run_yet_exports_no_status(settings: Settings) -> None:
    text = scrape(settings)
    assert sample(text, "intellishop_pipeline_last_success_timestamp_seconds") is None
    assert sample(text, "intellishop_pipeline_last_run_failed") is None


def test_a_failed_run_keeps_the_last_success_time(settings: Settings) -> None:
    succeeded_at = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    record_pipeline_run(settings, "run-1", succeeded=True, finished_at=succeeded_at)
    record_pipeline_run(
        settings, "run-2", succeeded=False, finished_at=succeeded_at + timedelta(hours=1)
    )
    status = read_pipeline_status(settings)
    assert (status.last_run_id, status.last_run_failed) == ("run-2", True)
    text = scrape(settings)
    assert sample(text, "intellishop_pipeline_last_run_failed") == 1.0
    assert sample(text, "intellishop_pipeline_last_success_timestamp_seconds") == (
        succeeded_at.timestamp()
    )
    record_pipeline_run(settings, "run-3", succeeded=True)
    assert sample(scrape(settings), "intellishop_pipeline_last_run_failed") == 0.0


def test_artifact_age_is_per_tenant(settings: Settings) -> None:
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("acme", {"popular": pa.table({"product_id": ["p1"]})})
    age = sample(scrape(settings), "intellishop_serving_artifact_age_seconds")
    assert age is not None and 0 <= age < 60


def test_a_worker_serves_its_registry_on_the_metrics_port(settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = CollectorRegistry()
    Counter("intellishop_test_worker_ticks", "Ticks.", registry=registry).inc(3)
    assert not start_worker_metrics(settings, registry)  # no port configured: nothing served
    assert start_worker_metrics(settings.model_copy(update={"metrics_port": port}), registry)
    deadline = time.monotonic() + 5
    while True:
        try:
            body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert sample(body, "intellishop_test_worker_ticks_total") == 3.0
