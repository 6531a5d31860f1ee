"""Fixtures for tenant, key, limit and CORS tests: a collector with a real admin token, and Redis.

Redis tests use a unique key prefix per test and delete only their own keys; they skip when the
server is unreachable, except with CI=true, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER
from intellishop.settings import Settings, get_settings
from intellishop.tenants import TenantRegistry

ADMIN_TOKEN = "test-admin-" + uuid.uuid4().hex
REDIS_URL = os.environ.get("INTELLISHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def admin_settings(data_dir: Any, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("INTELLISHOP_ADMIN_TOKEN", ADMIN_TOKEN)
    settings = get_settings()
    settings.ensure_dirs()
    return settings


@pytest.fixture
def registry(admin_settings: Settings) -> TenantRegistry:
    return TenantRegistry(admin_settings.tenants_db_path)


@pytest.fixture
def collector_app(admin_settings: Settings) -> FastAPI:
    return create_app(admin_settings)


@pytest.fixture
def collector(collector_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(collector_app) as client:
        yield client


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def track(event: str = "Product Viewed", **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "userId": "u1",
        "properties": {"product_id": "p1"},
        **fields,
    }


def logged(settings: Settings) -> list[tuple[str, int]]:
    """(tenant_id, events) of every batch in the event log."""
    entries = SqliteEventLog(settings.event_log_path).read(LOADER_CONSUMER, 10_000)
    return [(entry.batch.tenant_id, len(entry.batch.events)) for entry in entries]


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def redis_client() -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable in CI: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    """A key prefix no one else uses; its keys are deleted afterwards (never FLUSHDB)."""
    prefix = f"test:{uuid.uuid4().hex}:limits"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis_client.delete(*keys)
