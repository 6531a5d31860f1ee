"""The whole loop on the prod profile, over real HTTP, against the real PostgreSQL and Redis.

The services run as ``intellishop up`` runs them (collector, a loader following the Redis
Streams event log into PostgreSQL ``raw.events``, the API reading the Redis serving store), and
the pipeline builds the PostgreSQL warehouse and publishes through Redis. Everything is this
module's own: a fresh database, a stream key, tenants with unique ids; all removed afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import redis
from psycopg import sql

from intellishop.services import services
from intellishop.settings import Settings
from tests.conftest import ADMIN_DSN, REDIS_URL, TEST_JWT_SECRET, _unreachable

from .conftest import Stack, free_port, new_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def prod_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from intellishop.simulation import SimulationConfig, generate_events, send_events

    try:
        psycopg.connect(ADMIN_DSN, connect_timeout=5).close()
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
    except (psycopg.OperationalError, redis.RedisError) as error:
        _unreachable("PostgreSQL or Redis", error)
    run = uuid.uuid4().hex[:10]
    database = f"intellishop_test_e2e_{run}"
    env = {
        "INTELLISHOP_PROFILE": "prod",
        "INTELLISHOP_DATA_DIR": str(tmp_path_factory.mktemp("prod") / "data"),
        "INTELLISHOP_ADMIN_TOKEN": f"e2e-admin-{uuid.uuid4().hex}",
        "INTELLISHOP_JWT_SECRET": TEST_JWT_SECRET,
        "INTELLISHOP_POSTGRES_DSN": psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=database),
        "INTELLISHOP_REDIS_URL": REDIS_URL,
        "INTELLISHOP_REDIS_STREAM": f"test-e2e-{run}:events",
        "INTELLISHOP_COLLECTOR_PORT": str(free_port()),
        "INTELLISHOP_API_PORT": str(free_port()),
        "INTELLISHOP_DASHBOARD_PORT": str(free_port()),
        "INTELLISHOP_DAGSTER_PORT": str(free_port()),
        "INTELLISHOP_LOADER_METRICS_PORT": str(free_port()),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    settings = Settings()
    settings.ensure_dirs()
    stack = new_stack(settings)
    supervisor, known = stack.supervisor, services(settings)
    tenants = {f"prod-a-{run}": 11, f"prod-b-{run}": 12}
    try:
        for tenant_id in tenants:
            done = stack.cli("tenants", "create", tenant_id.upper(), "--id", tenant_id,
                             "--plan", "enterprise")  # fmt: skip
            stack.keys[tenant_id] = done.stdout.strip().splitlines()[-1]
        supervisor.start(known["collector"])
        supervisor.start(known["loader"])
        accepted = 0
        for tenant_id, seed in tenants.items():
            report = send_events(
                generate_events(SimulationConfig(seed=seed, days=7, customers=25)),
                collector_url=stack.collector_url,
                api_key=stack.keys[tenant_id],
                progress=False,
            )
            assert report.events_rejected == 0, report
            accepted += report.events_accepted
        stack.accepted = accepted  # type: ignore[attr-defined]
        pipeline = stack.cli("pipeline", "run", check=False)
        assert pipeline.returncode == 0, pipeline.stdout[-3000:] + pipeline.stderr[-3000:]
        supervisor.start(known["api"])
        yield stack
    finally:
        supervisor.stop_all()
        os.environ.update({k: v for k, v in saved.items() if v is not None})
        for name in [k for k, v in saved.items() if v is None]:
            os.environ.pop(name, None)
        client = redis.Redis.from_url(REDIS_URL)
        for pattern in (f"test-e2e-{run}*", f"*prod-a-{run}*", f"*prod-b-{run}*"):
            for key in client.scan_iter(match=pattern):
                client.delete(key)
        for tenant_id in tenants:
            client.srem("intellishop:artifacts:tenants", tenant_id)
        with psycopg.connect(ADMIN_DSN, autocommit=True) as con:
            con.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database))
            )


def test_every_accepted_event_is_in_postgres_once(prod_stack: Stack) -> None:
    deadline = time.monotonic() + 60
    while True:
        with psycopg.connect(prod_stack.settings.postgres_dsn) as con:
            total, distinct = con.execute(  # type: ignore[misc]
                "select count(*), count(distinct (tenant_id, message_id)) from raw.events"
            ).fetchone()
        if total >= prod_stack.accepted or time.monotonic() > deadline:  # type: ignore[attr-defined]
            break
        time.sleep(0.5)
    assert total == distinct == prod_stack.accepted  # type: ignore[attr-defined]


def test_the_api_serves_what_the_prod_pipeline_published(prod_stack: Stack) -> None:
    for tenant_id, key in prod_stack.keys.items():
        trending = httpx.get(f"{prod_stack.api_url}/v1/trending", params={"n": 5}, auth=(key, ""))
        assert trending.status_code == 200, trending.text
        assert trending.json()["tenant_id"] == tenant_id
        assert len(trending.json()["items"]) == 5
        daily = httpx.get(f"{prod_stack.api_url}/v1/analytics/daily", auth=(key, ""))
        assert daily.status_code == 200, daily.text
        assert daily.json()["tenant_id"] == tenant_id
        assert daily.json()["totals"]["orders"] > 0
    # The pipeline's success reached Prometheus through the API.
    scrape = httpx.get(f"{prod_stack.api_url}/metrics").text
    assert "intellishop_pipeline_last_run_failed 0.0" in scrape


def test_the_warehouse_is_postgres(prod_stack: Stack) -> None:
    with psycopg.connect(prod_stack.settings.postgres_dsn) as con:
        schemas = {
            row[0]
            for row in con.execute(
                "select table_schema from information_schema.tables "
                "where table_name in ('daily_metrics', 'customers')"
            )
        }
    assert schemas, "no mart in PostgreSQL"
