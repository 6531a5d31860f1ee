"""The worker reads the event log with its own consumer: the loader's offset (SQLite) or
consumer group (Redis Streams) is untouched, and the Redis path works end to end."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import msgspec
import pytest
import redis

from ingest.event_log import RedisStreamEventLog, SqliteEventLog
from ingest.loader import LOADER_CONSUMER
from intellishop.automation.rules import RuleSpec
from intellishop.automation.store import AutomationStore
from intellishop.automation.worker import AUTOMATION_CONSUMER, Worker
from intellishop.events import LoggedBatch, LoggedEvent

from .conftest import WEBHOOK_SECRET, Receiver, Shop, fast_config, run_until, track


def webhook_spec(url: str) -> RuleSpec:
    return RuleSpec.model_validate(
        {
            "name": "Orders",
            "trigger_event": "Order Completed",
            "actions": [{"type": "webhook", "url": url, "secret": WEBHOOK_SECRET}],
        }
    )


def test_sqlite_loader_offset_untouched(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    AutomationStore.for_settings(shop.settings).create_rule("shop-a", webhook_spec(receiver.url))
    shop.send(shop.key_a, track("Order Completed", "u1", order_id="o1"))
    log = SqliteEventLog(shop.settings.event_log_path)
    lag_before = log.lag(LOADER_CONSUMER)
    worker = make_worker()
    run_until(worker, lambda: len(receiver.requests) == 1)
    assert log.lag(AUTOMATION_CONSUMER) == 1  # only its own Campaign Message Sent is left
    assert log.lag(LOADER_CONSUMER) == lag_before + 1  # the loader still has everything to load


def order_event(user: str, message_id: str) -> LoggedEvent:
    return LoggedEvent(
        message_id=message_id,
        type="track",
        event="Order Completed",
        user_id=user,
        anonymous_id=None,
        timestamp_us=1,
        sent_at_us=None,
        received_at_us=1,
        properties=msgspec.json.encode({"order_id": message_id}),
        traits=b"{}",
        context=b"{}",
    )


@pytest.fixture
def stream(redis_client: redis.Redis) -> Iterator[str]:
    key = f"test:automation:{uuid.uuid4().hex}"
    yield key
    for found in redis_client.scan_iter(f"{key}*"):
        redis_client.delete(found)


def test_redis_streams_own_consumer_group(
    shop: Shop, receiver: Receiver, redis_client: redis.Redis, stream: str
) -> None:
    store = AutomationStore.for_settings(shop.settings)
    store.create_rule("shop-a", webhook_spec(receiver.url))
    log = RedisStreamEventLog(redis_client, stream, member="test-host")
    log.append(LoggedBatch("shop-a", [order_event("u1", "m1"), order_event("u2", "m2")]))
    loader_view = [e.entry_id for e in log.read(LOADER_CONSUMER, 100)]  # read, not committed
    worker = Worker(shop.settings, fast_config(shop.settings), store=store, event_log=log)
    try:
        run_until(worker, lambda: len(receiver.requests) == 2)
        for _ in range(3):
            worker.run_once()
    finally:
        worker._pool.shutdown()
        worker._http.close()
    assert sorted(r.json()["person_id"] for r in receiver.requests) == ["u1", "u2"]
    # The loader's pending entry is still its own, unacknowledged; the worker's group is done.
    assert [e.entry_id for e in log.read(LOADER_CONSUMER, 100)] == loader_view
    pending = redis_client.xpending(stream, AUTOMATION_CONSUMER)
    assert int(pending["pending"]) == 0
    groups = {g["name"].decode() for g in redis_client.xinfo_groups(stream)}
    assert groups == {LOADER_CONSUMER, AUTOMATION_CONSUMER}
