"""Backups of what cannot be rebuilt: the raw zone, the SQLite state, and PostgreSQL.

Everything else (the warehouse, the serving artifacts, the models) is rebuilt by running the
pipeline over the raw zone, so a backup holds only the sources of truth:

- the Parquet raw zone (``<data_dir>/raw``: events and imported catalogs), as one tar file;
- every SQLite database directly under ``data_dir`` (tenants and their hashed keys, the event
  log, the loader's dedup ids, experiments, automation state, the model registry), each copied
  with SQLite's online backup API so a running service never yields a torn copy;
- in the prod profile, PostgreSQL (the raw zone's ``raw.events``, Dagster's storage, the
  experiment and automation schemas) as a ``pg_dump`` custom-format archive.

A backup is a directory with ``manifest.json`` listing each file's SHA-256. Restore checks every
checksum BEFORE it touches anything, so a damaged backup changes nothing; then it replaces the
raw zone atomically (extract beside it, then rename) and refuses to overwrite a non-empty
installation unless told to.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intellishop.settings import Profile, Settings

MANIFEST = "manifest.json"
RAW_ZONE_ARCHIVE = "raw-zone.tar"
POSTGRES_ARCHIVE = "postgres.dump"
SQLITE_DIR = "sqlite"
FORMAT_VERSION = 1


class BackupError(RuntimeError):
    """A backup could not be written, or a backup is damaged or does not fit this installation."""


def create_backup(settings: Settings, destination: Path, *, postgres: bool | None = None) -> Path:
    """Write a new backup directory under ``destination``; returns its path.

    ``postgres`` defaults to the profile: dumped in prod, skipped locally.
    """
    with_postgres = settings.profile is Profile.PROD if postgres is None else postgres
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = destination / f"intellishop-{stamp}"
    partial = destination / f".intellishop-{stamp}.partial"
    if target.exists():
        raise BackupError(f"{target} exists already")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        _archive_raw_zone(settings.raw_zone_dir, partial / RAW_ZONE_ARCHIVE)
        (partial / SQLITE_DIR).mkdir()
        for database in sorted(settings.data_dir.glob("*.sqlite3")):
            _copy_sqlite(database, partial / SQLITE_DIR / database.name)
        if with_postgres:
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    f"--file={partial / POSTGRES_ARCHIVE}",
                ],
                settings.postgres_dsn,
            )
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "profile": settings.profile.value,
            "postgres": with_postgres,
            "files": {
                str(path.relative_to(partial)): _sha256(path)
                for path in sorted(partial.rglob("*"))
                if path.is_file()
            },
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial.rename(target)  # a backup directory without ".partial" is always complete
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def verify_backup(directory: Path) -> dict[str, Any]:
    """The manifest, after checking every file's checksum; raises ``BackupError`` otherwise."""
    try:
        manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{directory} has no readable {MANIFEST}: {exc}") from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for relative, expected in manifest["files"].items():
        path = directory / relative
        if not path.is_file():
            raise BackupError(f"{relative} is missing from the backup")
        if _sha256(path) != expected:
            raise BackupError(f"{relative} is damaged (checksum mismatch)")
    return manifest


def restore_backup(settings: Settings, directory: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore ``directory`` into this installation (``settings``); returns the manifest.

    Stop the collector, loader and workers first: the SQLite files are replaced underneath them.
    """
    manifest = verify_backup(directory)
    raw_zone = settings.raw_zone_dir
    if not force and raw_zone.exists() and any(raw_zone.iterdir()):
        raise BackupError(f"{raw_zone} is not empty: restore with force to replace it")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if manifest["postgres"]:
        _restore_postgres(settings.postgres_dsn, directory / POSTGRES_ARCHIVE)
    staging = settings.data_dir / ".raw.restoring"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    with tarfile.open(directory / RAW_ZONE_ARCHIVE) as archive:
        archive.extractall(staging, members=_safe_members(archive))  # noqa: S202 - checked
    old = settings.data_dir / ".raw.replaced"
    shutil.rmtree(old, ignore_errors=True)
    if raw_zone.exists():
        raw_zone.rename(old)
    (staging / "raw").rename(raw_zone)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    for copy in sorted((directory / SQLITE_DIR).glob("*.sqlite3")):
        _copy_sqlite(copy, settings.data_dir / copy.name)
    return manifest


def _restore_postgres(dsn: str, archive: Path) -> None:
    """Replace what the dump holds: its schemas (except public) and its tables in public.

    ``pg_restore --clean`` cannot drop a schema that gained a table after the backup, so the
    dump's schemas are dropped with CASCADE first (a restore puts them back as they were), then
    the archive is restored in one transaction.
    """
    import psycopg
    from psycopg import sql

    listing = subprocess.run(
        ["pg_restore", "--list", str(archive)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(f"pg_restore --list failed: {listing.stderr.strip()}")
    schemas: set[str] = set()
    public_tables: set[str] = set()
    for line in listing.stdout.splitlines():
        if line.startswith(";"):
            continue
        # "<id>; <oid> <oid> <TYPE> <schema> <name> <owner>"
        fields = line.split()
        if len(fields) >= 6 and fields[3] == "SCHEMA":
            schemas.add(fields[5])
        elif len(fields) >= 6 and fields[3] == "TABLE" and fields[4] == "public":
            public_tables.add(fields[5])
    with psycopg.connect(dsn) as con:
        for schema in sorted(schemas - {"public"}):
            con.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        for table in sorted(public_tables):
            con.execute(
                sql.SQL("drop table if exists {} cascade").format(sql.Identifier("public", table))
            )
    _run(["pg_restore", "--no-owner", "--single-transaction"], dsn, str(archive))


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's members, refusing anything a raw zone never holds: absolute paths, ``..``,
    links and devices. (Python's own ``filter="data"`` is missing before 3.11.4.)"""
    members = archive.getmembers()
    for member in members:
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"the raw-zone archive holds an unsafe entry: {member.name!r}")
    return members


def _archive_raw_zone(raw_zone: Path, archive_path: Path) -> None:
    with tarfile.open(archive_path, "w") as archive:
        if raw_zone.exists():
            archive.add(raw_zone, arcname="raw")
        else:
            info = tarfile.TarInfo("raw")
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            archive.addfile(info)


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database (WAL included), through SQLite's backup API."""
    target.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _run(command: list[str], dsn: str, *arguments: str) -> None:
    try:
        result = subprocess.run(
            [*command, f"--dbname={dsn}", *arguments], capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools)") from exc
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
