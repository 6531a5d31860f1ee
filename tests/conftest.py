"""Fixtures shared by every test package: an isolated data directory and settings for it, and
the real Redis and PostgreSQL servers (skipped when absent locally, failing when ``CI=true``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import redis
from psycopg import sql

from intellishop.chromium import CHROMIUM, CHROMIUM_ARGS
from intellishop.settings import Settings, get_settings

T = TypeVar("T")

#: A JWT secret of the right length for every test: the prod profile refuses the placeholder.
TEST_JWT_SECRET = "test-jwt-secret-" + "0123456789abcdef" * 2


def pytest_sessionstart(session: pytest.Session) -> None:
    """Started as a background job of a non-interactive shell, pytest inherits SIGINT ignored,
    and so would every service a test starts (Ctrl-C tests then fail): put the default back."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker starts with the controller's terminal width in ``COLUMNS``, which the CLI's
    consoles would fix at import, before a test can widen them: size them as one process does."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)


#: Packages whose modules share session-scoped fixtures (a dbt build of each target): under
#: xdist their modules run in one worker, so each build happens once.
SHARED_SESSION_PACKAGES = ("tests/dbt/",)
#: The longest work units (a minute or more each: dbt builds of both targets, pipeline runs
#: behind real services), longest first. They start first, so that the two workers finish
#: together instead of one waiting for the other's last long module.
LONGEST_FIRST = (
    "tests/dbt/",
    "tests/e2e/test_loop.py",
    "tests/e2e/test_prod_loop.py",
    "tests/dagster/test_pipeline.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of :data:`LONGEST_FIRST` first, in its order; the rest as collected."""

    def rank(item: pytest.Item) -> int:
        return next(
            (i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
            len(LONGEST_FIRST),
        )

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown to pytest without xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``make test`` runs two workers (``-n 2``). Each module goes to one worker whole, so its
    module-scoped stack (a pipeline run, started services) is built once; the modules of a
    package in :data:`SHARED_SESSION_PACKAGES` go to one worker together. Units are handed out
    in collection order (see :func:`pytest_collection_modifyitems`). xdist's ``--dist
    loadgroup`` marks would say the same, but do not take effect under pytest 9."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]  # (xdist is untyped)
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return next((p for p in SHARED_SESSION_PACKAGES if module.startswith(p)), module)

    config.option.loadscopereorder = False  # keep the collection order: longest first
    return ModuleScheduling(config, log)


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


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end on a new event loop in a thread of its own: a plain
    ``asyncio.run`` fails in a test process where Playwright's sync API keeps a loop running
    on the main thread."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


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
    drop_database(name)


def drop_database(name: str) -> None:
    """Drop a database a test made, whoever is still connected to it."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as con:
        con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def clean_raw(postgres_dsn: str) -> Iterator[str]:
    """The session database with a raw zone of this test's own: dropped before and after, so
    the test starts with no raw events or loaded ids whatever ran before it in this session
    (two xdist workers give each a different mix of modules)."""
    _drop_raw_zone(postgres_dsn)
    yield postgres_dsn
    _drop_raw_zone(postgres_dsn)


def _drop_raw_zone(dsn: str) -> None:
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as con:
            con.execute("drop schema if exists raw cascade")
    except psycopg.OperationalError:
        pass  # the database does not exist yet (the raw zone creates it)
