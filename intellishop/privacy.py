"""Who a data-subject request (GDPR erasure or access) is about, across every store.

A person is known to a shop by a user id, by the anonymous ids of their devices and by the
email in their traits. The request is resolved once into the full set of ids (the identities
linked by ``identify`` and ``alias`` calls) and every store then erases or exports by those ids.

Stores, in the order an erasure visits them (local profile):

1. the event log (entries rewritten in place, same ids, so consumers' offsets stay valid);
2. the raw zone (Parquet files rewritten atomically);
3. the warehouse (DuckDB: rows deleted now when no pipeline holds the file, else *pending*: the
   next pipeline run rebuilds it from the erased raw zone, and ``apply_pending_erasures``
   deletes the rows as soon as the file is free);
4. the serving store (the tenant's current artifact version republished without the person).

The event log and raw zone are erased while holding the loader's lock, so the loader cannot move
the person's pending events into the raw zone half-way through.

Every request leaves one record in an append-only audit log (JSON lines, fsynced). The audit
names the person only by keyed hashes of their ids (HMAC-SHA256 with a key kept beside the log):
the record proves what was done without keeping the personal data an erasure removes.

This module sits in ``intellishop/`` because the CLI and the collector's admin API both call it;
it imports the backends (``ingest``) inside functions only, since those import ``Person`` from
here.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pyarrow as pa

from intellishop.settings import Profile, Settings

if TYPE_CHECKING:
    import duckdb

    from ingest.event_log import EventLog, LogEntry

#: Columns whose values are a person's id in the warehouse and the serving store.
ID_COLUMNS = (
    "user_id",
    "person_id",
    "previous_actor_id",
    "anonymous_id",
    "actor_id",
    "resolved_user_id",
    "previous_id",
    "customer_id",
)
#: Warehouse models exported for a right-of-access request, when the warehouse is readable.
EXPORTED_MODELS = ("int_sessions", "int_orders")
#: How long an erasure waits for a running pipeline to release the warehouse file.
WAREHOUSE_WAIT_SECONDS = 2.0
#: How long a request waits for the loader to finish its drain (``ingest.loader``'s lock).
LOADER_WAIT_SECONDS = 30.0


class LoaderBusyError(Exception):
    """The loader kept its lock longer than a request can wait (a ``follow`` loader runs)."""


@contextmanager
def loader_paused(settings: Settings, wait_seconds: float = LOADER_WAIT_SECONDS) -> Iterator[None]:
    """Hold the loader's lock (the same ``loader.lock`` flock as ``ingest.loader``).

    While held, nothing moves from the event log to the raw zone, so a person's events cannot
    slip past an erasure or an export in transit. A drain finishes within seconds; a loader that
    follows the log holds the lock for good, so waiting is bounded and then fails clearly.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    with open(settings.data_dir / "loader.lock", "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LoaderBusyError(
                        f"the loader held {settings.data_dir / 'loader.lock'} for more than "
                        f"{wait_seconds:.0f} s: stop a continuously running loader and retry"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class Person:
    """The ids of one person within one tenant; a store matches an event by any of them."""

    tenant_id: str
    user_ids: frozenset[str] = frozenset()
    anonymous_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.user_ids and not self.anonymous_ids:
            raise ValueError("a person needs at least one user id or anonymous id")

    @property
    def ids(self) -> frozenset[str]:
        """Every id of the person, whatever its kind (an alias's previous id may be either)."""
        return self.user_ids | self.anonymous_ids

    def matches(
        self, user_id: str | None, anonymous_id: str | None, previous_id: str | None = None
    ) -> bool:
        """Whether an event with these ids is the person's (the tenant is checked by the caller)."""
        return (
            (user_id is not None and user_id in self.user_ids)
            or (anonymous_id is not None and anonymous_id in self.anonymous_ids)
            or (previous_id is not None and previous_id in self.ids)
        )


class SubjectKind(StrEnum):
    USER_ID = "user_id"
    ANONYMOUS_ID = "anonymous_id"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class SubjectRequest:
    """What the data subject (or the shop on their behalf) identified themselves by."""

    tenant_id: str
    kind: SubjectKind
    value: str

    def __post_init__(self) -> None:
        from intellishop.tenants import TENANT_ID_PATTERN

        if not TENANT_ID_PATTERN.match(self.tenant_id):
            raise ValueError(f"not a tenant id: {self.tenant_id!r}")
        if not self.value.strip():
            raise ValueError(f"the {self.kind.value} of a request cannot be empty")


def normalize_email(email: str) -> str:
    """Emails are compared trimmed and case-insensitively (what shops treat as the same)."""
    return email.strip().lower()


# --- resolution: the identity graph's connected component ------------------------------------

#: One row that may link identities: user_id, anonymous_id, previous_id, traits (JSON text).
IdentityRow = tuple[str | None, str | None, str | None, str | None]
_Node = tuple[str, str]  # ("u", user id) | ("a", anonymous id) | ("e", normalized email)


def _email_of(traits: str | None) -> str | None:
    if not traits or "email" not in traits.lower():
        return None
    try:
        parsed = json.loads(traits)
    except ValueError:
        return None
    email = parsed.get("email") if isinstance(parsed, dict) else None
    return normalize_email(email) if isinstance(email, str) and email.strip() else None


def resolve_identities(request: SubjectRequest, rows: Iterable[IdentityRow]) -> Person | None:
    """The person a request is about: every id connected to it through ``rows``.

    Links: an event carrying both a user id and an anonymous id (identify after login, and
    everything after it on that device); an alias call (its previous id, which may have been a
    user id or an anonymous id, is taken as both); an email in traits links the id that carried
    it to every other id with the same email. The walk runs to a fixed point, so a device that
    identified as a user pulls in that user's other devices too. A shared device therefore
    merges its users into one person: the export lists the ids before anyone erases.
    Returns ``None`` for an email nobody in ``rows`` carries.
    """
    graph: dict[_Node, set[_Node]] = {}

    def link(a: _Node, b: _Node) -> None:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set()).add(a)

    for user_id, anonymous_id, previous_id, traits in rows:
        owner: _Node | None = (
            ("u", user_id) if user_id else ("a", anonymous_id) if anonymous_id else None
        )
        if owner is None:
            continue
        if user_id and anonymous_id:
            link(("u", user_id), ("a", anonymous_id))
        if previous_id:
            link(owner, ("u", previous_id))
            link(owner, ("a", previous_id))
        email = _email_of(traits)
        if email:
            link(owner, ("e", email))

    seed: _Node = {
        SubjectKind.USER_ID: ("u", request.value),
        SubjectKind.ANONYMOUS_ID: ("a", request.value),
        SubjectKind.EMAIL: ("e", normalize_email(request.value)),
    }[request.kind]
    if request.kind is SubjectKind.EMAIL and seed not in graph:
        return None
    component = {seed}
    frontier = [seed]
    while frontier:
        node = frontier.pop()
        for neighbour in graph.get(node, ()):
            if neighbour not in component:
                component.add(neighbour)
                frontier.append(neighbour)
    return Person(
        tenant_id=request.tenant_id,
        user_ids=frozenset(value for kind, value in component if kind == "u"),
        anonymous_ids=frozenset(value for kind, value in component if kind == "a"),
    )


@runtime_checkable
class IdentityRowSource(Protocol):
    """A raw zone that can list a tenant's identity-linking rows (needed to search by email)."""

    def identity_rows(self, tenant_id: str) -> pa.Table: ...


def _pending_entries(log: EventLog) -> Iterator[LogEntry]:
    """Event-log entries the loader has not moved yet (read without committing anything).

    Only the SQLite log can be read this way without side effects (its reads are plain
    selects). Reading a Redis stream through the loader's consumer group would claim entries
    for this process, so in prod only the raw zone is consulted and the loader, which follows
    the stream, is relied on to keep the pending tail short; ``erase`` still covers the stream.
    """
    from ingest.event_log import SqliteEventLog
    from ingest.loader import LOADER_CONSUMER

    if not isinstance(log, SqliteEventLog):
        return
    lag = log.lag(LOADER_CONSUMER)
    if lag:
        yield from log.read(LOADER_CONSUMER, lag)


def _pending_identity_rows(log: EventLog, tenant_id: str) -> Iterator[IdentityRow]:
    for entry in _pending_entries(log):
        if entry.batch.tenant_id != tenant_id:
            continue
        for event in entry.batch.events:
            yield event.user_id, event.anonymous_id, event.previous_id, event.traits.decode()


def resolve_person(settings: Settings, request: SubjectRequest) -> Person | None:
    """Resolve a request against the tenant's raw zone and pending event-log entries.

    Call it with the loader's lock held (as :func:`erase_subject` does) so nothing moves from
    the log to the raw zone in between.
    """
    from ingest.event_log import open_event_log
    from ingest.raw_zone import open_raw_zone

    zone = open_raw_zone(settings)
    log = open_event_log(settings)
    try:
        pending = list(_pending_identity_rows(log, request.tenant_id))
    finally:
        log.close()
    if isinstance(zone, IdentityRowSource):
        table = zone.identity_rows(request.tenant_id)
        stored: list[IdentityRow] = list(
            zip(
                table["user_id"].to_pylist(),
                table["anonymous_id"].to_pylist(),
                table["previous_id"].to_pylist(),
                table["traits"].to_pylist(),
                strict=True,
            )
        )
        return resolve_identities(request, [*stored, *pending])
    if request.kind is SubjectKind.EMAIL:
        found = resolve_identities(request, pending)
        if found is None:
            raise NotImplementedError("this raw zone cannot be searched by email")
    # Without a scan: grow the person from its own events until no new id turns up.
    person = resolve_identities(request, pending)
    while person is not None:
        events = zone.export(person)
        rows = list(
            zip(
                events["user_id"].to_pylist(),
                events["anonymous_id"].to_pylist(),
                events["previous_id"].to_pylist(),
                events["traits"].to_pylist(),
                strict=True,
            )
        )
        grown = resolve_identities(request, [*rows, *pending])
        if grown == person:
            break
        person = grown
    return person


# --- the audit log ---------------------------------------------------------------------------


class PrivacyAuditLog:
    """Append-only JSON lines of every erasure and access request, fsynced per record.

    Ids are stored as keyed hashes (HMAC-SHA256, key in ``audit.key`` beside the log, created
    once with mode 0600): whoever holds the key can check whether a given id was erased; the
    log alone reveals no id, even to a dictionary of likely emails.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "privacy_audit.jsonl"
        self._key_path = directory / "audit.key"

    def _key(self) -> bytes:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self._key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._key_path.read_bytes()
        key = secrets.token_bytes(32)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        return key

    def digest(self, value: str) -> str:
        """The keyed hash an id (or a normalized email) is recorded as."""
        return hmac.new(self._key(), value.encode(), hashlib.sha256).hexdigest()

    def append(self, record: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


def audit_log(settings: Settings) -> PrivacyAuditLog:
    return PrivacyAuditLog(settings.data_dir / "audit")


def _audit_record(
    audit: PrivacyAuditLog,
    *,
    action: str,
    request_id: str,
    tenant_id: str,
    requested_by: str,
    requested_at: datetime,
    subject: SubjectRequest | None,
    person: Person | None,
    **details: Any,
) -> dict[str, Any]:
    subject_value = (
        normalize_email(subject.value)
        if subject is not None and subject.kind is SubjectKind.EMAIL
        else subject.value
        if subject is not None
        else None
    )
    return {
        "request_id": request_id,
        "action": action,
        "tenant_id": tenant_id,
        "requested_by": requested_by,
        "requested_at": requested_at.isoformat(),
        "completed_at": datetime.now(UTC).isoformat(),
        "subject": None
        if subject is None or subject_value is None
        else {"kind": subject.kind.value, "digest": audit.digest(subject_value)},
        "found": person is not None,
        "user_id_digests": sorted(audit.digest(i) for i in person.user_ids) if person else [],
        "anonymous_id_digests": sorted(audit.digest(i) for i in person.anonymous_ids)
        if person
        else [],
        **details,
    }


def default_requester() -> str:
    """Who runs a CLI request: the operating-system user (recorded in the audit)."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli:unknown"


# --- the warehouse and the serving store -----------------------------------------------------


class WarehouseBusyError(Exception):
    """The warehouse file is held by another process (a pipeline run)."""


def _open_warehouse(settings: Settings, *, read_only: bool, wait_seconds: float) -> Any:
    import duckdb

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(settings.warehouse_path), read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(str(exc)) from exc
            time.sleep(0.1)


def _id_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Base tables with a tenant_id and at least one id column -> their id columns."""
    rows = con.execute(
        "select c.table_name, c.column_name from information_schema.columns c"
        " join information_schema.tables t"
        "   on t.table_schema = c.table_schema and t.table_name = c.table_name"
        " where t.table_type = 'BASE TABLE' and c.table_schema = current_schema()"
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return {
        table: sorted(set(ID_COLUMNS) & names)
        for table, names in columns.items()
        if "tenant_id" in names and set(ID_COLUMNS) & names
    }


def _person_predicate(person: Person, columns: list[str]) -> tuple[str, list[str]]:
    """``tenant_id = ? and (col in (...) or ...)`` with every value bound, never inlined."""
    ids = sorted(person.ids)
    marks = ", ".join("?" * len(ids))
    clause = " or ".join(f'"{column}" in ({marks})' for column in columns)
    return f"tenant_id = ? and ({clause})", [person.tenant_id, *ids * len(columns)]


def erase_from_warehouse(
    settings: Settings, person: Person, *, wait_seconds: float = WAREHOUSE_WAIT_SECONDS
) -> dict[str, int]:
    """Delete the person's rows from every warehouse table with id columns, in one transaction.

    Table and column names come from the warehouse's own catalog (quoted), the ids are bound.
    Views need nothing: they read these tables or the (already erased) raw zone. Raises
    :class:`WarehouseBusyError` when a pipeline holds the file beyond ``wait_seconds``.
    """
    if not settings.warehouse_path.exists():
        return {}
    con = _open_warehouse(settings, read_only=False, wait_seconds=wait_seconds)
    deleted: dict[str, int] = {}
    try:
        con.execute("begin transaction")
        for table, columns in _id_tables(con).items():
            where, params = _person_predicate(person, columns)
            (count,) = con.execute(
                f'select count(*) from "{table}" where {where}', params
            ).fetchone()
            if count:
                con.execute(f'delete from "{table}" where {where}', params)
                deleted[table] = int(count)
        con.execute("commit")
    finally:
        con.close()
    return deleted


def _matching_rows(table: pa.Table, person: Person) -> pa.ChunkedArray | None:
    import pyarrow.compute as pc

    columns = [c for c in ID_COLUMNS if c in table.column_names]
    if not columns:
        return None
    ids = pa.array(sorted(person.ids), pa.string())
    mask = pc.is_in(table[columns[0]].cast(pa.string()), value_set=ids)
    for column in columns[1:]:
        mask = pc.or_(mask, pc.is_in(table[column].cast(pa.string()), value_set=ids))
    return pc.fill_null(mask, False)


def erase_from_serving(settings: Settings, person: Person, request_id: str) -> dict[str, Any]:
    """Republish the tenant's current artifacts without the person's rows (if it had any)."""
    import pyarrow.compute as pc

    from intellishop.artifacts import LocalArtifactStore

    store = LocalArtifactStore(settings.artifacts_dir, refresh_seconds=0)
    current = store.current(person.tenant_id)
    if current is None:
        return {"version": None, "rows": {}}
    tables: dict[str, pa.Table] = {}
    removed: dict[str, int] = {}
    for name, table in current.tables.items():
        mask = _matching_rows(table, person)
        hits = 0 if mask is None else int(pc.sum(mask).as_py() or 0)
        if mask is not None and hits:
            table = table.filter(pc.invert(mask))
            removed[name] = hits
        tables[name] = table
    if not removed:
        return {"version": current.version, "rows": {}}
    version = store.publish(
        person.tenant_id,
        tables,
        metadata={
            **current.metadata,
            "republished_from": current.version,
            "erasure_request_id": request_id,
        },
    )
    return {"version": version, "rows": removed}


# --- erasure ---------------------------------------------------------------------------------


@dataclass
class ErasureReport:
    """What one erasure did, per store. Returned to the caller; the audit keeps hashes only."""

    request_id: str
    tenant_id: str
    found: bool
    user_ids: list[str] = field(default_factory=list)
    anonymous_ids: list[str] = field(default_factory=list)
    event_log: int = 0
    raw_zone: int = 0
    warehouse: dict[str, int] = field(default_factory=dict)
    #: "erased", "pending" (a pipeline held the file), "absent" (no warehouse yet) or "skipped".
    warehouse_status: str = "absent"
    serving: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "tenant_id": self.tenant_id,
            "found": self.found,
            "user_ids": self.user_ids,
            "anonymous_ids": self.anonymous_ids,
            "removed": {
                "event_log": self.event_log,
                "raw_zone": self.raw_zone,
                "warehouse": self.warehouse,
                "serving": self.serving.get("rows", {}),
            },
            "warehouse_status": self.warehouse_status,
            "serving_version": self.serving.get("version"),
        }


def _pending_dir(settings: Settings) -> Path:
    return settings.data_dir / "audit" / "pending"


def _save_pending(settings: Settings, request_id: str, person: Person) -> None:
    """Keep the ids of an unfinished warehouse erasure until it is applied, then delete them."""
    directory = _pending_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{request_id}.tmp"
    tmp.write_text(
        json.dumps(
            {
                "request_id": request_id,
                "tenant_id": person.tenant_id,
                "user_ids": sorted(person.user_ids),
                "anonymous_ids": sorted(person.anonymous_ids),
            }
        )
    )
    os.chmod(tmp, 0o600)
    os.replace(tmp, directory / f"{request_id}.json")


def _recent_dir(settings: Settings) -> Path:
    return settings.data_dir / "audit" / "recent"


def record_recent_erasure(settings: Settings, request_id: str, person: Person) -> None:
    """Remember an erased person's ids until a pipeline run that started later has published.

    A run already past reading the warehouse when the erasure happened holds frames with the
    person in them; its publish step removes them with these ids (``strip_recent_erasures``).
    Kept like the pending files: ids only, mode 0600, deleted once no run can need them.
    """
    directory = _recent_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{request_id}.tmp"
    tmp.write_text(
        json.dumps(
            {
                "request_id": request_id,
                "erased_at": time.time(),
                "tenant_id": person.tenant_id,
                "user_ids": sorted(person.user_ids),
                "anonymous_ids": sorted(person.anonymous_ids),
            }
        )
    )
    os.chmod(tmp, 0o600)
    os.replace(tmp, directory / f"{request_id}.json")


def strip_recent_erasures(
    settings: Settings, tenant_id: str, tables: dict[str, pa.Table]
) -> dict[str, pa.Table]:
    """``tables`` without the rows of anyone erased recently from ``tenant_id``."""
    import pyarrow.compute as pc

    directory = _recent_dir(settings)
    if not directory.exists():
        return tables
    for path in sorted(directory.glob("*.json")):
        record = json.loads(path.read_text())
        if record["tenant_id"] != tenant_id:
            continue
        person = Person(
            tenant_id=tenant_id,
            user_ids=frozenset(record["user_ids"]),
            anonymous_ids=frozenset(record["anonymous_ids"]),
        )
        for name, table in tables.items():
            mask = _matching_rows(table, person)
            if mask is not None:
                tables[name] = table.filter(pc.invert(mask))
    return tables


def forget_recent_erasures(settings: Settings, *, before: float) -> int:
    """Delete the records of erasures done before ``before`` (epoch seconds); returns how many.

    A run that started after an erasure read a warehouse without the person, so once such a
    run has published, the ids are no longer needed.
    """
    directory = _recent_dir(settings)
    if not directory.exists():
        return 0
    forgotten = 0
    for path in sorted(directory.glob("*.json")):
        if json.loads(path.read_text())["erased_at"] < before:
            path.unlink(missing_ok=True)
            forgotten += 1
    return forgotten


def _erase_downstream(
    settings: Settings, person: Person, request_id: str, report: ErasureReport, wait: float
) -> None:
    record_recent_erasure(settings, request_id, person)
    if settings.profile is not Profile.LOCAL:
        report.warehouse_status = "skipped"
        return
    try:
        report.warehouse = erase_from_warehouse(settings, person, wait_seconds=wait)
        report.warehouse_status = "erased" if settings.warehouse_path.exists() else "absent"
    except WarehouseBusyError:
        report.warehouse_status = "pending"
        _save_pending(settings, request_id, person)
    report.serving = erase_from_serving(settings, person, request_id)


def erase_subject(
    settings: Settings,
    request: SubjectRequest,
    *,
    requested_by: str,
    warehouse_wait_seconds: float = WAREHOUSE_WAIT_SECONDS,
    lock_wait_seconds: float = LOADER_WAIT_SECONDS,
) -> ErasureReport:
    """Erase everything held about the person of ``request``, in every store; audit it.

    Idempotent: a second request finds nothing (or only what arrived since) and is recorded too.
    """
    from ingest.event_log import open_event_log
    from ingest.raw_zone import open_raw_zone

    requested_at = datetime.now(UTC)
    request_id = uuid.uuid4().hex
    apply_pending_erasures(settings, wait_seconds=0)
    report = ErasureReport(request_id=request_id, tenant_id=request.tenant_id, found=False)
    with loader_paused(settings, lock_wait_seconds):
        person = resolve_person(settings, request)
        if person is not None:
            log = open_event_log(settings)
            try:
                report.event_log = log.erase(person)
            finally:
                log.close()
            report.raw_zone = open_raw_zone(settings).erase(person)
    if person is not None:
        report.found = True
        report.user_ids = sorted(person.user_ids)
        report.anonymous_ids = sorted(person.anonymous_ids)
        _erase_downstream(settings, person, request_id, report, warehouse_wait_seconds)
    audit = audit_log(settings)
    audit.append(
        _audit_record(
            audit,
            action="erase",
            request_id=request_id,
            tenant_id=request.tenant_id,
            requested_by=requested_by,
            requested_at=requested_at,
            subject=request,
            person=person,
            removed=report.to_dict()["removed"],
            warehouse_status=report.warehouse_status,
            serving_version=report.serving.get("version"),
        )
    )
    return report


def apply_pending_erasures(
    settings: Settings, *, wait_seconds: float = WAREHOUSE_WAIT_SECONDS
) -> list[str]:
    """Finish warehouse erasures that found the file busy; returns the request ids finished.

    The serving store is republished again too: a pipeline run that was in flight during the
    erasure may have published rows it had built before the raw zone was erased.
    """
    directory = _pending_dir(settings)
    finished: list[str] = []
    if not directory.exists():
        return finished
    audit = audit_log(settings)
    for path in sorted(directory.glob("*.json")):
        pending = json.loads(path.read_text())
        person = Person(
            tenant_id=pending["tenant_id"],
            user_ids=frozenset(pending["user_ids"]),
            anonymous_ids=frozenset(pending["anonymous_ids"]),
        )
        try:
            deleted = erase_from_warehouse(settings, person, wait_seconds=wait_seconds)
        except WarehouseBusyError:
            continue
        serving = erase_from_serving(settings, person, pending["request_id"])
        audit.append(
            _audit_record(
                audit,
                action="erase-completed",
                request_id=pending["request_id"],
                tenant_id=person.tenant_id,
                requested_by="pending-erasure",
                requested_at=datetime.now(UTC),
                subject=None,
                person=person,
                removed={"warehouse": deleted, "serving": serving["rows"]},
                warehouse_status="erased",
                serving_version=serving["version"],
            )
        )
        path.unlink()
        finished.append(pending["request_id"])
    return finished


# --- right of access -------------------------------------------------------------------------


def _json_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for key in ("properties", "traits", "context"):
            if isinstance(row.get(key), str):
                with contextlib.suppress(ValueError):
                    row[key] = json.loads(row[key])
    return rows


def _warehouse_rows(settings: Settings, person: Person) -> dict[str, Any]:
    if settings.profile is not Profile.LOCAL:
        return {"status": "skipped"}
    if not settings.warehouse_path.exists():
        return {"status": "absent"}
    try:
        con = _open_warehouse(settings, read_only=True, wait_seconds=WAREHOUSE_WAIT_SECONDS)
    except WarehouseBusyError:
        return {"status": "busy: a pipeline run holds the warehouse; ask again after it"}
    try:
        tables = _id_tables(con)
        exported: dict[str, Any] = {"status": "read"}
        for model in EXPORTED_MODELS:
            if model not in tables:
                continue
            where, params = _person_predicate(person, tables[model])
            relation = con.sql(f'select * from "{model}" where {where}', params=params)
            exported[model] = _json_rows(relation.to_arrow_table())
        return exported
    finally:
        con.close()


def _serving_rows(settings: Settings, person: Person) -> dict[str, Any]:
    if settings.profile is not Profile.LOCAL:
        return {}
    from intellishop.artifacts import LocalArtifactStore

    current = LocalArtifactStore(settings.artifacts_dir, refresh_seconds=0).current(
        person.tenant_id
    )
    if current is None:
        return {}
    found: dict[str, Any] = {"version": current.version}
    for name, table in current.tables.items():
        mask = _matching_rows(table, person)
        if mask is not None:
            found[name] = _json_rows(table.filter(mask))
    return found


def export_subject(
    settings: Settings,
    request: SubjectRequest,
    *,
    requested_by: str,
    lock_wait_seconds: float = LOADER_WAIT_SECONDS,
) -> dict[str, Any]:
    """Everything held about the person of ``request``, as one JSON-ready document; audited.

    Events come from the raw zone and the event log's pending entries (``source`` says which);
    the warehouse's sessions and orders when no pipeline holds the file; the person's rows in
    the serving store's current version (recommendations).
    """
    from ingest.event_log import LogEntry, open_event_log
    from ingest.loader import entries_to_table
    from ingest.raw_zone import open_raw_zone
    from intellishop.events import LoggedBatch

    requested_at = datetime.now(UTC)
    request_id = uuid.uuid4().hex
    events: list[dict[str, Any]] = []
    with loader_paused(settings, lock_wait_seconds):
        person = resolve_person(settings, request)
        if person is not None:
            for row in _json_rows(open_raw_zone(settings).export(person)):
                events.append({"source": "raw_zone", **row})
            log = open_event_log(settings)
            try:
                mine: list[LogEntry] = []
                for entry in _pending_entries(log):
                    if entry.batch.tenant_id != person.tenant_id:
                        continue
                    kept = [
                        e
                        for e in entry.batch.events
                        if person.matches(e.user_id, e.anonymous_id, e.previous_id)
                    ]
                    if kept:
                        mine.append(LogEntry(entry.entry_id, LoggedBatch(person.tenant_id, kept)))
            finally:
                log.close()
            if mine:
                pending = entries_to_table(mine).drop_columns(["tenant_id", "event_date"])
                events.extend({"source": "event_log", **row} for row in _json_rows(pending))
    document: dict[str, Any] = {
        "request_id": request_id,
        "tenant_id": request.tenant_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "found": person is not None,
        "user_ids": sorted(person.user_ids) if person else [],
        "anonymous_ids": sorted(person.anonymous_ids) if person else [],
        "events": events,
        "warehouse": _warehouse_rows(settings, person) if person else {},
        "serving": _serving_rows(settings, person) if person else {},
    }
    audit = audit_log(settings)
    audit.append(
        _audit_record(
            audit,
            action="export",
            request_id=request_id,
            tenant_id=request.tenant_id,
            requested_by=requested_by,
            requested_at=requested_at,
            subject=request,
            person=person,
            exported={
                "events": len(events),
                "warehouse": {
                    k: len(v) for k, v in document["warehouse"].items() if isinstance(v, list)
                },
                "serving": {
                    k: len(v) for k, v in document["serving"].items() if isinstance(v, list)
                },
            },
        )
    )
    return document
