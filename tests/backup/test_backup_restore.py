"""Backups restore exactly what they saved, and a damaged backup changes nothing."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from intellishop.backup import BackupError, create_backup, restore_backup, verify_backup
from intellishop.commands.backup import backup_app
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from tests.conftest import ADMIN_DSN, _unreachable


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def installation(settings: Settings) -> Settings:
    """A raw zone with two partitions and a catalog, and a tenant registry with one shop."""
    events = settings.raw_zone_dir / "events" / "tenant_id=acme"
    for day in ("2026-11-01", "2026-11-02"):
        (events / f"event_date={day}").mkdir(parents=True)
        (events / f"event_date={day}" / "part-000000000001.parquet").write_bytes(os.urandom(4096))
    catalog = settings.raw_zone_dir / "catalog" / "tenant_id=acme"
    catalog.mkdir(parents=True)
    (catalog / "products.parquet").write_bytes(os.urandom(1024))
    TenantRegistry(settings.tenants_db_path).create("Acme", tenant_id="acme")
    return settings


def tenant_ids(settings: Settings) -> list[str]:
    with sqlite3.connect(settings.tenants_db_path) as con:
        return [row[0] for row in con.execute("select tenant_id from tenants order by 1")]


def test_a_restore_brings_back_the_raw_zone_and_the_tenants(
    installation: Settings, tmp_path: Path
) -> None:
    raw_before = snapshot(installation.raw_zone_dir)
    backup = create_backup(installation, tmp_path / "backups")
    assert verify_backup(backup)["postgres"] is False

    # Disaster: a partition is lost, one file corrupted, a tenant added after the backup.
    lost = next(installation.raw_zone_dir.rglob("event_date=2026-11-01"))
    for path in lost.iterdir():
        path.unlink()
    lost.rmdir()
    (installation.raw_zone_dir / "catalog" / "tenant_id=acme" / "products.parquet").write_bytes(
        b"garbage"
    )
    TenantRegistry(installation.tenants_db_path).create("Later", tenant_id="later")

    with pytest.raises(BackupError, match="not empty"):
        restore_backup(installation, backup)
    restore_backup(installation, backup, force=True)
    assert snapshot(installation.raw_zone_dir) == raw_before
    assert tenant_ids(installation) == ["acme"]


def test_a_damaged_backup_is_refused_before_anything_changes(
    installation: Settings, tmp_path: Path
) -> None:
    backup = create_backup(installation, tmp_path / "backups")
    archive = backup / "raw-zone.tar"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    before = snapshot(installation.data_dir)
    with pytest.raises(BackupError, match="damaged"):
        restore_backup(installation, backup, force=True)
    assert snapshot(installation.data_dir) == before
    result = CliRunner().invoke(backup_app, ["verify", str(backup)])
    assert result.exit_code == 1


def test_the_cli_creates_and_restores_into_an_empty_installation(
    installation: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    created = runner.invoke(backup_app, ["create", "--to", str(tmp_path / "b")])
    assert created.exit_code == 0, created.output
    backup = Path(created.stdout.strip().splitlines()[-1])
    raw_before = snapshot(installation.raw_zone_dir)

    fresh = tmp_path / "fresh"
    monkeypatch.setenv("INTELLISHOP_DATA_DIR", str(fresh))
    restored = runner.invoke(backup_app, ["restore", str(backup)])
    assert restored.exit_code == 0, restored.output
    assert snapshot(fresh / "raw") == raw_before
    assert tenant_ids(Settings(data_dir=fresh)) == ["acme"]


@pytest.fixture
def database() -> Iterator[str]:
    try:
        psycopg.connect(ADMIN_DSN, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        _unreachable("PostgreSQL", error)
    name = f"intellishop_test_backup_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as con:
        con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=name)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as con:
        con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_postgres_is_dumped_and_restored(
    installation: Settings, database: str, tmp_path: Path
) -> None:
    settings = installation.model_copy(update={"postgres_dsn": database})
    with psycopg.connect(database, autocommit=True) as con:
        con.execute("create schema raw")
        con.execute("create table raw.events (message_id text primary key, revenue numeric)")
        con.execute(
            "insert into raw.events select 'm' || i, i * 1.5 from generate_series(1, 500) i"
        )
    backup = create_backup(settings, tmp_path / "backups", postgres=True)
    assert verify_backup(backup)["postgres"] is True

    with psycopg.connect(database, autocommit=True) as con:
        con.execute("delete from raw.events where message_id like 'm1%'")
        con.execute("create table raw.after_backup (x int)")
    restore_backup(settings, backup, force=True)
    with psycopg.connect(database) as con:
        count, total = con.execute("select count(*), sum(revenue) from raw.events").fetchone()  # type: ignore[misc]
        assert (count, float(total)) == (500, 1.5 * 500 * 501 / 2)


def test_an_archive_with_a_path_out_of_the_raw_zone_is_refused(
    installation: Settings, tmp_path: Path
) -> None:
    import hashlib
    import io
    import json
    import tarfile

    backup = create_backup(installation, tmp_path / "backups")
    archive = backup / "raw-zone.tar"
    with tarfile.open(archive, "a") as tar:
        evil = tarfile.TarInfo("raw/../../escaped.txt")
        evil.size = 4
        tar.addfile(evil, io.BytesIO(b"evil"))
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["files"]["raw-zone.tar"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    (backup / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="unsafe entry"):
        restore_backup(installation, backup, force=True)
    assert not (installation.data_dir.parent / "escaped.txt").exists()
