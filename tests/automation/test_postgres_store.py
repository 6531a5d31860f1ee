"""The prod store: the same code on PostgreSQL (schema ``automation``), end to end through the
worker, with the idempotency keys and tenant scoping checked on the real server."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from intellishop.automation.rules import RuleSpec
from intellishop.automation.signing import SIGNATURE_HEADER, verify_webhook
from intellishop.automation.store import AutomationStore
from intellishop.automation.worker import Worker

from .conftest import WEBHOOK_SECRET, Receiver, Shop, fast_config, run_until, track


@pytest.fixture
def pg_store(postgres_dsn: str) -> Iterator[AutomationStore]:
    store = AutomationStore(postgres_dsn)
    yield store
    store.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute("drop schema if exists automation cascade")


def test_worker_on_postgres_delivers_once(
    shop: Shop, receiver: Receiver, pg_store: AutomationStore
) -> None:
    assert pg_store.db.dialect == "postgres"
    spec = RuleSpec.model_validate(
        {
            "name": "Orders",
            "trigger_event": "Order Completed",
            "actions": [{"type": "webhook", "url": receiver.url, "secret": WEBHOOK_SECRET}],
        }
    )
    rule = pg_store.create_rule("shop-a", spec)
    assert pg_store.get_rule("shop-b", rule.rule_id) is None
    assert pg_store.list_rules("shop-b") == []
    worker = Worker(shop.settings, fast_config(shop.settings), store=pg_store)
    try:
        shop.send(shop.key_a, track("Order Completed", "u1", order_id="o1", revenue=10.0))
        shop.send(shop.key_b, track("Order Completed", "u1", order_id="o1", revenue=10.0))
        run_until(worker, lambda: len(receiver.requests) >= 1)
        for _ in range(3):
            worker.run_once()
    finally:
        worker._pool.shutdown()
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert verify_webhook(WEBHOOK_SECRET, got.body, got.headers[SIGNATURE_HEADER])
    ((_, trigger_id, person, status),) = pg_store.scheduled_statuses("shop-a")
    assert (person, status) == ("u1", "fired")
    # Seeing the same trigger again (a re-read after a crash) schedules nothing.
    again = pg_store.schedule(
        tenant_id="shop-a",
        rule_id=rule.rule_id,
        trigger_id=trigger_id,
        person_id="u1",
        occurred_at_us=0,
        due_at_us=0,
        trigger={},
    )
    assert again is False
    with psycopg.connect(pg_store.db.target if isinstance(pg_store.db.target, str) else "") as con:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'automation'"
            )
        }
    assert {"rules", "scheduled_actions", "deliveries", "campaign_events"} <= tables
    assert pg_store.performance("shop-a")[0]["delivered"] == 1
    assert pg_store.performance("shop-b") == []
