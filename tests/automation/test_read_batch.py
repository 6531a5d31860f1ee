"""The worker batches its store work per event-log read, with the answers of one event at a time.

Each test puts everything in ONE read (one event-log entry), where batching could go wrong: an
action scheduled and cancelled in the same read, an alias or a profile learned early in the read
and needed later in it, views written at the end. On the SQLite and the PostgreSQL store, with
the real event log; and the round trips per read are counted on the real database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg
import pytest

from ingest.event_log import SqliteEventLog
from intellishop.automation.rules import RuleSpec
from intellishop.automation.store import AutomationStore
from intellishop.automation.worker import Worker
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.settings import Settings

from .conftest import fast_config

TENANT = "shop-a"
HOOK = {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "whsec_0123456789abcdef"}


def logged(
    n: int,
    kind: str,
    event: str | None = None,
    *,
    user: str | None = None,
    anonymous: str | None = None,
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    country: str | None = None,
) -> LoggedEvent:
    return LoggedEvent(
        message_id=f"m{n}",
        type=kind,
        event=event,
        user_id=user,
        anonymous_id=anonymous,
        timestamp_us=1_000 + n,
        sent_at_us=None,
        received_at_us=1_000 + n,
        properties=msgspec.json.encode(properties or {}),
        traits=msgspec.json.encode(traits or {}),
        context=msgspec.json.encode({"location": {"country": country}} if country else {}),
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[AutomationStore]:
    if request.param == "sqlite":
        made = AutomationStore.for_settings(settings)
        yield made
        made.close()
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    made = AutomationStore(dsn)
    yield made
    made.close()
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("drop schema if exists automation cascade")


def run_one_read(settings: Settings, store: AutomationStore, events: list[LoggedEvent]) -> Worker:
    log = SqliteEventLog(settings.event_log_path)
    log.append(LoggedBatch(TENANT, events))
    worker = Worker(settings, fast_config(settings), store=store, event_log=log)
    try:
        report = worker.run_once(at_us=2_000)  # actions are due in an hour: nothing fires
    finally:
        worker._pool.shutdown()
        worker._http.close()
    assert report.events == len(events)
    return worker


def rule(store: AutomationStore, **spec: Any) -> str:
    base = {"name": "r", "delay_seconds": 3600, "actions": [HOOK]}
    return store.create_rule(TENANT, RuleSpec.model_validate({**base, **spec})).rule_id


def test_scheduled_then_cancelled_in_one_read(settings: Settings, store: AutomationStore) -> None:
    rule(store, trigger_event="Product Added", cancel_on=["Order Completed"])
    events = [
        logged(1, "track", "Product Added", user="u1", properties={"product_id": "p1"}),
        logged(2, "track", "Product Added", user="u2", properties={"product_id": "p1"}),
        logged(3, "track", "Order Completed", user="u1", properties={"order_id": "o1"}),
    ]
    run_one_read(settings, store, events)
    statuses = {(t, p): s for _, t, p, s in store.scheduled_statuses(TENANT)}
    assert statuses == {("m1", "u1"): "cancelled", ("m2", "u2"): "pending"}


def test_alias_and_profile_learned_earlier_in_the_read(
    settings: Settings, store: AutomationStore
) -> None:
    rule(
        store,
        trigger_event="Product Viewed",
        conditions=[
            {"field": "customer.email", "op": "exists"},
            {"field": "customer.country", "op": "eq", "value": "FR"},
        ],
    )
    store.upsert_profile(TENANT, "u1", None, None, {"plan": "gold"}, 1)  # known before the read
    events = [
        # Not yet an alias, no email: the condition fails for this one.
        logged(1, "track", "Product Viewed", anonymous="a1", properties={"product_id": "p1"}),
        logged(2, "identify", user="u1", anonymous="a1", traits={"email": "u1@example.com"}),
        logged(
            3,
            "track",
            "Product Viewed",
            anonymous="a1",
            country="FR",
            properties={"product_id": "p2"},
        ),
    ]
    run_one_read(settings, store, events)
    # m3 knew a1 is u1 (alias of m2), u1's email (identify m2) and country (m3 itself).
    assert [(t, p, s) for _, t, p, s in store.scheduled_statuses(TENANT)] == [
        ("m3", "u1", "pending")
    ]
    assert store.profile(TENANT, "u1") == {
        "email": "u1@example.com",
        "country": "FR",
        "traits": {"plan": "gold", "email": "u1@example.com"},
    }
    assert store.viewers(TENANT, "p1", 0) == ["a1"]
    assert store.viewers(TENANT, "p2", 0) == ["u1"]


def test_store_round_trips_per_read_not_per_event(
    settings: Settings, store: AutomationStore
) -> None:
    rule(store, trigger_event="Product Viewed", cancel_on=["Order Completed"])
    events = [
        logged(n, "track", "Product Viewed", anonymous=f"a{n % 50}",
               country="DE" if n % 3 == 0 else None, properties={"product_id": f"p{n % 20}"})
        for n in range(300)
    ]  # fmt: skip
    calls = 0
    db = store.db
    run, count, run_many = db.run, db.count, db.run_many

    def counted(method: Any) -> Any:
        def call(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            return method(*args)

        return call

    db.run, db.count, db.run_many = counted(run), counted(count), counted(run_many)  # type: ignore[method-assign]
    try:
        run_one_read(settings, store, events)
    finally:
        del db.run, db.count, db.run_many
    scheduled = store.scheduled_statuses(TENANT)
    assert len(scheduled) == 300
    # Before batching: about 5 per event (1,500 here). Now the new profiles' upserts (50 people,
    # 2 statements each) and a handful per read and per pass.
    assert calls < 150, calls
