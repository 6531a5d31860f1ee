"""Real Redis and PostgreSQL for the prod-profile tests, isolated from everyone else's.

Each session gets its own database (created, then dropped) and each test its own stream key
(a uuid prefix, deleted afterwards). The servers are never flushed. Unreachable servers skip
these tests locally and fail them when ``CI=true``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from intellishop.settings import Settings, get_settings
from tests.conftest import REDIS_URL


@pytest.fixture
def stream(redis_client: redis.Redis) -> Iterator[str]:
    """A stream key no one else uses; it and its erasure keys are deleted afterwards."""
    key = f"test-{uuid.uuid4().hex}:events"
    yield key
    for name in redis_client.scan_iter(match=f"{key}*"):
        redis_client.delete(name)


@pytest.fixture
def prod_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: str, clean_raw: str
) -> Settings:
    """Settings of the prod profile on this test's stream and database."""
    env = {
        "INTELLISHOP_PROFILE": "prod",
        "INTELLISHOP_DATA_DIR": str(tmp_path / "intellishop"),
        "INTELLISHOP_ADMIN_TOKEN": uuid.uuid4().hex,
        "INTELLISHOP_REDIS_URL": REDIS_URL,
        "INTELLISHOP_REDIS_STREAM": stream,
        "INTELLISHOP_POSTGRES_DSN": clean_raw,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    settings.ensure_dirs()
    return settings
