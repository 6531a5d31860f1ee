"""How ``raw.events`` is laid out in PostgreSQL: native daily partitions, or a TimescaleDB
hypertable when the server offers that extension.

The choice is made once, when the table is created, from ``pg_available_extensions``; an
existing table keeps its layout (converting one is an operator's migration, not something a
loader does on start). Both layouts have the same columns and the same unique index
``(tenant_id, event_date, message_id)`` (TimescaleDB requires unique indexes to include the
time column, and ``event_date`` is it), so loading, erasure and dbt do not care which it is.

- **partitioned** (the tested path: TimescaleDB is not installable on the development and CI
  machines): ``partition by range (event_date)``; the loader creates ``raw.events_pYYYYMMDD``
  on demand.
- **hypertable**: a plain table turned into a hypertable chunked by one day of ``event_date``;
  TimescaleDB creates chunks itself, so the loader creates none.

The decision (:func:`choose_layout`) and the DDL (:func:`events_ddl`) are pure functions, unit
tested without TimescaleDB; :func:`detect_layout` reads the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import psycopg

TIMESCALEDB = "timescaledb"


class EventsLayout(StrEnum):
    PARTITIONED = "partitioned"
    HYPERTABLE = "hypertable"


_COLUMNS = """
    message_id   text        not null,
    type         text        not null,
    event        text,
    user_id      text,
    anonymous_id text,
    previous_id  text,
    "timestamp"  timestamptz not null,
    sent_at      timestamptz,
    received_at  timestamptz not null,
    properties   text,
    traits       text,
    context      text,
    log_offset   bigint      not null,
    tenant_id    text        not null,
    event_date   date        not null
"""

_INDEXES = [
    # The same message lands once per tenant and day, whatever wrote it.
    "create unique index if not exists events_tenant_date_message"
    " on raw.events (tenant_id, event_date, message_id)",
    "create index if not exists events_tenant_user on raw.events (tenant_id, user_id)",
    "create index if not exists events_tenant_anonymous on raw.events (tenant_id, anonymous_id)",
]


def choose_layout(available_extensions: Iterable[str]) -> EventsLayout:
    """Hypertable when TimescaleDB is among the server's available extensions, else partitions."""
    names = {name.lower() for name in available_extensions}
    return EventsLayout.HYPERTABLE if TIMESCALEDB in names else EventsLayout.PARTITIONED


def events_ddl(layout: EventsLayout) -> list[str]:
    """The statements that create ``raw.events`` (idempotent: each runs on every open)."""
    if layout is EventsLayout.HYPERTABLE:
        return [
            f"create extension if not exists {TIMESCALEDB}",
            f"create table if not exists raw.events ({_COLUMNS})",
            "select create_hypertable('raw.events', by_range('event_date', interval '1 day'),"
            " if_not_exists => true)",
            *_INDEXES,
        ]
    return [
        f"create table if not exists raw.events ({_COLUMNS}) partition by range (event_date)",
        *_INDEXES,
    ]


def existing_layout(relkind: str | None, is_hypertable: bool) -> EventsLayout | None:
    """The layout of a ``raw.events`` that exists already (None: there is none yet).

    ``relkind`` is ``pg_class.relkind`` (``p``: partitioned table); a plain table counts as a
    hypertable only when TimescaleDB lists it as one."""
    if relkind is None:
        return None
    if relkind == "p":
        return EventsLayout.PARTITIONED
    if is_hypertable:
        return EventsLayout.HYPERTABLE
    raise RuntimeError(
        "raw.events exists but is neither partitioned nor a TimescaleDB hypertable: "
        "migrate it by hand (see ingest/raw_zone/events_layout.py)"
    )


def detect_layout(con: psycopg.Connection[tuple[object, ...]]) -> EventsLayout:
    """The layout of the server's ``raw.events``, or the one to create it with."""
    row = con.execute(
        "select c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'raw' and c.relname = 'events'"
    ).fetchone()
    relkind = str(row[0]) if row else None
    is_hypertable = False
    if relkind is not None and relkind != "p":
        catalog = con.execute(
            "select 1 from pg_namespace where nspname = 'timescaledb_catalog'"
        ).fetchone()
        if catalog:
            is_hypertable = (
                con.execute(
                    "select 1 from timescaledb_catalog.hypertable"
                    " where schema_name = 'raw' and table_name = 'events'"
                ).fetchone()
                is not None
            )
    existing = existing_layout(relkind, is_hypertable)
    if existing is not None:
        return existing
    names = con.execute("select name from pg_available_extensions").fetchall()
    return choose_layout(str(name) for (name,) in names)
