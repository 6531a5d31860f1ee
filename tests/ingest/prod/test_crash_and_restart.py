"""Nothing lost, nothing doubled: a loader SIGKILLed between raw-zone write and XACK, and
Redis and PostgreSQL restarted under a running loader (on servers of this test's own)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from ingest.event_log import RedisStreamEventLog, open_event_log
from ingest.loader import LOADER_CONSUMER, LoadReport, drain_event_log, follow_event_log
from intellishop.ports import free_port
from intellishop.settings import Settings, get_settings

from .helpers import batch, pg_rows

ROOT = Path(__file__).resolve().parents[3]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.mark.redis
@pytest.mark.postgres
def test_a_loader_killed_between_write_and_ack_loses_and_doubles_nothing(
    prod_settings: Settings,
) -> None:
    log = open_event_log(prod_settings)
    expected: set[tuple[str, str]] = set()
    for i in range(60):
        tenant = "a" if i % 3 else "b"
        ids = [f"m{i}-{j}" for j in range(5)] + ([f"m{i - 1}-0"] if i else [])  # with retries
        log.append(batch(tenant, *ids))
        expected |= {(tenant, m) for m in ids}
    env = {**os.environ, "CHUNK": "7", "PYTHONPATH": str(ROOT)}
    for kill_after in (3, 2):  # die mid-stream twice, at different chunks
        child = subprocess.run(
            [sys.executable, "-m", "tests.ingest.prod.loader_child", str(kill_after)],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert child.returncode == -9, child.stderr
    assert 0 < log.lag(LOADER_CONSUMER) < 60  # some chunks made it, the rest is pending
    finish = subprocess.run(
        [sys.executable, "-m", "tests.ingest.prod.loader_child", "0"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert finish.returncode == 0, finish.stderr
    rows = pg_rows(prod_settings.postgres_dsn)
    assert len(rows) == len(set(rows))
    assert {(t, m) for t, _, m in rows} == expected
    assert log.lag(LOADER_CONSUMER) == 0
    log.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """A redis-server of this test's own with AOF fsynced on every write (survives restarts)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port, directory = free_port(), tmp_path / "redis"
    directory.mkdir()
    start_redis(port, directory)
    yield f"redis://127.0.0.1:{port}/0", directory, port
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)


def start_redis(port: int, directory: Path) -> None:
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
         "--save", "", "--appendonly", "yes", "--appendfsync", "always",
         "--dir", str(directory), "--logfile", str(directory / "redis.log")],
        check=True,
    )  # fmt: skip
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("own redis-server did not start")


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, Path]]:
    """A PostgreSQL 15 cluster of this test's own (initdb in a temp dir), stopped afterwards."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 server binaries are not installed")
    # Outside pytest's 0700 tmp dir: the server runs as the postgres user when we are root.
    home = Path(tempfile.mkdtemp(prefix="intellishop-pg-"))
    home.chmod(0o777)
    directory, port = home / "pg", free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [*as_postgres, str(PG_BIN / "initdb"), "-D", str(directory), "-A", "trust",
         "-U", "postgres", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    with open(directory / "postgresql.conf", "a") as conf:
        conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n")
    ctl = [*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(directory), "-w", "-l",
           str(directory / "log")]  # fmt: skip
    subprocess.run([*ctl, "start"], check=True, capture_output=True)
    yield f"postgresql://postgres@127.0.0.1:{port}/intellishop", directory
    subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def test_redis_and_postgres_restarted_under_a_running_loader(
    own_redis: tuple[str, Path, int],
    own_postgres: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis_url, redis_dir, redis_port = own_redis
    dsn, pg_dir = own_postgres
    for name, value in {
        "INTELLISHOP_PROFILE": "prod",
        "INTELLISHOP_DATA_DIR": str(tmp_path / "intellishop"),
        "INTELLISHOP_ADMIN_TOKEN": "not-the-default",
        "INTELLISHOP_REDIS_URL": redis_url,
        "INTELLISHOP_POSTGRES_DSN": dsn,
    }.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    log = RedisStreamEventLog.from_url(redis_url, settings.redis_stream)
    stop, report = threading.Event(), LoadReport()
    loader = threading.Thread(
        target=follow_event_log,
        args=(settings, stop),
        kwargs={"chunk_entries": 5, "report": report},
    )
    acknowledged: set[str] = set()

    def send(count: int) -> None:
        """Like a client: retry until the append is acknowledged; only then it counts."""
        for _ in range(count):
            ids = [f"e{len(acknowledged)}-{j}" for j in range(3)]
            while True:
                try:
                    log.append(batch("shop", *ids))
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            acknowledged.update(ids)

    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    send(20)
    loader.start()
    try:
        deadline = time.monotonic() + 30
        while report.batches == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the loader is up and loading
        send(20)
        subprocess.run(["redis-cli", "-p", str(redis_port), "shutdown"], check=True)
        start_redis(redis_port, redis_dir)  # AOF replays every acknowledged XADD
        send(20)
        subprocess.run(
            [*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(pg_dir), "-w", "-m", "immediate",
             "restart", "-l", str(pg_dir / "log")],
            check=True, capture_output=True,
        )  # fmt: skip
        send(20)
        deadline = time.monotonic() + 30
        while log.lag("raw-loader") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loader.join(timeout=30)
    assert drain_event_log(settings).events == 0
    rows = pg_rows(dsn)
    assert len(rows) == len(set(rows)) == len(acknowledged) == 240
    assert {m for _, _, m in rows} == acknowledged
    with psycopg.connect(dsn) as con:  # the loader's own count agrees: it saw every entry
        assert con.execute("select count(distinct log_offset) from raw.events").fetchone() == (80,)
    log.close()
