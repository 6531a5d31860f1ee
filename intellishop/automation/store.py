"""The durable state of automation: rules, scheduled actions, the outbox, tracking, profiles.

Local profile: ``<data_dir>/automation.sqlite3``; prod: schema ``automation`` in PostgreSQL at
``settings.postgres_dsn``. Times are UTC microseconds since the epoch (integers, portable).

Exactly once rests on two unique keys:

- ``scheduled_actions.idem_key`` = ``<rule id>:<trigger message id>``: reading the same event
  again (a restarted worker re-reads what it had not committed) schedules nothing new;
- ``deliveries.idem_key`` = the scheduled key plus the action's index: firing the same scheduled
  action again creates no second message. Receivers get it as ``Idempotency-Key``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intellishop.settings import Profile, Settings

from .db import Database
from .rules import Rule, RuleSpec

_DDL = """
create table if not exists {s}rules (
    rule_id text primary key,
    tenant_id text not null,
    spec text not null,
    enabled integer not null,
    trigger_event text not null,
    created_at_us {big} not null,
    updated_at_us {big} not null
);
create index if not exists rules_by_tenant on {s}rules (tenant_id, trigger_event);
create table if not exists {s}scheduled_actions (
    id {pk},
    tenant_id text not null,
    rule_id text not null,
    trigger_id text not null,
    person_id text not null,
    idem_key text not null unique,
    occurred_at_us {big} not null,
    due_at_us {big} not null,
    status text not null,
    trigger_json text not null,
    note text,
    created_at_us {big} not null,
    fired_at_us {big}
);
create index if not exists scheduled_due on {s}scheduled_actions (status, due_at_us);
create index if not exists scheduled_person on {s}scheduled_actions (tenant_id, person_id, rule_id);
create table if not exists {s}deliveries (
    id {pk},
    tenant_id text not null,
    rule_id text not null,
    scheduled_id {big} not null,
    action_index integer not null,
    kind text not null,
    idem_key text not null unique,
    person_id text not null,
    payload text not null,
    status text not null,
    attempts integer not null,
    next_attempt_at_us {big} not null,
    lease_until_us {big},
    last_error text,
    created_at_us {big} not null,
    delivered_at_us {big},
    replays integer not null
);
create index if not exists deliveries_due on {s}deliveries (status, next_attempt_at_us);
create table if not exists {s}tracked_links (
    delivery_id {big} not null,
    link_no integer not null,
    url text not null,
    primary key (delivery_id, link_no)
);
create table if not exists {s}campaign_events (
    id {pk},
    tenant_id text not null,
    rule_id text not null,
    delivery_id {big},
    person_id text not null,
    kind text not null,
    revenue {real} not null,
    occurred_at_us {big} not null,
    dedup_key text unique
);
create index if not exists campaign_events_person
    on {s}campaign_events (tenant_id, person_id, kind);
create table if not exists {s}profiles (
    tenant_id text not null,
    person_id text not null,
    email text,
    country text,
    traits text not null,
    updated_at_us {big} not null,
    primary key (tenant_id, person_id)
);
create table if not exists {s}aliases (
    tenant_id text not null,
    anonymous_id text not null,
    user_id text not null,
    primary key (tenant_id, anonymous_id)
);
create table if not exists {s}product_views (
    tenant_id text not null,
    product_id text not null,
    person_id text not null,
    viewed_at_us {big} not null,
    primary key (tenant_id, product_id, person_id)
);
create table if not exists {s}catalog_state (
    tenant_id text not null,
    product_id text not null,
    price {real},
    in_stock integer,
    primary key (tenant_id, product_id)
);
create table if not exists {s}segment_members (
    tenant_id text not null,
    segment text not null,
    person_id text not null,
    added_at_us {big} not null,
    primary key (tenant_id, segment, person_id)
);
create table if not exists {s}worker_state (
    name text primary key,
    value text not null
)
"""


def now_us() -> int:
    return time.time_ns() // 1000


def _dt(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


@dataclass(frozen=True, slots=True)
class ScheduledAction:
    id: int
    tenant_id: str
    rule_id: str
    trigger_id: str
    person_id: str
    idem_key: str
    occurred_at_us: int
    due_at_us: int
    trigger: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    tenant_id: str
    rule_id: str
    kind: str
    idem_key: str
    person_id: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at_us: int
    last_error: str | None
    created_at_us: int
    delivered_at_us: int | None
    replays: int


_DELIVERY_COLUMNS = (
    "id, tenant_id, rule_id, kind, idem_key, person_id, payload, status, attempts,"
    " next_attempt_at_us, last_error, created_at_us, delivered_at_us, replays"
)


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        int(row[0]),
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        json.loads(row[6]),
        row[7],
        int(row[8]),
        int(row[9]),
        row[10],
        int(row[11]),
        None if row[12] is None else int(row[12]),
        int(row[13]),
    )


class AutomationStore:
    """Every read and write of automation state; one instance per process is enough."""

    def __init__(self, target: Path | str) -> None:
        if isinstance(target, str):
            # The same database as the raw zone's: created on first use, like the loader does.
            from ingest.raw_zone.postgres import ensure_database

            ensure_database(target)
        self.db = Database(target)
        self.db.script(_DDL)

    @classmethod
    def for_settings(cls, settings: Settings) -> AutomationStore:
        """SQLite under ``data_dir`` locally, PostgreSQL (schema ``automation``) in prod."""
        if settings.profile is Profile.PROD:
            return cls(settings.postgres_dsn)
        return cls(settings.data_dir / "automation.sqlite3")

    def close(self) -> None:
        self.db.close()

    # --- rules -------------------------------------------------------------------------------

    def _rule(self, row: Sequence[Any]) -> Rule:
        return Rule(
            rule_id=row[0],
            tenant_id=row[1],
            spec=RuleSpec.model_validate_json(row[2]),
            created_at=_dt(int(row[3])),
            updated_at=_dt(int(row[4])),
        )

    _RULE_COLUMNS = "rule_id, tenant_id, spec, created_at_us, updated_at_us"

    def create_rule(self, tenant_id: str, spec: RuleSpec) -> Rule:
        rule_id = "rule_" + secrets.token_hex(8)
        at = now_us()
        self.db.run(
            "insert into {s}rules (rule_id, tenant_id, spec, enabled, trigger_event,"
            " created_at_us, updated_at_us) values (?, ?, ?, ?, ?, ?, ?)",
            (
                rule_id,
                tenant_id,
                spec.model_dump_json(),
                int(spec.enabled),
                spec.trigger_event,
                at,
                at,
            ),
        )
        rule = self.get_rule(tenant_id, rule_id)
        assert rule is not None
        return rule

    def get_rule(self, tenant_id: str, rule_id: str) -> Rule | None:
        rows = self.db.run(
            f"select {self._RULE_COLUMNS} from {{s}}rules where tenant_id = ? and rule_id = ?",
            (tenant_id, rule_id),
        )
        return self._rule(rows[0]) if rows else None

    def list_rules(self, tenant_id: str) -> list[Rule]:
        rows = self.db.run(
            f"select {self._RULE_COLUMNS} from {{s}}rules where tenant_id = ?"
            " order by created_at_us, rule_id",
            (tenant_id,),
        )
        return [self._rule(r) for r in rows]

    def enabled_rules(self) -> list[Rule]:
        """Every tenant's enabled rules (the worker's view)."""
        rows = self.db.run(
            f"select {self._RULE_COLUMNS} from {{s}}rules where enabled = 1"
            " order by tenant_id, created_at_us"
        )
        return [self._rule(r) for r in rows]

    def update_rule(self, tenant_id: str, rule_id: str, spec: RuleSpec) -> Rule | None:
        changed = self.db.count(
            "update {s}rules set spec = ?, enabled = ?, trigger_event = ?, updated_at_us = ?"
            " where tenant_id = ? and rule_id = ?",
            (
                spec.model_dump_json(),
                int(spec.enabled),
                spec.trigger_event,
                now_us(),
                tenant_id,
                rule_id,
            ),
        )
        return self.get_rule(tenant_id, rule_id) if changed else None

    def set_enabled(self, tenant_id: str, rule_id: str, enabled: bool) -> Rule | None:
        rule = self.get_rule(tenant_id, rule_id)
        if rule is None:
            return None
        spec = rule.spec.model_copy(update={"enabled": enabled})
        return self.update_rule(tenant_id, rule_id, spec)

    def delete_rule(self, tenant_id: str, rule_id: str) -> bool:
        """Delete the rule and cancel its pending actions; sent messages keep their history."""
        with self.db.transaction():
            deleted = self.db.count(
                "delete from {s}rules where tenant_id = ? and rule_id = ?", (tenant_id, rule_id)
            )
            if deleted:
                self.db.run(
                    "update {s}scheduled_actions set status = 'cancelled', note = 'rule deleted'"
                    " where tenant_id = ? and rule_id = ? and status = 'pending'",
                    (tenant_id, rule_id),
                )
        return bool(deleted)

    # --- scheduling --------------------------------------------------------------------------

    _SCHEDULE = (
        "insert into {s}scheduled_actions (tenant_id, rule_id, trigger_id, person_id,"
        " idem_key, occurred_at_us, due_at_us, status, trigger_json, created_at_us)"
        " values (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
        " on conflict (idem_key) do nothing"
    )

    @staticmethod
    def scheduled_row(
        *,
        tenant_id: str,
        rule_id: str,
        trigger_id: str,
        person_id: str,
        occurred_at_us: int,
        due_at_us: int,
        trigger: dict[str, Any],
    ) -> tuple[Any, ...]:
        """The bound values of one :meth:`schedule` (for :meth:`schedule_many`)."""
        return (
            tenant_id,
            rule_id,
            trigger_id,
            person_id,
            f"{rule_id}:{trigger_id}",
            occurred_at_us,
            due_at_us,
            json.dumps(trigger, default=str),
            now_us(),
        )

    def schedule(
        self,
        *,
        tenant_id: str,
        rule_id: str,
        trigger_id: str,
        person_id: str,
        occurred_at_us: int,
        due_at_us: int,
        trigger: dict[str, Any],
    ) -> bool:
        """Schedule the rule's actions for a trigger; False when that trigger was seen before."""
        row = self.scheduled_row(
            tenant_id=tenant_id,
            rule_id=rule_id,
            trigger_id=trigger_id,
            person_id=person_id,
            occurred_at_us=occurred_at_us,
            due_at_us=due_at_us,
            trigger=trigger,
        )
        return bool(self.db.count(self._SCHEDULE, row))

    def schedule_many(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Many :meth:`schedule` at once, in order (rows from :meth:`scheduled_row`); how many
        were new (a trigger seen before, or twice among the rows, counts once)."""
        return self.db.run_many(self._SCHEDULE, rows)

    def cancel_pending(
        self, tenant_id: str, person_ids: Iterable[str], rule_ids: Iterable[str], before_us: int
    ) -> int:
        """Cancel the person's pending actions of these rules triggered before ``before_us``."""
        people, rules = sorted(set(person_ids)), sorted(set(rule_ids))
        if not people or not rules:
            return 0
        return self.db.count(
            "update {s}scheduled_actions set status = 'cancelled', note = 'cancelled by event'"
            f" where tenant_id = ? and status = 'pending' and occurred_at_us <= ?"
            f" and person_id in ({', '.join('?' * len(people))})"
            f" and rule_id in ({', '.join('?' * len(rules))})",
            (tenant_id, before_us, *people, *rules),
        )

    def due_actions(self, at_us: int, limit: int = 200) -> list[ScheduledAction]:
        rows = self.db.run(
            "select id, tenant_id, rule_id, trigger_id, person_id, idem_key, occurred_at_us,"
            " due_at_us, trigger_json from {s}scheduled_actions"
            " where status = 'pending' and due_at_us <= ? order by due_at_us, id limit ?",
            (at_us, limit),
        )
        return [
            ScheduledAction(
                int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]), json.loads(r[8])
            )
            for r in rows
        ]

    def postpone(self, scheduled_id: int, due_at_us: int, note: str) -> None:
        self.db.run(
            "update {s}scheduled_actions set due_at_us = ?, note = ? where id = ?",
            (due_at_us, note, scheduled_id),
        )

    def finish_scheduled(self, scheduled_id: int, status: str, note: str) -> None:
        self.db.run(
            "update {s}scheduled_actions set status = ?, note = ?, fired_at_us = ? where id = ?",
            (status, note, now_us(), scheduled_id),
        )

    def fired_since(self, tenant_id: str, rule_id: str, person_id: str, since_us: int) -> int:
        rows = self.db.run(
            "select count(*) from {s}scheduled_actions where tenant_id = ? and rule_id = ?"
            " and person_id = ? and status = 'fired' and fired_at_us >= ?",
            (tenant_id, rule_id, person_id, since_us),
        )
        return int(rows[0][0])

    def scheduled_statuses(self, tenant_id: str) -> list[tuple[str, str, str, str]]:
        """(rule_id, trigger_id, person_id, status) of the tenant's scheduled actions."""
        rows = self.db.run(
            "select rule_id, trigger_id, person_id, status from {s}scheduled_actions"
            " where tenant_id = ? order by id",
            (tenant_id,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def fire(
        self,
        action: ScheduledAction,
        items: Sequence[tuple[int, str]],
        render: Callable[[int, str, int], tuple[dict[str, Any], list[str]]],
        at_us: int,
    ) -> list[int]:
        """Queue the action's messages in the outbox and mark it fired, in one transaction.

        ``items`` are (action index, kind); ``render(index, kind, delivery_id)`` gives the
        message and the URLs it may redirect to (by link number: tokens carry the outbox id, so
        rendering happens once the id exists). Returns the ids created now: none when a previous
        run fired it already."""
        created: list[int] = []
        with self.db.transaction():
            for index, kind in items:
                rows = self.db.run(
                    "insert into {s}deliveries (tenant_id, rule_id, scheduled_id, action_index,"
                    " kind, idem_key, person_id, payload, status, attempts, next_attempt_at_us,"
                    " created_at_us, replays) values (?, ?, ?, ?, ?, ?, ?, '{}', 'pending', 0,"
                    " ?, ?, 0) on conflict (idem_key) do nothing returning id",
                    (
                        action.tenant_id,
                        action.rule_id,
                        action.id,
                        index,
                        kind,
                        f"{action.idem_key}:{index}",
                        action.person_id,
                        at_us,
                        at_us,
                    ),
                )
                if not rows:
                    continue
                delivery_id = int(rows[0][0])
                created.append(delivery_id)
                payload, links = render(index, kind, delivery_id)
                self.set_payload(delivery_id, payload)
                for link_no, url in enumerate(links):
                    self.db.run(
                        "insert into {s}tracked_links (delivery_id, link_no, url) values (?, ?, ?)",
                        (delivery_id, link_no, url),
                    )
            self.db.run(
                "update {s}scheduled_actions set status = 'fired', fired_at_us = ?, note = ?"
                " where id = ? and status = 'pending'",
                (at_us, f"{len(created)} message(s) queued", action.id),
            )
        return created

    def set_payload(self, delivery_id: int, payload: dict[str, Any]) -> None:
        self.db.run(
            "update {s}deliveries set payload = ? where id = ?",
            (json.dumps(payload, default=str), delivery_id),
        )

    # --- the outbox --------------------------------------------------------------------------

    def claim_deliveries(self, at_us: int, lease_us: int, limit: int = 50) -> list[Delivery]:
        """Due messages, leased to this worker; a dead worker's lease runs out and is retaken."""
        claimed: list[Delivery] = []
        with self.db.transaction():
            rows = self.db.run(
                f"select {_DELIVERY_COLUMNS} from {{s}}deliveries"
                " where (status = 'pending' and next_attempt_at_us <= ?)"
                " or (status = 'sending' and lease_until_us <= ?)"
                " order by next_attempt_at_us, id limit ?",
                (at_us, at_us, limit),
            )
            for row in rows:
                got = self.db.count(
                    "update {s}deliveries set status = 'sending', lease_until_us = ?"
                    " where id = ? and (status = 'pending' or"
                    " (status = 'sending' and lease_until_us <= ?))",
                    (at_us + lease_us, row[0], at_us),
                )
                if got:
                    claimed.append(_delivery(row))
        return claimed

    def mark_delivered(self, delivery: Delivery, at_us: int) -> None:
        with self.db.transaction():
            self.db.run(
                "update {s}deliveries set status = 'delivered', delivered_at_us = ?,"
                " attempts = attempts + 1, last_error = null, lease_until_us = null where id = ?",
                (at_us, delivery.id),
            )
            self.record_event(
                delivery.tenant_id,
                delivery.rule_id,
                delivery.id,
                delivery.person_id,
                "delivered",
                0.0,
                at_us,
                f"delivered:{delivery.id}",
            )

    def mark_retry(self, delivery_id: int, next_at_us: int, error: str) -> None:
        self.db.run(
            "update {s}deliveries set status = 'pending', attempts = attempts + 1,"
            " next_attempt_at_us = ?, last_error = ?, lease_until_us = null where id = ?",
            (next_at_us, error[:2000], delivery_id),
        )

    def mark_dead(self, delivery: Delivery, error: str, at_us: int) -> None:
        with self.db.transaction():
            self.db.run(
                "update {s}deliveries set status = 'dead', attempts = attempts + 1,"
                " last_error = ?, lease_until_us = null where id = ?",
                (error[:2000], delivery.id),
            )
            self.record_event(
                delivery.tenant_id,
                delivery.rule_id,
                delivery.id,
                delivery.person_id,
                "failed",
                0.0,
                at_us,
                f"failed:{delivery.id}:{delivery.replays}",
            )

    def deliveries(self, tenant_id: str, status: str | None = None) -> list[Delivery]:
        query = f"select {_DELIVERY_COLUMNS} from {{s}}deliveries where tenant_id = ?"
        params: list[Any] = [tenant_id]
        if status is not None:
            query += " and status = ?"
            params.append(status)
        return [_delivery(r) for r in self.db.run(query + " order by id", params)]

    def delivery_counts(self) -> dict[str, int]:
        """Deliveries of every tenant by status (pending, delivered, retry, dead, ...)."""
        rows = self.db.run("select status, count(*) from {s}deliveries group by status")
        return {str(status): int(count) for status, count in rows}

    def dead_letters(self, tenant_id: str | None = None) -> list[Delivery]:
        if tenant_id is None:
            rows = self.db.run(
                f"select {_DELIVERY_COLUMNS} from {{s}}deliveries where status = 'dead' order by id"
            )
            return [_delivery(r) for r in rows]
        return self.deliveries(tenant_id, "dead")

    def replay(self, delivery_id: int, tenant_id: str | None = None) -> bool:
        """Send a dead letter again (same idempotency key, fresh retries); False if not dead."""
        query = (
            "update {s}deliveries set status = 'pending', attempts = 0, next_attempt_at_us = ?,"
            " replays = replays + 1 where id = ? and status = 'dead'"
        )
        params: list[Any] = [now_us(), delivery_id]
        if tenant_id is not None:
            query += " and tenant_id = ?"
            params.append(tenant_id)
        return bool(self.db.count(query, params))

    # --- tracking ----------------------------------------------------------------------------

    def link_url(self, delivery_id: int, link_no: int) -> str | None:
        rows = self.db.run(
            "select url from {s}tracked_links where delivery_id = ? and link_no = ?",
            (delivery_id, link_no),
        )
        return str(rows[0][0]) if rows else None

    def delivery(self, delivery_id: int) -> Delivery | None:
        rows = self.db.run(
            f"select {_DELIVERY_COLUMNS} from {{s}}deliveries where id = ?", (delivery_id,)
        )
        return _delivery(rows[0]) if rows else None

    def record_event(
        self,
        tenant_id: str,
        rule_id: str,
        delivery_id: int | None,
        person_id: str,
        kind: str,
        revenue: float,
        at_us: int,
        dedup_key: str | None = None,
    ) -> bool:
        """A campaign event (sent, delivered, failed, opened, clicked, converted)."""
        return bool(
            self.db.count(
                "insert into {s}campaign_events (tenant_id, rule_id, delivery_id, person_id, kind,"
                " revenue, occurred_at_us, dedup_key) values (?, ?, ?, ?, ?, ?, ?, ?)"
                " on conflict (dedup_key) do nothing",
                (tenant_id, rule_id, delivery_id, person_id, kind, revenue, at_us, dedup_key),
            )
        )

    def last_touch(
        self, tenant_id: str, person_ids: Sequence[str], since_us: int, until_us: int
    ) -> tuple[str, int] | None:
        """The (rule id, delivery id) of the person's latest open or click in the window."""
        if not person_ids:
            return None
        rows = self.db.run(
            "select rule_id, delivery_id, occurred_at_us from {s}campaign_events"
            " where tenant_id = ? and kind in ('opened', 'clicked')"
            f" and person_id in ({', '.join('?' * len(person_ids))})"
            " and occurred_at_us >= ? and occurred_at_us <= ?"
            " order by occurred_at_us desc, id desc limit 1",
            (tenant_id, *person_ids, since_us, until_us),
        )
        return (rows[0][0], int(rows[0][1])) if rows else None

    def performance(self, tenant_id: str) -> list[dict[str, Any]]:
        """Per rule and channel: sent, delivered, failed, opened, clicked, converted, revenue."""
        sent = self.db.run(
            "select rule_id, kind, count(*), sum(case when status = 'delivered' then 1 else 0 end),"
            " sum(case when status = 'dead' then 1 else 0 end)"
            " from {s}deliveries where tenant_id = ? group by rule_id, kind",
            (tenant_id,),
        )
        events = self.db.run(
            "select e.rule_id, d.kind,"
            " count(distinct case when e.kind = 'opened' then e.delivery_id end),"
            " count(distinct case when e.kind = 'clicked' then e.delivery_id end),"
            " sum(case when e.kind = 'converted' then 1 else 0 end),"
            " sum(case when e.kind = 'converted' then e.revenue else 0 end)"
            " from {s}campaign_events e join {s}deliveries d on d.id = e.delivery_id"
            " where e.tenant_id = ? group by e.rule_id, d.kind",
            (tenant_id,),
        )
        names = {r.rule_id: r.spec.name for r in self.list_rules(tenant_id)}
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for rule_id, kind, total, delivered, dead in sent:
            table[(rule_id, kind)] = {
                "rule_id": rule_id,
                "rule_name": names.get(rule_id),
                "channel": kind,
                "sent": int(total),
                "delivered": int(delivered or 0),
                "failed": int(dead or 0),
                "opened": 0,
                "clicked": 0,
                "converted": 0,
                "revenue": 0.0,
            }
        for rule_id, kind, opened, clicked, converted, revenue in events:
            row = table.get((rule_id, kind))
            if row is None:
                continue
            row.update(
                opened=int(opened or 0),
                clicked=int(clicked or 0),
                converted=int(converted or 0),
                revenue=round(float(revenue or 0.0), 2),
            )
        return sorted(table.values(), key=lambda r: (r["rule_id"], r["channel"]))

    # --- what the worker knows of people and products ----------------------------------------

    def upsert_profile(
        self,
        tenant_id: str,
        person_id: str,
        email: str | None,
        country: str | None,
        traits: dict[str, Any],
        at_us: int,
    ) -> None:
        rows = self.db.run(
            "select email, country, traits from {s}profiles where tenant_id = ? and person_id = ?",
            (tenant_id, person_id),
        )
        if rows:
            old_email, old_country, old_traits = rows[0]
            merged = {**json.loads(old_traits), **traits}
            email, country = email or old_email, country or old_country
        else:
            merged = traits
        self.db.run(
            "insert into {s}profiles (tenant_id, person_id, email, country, traits, updated_at_us)"
            " values (?, ?, ?, ?, ?, ?) on conflict (tenant_id, person_id) do update set"
            " email = excluded.email, country = excluded.country, traits = excluded.traits,"
            " updated_at_us = excluded.updated_at_us",
            (tenant_id, person_id, email, country, json.dumps(merged, default=str), at_us),
        )

    def profile(self, tenant_id: str, person_id: str) -> dict[str, Any]:
        rows = self.db.run(
            "select email, country, traits from {s}profiles where tenant_id = ? and person_id = ?",
            (tenant_id, person_id),
        )
        if not rows:
            return {}
        return {"email": rows[0][0], "country": rows[0][1], "traits": json.loads(rows[0][2])}

    def add_alias(self, tenant_id: str, anonymous_id: str, user_id: str) -> None:
        self.db.run(
            "insert into {s}aliases (tenant_id, anonymous_id, user_id) values (?, ?, ?)"
            " on conflict (tenant_id, anonymous_id) do update set user_id = excluded.user_id",
            (tenant_id, anonymous_id, user_id),
        )

    def user_of(self, tenant_id: str, anonymous_id: str) -> str | None:
        rows = self.db.run(
            "select user_id from {s}aliases where tenant_id = ? and anonymous_id = ?",
            (tenant_id, anonymous_id),
        )
        return str(rows[0][0]) if rows else None

    def record_view(self, tenant_id: str, product_id: str, person_id: str, at_us: int) -> None:
        self.db.run(
            "insert into {s}product_views (tenant_id, product_id, person_id, viewed_at_us)"
            " values (?, ?, ?, ?) on conflict (tenant_id, product_id, person_id)"
            " do update set viewed_at_us = excluded.viewed_at_us",
            (tenant_id, product_id, person_id, at_us),
        )

    def record_views(self, views: Sequence[tuple[str, str, str, int]]) -> None:
        """Many :meth:`record_view` at once, in order: (tenant, product, person, viewed at)."""
        self.db.run_many(
            "insert into {s}product_views (tenant_id, product_id, person_id, viewed_at_us)"
            " values (?, ?, ?, ?) on conflict (tenant_id, product_id, person_id)"
            " do update set viewed_at_us = excluded.viewed_at_us",
            views,
        )

    def users_of(self, tenant_id: str, anonymous_ids: Sequence[str]) -> dict[str, str]:
        """:meth:`user_of` for many anonymous ids at once (those without a user are absent)."""
        found: dict[str, str] = {}
        for chunk in _chunks(anonymous_ids):
            rows = self.db.run(
                "select anonymous_id, user_id from {s}aliases where tenant_id = ?"
                f" and anonymous_id in ({', '.join('?' * len(chunk))})",
                (tenant_id, *chunk),
            )
            found.update((str(a), str(u)) for a, u in rows)
        return found

    def profiles(self, tenant_id: str, person_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """:meth:`profile` for many people at once (those without one are absent)."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(person_ids):
            rows = self.db.run(
                "select person_id, email, country, traits from {s}profiles where tenant_id = ?"
                f" and person_id in ({', '.join('?' * len(chunk))})",
                (tenant_id, *chunk),
            )
            for person, email, country, traits in rows:
                found[str(person)] = {
                    "email": email, "country": country, "traits": json.loads(traits)
                }  # fmt: skip
        return found

    def segments_of_many(self, tenant_id: str, person_ids: Sequence[str]) -> dict[str, list[str]]:
        """:meth:`segments_of` for many people at once (those in none are absent)."""
        found: dict[str, list[str]] = {}
        for chunk in _chunks(person_ids):
            rows = self.db.run(
                "select person_id, segment from {s}segment_members where tenant_id = ?"
                f" and person_id in ({', '.join('?' * len(chunk))}) order by person_id, segment",
                (tenant_id, *chunk),
            )
            for person, segment in rows:
                found.setdefault(str(person), []).append(str(segment))
        return found

    def viewers(self, tenant_id: str, product_id: str, since_us: int) -> list[str]:
        rows = self.db.run(
            "select person_id from {s}product_views where tenant_id = ? and product_id = ?"
            " and viewed_at_us >= ? order by person_id",
            (tenant_id, product_id, since_us),
        )
        return [str(r[0]) for r in rows]

    def catalog_state(self, tenant_id: str) -> dict[str, tuple[float | None, bool | None]]:
        rows = self.db.run(
            "select product_id, price, in_stock from {s}catalog_state where tenant_id = ?",
            (tenant_id,),
        )
        return {
            r[0]: (None if r[1] is None else float(r[1]), None if r[2] is None else bool(r[2]))
            for r in rows
        }

    def put_catalog_state(
        self, tenant_id: str, items: Iterable[tuple[str, float | None, bool | None]]
    ) -> None:
        with self.db.transaction():
            for product_id, price, in_stock in items:
                self.db.run(
                    "insert into {s}catalog_state (tenant_id, product_id, price, in_stock)"
                    " values (?, ?, ?, ?) on conflict (tenant_id, product_id) do update set"
                    " price = excluded.price, in_stock = excluded.in_stock",
                    (tenant_id, product_id, price, None if in_stock is None else int(in_stock)),
                )

    def add_to_segment(self, tenant_id: str, segment: str, person_id: str, at_us: int) -> None:
        self.db.run(
            "insert into {s}segment_members (tenant_id, segment, person_id, added_at_us)"
            " values (?, ?, ?, ?) on conflict (tenant_id, segment, person_id) do nothing",
            (tenant_id, segment, person_id, at_us),
        )

    def segments_of(self, tenant_id: str, person_id: str) -> list[str]:
        rows = self.db.run(
            "select segment from {s}segment_members where tenant_id = ? and person_id = ?"
            " order by segment",
            (tenant_id, person_id),
        )
        return [str(r[0]) for r in rows]

    def segment_members(self, tenant_id: str, segment: str) -> list[str]:
        rows = self.db.run(
            "select person_id from {s}segment_members where tenant_id = ? and segment = ?"
            " order by person_id",
            (tenant_id, segment),
        )
        return [str(r[0]) for r in rows]

    def erase_person(self, tenant_id: str, person_ids: Iterable[str]) -> int:
        """GDPR erasure: forget the person's profile, views, segments, pending actions and
        message contents; campaign counts stay, no longer linked to them. Rows touched."""
        people = sorted(set(person_ids))
        if not people:
            return 0
        marks = ", ".join("?" * len(people))
        touched = 0
        with self.db.transaction():
            for table, column in (
                ("profiles", "person_id"),
                ("product_views", "person_id"),
                ("segment_members", "person_id"),
                ("aliases", "anonymous_id"),
                ("aliases", "user_id"),
            ):
                touched += self.db.count(
                    f"delete from {{s}}{table} where tenant_id = ? and {column} in ({marks})",
                    (tenant_id, *people),
                )
            touched += self.db.count(
                "update {s}scheduled_actions set status = case when status = 'pending'"
                " then 'cancelled' else status end, trigger_json = '{}', person_id = 'erased',"
                f" note = 'erased' where tenant_id = ? and person_id in ({marks})",
                (tenant_id, *people),
            )
            touched += self.db.count(
                "update {s}deliveries set payload = '{}', person_id = 'erased', status = case"
                " when status in ('pending', 'sending', 'dead') then 'erased' else status end"
                f" where tenant_id = ? and person_id in ({marks})",
                (tenant_id, *people),
            )
            touched += self.db.count(
                "update {s}campaign_events set person_id = 'erased'"
                f" where tenant_id = ? and person_id in ({marks})",
                (tenant_id, *people),
            )
        return touched

    def state(self, name: str) -> str | None:
        rows = self.db.run("select value from {s}worker_state where name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def set_state(self, name: str, value: str) -> None:
        self.db.run(
            "insert into {s}worker_state (name, value) values (?, ?)"
            " on conflict (name) do update set value = excluded.value",
            (name, value),
        )


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """Bind lists of at most ``size`` values (SQLite allows 32,766 per statement)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
