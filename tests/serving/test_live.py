"""Live numbers: folded correctly (time zones, retries, bots), pushed over the WebSocket within a
second of an event landing in the event log, and a snapshot first on every (re)connect."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis

from ingest.event_log import RedisStreamEventLog, SqliteEventLog
from intellishop.events import LoggedBatch, LoggedEvent, to_micros
from serving.live.metrics import TenantLive
from serving.live.tail import RedisLogTail
from tests.serving.conftest import Shops


def event(
    name: str | None = "Product Viewed",
    *,
    user: str = "u1",
    at: datetime | None = None,
    received_us: int | None = None,
    properties: dict[str, object] | None = None,
    context: dict[str, object] | None = None,
) -> LoggedEvent:
    now_us = time.time_ns() // 1000
    return LoggedEvent(
        message_id=uuid.uuid4().hex,
        type="track",
        event=name,
        user_id=user,
        anonymous_id=None,
        timestamp_us=to_micros(at) if at else now_us,
        sent_at_us=None,
        received_at_us=received_us or now_us,
        properties=json.dumps(properties or {}).encode(),
        traits=b"{}",
        context=json.dumps(context or {}).encode(),
    )


def order(order_id: str, revenue: float, **kwargs: object) -> LoggedEvent:
    return event(
        "Order Completed",
        properties={"order_id": order_id, "revenue": revenue, "products": [{"product_id": "p"}]},
        **kwargs,  # type: ignore[arg-type]
    )


def test_today_is_the_tenants_calendar_day() -> None:
    live = TenantLive("t", "America/New_York", "USD")
    now = to_micros(datetime(2026, 1, 2, 3, 0, tzinfo=UTC))  # 22:00 on Jan 1st in New York
    live.apply(order("late-on-the-1st", 10.0, at=datetime(2026, 1, 2, 2, 0, tzinfo=UTC)))
    live.apply(order("on-the-2nd", 99.0, at=datetime(2026, 1, 2, 6, 0, tzinfo=UTC)))
    snapshot = live.snapshot(now)
    assert snapshot["day"] == "2026-01-01"
    assert (snapshot["orders_today"], snapshot["revenue_today"]) == (1, 10.0)


def test_orders_count_once_and_bots_and_served_lists_do_not_count() -> None:
    live = TenantLive("t", "UTC", "EUR")
    assert live.apply(order("o1", 25.5))
    assert live.apply(order("o1", 25.5))  # the same order retried
    live.apply(event("Order Completed", properties={"order_id": "o2", "total": "4.5"}))
    live.apply(
        event(
            "Order Completed",
            properties={"order_id": "o3", "products": [{"price": 2, "quantity": 3}]},
        )
    )
    assert not live.apply(event(user="crawler", context={"intellishop": {"is_bot": True}}))
    assert not live.apply(event(user="x", context={"library": {"name": "intellishop-serving"}}))
    snapshot = live.snapshot(time.time_ns() // 1000)
    assert (snapshot["orders_today"], snapshot["revenue_today"]) == (3, 36.0)
    assert [o["order_id"] for o in snapshot["latest_orders"]] == ["o3", "o2", "o1"]
    assert snapshot["active_users"] == 1 and snapshot["events_per_minute"] == 4


def test_active_users_are_the_last_five_minutes() -> None:
    live = TenantLive("t", "UTC", "USD")
    now = time.time_ns() // 1000
    live.apply(event(user="recent", received_us=now - 299 * 10**6))
    live.apply(event(user="gone", received_us=now - 301 * 10**6))
    live.apply(event(user="recent", received_us=now - 10 * 10**6))
    snapshot = live.snapshot(now)
    assert snapshot["active_users"] == 1
    assert sum(point["events"] for point in snapshot["events_per_minute_series"]) == 3


def _append(shops: Shops, tenant_id: str, *events: LoggedEvent) -> None:
    log = SqliteEventLog(shops.settings.event_log_path)
    log.append(LoggedBatch(tenant_id=tenant_id, events=list(events)))
    log.close()


def test_the_socket_sends_a_snapshot_then_each_change(shops: Shops) -> None:
    _append(shops, "shop-a", order("before", 10.0, user="early"))  # before anyone listens
    key = shops.keys["shop-a"]
    with shops.client.websocket_connect(f"/v1/live?key={key}") as socket:
        first = socket.receive_json()
        assert first["type"] == "snapshot" and first["tenant_id"] == "shop-a"
        assert first["orders_today"] == 1 and first["active_users"] == 1
        _append(shops, "shop-b", order("other-shop", 500.0))
        started = time.monotonic()
        _append(shops, "shop-a", order("o-live", 42.0, user="buyer"))
        update = socket.receive_json()
        assert time.monotonic() - started < 1.0
        assert update["orders_today"] == 2 and update["revenue_today"] == 52.0
        assert update["latest_orders"][0]["order_id"] == "o-live"
        assert update["sequence"] > first["sequence"]
    # A reconnect starts from a full snapshot: nothing is missed, nothing double counted.
    with shops.client.websocket_connect("/v1/live", headers={"X-API-Key": key}) as socket:
        again = socket.receive_json()
        assert (again["orders_today"], again["revenue_today"]) == (2, 52.0)


@pytest.mark.parametrize(
    ("query", "code", "status"),
    [("", 4401, 401), ("?key=isk_forged", 4401, 401), ("?key={public}", 4403, 403)],
)
def test_the_socket_refuses_bad_and_public_keys(
    shops: Shops, query: str, code: int, status: int
) -> None:
    with shops.client.websocket_connect(
        "/v1/live" + query.format(public=shops.keys["shop-a-public"])
    ) as socket:
        message = socket.receive_json()
        assert message["type"] == "error" and message["status"] == status
        closed = socket.receive()
        assert closed["type"] == "websocket.close" and closed["code"] == code


def test_the_redis_tail_reads_without_consuming(redis_client: redis.Redis) -> None:
    """Prod: XREAD after a cursor, no consumer group; entries before ``since`` are skipped."""
    stream = f"test:serving:live:{uuid.uuid4().hex}"
    log = RedisStreamEventLog(redis_client, stream)
    try:
        log.append(LoggedBatch("shop", [order("old", 1.0)]))
        time.sleep(0.01)
        since = time.time_ns() // 1000
        log.append(LoggedBatch("shop", [order("new", 2.0)]))
        tail = RedisLogTail(redis_client, stream, block_ms=100)
        batches, cursor = tail.read(tail.start_cursor(since), 10)
        assert [json.loads(b.events[0].properties)["order_id"] for b in batches] == ["new"]
        assert tail.read(cursor, 10) == ([], cursor)  # blocks 100 ms, nothing new
        assert not redis_client.xinfo_groups(stream)  # nothing was consumed
        log.append(LoggedBatch("shop", [order("newer", 3.0)]))
        more, _ = tail.read(cursor, 10)
        assert json.loads(more[0].events[0].properties)["order_id"] == "newer"
    finally:
        redis_client.delete(stream)
