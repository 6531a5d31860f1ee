"""What a merchant saves in the dashboards: custom report schedules, segment definitions and who
gets the standard reports by email; and a record of every report email sent.

One SQLite file under ``data_dir`` (``merchant.sqlite3``), every row keyed by tenant: a reader
always passes the tenant, so one shop never sees another's definitions. The automation worker
reads saved segments through :meth:`MerchantStore.segment` and
:func:`intellishop.reports.segments.segment_members`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intellishop.settings import Settings

from .data import CADENCES, SECTIONS, Cadence

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
#: A plain ``local@domain`` address: no display name, no spaces, commas or line breaks (they
#: would let a saved address add headers or recipients).
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
#: Recipients of one report at most (a mailing list is the answer to more).
MAX_RECIPIENTS = 20

_SCHEMA = """
create table if not exists report_schedules (
    tenant_id  text not null,
    name       text not null,
    spec       text not null,
    updated_at text not null,
    primary key (tenant_id, name)
);
create table if not exists report_emails (
    tenant_id  text not null,
    cadence    text not null,
    recipients text not null,
    updated_at text not null,
    primary key (tenant_id, cadence)
);
create table if not exists report_deliveries (
    tenant_id  text not null,
    report     text not null,
    recipients text not null,
    ok         integer not null,
    error      text not null,
    sent_at    text not null
);
create index if not exists report_deliveries_by_tenant on report_deliveries (tenant_id, sent_at);
create table if not exists saved_segments (
    tenant_id  text not null,
    name       text not null,
    spec       text not null,
    updated_at text not null,
    primary key (tenant_id, name)
);
"""


class MerchantStoreError(ValueError):
    """A definition that cannot be saved (bad name, unknown section or cadence)."""


def check_name(name: str) -> str:
    """Names become parts of file names: letters, digits, space, ``_.-``, at most 64."""
    name = name.strip()
    if not _NAME.match(name):
        raise MerchantStoreError(
            f"name {name[:70]!r}: use 1-64 letters, digits, spaces, '_', '.' or '-'"
        )
    return name


def check_recipients(addresses: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Plain addresses, lower-cased, without duplicates, at most :data:`MAX_RECIPIENTS`."""
    seen: dict[str, None] = {}
    for address in addresses:
        address = address.strip().lower()
        if len(address) > 254 or not _ADDRESS.match(address):
            raise MerchantStoreError(f"not an email address: {address[:80]!r}")
        seen[address] = None
    if len(seen) > MAX_RECIPIENTS:
        raise MerchantStoreError(f"at most {MAX_RECIPIENTS} recipients per report")
    return tuple(seen)


def parse_recipients(text: str) -> tuple[str, ...]:
    """Addresses typed comma, semicolon or line separated, checked (see ``check_recipients``)."""
    return check_recipients([a for a in re.split(r"[,;\s]+", text) if a])


@dataclass(frozen=True)
class ReportDelivery:
    """One report email: which report (file name without suffix), to whom, and how it went."""

    report: str
    recipients: tuple[str, ...]
    ok: bool
    error: str
    sent_at: str


@dataclass(frozen=True)
class ReportSchedule:
    """A custom report: which sections, how often, who gets it by email (optional)."""

    name: str
    cadence: Cadence
    sections: tuple[str, ...] = SECTIONS
    email_to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.cadence not in CADENCES:
            raise MerchantStoreError(f"cadence must be one of {', '.join(CADENCES)}")
        unknown = set(self.sections) - set(SECTIONS)
        if unknown or not self.sections:
            raise MerchantStoreError(f"sections must be some of {', '.join(SECTIONS)}")
        object.__setattr__(self, "email_to", check_recipients(self.email_to))


@dataclass(frozen=True)
class SegmentDefinition:
    """A saved segment: customers matching every condition that is set (None: no condition).

    Conditions read the published ``customers`` mart and, for churn and value, the ML model's
    ``customer_scores``.
    """

    name: str
    rfm_segments: tuple[str, ...] = ()
    min_orders: int | None = None
    min_net_revenue: float | None = None
    max_recency_days: int | None = None
    min_churn_probability: float | None = None
    min_clv_12m: float | None = None
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self.name)


class MerchantStore:
    """Report schedules and saved segments of every tenant, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @classmethod
    def for_settings(cls, settings: Settings) -> MerchantStore:
        return cls(settings.data_dir / "merchant.sqlite3")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10)
        try:
            with con:
                yield con
        finally:
            con.close()

    def _put(self, table: str, tenant_id: str, name: str, spec: dict[str, object]) -> None:
        # ``table`` is one of this module's two literals, never user input.
        assert table in ("report_schedules", "saved_segments")
        with self._connect() as con:
            con.execute(
                f"insert into {table} (tenant_id, name, spec, updated_at) values (?, ?, ?, ?)"
                " on conflict (tenant_id, name) do update set spec = excluded.spec,"
                " updated_at = excluded.updated_at",
                (tenant_id, name, json.dumps(spec), datetime.now(UTC).isoformat()),
            )

    def _all(self, table: str, tenant_id: str) -> list[dict[str, Any]]:
        assert table in ("report_schedules", "saved_segments")
        with self._connect() as con:
            rows = con.execute(
                f"select spec from {table} where tenant_id = ? order by name",
                (tenant_id,),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def _delete(self, table: str, tenant_id: str, name: str) -> bool:
        assert table in ("report_schedules", "saved_segments")
        with self._connect() as con:
            done = con.execute(
                f"delete from {table} where tenant_id = ? and name = ?",
                (tenant_id, name),
            )
        return done.rowcount > 0

    def save_schedule(self, tenant_id: str, schedule: ReportSchedule) -> ReportSchedule:
        self._put("report_schedules", tenant_id, schedule.name, asdict(schedule))
        return schedule

    def schedules(self, tenant_id: str) -> list[ReportSchedule]:
        return [
            ReportSchedule(
                name=str(spec["name"]),
                cadence=spec["cadence"],
                sections=tuple(spec["sections"]),
                # Saved before addresses were checked: what is not an address is dropped.
                email_to=tuple(
                    a for a in spec.get("email_to") or () if _ADDRESS.match(a.strip().lower())
                ),
            )
            for spec in self._all("report_schedules", tenant_id)
        ]

    def delete_schedule(self, tenant_id: str, name: str) -> bool:
        return self._delete("report_schedules", tenant_id, name)

    def set_report_recipients(
        self, tenant_id: str, cadence: Cadence, recipients: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Email the tenant's standard ``cadence`` report to ``recipients``; none opts out."""
        if cadence not in CADENCES:
            raise MerchantStoreError(f"cadence must be one of {', '.join(CADENCES)}")
        checked = check_recipients(recipients)
        with self._connect() as con:
            if not checked:
                con.execute(
                    "delete from report_emails where tenant_id = ? and cadence = ?",
                    (tenant_id, cadence),
                )
            else:
                con.execute(
                    "insert into report_emails (tenant_id, cadence, recipients, updated_at)"
                    " values (?, ?, ?, ?) on conflict (tenant_id, cadence) do update set"
                    " recipients = excluded.recipients, updated_at = excluded.updated_at",
                    (tenant_id, cadence, json.dumps(checked), datetime.now(UTC).isoformat()),
                )
        return checked

    def report_recipients(self, tenant_id: str) -> dict[Cadence, tuple[str, ...]]:
        """Who gets the tenant's standard reports, by cadence (cadences nobody gets: absent)."""
        with self._connect() as con:
            rows = con.execute(
                "select cadence, recipients from report_emails where tenant_id = ?",
                (tenant_id,),
            ).fetchall()
        return {row[0]: tuple(json.loads(row[1])) for row in rows if row[0] in CADENCES}

    def record_delivery(
        self, tenant_id: str, report: str, recipients: tuple[str, ...], ok: bool, error: str = ""
    ) -> None:
        """Keep what came of one report email (the Reports page lists them)."""
        with self._connect() as con:
            con.execute(
                "insert into report_deliveries (tenant_id, report, recipients, ok, error, sent_at)"
                " values (?, ?, ?, ?, ?, ?)",
                (
                    tenant_id,
                    report,
                    json.dumps(recipients),
                    int(ok),
                    error[:500],
                    datetime.now(UTC).isoformat(),
                ),
            )

    def deliveries(self, tenant_id: str, limit: int = 20) -> list[ReportDelivery]:
        """The tenant's latest report emails, newest first."""
        with self._connect() as con:
            rows = con.execute(
                "select report, recipients, ok, error, sent_at from report_deliveries"
                " where tenant_id = ? order by sent_at desc, rowid desc limit ?",
                (tenant_id, limit),
            ).fetchall()
        return [
            ReportDelivery(row[0], tuple(json.loads(row[1])), bool(row[2]), row[3], row[4])
            for row in rows
        ]

    def save_segment(self, tenant_id: str, segment: SegmentDefinition) -> SegmentDefinition:
        self._put("saved_segments", tenant_id, segment.name, asdict(segment))
        return segment

    def segments(self, tenant_id: str) -> list[SegmentDefinition]:
        return [_segment(spec) for spec in self._all("saved_segments", tenant_id)]

    def segment(self, tenant_id: str, name: str) -> SegmentDefinition | None:
        """The tenant's saved segment called ``name`` (what an automation rule targets)."""
        return next((s for s in self.segments(tenant_id) if s.name == name), None)

    def delete_segment(self, tenant_id: str, name: str) -> bool:
        return self._delete("saved_segments", tenant_id, name)


def _segment(spec: dict[str, Any]) -> SegmentDefinition:
    values = dict(spec)
    values["rfm_segments"] = tuple(values.get("rfm_segments") or ())
    return SegmentDefinition(**values)
