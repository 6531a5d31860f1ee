"""Operations: Prometheus metrics at /metrics and one JSON log line per request."""

from __future__ import annotations

import gc
import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ingest.app import YOUNG_GC_THRESHOLD, create_app
from ingest.logging import ACCESS_LOGGER_NAME, JsonFormatter, configure_access_log, log_request
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry


@pytest.fixture
def shop(settings: Settings) -> tuple[TestClient, str]:
    _, key = TenantRegistry(settings.tenants_db_path).create("Shop A")
    return TestClient(create_app(settings)), key


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def track(**fields: object) -> dict[str, object]:
    return {"type": "track", "event": "Product Viewed", "userId": "u1", **fields}


def test_counters_move_with_the_requests(shop: tuple[TestClient, str]) -> None:
    client, key = shop
    before = samples(client)
    batch = [track(), track(), track(userId=None), track(event="Order Completed")]
    assert client.post("/v1/batch", json={"batch": batch}, auth=(key, "")).status_code == 200
    assert client.post("/v1/batch", content=b"{nope", auth=(key, "")).status_code == 400
    assert client.post("/v1/batch", json={"batch": [track()]}).status_code == 401
    after = samples(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"route": "/v1/batch", "method": "POST"}
    assert delta("intellishop_collector_requests_total", **route, status="200") == 1
    assert delta("intellishop_collector_requests_total", **route, status="400") == 1
    assert delta("intellishop_collector_requests_total", **route, status="401") == 1
    assert delta("intellishop_collector_events_accepted_total") == 2
    assert delta("intellishop_collector_events_rejected_total", reason="missing_id") == 1
    assert delta("intellishop_collector_events_rejected_total", reason="ecommerce") == 1
    assert delta("intellishop_collector_events_rejected_total", reason="malformed") == 1
    assert delta("intellishop_collector_batches_appended_total") == 1
    assert delta("intellishop_collector_request_duration_seconds_count", route="/v1/batch") == 3


def test_unknown_paths_share_one_label(shop: tuple[TestClient, str]) -> None:
    client, _ = shop
    for n in range(3):
        assert client.get(f"/scanner/probe-{n}").status_code == 404
    found = samples(client)
    labels = {
        dict(k[1]).get("route") for k in found if k[0] == "intellishop_collector_requests_total"
    }
    assert "unmatched" in labels
    assert not any(label and "probe" in label for label in labels)


def test_event_log_lag_is_read_at_scrape_time(shop: tuple[TestClient, str]) -> None:
    client, key = shop
    lag = "intellishop_event_log_lag_entries"
    assert value(samples(client), lag, consumer="raw-loader") == 0
    for _ in range(3):
        client.post("/v1/track", json=track(), auth=(key, ""))
    assert value(samples(client), lag, consumer="raw-loader") == 3


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    handler = _Lines()
    logger = logging.getLogger(ACCESS_LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def test_one_json_line_per_request_without_the_key(
    shop: tuple[TestClient, str], log_lines: list[str]
) -> None:
    client, key = shop
    batch = [track(), track(userId=None)]
    client.post("/v1/batch", json={"batch": batch}, headers={"Authorization": f"Bearer {key}"})
    client.post("/v1/track", json=track(), headers={"X-API-Key": "isk_wrong"})
    assert len(log_lines) == 2
    ok, unauthorized = (json.loads(line) for line in log_lines)
    assert ok["msg"] == "request"
    assert ok["route"] == "/v1/batch"
    assert ok["method"] == "POST"
    assert ok["status"] == 200
    assert ok["tenant"] == "shop-a"
    assert (ok["events_accepted"], ok["events_rejected"]) == (1, 1)
    assert isinstance(ok["ms"], float) and ok["ms"] > 0
    assert unauthorized["status"] == 401 and unauthorized["tenant"] is None
    for line in log_lines:
        assert key not in line and "isk_wrong" not in line


def test_formatter_drops_credentials_given_as_extras() -> None:
    record = logging.makeLogRecord({"msg": "x", "api_key": "isk_secret", "authorization": "b"})
    record.__dict__["route"] = "/v1/batch"
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/v1/batch"
    assert "api_key" not in line and "authorization" not in line


def test_the_request_line_is_the_one_the_formatter_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``log_request`` writes the line itself when only the configured handler listens; the
    line must be what the logging path would have written, key for key and in order."""
    logger = configure_access_log()
    (handler,) = (h for h in logger.handlers if isinstance(h.formatter, JsonFormatter))
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(logger, "handlers", [handler])  # pytest's capture handlers aside
    stream = io.StringIO()
    monkeypatch.setattr(handler, "stream", stream)
    monkeypatch.setattr(time, "time", lambda: 1_767_225_600.1234)
    fields: dict[str, Any] = {
        "route": "/v1/batch",
        "method": "POST",
        "status": 200,
        "tenant": "shop-a",
        "events_accepted": 99,
        "events_rejected": None,
        "ms": 12.345,
    }
    with monkeypatch.context() as patched:  # the line is written without a LogRecord
        patched.setattr(logger, "handle", lambda record: pytest.fail("took the logging path"))
        log_request(**fields)
    record = logger.makeRecord(logger.name, logging.INFO, "", 0, "request", (), None, extra=fields)
    record.created = 1_767_225_600.1234
    assert stream.getvalue() == JsonFormatter().format(record) + "\n"
    assert list(json.loads(stream.getvalue())) == ["ts", "level", "logger", "msg", *fields]


def test_the_collector_tunes_the_gc_while_it_serves_and_puts_it_back(settings: Settings) -> None:
    before = gc.get_threshold()
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
