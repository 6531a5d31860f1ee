"""The model registry: every trained model version, which one is active, and why.

Metadata lives in SQL (SQLite locally, at a path the caller gives; PostgreSQL in prod, at a
DSN) through the same statements: only the placeholder style and the connection differ
(:class:`Dialect`). Values are always bound, never formatted into SQL. Artifacts are files under
``artifacts_dir/<tenant>/<kind>/v<version>/``, written by the caller's function.

Promotion rule: a new version becomes active only if its comparison metric (declared per kind
in :data:`COMPARISON`) is at least as good as the active version's *on the same holdout*. The
caller scores the active model on the candidate's holdout and passes that as
``champion_metrics``; without it, the active version's stored metrics count only if they were
measured on the same holdout (same ``holdout`` label), else the candidate is kept but not
promoted. Nothing is deleted: rejected versions and every promotion and rollback stay in the
history (``model_events``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

#: Per kind: the metric that decides promotion and whether higher is better.
COMPARISON: dict[str, tuple[str, bool]] = {
    "churn": ("auc", True),
    "clv": ("purchases_mae", False),
    "forecast": ("wape", False),
}
Status = Literal["active", "candidate", "rejected", "retired"]

_DDL = (
    """
    create table if not exists model_versions (
        tenant_id text not null,
        kind text not null,
        version integer not null,
        created_at text not null,
        status text not null,
        params text not null,
        window_start text,
        window_end text,
        holdout text,
        metrics text not null,
        comparison_metric text not null,
        drift text not null,
        artifact_path text not null,
        reason text,
        primary key (tenant_id, kind, version)
    )
    """,
    """
    create table if not exists model_events (
        seq integer not null,
        tenant_id text not null,
        kind text not null,
        version integer not null,
        action text not null,
        at text not null,
        detail text
    )
    """,
)
_COLUMNS = ("tenant_id", "kind", "version", "created_at", "status", "params", "window_start",
            "window_end", "holdout", "metrics", "comparison_metric", "drift", "artifact_path",
            "reason")  # fmt: skip


@dataclass(frozen=True)
class ModelVersion:
    """One registered model."""

    tenant_id: str
    kind: str
    version: int
    created_at: str
    status: str
    params: dict[str, Any]
    window_start: str | None
    window_end: str | None
    holdout: str | None
    metrics: dict[str, float]
    comparison_metric: str
    drift: dict[str, float]
    artifact_path: str
    reason: str | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ModelVersion:
        data = dict(zip(_COLUMNS, row, strict=True))
        for key in ("params", "metrics", "drift"):
            data[key] = json.loads(data[key])
        data["version"] = int(data["version"])
        return cls(**data)

    @property
    def score(self) -> float | None:
        value = self.metrics.get(self.comparison_metric)
        return None if value is None else float(value)


@dataclass(frozen=True)
class Dialect:
    """What differs between the two backends: placeholders and how to connect."""

    name: Literal["sqlite", "postgres"]
    target: str

    @property
    def mark(self) -> str:
        return "?" if self.name == "sqlite" else "%s"

    def sql(self, statement: str) -> str:
        """``statement`` written with ``?`` placeholders, in this dialect's style."""
        return statement if self.name == "sqlite" else statement.replace("?", "%s")

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A connection in a transaction: committed on success, rolled back on error."""
        if self.name == "sqlite":
            con = sqlite3.connect(self.target, timeout=30)
            try:
                with con:
                    yield con
            finally:
                con.close()
        else:
            import psycopg

            with psycopg.connect(self.target) as pg, pg.transaction():
                yield pg


class ModelRegistry:
    """Versions, promotion and rollback of models per (tenant, kind); see the module doc."""

    def __init__(self, dialect: Dialect, artifacts_dir: Path) -> None:
        self.dialect = dialect
        self.artifacts_dir = artifacts_dir
        with self.dialect.connect() as con:
            for ddl in _DDL:
                con.execute(ddl)

    @classmethod
    def sqlite(cls, path: Path, artifacts_dir: Path) -> ModelRegistry:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(Dialect("sqlite", str(path)), artifacts_dir)

    @classmethod
    def postgres(cls, dsn: str, artifacts_dir: Path) -> ModelRegistry:
        """Registry tables in the DSN's database (created if missing)."""
        from ingest.raw_zone.postgres import ensure_database

        ensure_database(dsn)
        return cls(Dialect("postgres", dsn), artifacts_dir)

    # ----------------------------------------------------------------- reads

    def _select(
        self, where: str, args: Sequence[Any], order: str = "version"
    ) -> list[ModelVersion]:
        statement = f"select {', '.join(_COLUMNS)} from model_versions where {where} order by tenant_id, kind, {order}"  # noqa: E501
        with self.dialect.connect() as con:
            rows = con.execute(self.dialect.sql(statement), tuple(args)).fetchall()
        return [ModelVersion.from_row(row) for row in rows]

    def history(self, tenant_id: str | None = None, kind: str | None = None) -> list[ModelVersion]:
        """Every version, oldest first, optionally of one tenant and/or kind."""
        clauses, args = ["1 = 1"], []
        if tenant_id is not None:
            clauses.append("tenant_id = ?")
            args.append(tenant_id)
        if kind is not None:
            clauses.append("kind = ?")
            args.append(kind)
        return self._select(" and ".join(clauses), args)

    def get(self, tenant_id: str, kind: str, version: int) -> ModelVersion | None:
        found = self._select(
            "tenant_id = ? and kind = ? and version = ?", [tenant_id, kind, version]
        )
        return found[0] if found else None

    def active(self, tenant_id: str, kind: str) -> ModelVersion | None:
        found = self._select("tenant_id = ? and kind = ? and status = 'active'", [tenant_id, kind])
        return found[-1] if found else None

    def events(self, tenant_id: str, kind: str) -> list[tuple[int, str, str, str | None]]:
        """(version, action, at, detail) of every promotion, rejection and rollback, in order."""
        with self.dialect.connect() as con:
            rows = con.execute(
                self.dialect.sql(
                    "select version, action, at, detail from model_events "
                    "where tenant_id = ? and kind = ? order by seq"
                ),
                (tenant_id, kind),
            ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]

    # ---------------------------------------------------------------- writes

    def register(
        self,
        tenant_id: str,
        kind: str,
        *,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        window: tuple[datetime, datetime] | None = None,
        holdout: str | None = None,
        drift: Mapping[str, float] | None = None,
        write_artifact: Callable[[Path], None] | None = None,
        champion_metrics: Mapping[str, float] | None = None,
    ) -> ModelVersion:
        """Store a new version (artifact written first) and promote it if it is good enough."""
        if kind not in COMPARISON:
            raise ValueError(f"unknown model kind {kind!r}; known: {sorted(COMPARISON)}")
        metric, higher_is_better = COMPARISON[kind]
        if metric not in metrics:
            raise ValueError(f"{kind} metrics must include {metric!r} (the comparison metric)")
        now = datetime.now(UTC).isoformat()
        with self.dialect.connect() as con:
            row = con.execute(
                self.dialect.sql(
                    "select coalesce(max(version), 0) from model_versions "
                    "where tenant_id = ? and kind = ?"
                ),
                (tenant_id, kind),
            ).fetchone()
            version = int(row[0]) + 1
            directory = self.artifacts_dir / tenant_id / kind / f"v{version}"
            if write_artifact is not None:
                directory.mkdir(parents=True, exist_ok=True)
                write_artifact(directory)
            current = self._active_in(con, tenant_id, kind)
            promote, reason = self._decide(
                float(metrics[metric]), current, holdout, champion_metrics, metric, higher_is_better
            )
            status: Status = (
                "active"
                if promote
                else ("candidate" if reason.startswith("not compared") else "rejected")
            )
            values = (
                tenant_id, kind, version, now, status, json.dumps(dict(params), default=str),
                window[0].isoformat() if window else None,
                window[1].isoformat() if window else None,
                holdout, json.dumps({k: float(v) for k, v in metrics.items()}), metric,
                json.dumps({k: float(v) for k, v in (drift or {}).items()}), str(directory), reason,
            )  # fmt: skip
            marks = ", ".join("?" for _ in _COLUMNS)
            con.execute(
                self.dialect.sql(
                    f"insert into model_versions ({', '.join(_COLUMNS)}) values ({marks})"
                ),
                values,
            )
            if promote and current is not None:
                self._set_status(con, tenant_id, kind, current.version, "retired")
            self._event(con, tenant_id, kind, version, "promoted" if promote else status, reason)
        registered = self.get(tenant_id, kind, version)
        assert registered is not None
        return registered

    def rollback(self, tenant_id: str, kind: str, to_version: int | None = None) -> ModelVersion:
        """Make ``to_version`` (default: the version active before the current one) active."""
        with self.dialect.connect() as con:
            current = self._active_in(con, tenant_id, kind)
            if to_version is None:
                previous = [
                    v for v, action, _, _ in self._events_in(con, tenant_id, kind)
                    if action in ("promoted", "rolled back to")
                    and (current is None or v != current.version)
                ]  # fmt: skip
                if not previous:
                    raise LookupError(f"{tenant_id}/{kind}: no earlier active version")
                to_version = previous[-1]
            target = self._get_in(con, tenant_id, kind, to_version)
            if target is None:
                raise LookupError(f"{tenant_id}/{kind}: no version {to_version}")
            if current is not None and current.version != to_version:
                self._set_status(con, tenant_id, kind, current.version, "retired")
            self._set_status(con, tenant_id, kind, to_version, "active")
            detail = f"from v{current.version}" if current is not None else "none was active"
            self._event(con, tenant_id, kind, to_version, "rolled back to", detail)
        active = self.active(tenant_id, kind)
        assert active is not None
        return active

    # -------------------------------------------------------------- internals

    @staticmethod
    def _decide(
        score: float,
        current: ModelVersion | None,
        holdout: str | None,
        champion_metrics: Mapping[str, float] | None,
        metric: str,
        higher_is_better: bool,
    ) -> tuple[bool, str]:
        if current is None:
            return True, "first version"
        if champion_metrics is not None and metric in champion_metrics:
            champion = float(champion_metrics[metric])
            where = "active version re-scored on this holdout"
        elif (
            current.holdout is not None and current.holdout == holdout and current.score is not None
        ):
            champion = current.score
            where = "active version's own score on the same holdout"
        else:
            return False, f"not compared: v{current.version} has no {metric} on holdout {holdout!r}"
        better = score >= champion if higher_is_better else score <= champion
        verdict = "at least as good as" if better else "worse than"
        return (
            better,
            f"{metric} {score:.6g} {verdict} v{current.version}'s {champion:.6g} ({where})",
        )

    def _active_in(self, con: Any, tenant_id: str, kind: str) -> ModelVersion | None:
        rows = con.execute(
            self.dialect.sql(
                f"select {', '.join(_COLUMNS)} from model_versions "
                "where tenant_id = ? and kind = ? and status = 'active' order by version"
            ),
            (tenant_id, kind),
        ).fetchall()
        return ModelVersion.from_row(rows[-1]) if rows else None

    def _get_in(self, con: Any, tenant_id: str, kind: str, version: int) -> ModelVersion | None:
        row = con.execute(
            self.dialect.sql(
                f"select {', '.join(_COLUMNS)} from model_versions "
                "where tenant_id = ? and kind = ? and version = ?"
            ),
            (tenant_id, kind, version),
        ).fetchone()
        return ModelVersion.from_row(row) if row else None

    def _events_in(self, con: Any, tenant_id: str, kind: str) -> list[tuple[int, str, str, str]]:
        rows = con.execute(
            self.dialect.sql(
                "select version, action, at, detail from model_events "
                "where tenant_id = ? and kind = ? order by seq"
            ),
            (tenant_id, kind),
        ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def _set_status(
        self, con: Any, tenant_id: str, kind: str, version: int, status: Status
    ) -> None:
        con.execute(
            self.dialect.sql(
                "update model_versions set status = ? "
                "where tenant_id = ? and kind = ? and version = ?"
            ),
            (status, tenant_id, kind, version),
        )

    def _event(
        self, con: Any, tenant_id: str, kind: str, version: int, action: str, detail: str | None
    ) -> None:
        row = con.execute("select coalesce(max(seq), 0) from model_events").fetchone()
        con.execute(
            self.dialect.sql(
                "insert into model_events (seq, tenant_id, kind, version, action, at, detail) "
                "values (?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                int(row[0]) + 1,
                tenant_id,
                kind,
                version,
                action,
                datetime.now(UTC).isoformat(),
                detail,
            ),
        )
