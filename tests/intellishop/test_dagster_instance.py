"""The Dagster instance follows the profile: SQLite locally, dagster-postgres in prod."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from intellishop.services import service_env
from intellishop.settings import DAGSTER_POSTGRES_URL_VARIABLE, Profile, Settings

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_up() -> bool:
    try:
        psycopg.connect(ADMIN_DSN, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture
def scratch_database() -> Iterator[str]:
    if not postgres_up():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs PostgreSQL on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = f"intellishop_dagster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as con:
        con.execute(f"create database {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as con:
            con.execute(f"drop database {name} with (force)")


@dg.op
def say_hello() -> str:
    return "hello"


@dg.job
def hello_job() -> None:
    say_hello()


def test_local_instance_keeps_sqlite_storage(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings.ensure_dirs()
    text = (settings.dagster_home / "dagster.yaml").read_text()
    assert "postgres" not in text
    assert "max_concurrent_runs: 1" in text
    assert DAGSTER_POSTGRES_URL_VARIABLE not in service_env(settings)


@pytest.mark.postgres
def test_prod_instance_records_runs_in_postgresql(
    tmp_path: Path, scratch_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        profile=Profile.PROD,
        data_dir=tmp_path,
        admin_token="a-secret-of-our-own",
        postgres_dsn=scratch_database,
    )
    settings.ensure_dirs()
    text = (settings.dagster_home / "dagster.yaml").read_text()
    assert "postgres" in text and scratch_database.split("@")[1] not in text  # no URL in the file
    env = service_env(settings)
    assert env[DAGSTER_POSTGRES_URL_VARIABLE].startswith("postgresql+psycopg2://")
    assert env["INTELLISHOP_POSTGRES_DB"] == scratch_database.rsplit("/", 1)[1]
    monkeypatch.setenv(DAGSTER_POSTGRES_URL_VARIABLE, env[DAGSTER_POSTGRES_URL_VARIABLE])
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        result = hello_job.execute_in_process(instance=instance)
        assert result.success
        run_id = result.run_id
    with psycopg.connect(scratch_database) as con:
        row = con.execute("select status from runs where run_id = %s", (run_id,)).fetchone()
    assert row == ("SUCCESS",)
