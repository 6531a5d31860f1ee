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

Prod profile (:class:`RedisArtifactStore`): the same immutable version directories, on a path
every API worker mounts (a shared volume), and the live version of each tenant in Redis
(``<prefix>:current:<tenant_id>``). A publish writes the files, then sets the key (atomic) and
announces the tenant on a pub/sub channel, so every worker drops its cached pointer at once
instead of waiting for its next re-read. Readers still re-read the key every
``refresh_seconds`` (a missed message costs that long, never a wrong answer), and keep serving
what they have while Redis is unreachable. Why files and not Redis for the tables themselves:
each worker indexes a version into memory once anyway (a recommendation is a dict lookup, no
network hop on the hot path), the tables are columnar and large (every user's list), and
Parquet on a volume costs no Redis memory; Redis holds only the small, mutable part.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

import pyarrow as pa
import pyarrow.parquet as pq
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from intellishop.settings import Profile, Settings

log = logging.getLogger(__name__)

#: Published versions kept per tenant (older ones are deleted after a publish).
KEEP_VERSIONS = 3
#: Times a reader re-reads the pointer when the version it named was pruned meanwhile.
LOAD_ATTEMPTS = 5
#: Key prefix of the prod store in Redis (current versions, tenants, the publish channel).
REDIS_PREFIX = "intellishop:artifacts"
#: How often a prod reader re-reads a pointer without being told (pub/sub tells it at once).
REDIS_REFRESH_SECONDS = 5.0


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
        version = self._write_version(tenant_id, tables, metadata)
        self._prune(self.root / tenant_id, keep=version)
        return version

    def _write_version(
        self, tenant_id: str, tables: dict[str, pa.Table], metadata: dict[str, Any] | None
    ) -> str:
        """Write a new immutable version directory and point the ``CURRENT`` file at it."""
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

    def is_fresh(self, tenant_id: str, version: str) -> bool:
        """Whether ``current`` would answer ``version`` from memory, without reading anything."""
        cached = self._cache.get(tenant_id)
        return (
            cached is not None
            and cached[1] is not None
            and cached[1].version == version
            and time.monotonic() - cached[0] < self.refresh_seconds
        )

    def _read_pointer(self, tenant_id: str) -> str | None:
        """The tenant's live version name, or None when nothing is published."""
        try:
            return (self.root / tenant_id / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None

    def forget(self, tenant_id: str | None = None) -> None:
        """Re-read the pointer on the next ``current`` (one tenant, or all of them)."""
        with self._lock:
            if tenant_id is None:
                self._cache.clear()
            else:
                self._cache.pop(tenant_id, None)

    def _load_current(
        self, tenant_id: str, previous: ArtifactVersion | None
    ) -> ArtifactVersion | None:
        # A version can be pruned between reading the pointer and reading its files, when
        # publishes follow each other quickly: the pointer then names a newer one, so read again.
        for _attempt in range(LOAD_ATTEMPTS):
            version = self._read_pointer(tenant_id)
            if version is None:
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


class RedisArtifactStore(LocalArtifactStore):
    """Prod: version files on a shared path, the live version per tenant in Redis (see top).

    ``listen`` starts a thread that drops a tenant's cached pointer when a publish is announced;
    the API turns it on, publishers (the pipeline) need not.
    """

    def __init__(
        self,
        root: Path,
        client: redis.Redis,
        *,
        prefix: str = REDIS_PREFIX,
        refresh_seconds: float = REDIS_REFRESH_SECONDS,
        listen: bool = False,
    ) -> None:
        super().__init__(root, refresh_seconds=refresh_seconds)
        self.client = client
        self.prefix = prefix
        self.channel = f"{prefix}:published"
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        if listen:
            self._listener = threading.Thread(
                target=self._listen, name="artifact-invalidation", daemon=True
            )
            self._listener.start()

    def _key(self, tenant_id: str) -> str:
        return f"{self.prefix}:current:{tenant_id}"

    def publish(
        self, tenant_id: str, tables: dict[str, pa.Table], metadata: dict[str, Any] | None = None
    ) -> str:
        version = self._write_version(tenant_id, tables, metadata)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._key(tenant_id), version)
        pipe.sadd(f"{self.prefix}:tenants", tenant_id)
        pipe.publish(self.channel, tenant_id)
        pipe.execute()
        self.forget(tenant_id)
        self._prune(self.root / tenant_id, keep=version)
        return version

    def _read_pointer(self, tenant_id: str) -> str | None:
        value = self.client.get(self._key(tenant_id))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def _load_current(
        self, tenant_id: str, previous: ArtifactVersion | None
    ) -> ArtifactVersion | None:
        try:
            return super()._load_current(tenant_id, previous)
        except redis.RedisError as error:  # Redis restarting: keep answering with what we have
            log.warning("serving store pointer unreadable, keeping %s: %s", tenant_id, error)
            return previous

    def tenants(self) -> list[str]:
        members = cast(set[bytes], self.client.smembers(f"{self.prefix}:tenants"))
        return sorted(member.decode() for member in members)

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self.channel)
                self.forget()  # messages may have been missed while (re)connecting
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.2)
                    if message and message.get("type") == "message":
                        data = message["data"]
                        self.forget(data.decode() if isinstance(data, bytes) else str(data))
            except redis.RedisError as error:
                log.warning("artifact invalidation channel lost, retrying: %s", error)
                self._stop.wait(1.0)
            finally:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=3)


def open_serving_store(
    settings: Settings, *, listen: bool = False, refresh_seconds: float | None = None
) -> ServingStore:
    """The profile's serving store: versioned files locally; files plus Redis in prod.

    ``listen`` (prod): follow publishes on the pub/sub channel (readers such as the API);
    ``refresh_seconds``: how stale a reader's pointer may get without being told.
    """
    if settings.profile is Profile.PROD:
        # One quick retry, no backoff: readers keep serving what they have when Redis is away.
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=2,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 1),
        )
        return RedisArtifactStore(
            settings.artifacts_dir,
            client,
            listen=listen,
            refresh_seconds=REDIS_REFRESH_SECONDS if refresh_seconds is None else refresh_seconds,
        )
    return LocalArtifactStore(
        settings.artifacts_dir, refresh_seconds=1.0 if refresh_seconds is None else refresh_seconds
    )
