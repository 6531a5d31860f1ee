"""The serving store: versioned artifacts the pipeline publishes for the API and dashboards.

The pipeline never hands the warehouse file to readers (DuckDB allows one writer across processes
and a reader would block ``dbt build``). Instead its publish step writes each tenant's serving
tables as Parquet files into a new version directory, then swaps the tenant's ``CURRENT`` pointer
with an atomic rename. A reader therefore sees either the old version or the new one, never half
of each, and keeps answering while a pipeline run is under way.

Layout (local profile)::

    artifacts/<tenant_id>/CURRENT                 the name of the live version
    artifacts/<tenant_id>/<version>/manifest.json version, publish time, tables and row counts
    artifacts/<tenant_id>/<version>/<table>.parquet
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

#: Published versions kept per tenant (older ones are deleted after a publish).
KEEP_VERSIONS = 3
#: Times a reader re-reads the pointer when the version it named was pruned meanwhile.
LOAD_ATTEMPTS = 5


@dataclass(frozen=True)
class ArtifactVersion:
    """One published, immutable set of serving tables for one tenant."""

    tenant_id: str
    version: str
    published_at: str
    tables: dict[str, pa.Table]
    metadata: dict[str, Any] = field(default_factory=dict)


class ServingStore(Protocol):
    """Where published serving artifacts live (local: files; prod: Redis and PostgreSQL)."""

    def publish(
        self, tenant_id: str, tables: dict[str, pa.Table], metadata: dict[str, Any] | None = None
    ) -> str: ...

    def current(self, tenant_id: str) -> ArtifactVersion | None: ...

    def tenants(self) -> list[str]: ...


class LocalArtifactStore:
    """Versioned Parquet artifacts on disk, cached in memory by readers.

    ``current`` re-reads the ``CURRENT`` pointer at most every ``refresh_seconds`` and loads a
    version's tables once; a reader therefore picks up a new publish within that time.
    """

    def __init__(self, root: Path, refresh_seconds: float = 1.0) -> None:
        self.root = root
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, ArtifactVersion | None]] = {}

    def publish(
        self, tenant_id: str, tables: dict[str, pa.Table], metadata: dict[str, Any] | None = None
    ) -> str:
        tenant_dir = self.root / tenant_id
        tenant_dir.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        version = now.strftime("%Y%m%dT%H%M%S%fZ")
        staging = tenant_dir / f".{version}.tmp"
        staging.mkdir()
        for name, table in tables.items():
            pq.write_table(table, staging / f"{name}.parquet")
        manifest = {
            "tenant_id": tenant_id,
            "version": version,
            "published_at": now.isoformat(),
            "tables": {name: table.num_rows for name, table in tables.items()},
            "metadata": metadata or {},
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        staging.rename(tenant_dir / version)
        pointer_tmp = tenant_dir / f".CURRENT.{version}.tmp"
        pointer_tmp.write_text(version)
        os.replace(pointer_tmp, tenant_dir / "CURRENT")
        self._prune(tenant_dir, keep=version)
        return version

    def _prune(self, tenant_dir: Path, keep: str) -> None:
        versions = sorted(
            p for p in tenant_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
        for old in versions[:-KEEP_VERSIONS]:
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)

    def tenants(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "CURRENT").exists())

    def current(self, tenant_id: str) -> ArtifactVersion | None:
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached and now - cached[0] < self.refresh_seconds:
            return cached[1]
        with self._lock:
            cached = self._cache.get(tenant_id)
            if cached and now - cached[0] < self.refresh_seconds:
                return cached[1]
            loaded = self._load_current(tenant_id, cached[1] if cached else None)
            self._cache[tenant_id] = (now, loaded)
            return loaded

    def _load_current(
        self, tenant_id: str, previous: ArtifactVersion | None
    ) -> ArtifactVersion | None:
        pointer = self.root / tenant_id / "CURRENT"
        # A version can be pruned between reading the pointer and reading its files, when
        # publishes follow each other quickly: the pointer then names a newer one, so read again.
        for _attempt in range(LOAD_ATTEMPTS):
            try:
                version = pointer.read_text().strip()
            except FileNotFoundError:
                return None
            if previous is not None and previous.version == version:
                return previous
            version_dir = self.root / tenant_id / version
            try:
                manifest = json.loads((version_dir / "manifest.json").read_text())
                tables = {
                    name: pq.read_table(version_dir / f"{name}.parquet")
                    for name in manifest["tables"]
                }
            except OSError:
                continue
            break
        else:
            # Still moving after several tries: keep serving what we had.
            return previous
        return ArtifactVersion(
            tenant_id=tenant_id,
            version=version,
            published_at=manifest["published_at"],
            tables=tables,
            metadata=manifest.get("metadata", {}),
        )
