"""Where experiments, their evaluations and decisions are kept, per tenant.

Local profile: one SQLite file, ``<data_dir>/experiments.sqlite3``. Prod: PostgreSQL at
``settings.postgres_dsn``, schema ``experiments`` (created on first use). Both keep the same
three tables, written with bind values only:

- ``experiments``: one row per (tenant_id, key), the definition as JSON, status denormalised
  for the "what is running on this surface" lookup that every API request makes;
- ``evaluations``: each results computation (the pipeline's daily look), JSON;
- ``decisions``: the one decision per experiment and the evidence it was taken on.

Every method takes the tenant id and every statement filters on it: no call can reach another
tenant's experiment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intellishop.settings import Profile, Settings
from intellishop.sqlite_wal import use_wal

from .model import (
    Experiment,
    ExperimentConflictError,
    ExperimentError,
    ExperimentNotFoundError,
    Status,
    Surface,
)

_TABLES = (
    """create table if not exists {p}experiments (
        tenant_id text not null,
        key text not null,
        status text not null,
        surface text not null,
        definition text not null,
        updated_at text not null,
        primary key (tenant_id, key)
    )""",
    """create table if not exists {p}evaluations (
        tenant_id text not null,
        key text not null,
        evaluated_at text not null,
        results text not null,
        primary key (tenant_id, key, evaluated_at)
    )""",
    """create table if not exists {p}decisions (
        tenant_id text not null,
        key text not null,
        decided_at text not null,
        outcome text not null,
        winner text,
        evidence text not null,
        primary key (tenant_id, key)
    )""",
)


#: Fields a draft may change (see :meth:`ExperimentStore.edit`).
EDITABLE_FIELDS = (
    "name",
    "description",
    "surface",
    "variants",
    "target_metric",
    "guardrails",
    "alpha",
    "tau_std",
    "max_days",
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What was decided (``winner``, ``keep_control``, ``stopped_for_harm``, ...) and why."""

    outcome: str
    winner: str | None
    decided_at: datetime
    evidence: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "winner": self.winner,
            "decided_at": self.decided_at.isoformat(),
            "evidence": self.evidence,
        }


class ExperimentStore:
    """The SQL both backends share; subclasses open connections and pick the placeholder."""

    prefix = ""
    placeholder = "?"

    @contextmanager
    def _connect(self) -> Iterator[Any]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    def _sql(self, statement: str) -> str:
        return statement.format(p=self.prefix).replace("?", self.placeholder)

    def _run(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._connect() as con:
            cursor = con.execute(self._sql(statement), params)
            return list(cursor.fetchall()) if cursor.description else []

    # Experiments.
    def create(self, experiment: Experiment) -> Experiment:
        """Store a new experiment (validated); the key must be new for the tenant."""
        experiment.validate()
        if self._row(experiment.tenant_id, experiment.key) is not None:
            raise ExperimentConflictError("key", f"experiment {experiment.key!r} exists already")
        self._run(
            "insert into {p}experiments (tenant_id, key, status, surface, definition, updated_at)"
            " values (?, ?, ?, ?, ?, ?)",
            self._values(experiment),
        )
        return experiment

    def save(self, experiment: Experiment) -> Experiment:
        """Replace a stored experiment's definition (after a state change or a draft edit)."""
        experiment.validate()
        self.get(experiment.tenant_id, experiment.key)
        tenant_id, key, status, surface, definition, updated_at = self._values(experiment)
        self._run(
            "update {p}experiments set status = ?, surface = ?, definition = ?, updated_at = ?"
            " where tenant_id = ? and key = ?",
            (status, surface, definition, updated_at, tenant_id, key),
        )
        return experiment

    def edit(self, tenant_id: str, key: str, changes: dict[str, Any]) -> Experiment:
        """Change a definition (``changes`` as in :meth:`Experiment.to_json`). A draft may
        change anything but its key; once it runs only ``name`` and ``description``, so nobody
        moves between variants mid-experiment."""
        experiment = self.get(tenant_id, key)
        editable = set(
            EDITABLE_FIELDS if experiment.status is Status.DRAFT else ("name", "description")
        )
        for field in changes:
            if field not in editable:
                raise ExperimentConflictError(
                    field,
                    f"cannot be changed on a {experiment.status.value} experiment"
                    if field in EDITABLE_FIELDS
                    else "is not an editable field",
                )
        try:
            edited = Experiment.from_json({**experiment.to_json(), **changes})
        except ExperimentError:
            raise
        except (TypeError, ValueError, KeyError) as error:
            field = next(iter(changes), "body")
            raise ExperimentError(field, f"not a valid value: {error}") from None
        return self.save(edited)

    def start(self, tenant_id: str, key: str, now: datetime | None = None) -> Experiment:
        """Start a draft. One experiment runs per surface (``custom`` excepted), so a user is
        never in two experiments that change the same thing."""
        experiment = self.get(tenant_id, key)
        if experiment.surface is not Surface.CUSTOM:
            others = [e.key for e in self.running(tenant_id, experiment.surface) if e.key != key]
            if others:
                raise ExperimentConflictError(
                    "surface",
                    f"experiment {others[0]!r} is already running on {experiment.surface.value}"
                    "; stop or decide it first",
                )
        return self.save(experiment.with_status(Status.RUNNING, now))

    def stop(self, tenant_id: str, key: str, now: datetime | None = None) -> Experiment:
        """Stop a running experiment by hand (no decision recorded; ``decide`` may follow)."""
        return self.save(self.get(tenant_id, key).with_status(Status.STOPPED, now))

    def get(self, tenant_id: str, key: str) -> Experiment:
        row = self._row(tenant_id, key)
        if row is None:
            raise ExperimentNotFoundError("key", f"no experiment {key!r} for this tenant")
        return row

    def list_experiments(self, tenant_id: str, status: Status | None = None) -> list[Experiment]:
        if status is None:
            rows = self._run(
                "select definition from {p}experiments where tenant_id = ? order by key",
                (tenant_id,),
            )
        else:
            rows = self._run(
                "select definition from {p}experiments where tenant_id = ? and status = ?"
                " order by key",
                (tenant_id, status.value),
            )
        return [Experiment.from_json(json.loads(row[0])) for row in rows]

    def running(self, tenant_id: str, surface: Surface) -> list[Experiment]:
        rows = self._run(
            "select definition from {p}experiments"
            " where tenant_id = ? and surface = ? and status = ? order by key",
            (tenant_id, surface.value, Status.RUNNING.value),
        )
        return [Experiment.from_json(json.loads(row[0])) for row in rows]

    def latest_winner(self, tenant_id: str, surface: Surface) -> tuple[Experiment, str] | None:
        """The most recently decided experiment on the surface and its winning variant id."""
        rows = self._run(
            "select e.definition, d.winner from {p}experiments e join {p}decisions d"
            " on d.tenant_id = e.tenant_id and d.key = e.key"
            " where e.tenant_id = ? and e.surface = ? and e.status = ? and d.winner is not null"
            " order by d.decided_at desc limit 1",
            (tenant_id, surface.value, Status.DECIDED.value),
        )
        if not rows:
            return None
        return Experiment.from_json(json.loads(rows[0][0])), str(rows[0][1])

    def running_everywhere(self) -> list[Experiment]:
        """Every tenant's running experiments: for the pipeline's daily evaluation only."""
        rows = self._run(
            "select definition from {p}experiments where status = ? order by tenant_id, key",
            (Status.RUNNING.value,),
        )
        return [Experiment.from_json(json.loads(row[0])) for row in rows]

    def delete(self, tenant_id: str, key: str) -> None:
        """Remove an experiment that never ran (a draft); others stay as the record of what
        users saw."""
        experiment = self.get(tenant_id, key)
        if experiment.status is not Status.DRAFT:
            raise ExperimentConflictError(
                "status", f"only drafts can be deleted; this one is {experiment.status.value}"
            )
        self._run("delete from {p}experiments where tenant_id = ? and key = ?", (tenant_id, key))

    def _row(self, tenant_id: str, key: str) -> Experiment | None:
        rows = self._run(
            "select definition from {p}experiments where tenant_id = ? and key = ?",
            (tenant_id, key),
        )
        return Experiment.from_json(json.loads(rows[0][0])) if rows else None

    @staticmethod
    def _values(experiment: Experiment) -> tuple[str, str, str, str, str, str]:
        return (
            experiment.tenant_id,
            experiment.key,
            experiment.status.value,
            experiment.surface.value,
            json.dumps(experiment.to_json()),
            datetime.now(UTC).isoformat(),
        )

    # Evaluations.
    def record_evaluation(
        self, tenant_id: str, key: str, results: dict[str, Any], at: datetime
    ) -> None:
        """Keep one look's results; a second look at the same instant replaces the first."""
        self.get(tenant_id, key)
        when = at.astimezone(UTC).isoformat()
        self._run(
            "delete from {p}evaluations where tenant_id = ? and key = ? and evaluated_at = ?",
            (tenant_id, key, when),
        )
        self._run(
            "insert into {p}evaluations (tenant_id, key, evaluated_at, results)"
            " values (?, ?, ?, ?)",
            (tenant_id, key, when, json.dumps(results)),
        )

    def evaluations(self, tenant_id: str, key: str) -> list[dict[str, Any]]:
        """Every stored look, oldest first."""
        rows = self._run(
            "select results from {p}evaluations where tenant_id = ? and key = ?"
            " order by evaluated_at",
            (tenant_id, key),
        )
        return [json.loads(row[0]) for row in rows]

    def latest_evaluation(self, tenant_id: str, key: str) -> dict[str, Any] | None:
        rows = self._run(
            "select results from {p}evaluations where tenant_id = ? and key = ?"
            " order by evaluated_at desc limit 1",
            (tenant_id, key),
        )
        return json.loads(rows[0][0]) if rows else None

    # Decisions.
    def record_decision(self, tenant_id: str, key: str, decision: Decision) -> None:
        """Keep the decision; a later one (a stopped experiment decided by hand) replaces it."""
        self._run(
            "insert into {p}decisions (tenant_id, key, decided_at, outcome, winner, evidence)"
            " values (?, ?, ?, ?, ?, ?) on conflict (tenant_id, key) do update set"
            " decided_at = excluded.decided_at, outcome = excluded.outcome,"
            " winner = excluded.winner, evidence = excluded.evidence",
            (
                tenant_id,
                key,
                decision.decided_at.astimezone(UTC).isoformat(),
                decision.outcome,
                decision.winner,
                json.dumps(decision.evidence),
            ),
        )

    def decision(self, tenant_id: str, key: str) -> Decision | None:
        rows = self._run(
            "select outcome, winner, decided_at, evidence from {p}decisions"
            " where tenant_id = ? and key = ?",
            (tenant_id, key),
        )
        if not rows:
            return None
        outcome, winner, decided_at, evidence = rows[0]
        return Decision(outcome, winner, datetime.fromisoformat(decided_at), json.loads(evidence))

    @property
    def location(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


class SqliteExperimentStore(ExperimentStore):
    """The local profile's store: one SQLite file (WAL, so the API reads while the CLI writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            use_wal(con)
            for statement in _TABLES:
                con.execute(self._sql(statement))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30)
        try:
            with con:
                yield con
        finally:
            con.close()

    @property
    def location(self) -> str:
        return str(self.path)


class PostgresExperimentStore(ExperimentStore):
    """The prod store: schema ``experiments`` in PostgreSQL, created on first use."""

    prefix = "experiments."
    placeholder = "%s"

    def __init__(self, dsn: str) -> None:
        from ingest.raw_zone.postgres import ensure_database

        self.dsn = dsn
        ensure_database(dsn)
        with self._connect() as con:
            # Serialise concurrent first uses (several API workers start at once).
            con.execute("select pg_advisory_xact_lock(%s)", (0x1D5E_0E40,))
            con.execute("create schema if not exists experiments")
            for statement in _TABLES:
                con.execute(self._sql(statement))

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(self.dsn, connect_timeout=10) as con:
            yield con

    @property
    def location(self) -> str:
        return self.dsn


def experiments_db_path(settings: Settings) -> Path:
    return settings.data_dir / "experiments.sqlite3"


def open_store(settings: Settings) -> ExperimentStore:
    """The profile's store: SQLite under ``data_dir`` locally, PostgreSQL in prod."""
    if settings.profile is Profile.PROD:
        return PostgresExperimentStore(settings.postgres_dsn)
    return SqliteExperimentStore(experiments_db_path(settings))
