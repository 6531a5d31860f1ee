"""The automation worker: tails the event log, evaluates rules, fires due actions, delivers.

One pass (:meth:`Worker.run_once`) does four things, each durable before the next:

1. reads new event-log entries with its own consumer (``automation``: the loader's offset is not
   touched), records what it learns (profiles, product views), cancels pending actions that an
   event cancels, attributes conversions and schedules matching rules' actions, all in one
   store transaction; only then commits its event-log offset. A worker killed in between
   re-reads the entries, and the unique idempotency key ``<rule>:<message id>`` makes the second
   scheduling a no-op;
2. scans what is not an event: the catalog (price drops, back in stock) and, on its schedule,
   the published customers (win-back);
3. fires due actions: quiet hours postpone them, frequency caps drop them, otherwise their
   messages go to the outbox (rendered, with tracking links) in the same transaction that marks
   the action fired;
4. sends due outbox messages under a lease, with retries and a dead-letter list.

With ``poll_seconds`` well under a minute, an action fires within a minute of its trigger (or
its delay), as long as the worker runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import pyarrow.parquet as pq

from ingest.event_log import EventLog, LogEntry, open_event_log
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from .conditions import all_hold
from .config import MAX_RETRIES, AutomationConfig
from .delivery import Outcome
from .delivery.email import send_email
from .delivery.webhook import send_webhook, webhook_client
from .experiments import EmailArm, EmailExperiments, exposure
from .facts import PublishedFacts
from .messages import render_message
from .metrics import PROGRESS, WorkerProgress
from .read_batch import ReadBatch
from .rules import BACK_IN_STOCK, PRICE_DROPPED, WIN_BACK_DUE, AddToSegmentAction, Rule
from .store import AutomationStore, Delivery, ScheduledAction, now_us

log = logging.getLogger(__name__)

#: The worker's consumer of the event log (the loader's is ``raw-loader``).
AUTOMATION_CONSUMER = "automation"
#: The consumer group's lag is measured at most this often (seconds): once per pass when idle,
#: and during a long catch-up too, where one pass reads for minutes.
LAG_SECONDS = 5.0
_DAY_US = 86_400 * 1_000_000


@dataclass
class PassReport:
    """What one pass did (the CLI prints it; tests read it)."""

    events: int = 0
    scheduled: int = 0
    cancelled: int = 0
    conversions: int = 0
    fired: int = 0
    postponed: int = 0
    capped: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger event: a shop's event from the log, or one the worker made (win-back, ...)."""

    tenant_id: str
    message_id: str
    event: str
    person_id: str
    person_ids: list[str]
    occurred_at_us: int
    received_at_us: int
    user_id: str | None = None
    anonymous_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "event": self.event,
            "user_id": self.user_id,
            "anonymous_id": self.anonymous_id,
            "timestamp": datetime.fromtimestamp(self.occurred_at_us / 1e6, UTC).isoformat(),
            "properties": self.properties,
            "context": self.context,
        }


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


class Worker:
    """Automation for every tenant of one installation."""

    def __init__(
        self,
        settings: Settings,
        config: AutomationConfig | None = None,
        *,
        store: AutomationStore | None = None,
        event_log: EventLog | None = None,
        progress: WorkerProgress | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or AutomationConfig.from_settings(settings)
        self.store = store or AutomationStore.for_settings(settings)
        self.event_log = event_log or open_event_log(settings)
        from intellishop.reports.store import MerchantStore

        self.facts = PublishedFacts(
            settings.artifacts_dir, saved_segments=MerchantStore.for_settings(settings).segments
        )
        self.tenants = TenantRegistry(settings.tenants_db_path)
        self._timezones: dict[str, tuple[float, str]] = {}
        self._rules: list[Rule] = []
        self._pool = ThreadPoolExecutor(
            max(1, self.config.delivery_threads), initializer=self.store.db.relax_durability
        )
        self._http = webhook_client()
        self.email_experiments = EmailExperiments(settings)
        #: Exposures of the firings of this pass, appended once they are committed.
        self._exposures: dict[str, list[LoggedEvent]] = {}
        #: Lag and events processed, for the metrics server (automation/metrics.py).
        self.progress = PROGRESS if progress is None else progress
        self.lag_seconds = LAG_SECONDS
        self._lag_measured_at = float("-inf")
        #: Per-event lookups: the store, or during a read its batched view (read_batch.py).
        self._reads: AutomationStore | ReadBatch = self.store

    # --- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> None:
        """Passes every ``poll_seconds`` until ``stop`` is set (SIGTERM/SIGINT in the CLI)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:
                log.exception("automation pass failed; retrying")
                report = PassReport()
            busy = report.events or report.fired or report.delivered or report.retried
            if not busy:
                stop.wait(self.config.poll_seconds)

    def run_once(self, at_us: int | None = None) -> PassReport:
        """One pass; ``at_us`` (UTC microseconds) replaces the clock, for tests of timing."""
        report = PassReport()
        self._rules = self.store.enabled_rules()
        self.email_experiments.new_pass()
        self.ingest_log(report)
        current = now_us() if at_us is None else at_us
        self.scan(current, report)
        self.fire_due(current, report)
        self.deliver(current, report)
        return report

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._http.close()
        self.store.close()
        self.event_log.close()

    # --- 1. events ---------------------------------------------------------------------------

    def _rules_of(self, tenant_id: str) -> list[Rule]:
        return [r for r in self._rules if r.tenant_id == tenant_id]

    def ingest_log(self, report: PassReport) -> None:
        try:
            while True:
                entries = self.event_log.read(AUTOMATION_CONSUMER, self.config.read_limit)
                if not entries:
                    return
                before = report.events
                with self.store.db.transaction():
                    batch = ReadBatch(self.store, entries, with_segments=bool(self._rules))
                    self._reads = batch
                    try:
                        for entry in entries:
                            self._ingest_entry(entry, report)
                        batch.flush()
                        report.scheduled += batch.scheduled
                    finally:
                        self._reads = self.store
                self.event_log.commit(AUTOMATION_CONSUMER, entries[-1].entry_id)
                self.progress.add_events(report.events - before)
                if len(entries) < self.config.read_limit:
                    return
                self.measure_lag()
        finally:
            self.measure_lag()

    def measure_lag(self, *, force: bool = False) -> None:
        """How far the consumer group is behind, for the metrics: one XINFO / SQLite count.

        At most every ``lag_seconds``: the Redis figure needs an XRANGE scan after deletions
        (erasure), which must not run after every read."""
        moment = time.monotonic()
        if not force and moment - self._lag_measured_at < self.lag_seconds:
            return
        self._lag_measured_at = moment
        try:
            entries: int | None = self.event_log.lag(AUTOMATION_CONSUMER)
        except Exception:  # the next read reports the outage; the metric just goes missing
            log.warning("event log lag unreadable", exc_info=True)
            entries = None
        self.progress.set_lag(AUTOMATION_CONSUMER, entries)

    def _ingest_entry(self, entry: LogEntry, report: PassReport) -> None:
        tenant_id = entry.batch.tenant_id
        rules = self._rules_of(tenant_id)
        for event in entry.batch.events:
            report.events += 1
            self._ingest_event(tenant_id, event, rules, report)

    def _ingest_event(
        self, tenant_id: str, event: LoggedEvent, rules: list[Rule], report: PassReport
    ) -> None:
        reads = self._reads
        properties, context = _json(event.properties), _json(event.context)
        user_id, anonymous_id = event.user_id, event.anonymous_id
        if user_id and anonymous_id:
            reads.add_alias(tenant_id, anonymous_id, user_id)
        linked = reads.user_of(tenant_id, anonymous_id) if anonymous_id and not user_id else None
        person = user_id or linked or anonymous_id
        if person is None:
            return
        person_ids = [p for p in dict.fromkeys([user_id, linked, anonymous_id]) if p]
        country = (context.get("location") or {}).get("country")
        if event.type == "identify":
            traits = _json(event.traits)
            email = traits.get("email") if isinstance(traits.get("email"), str) else None
            reads.upsert_profile(tenant_id, person, email, country, traits, event.received_at_us)
        elif country and not reads.profile(tenant_id, person).get("country"):
            reads.upsert_profile(tenant_id, person, None, country, {}, event.received_at_us)
        if event.type != "track" or not event.event:
            return
        name = event.event
        if name == "Product Viewed" and isinstance(properties.get("product_id"), str):
            reads.record_view(tenant_id, properties["product_id"], person, event.timestamp_us)
        cancelling = [r.rule_id for r in rules if name in r.spec.cancel_on]
        if cancelling:
            report.cancelled += reads.cancel_pending(
                tenant_id, person_ids, cancelling, event.timestamp_us
            )
        if name == "Order Completed":
            self._attribute(tenant_id, event, properties, person, person_ids, report)
        trigger = Trigger(
            tenant_id,
            event.message_id,
            name,
            person,
            person_ids,
            event.timestamp_us,
            event.received_at_us,
            user_id,
            anonymous_id,
            properties,
            context,
        )
        for rule in rules:
            if rule.spec.trigger_event == name:
                self._consider(rule, trigger, report)

    def _attribute(
        self,
        tenant_id: str,
        event: LoggedEvent,
        properties: dict[str, Any],
        person: str,
        person_ids: list[str],
        report: PassReport,
    ) -> None:
        """Credit the order to the person's latest open or click within the rule's window."""
        windows = {r.rule_id: r.spec.conversion_window_days for r in self._rules_of(tenant_id)}
        longest = max(windows.values(), default=7)
        touch = self.store.last_touch(
            tenant_id, person_ids, event.timestamp_us - longest * _DAY_US, event.timestamp_us
        )
        if touch is None:
            return
        rule_id, delivery_id = touch
        window = windows.get(rule_id, 7)
        if (
            self.store.last_touch(
                tenant_id, person_ids, event.timestamp_us - window * _DAY_US, event.timestamp_us
            )
            != touch
        ):
            return
        revenue = _float(properties.get("revenue"))
        if revenue is None:
            revenue = _float(properties.get("total")) or 0.0
        if self.store.record_event(
            tenant_id,
            rule_id,
            delivery_id,
            person,
            "converted",
            revenue,
            event.timestamp_us,
            f"converted:{tenant_id}:{event.message_id}",
        ):
            report.conversions += 1

    def _customer(self, tenant_id: str, person_ids: list[str]) -> dict[str, Any]:
        facts = self.facts.customer(tenant_id, person_ids)
        for person_id in person_ids:
            profile = self._reads.profile(tenant_id, person_id)
            if profile:
                facts.setdefault("email", profile.get("email"))
                facts.setdefault("country", profile.get("country"))
                facts.setdefault("traits", profile.get("traits"))
                break
        # Segments the automation added people to, and the dashboards' saved segments.
        facts["segments"] = sorted(
            {s for p in person_ids for s in self._reads.segments_of(tenant_id, p)}
            | set(facts.pop("saved_segments", []))
        )
        if isinstance(facts.get("traits"), dict):
            for key in ("email", "country"):
                if not facts.get(key) and isinstance(facts["traits"].get(key), str):
                    facts[key] = facts["traits"][key]
        return facts

    def _consider(self, rule: Rule, trigger: Trigger, report: PassReport) -> None:
        facts = {
            "event": {"event": trigger.event, **trigger.as_json()},
            "customer": self._customer(trigger.tenant_id, trigger.person_ids),
        }
        if not all_hold(rule.spec.conditions, facts, match=rule.spec.match):
            return
        due = trigger.received_at_us + rule.spec.delay_seconds * 1_000_000
        action: dict[str, Any] = {
            "tenant_id": trigger.tenant_id,
            "rule_id": rule.rule_id,
            "trigger_id": trigger.message_id,
            "person_id": trigger.person_id,
            "occurred_at_us": trigger.occurred_at_us,
            "due_at_us": due,
            "trigger": {**trigger.as_json(), "person_ids": trigger.person_ids},
        }
        if isinstance(self._reads, ReadBatch):  # reading the log: one insert per read
            self._reads.schedule(**action)
        elif self.store.schedule(**action):
            report.scheduled += 1

    # --- 2. what is not an event -------------------------------------------------------------

    def scan(self, at_us: int, report: PassReport) -> None:
        """Catalog changes (every pass: a file stat) and win-back (every ``scan_seconds``)."""
        tenants = {r.tenant_id for r in self._rules}
        for tenant_id in sorted(tenants):
            rules = self._rules_of(tenant_id)
            if any(r.spec.trigger_event in (PRICE_DROPPED, BACK_IN_STOCK) for r in rules):
                self._scan_catalog(tenant_id, rules, at_us, report)
        last = self.store.state("win_back_scanned_at_us")
        if last is not None and at_us - int(last) < self.config.scan_seconds * 1_000_000:
            return
        for rule in self._rules:
            if rule.spec.trigger_event == WIN_BACK_DUE:
                self._scan_win_back(rule, at_us, report)
        self.store.set_state("win_back_scanned_at_us", str(at_us))

    def _scan_win_back(self, rule: Rule, at_us: int, report: PassReport) -> None:
        """One trigger per customer per ``rescan_days`` period; conditions pick who is due."""
        period = int(rule.spec.options.get("rescan_days", 30)) or 30
        bucket = at_us // (period * _DAY_US)
        with self.store.db.transaction():
            for user_id, facts in sorted(self.facts.customers(rule.tenant_id).items()):
                trigger = Trigger(
                    rule.tenant_id,
                    f"winback:{user_id}:{bucket}",
                    WIN_BACK_DUE,
                    user_id,
                    [user_id],
                    at_us,
                    at_us,
                    user_id,
                    None,
                    {
                        "days_since_last_order": facts.get("recency_days"),
                        "churn_probability": facts.get("churn_probability"),
                    },
                )
                self._consider(rule, trigger, report)

    def _scan_catalog(
        self, tenant_id: str, rules: list[Rule], at_us: int, report: PassReport
    ) -> None:
        path = (
            self.settings.raw_zone_dir / "catalog" / f"tenant_id={tenant_id}" / "products.parquet"
        )
        try:
            stamp = str(path.stat().st_mtime_ns)
        except FileNotFoundError:
            return
        state_key = f"catalog_mtime:{tenant_id}"
        if self.store.state(state_key) == stamp:
            return
        table = pq.read_table(path)
        columns = set(table.column_names)
        rows = table.to_pylist()
        before = self.store.catalog_state(tenant_id)
        changes: list[tuple[str, str, dict[str, Any]]] = []
        after: list[tuple[str, float | None, bool | None]] = []
        for row in rows:
            product_id = str(row["product_id"])
            price = _float(row.get("price"))
            in_stock = (
                bool(row["in_stock"])
                if "in_stock" in columns and row["in_stock"] is not None
                else None
            )
            after.append((product_id, price, in_stock))
            if product_id not in before:
                continue
            old_price, old_stock = before[product_id]
            info = {
                "product_id": product_id,
                "name": row.get("name"),
                "old_price": old_price,
                "new_price": price,
            }
            if price is not None and old_price is not None and price < old_price:
                changes.append((PRICE_DROPPED, product_id, info))
            if in_stock is True and old_stock is False:
                changes.append((BACK_IN_STOCK, product_id, info))
        with self.store.db.transaction():
            for event_name, product_id, info in changes:
                for rule in rules:
                    if rule.spec.trigger_event != event_name:
                        continue
                    minimum = rule.spec.options.get("min_drop_percent", 0.0)
                    if event_name == PRICE_DROPPED and minimum:
                        drop = 100.0 * (info["old_price"] - info["new_price"]) / info["old_price"]
                        if drop < minimum:
                            continue
                    since = at_us - int(rule.spec.options.get("viewed_days", 30) * _DAY_US)
                    for person in self.store.viewers(tenant_id, product_id, since):
                        trigger = Trigger(
                            tenant_id,
                            f"{event_name}:{product_id}:{stamp}:{person}",
                            event_name,
                            person,
                            [person],
                            at_us,
                            at_us,
                            person,
                            None,
                            dict(info),
                        )
                        self._consider(rule, trigger, report)
            self.store.put_catalog_state(tenant_id, after)
            self.store.set_state(state_key, stamp)

    # --- 3. firing ---------------------------------------------------------------------------

    def _timezone(self, tenant_id: str) -> str:
        cached = self._timezones.get(tenant_id)
        if cached and time.monotonic() - cached[0] < 60:
            return cached[1]
        tenant = self.tenants.get(tenant_id)
        zone = tenant.timezone if tenant else "UTC"
        self._timezones[tenant_id] = (time.monotonic(), zone)
        return zone

    def fire_due(self, at_us: int, report: PassReport) -> None:
        rules = {r.rule_id: r for r in self._rules}
        moment = datetime.fromtimestamp(at_us / 1e6, UTC)
        # One transaction (one fsync) for the pass's due actions, not one per action.
        self._exposures = {}
        try:
            with self.store.db.transaction():
                for action in self.store.due_actions(at_us):
                    logged = self._exposures.setdefault(action.tenant_id, [])
                    before = len(logged)
                    try:
                        with self.store.db.transaction():
                            self._fire_one(rules, action, moment, at_us, report)
                    except Exception as error:  # one broken action must not block the others
                        log.exception("action %s failed to fire", action.id)
                        self.store.finish_scheduled(action.id, "failed", f"{error!r}"[:500])
                        del logged[before:]  # rolled back: not shown to anyone
        except BaseException:
            self._exposures = {}
            raise
        # Experiment exposures of what was just committed: one event-log append per tenant.
        # A crash before it loses them (fewer units, never a bias between variants); their ids
        # derive from the scheduled action, so a repeat is dropped by the loader.
        for tenant_id, events in sorted(self._exposures.items()):
            if events:
                self.event_log.append(LoggedBatch(tenant_id, events))
        self._exposures = {}

    def _fire_one(
        self,
        rules: dict[str, Rule],
        action: ScheduledAction,
        moment: datetime,
        at_us: int,
        report: PassReport,
    ) -> None:
        rule = rules.get(action.rule_id)
        if rule is None:
            self.store.finish_scheduled(action.id, "skipped", "rule paused or deleted")
            return
        spec = rule.spec
        if spec.quiet_hours is not None:
            release = spec.quiet_hours.release_time(moment, self._timezone(rule.tenant_id))
            if release is not None:
                self.store.postpone(
                    action.id, int(release.timestamp() * 1e6), f"quiet hours until {release}"
                )
                report.postponed += 1
                return
        if spec.frequency_cap is not None:
            since = at_us - spec.frequency_cap.window_seconds * 1_000_000
            fired = self.store.fired_since(rule.tenant_id, rule.rule_id, action.person_id, since)
            if fired >= spec.frequency_cap.max_actions:
                self.store.finish_scheduled(action.id, "capped", "frequency cap reached")
                report.capped += 1
                return
        self._fire(rule, action, at_us, report)

    def _fire(self, rule: Rule, action: ScheduledAction, at_us: int, report: PassReport) -> None:
        person_ids = list(action.trigger.get("person_ids") or [action.person_id])
        customer = self._customer(rule.tenant_id, person_ids)
        arm = self.email_experiments.arm(rule, action.person_id)
        items: list[tuple[int, str]] = []
        segments: list[str] = []
        for index, spec in enumerate(rule.spec.actions):
            if isinstance(spec, AddToSegmentAction):
                segments.append(spec.segment)
            elif spec.type == "email" and not customer.get("email"):
                log.info("rule %s: no email address for %s", rule.rule_id, action.person_id)
            else:
                items.append((index, spec.type))
        # Only a firing that messages the person is an exposure: someone without an address
        # is in neither arm, whichever variant they would have had.
        exposed = arm is not None and arm.running and bool(items)
        if arm is not None and arm.holdout and items:
            self.store.finish_scheduled(
                action.id,
                "holdout",
                f"experiment {arm.experiment.key}: variant {arm.variant.id} is a holdout",
            )
        else:
            with self.store.db.transaction():
                for segment in segments:
                    self.store.add_to_segment(rule.tenant_id, segment, action.person_id, at_us)

                def render(
                    index: int, kind: str, delivery_id: int
                ) -> tuple[dict[str, Any], list[str]]:
                    return render_message(
                        rule, index, action, customer, delivery_id, self.facts, self.config, arm
                    )

                self.store.fire(action, items, render, at_us)
        if exposed:
            assert arm is not None
            self._expose(arm, rule, action)
        report.fired += 1

    def _expose(self, arm: EmailArm, rule: Rule, action: ScheduledAction) -> None:
        event = exposure(arm, rule, action.idem_key, action.person_id, action.trigger)
        self._exposures.setdefault(rule.tenant_id, []).append(event)

    # --- 4. delivery -------------------------------------------------------------------------

    def deliver(self, at_us: int, report: PassReport) -> None:
        lease = int(self.config.lease_seconds * 1_000_000)
        claimed = self.store.claim_deliveries(at_us, lease)
        if not claimed:
            return
        lock = threading.Lock()
        sent: dict[str, list[LoggedEvent]] = {}

        def send_and_settle(delivery: Delivery) -> None:
            # Settled as soon as its own answer is in: the window in which a crash could make
            # a delivered message be sent again is one message's database update, not a batch.
            outcome = self._send(delivery)
            self._settle(delivery, outcome, report, lock)
            if outcome.ok:
                with lock:
                    sent.setdefault(delivery.tenant_id, []).append(self._sent_event(delivery))

        list(self._pool.map(send_and_settle, claimed))
        # One event-log append per tenant and pass, not one per message. A crash before it
        # loses these analytics events (the store's campaign counts stay exact); the ids are
        # deterministic, so the loader drops a repeat.
        for tenant_id, events in sorted(sent.items()):
            self.event_log.append(LoggedBatch(tenant_id, events))

    def _send(self, delivery: Delivery) -> Outcome:
        payload = delivery.payload
        try:
            if delivery.kind == "webhook":
                return send_webhook(
                    payload["url"],
                    payload["secret"],
                    payload["body"],
                    delivery.idem_key,
                    allow_private=self.config.allow_private_targets,
                    timeout=self.config.webhook_timeout_seconds,
                    client=self._http,
                )
            if delivery.kind == "email":
                c = self.config
                return send_email(
                    payload,
                    delivery.idem_key,
                    host=c.smtp_host,
                    port=c.smtp_port,
                    sender=c.email_from,
                    user=c.smtp_user,
                    password=c.smtp_password,
                    starttls=c.smtp_starttls,
                )
        except Exception as error:  # a bug in one message must not stop the others
            log.exception("delivery %s failed", delivery.id)
            return Outcome(False, f"{type(error).__name__}: {error}")
        return Outcome(False, f"unknown channel {delivery.kind!r}", permanent=True)

    def backoff_us(self, attempt: int) -> int:
        """Delay before retry ``attempt`` (1-based): base x 2^(attempt-1), jitter +-50 %."""
        seconds = self.config.backoff_base_seconds * 2 ** (attempt - 1)
        return int(seconds * random.uniform(0.5, 1.5) * 1_000_000)  # noqa: S311 - jitter only

    def _settle(
        self, delivery: Delivery, outcome: Outcome, report: PassReport, lock: threading.Lock
    ) -> None:
        at_us = now_us()
        if outcome.ok:
            self.store.mark_delivered(delivery, at_us)
            with lock:
                report.delivered += 1
            return
        attempt = delivery.attempts + 1
        if outcome.permanent or attempt > MAX_RETRIES:
            self.store.mark_dead(delivery, outcome.error, at_us)
            with lock:
                report.dead += 1
            log.warning(
                "delivery %s dead after %d attempt(s): %s", delivery.id, attempt, outcome.error
            )
            return
        self.store.mark_retry(delivery.id, at_us + self.backoff_us(attempt), outcome.error)
        with lock:
            report.retried += 1

    def _sent_event(self, delivery: Delivery) -> LoggedEvent:
        """``Campaign Message Sent``, for the tenant's event log (the warehouse sees it)."""
        return tracking_event(
            "Campaign Message Sent",
            delivery.payload.get("meta", {}),
            {
                "rule_id": delivery.rule_id,
                "channel": delivery.kind,
                "delivery_id": delivery.id,
                **{
                    name: delivery.payload["meta"][name]
                    for name in ("experiment", "variant")
                    if name in delivery.payload.get("meta", {})
                },
            },
            message_id="ism-" + hashlib.sha256(delivery.idem_key.encode()).hexdigest()[:32],
            at_us=now_us(),
        )


def tracking_event(
    event: str, meta: dict[str, Any], properties: dict[str, Any], *, message_id: str, at_us: int
) -> LoggedEvent:
    """One custom track event about a campaign, shaped as the collector stores events."""
    user_id = meta.get("user_id")
    anonymous_id = meta.get("anonymous_id")
    if not user_id and not anonymous_id:
        user_id = meta.get("person_id")
    return LoggedEvent(
        message_id=message_id,
        type="track",
        event=event,
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp_us=at_us,
        sent_at_us=None,
        received_at_us=at_us,
        properties=msgspec.json.encode({**properties, "rule_name": meta.get("rule_name")}),
        traits=b"{}",
        context=msgspec.json.encode({"library": {"name": "intellishop-automation"}}),
    )


def append_tracking_event(
    event_log: EventLog,
    tenant_id: str,
    event: str,
    meta: dict[str, Any],
    properties: dict[str, Any],
    *,
    message_id: str,
    at_us: int,
) -> None:
    """Append one tracking event (an open or a click: one per HTTP request)."""
    logged = tracking_event(event, meta, properties, message_id=message_id, at_us=at_us)
    event_log.append(LoggedBatch(tenant_id, [logged]))
