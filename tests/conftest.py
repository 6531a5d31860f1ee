"""Fixtures shared by every test package: an isolated data directory and settings for it, and
the real Redis and PostgreSQL servers (skipped when absent locally, failing when ``CI=true``)."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from psycopg import sql

from intellishop.chromium import CHROMIUM, CHROMIUM_ARGS
from intellishop.settings import Settings, get_settings

#: A JWT secret of the right length for every test: the prod profile refuses the placeholder.
TEST_JWT_SECRET = "test-jwt-secret-" + "0123456789abcdef" * 2


def pytest_sessionstart(session: pytest.Session) -> None:
    """Started as a background job of a non-interactive shell, pytest inherits SIGINT ignored,
    and so would every service a test starts (Ctrl-C tests then fail): put the default back."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _sigint_handler_left_as_found() -> Iterator[None]:
    """A test that leaves SIGINT ignored or caught hands that to every process the suite starts
    afterwards, which Ctrl-C (and the tests that send SIGINT) then cannot stop."""
    before = signal.getsignal(signal.SIGINT)
    yield
    after = signal.getsignal(signal.SIGINT)
    if after is not before:
        signal.signal(signal.SIGINT, before)
        pytest.fail(f"this test left SIGINT handled by {after!r} (it was {before!r})")


@pytest.fixture(autouse=True)
def _jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prod-profile settings need a JWT secret of their own; tests (and their children) get one."""
    monkeypatch.setenv("INTELLISHOP_JWT_SECRET", TEST_JWT_SECRET)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh INTELLISHOP_DATA_DIR for one test (the local profile)."""
    path = tmp_path / "intellishop"
    monkeypatch.setenv("INTELLISHOP_DATA_DIR", str(path))
    monkeypatch.setenv("INTELLISHOP_PROFILE", "local")
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("DAGSTER_DISABLE_TELEMETRY", "1")
    yield path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    settings = get_settings()
    settings.ensure_dirs()
    return settings


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium, headless, quiet on the network."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError("CI needs Debian's chromium for the browser tests (make test)")
        pytest.skip("Debian's chromium is not installed")
    return {
        "executable_path": CHROMIUM,
        "args": list(CHROMIUM_ARGS),
    }


REDIS_URL = os.environ.get("INTELLISHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_DSN = os.environ.get(
    "INTELLISHOP_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _unreachable(what: str, error: Exception) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is unreachable in CI: {error}")
    pytest.skip(f"{what} is unreachable: {error}")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        _unreachable("Redis", error)
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A database of this test session's own (the raw zone creates it; dropped afterwards)."""
    try:
        psycopg.connect(ADMIN_DSN, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        _unreachable("PostgreSQL", error)
    name = f"intellishop_test_{uuid.uuid4().hex[:12]}"
    yield psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=name)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as con:
        con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
