"""The Python server client against the real collector process (and a few mock-transport cases)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from ingest.sdk.python import Client

from .conftest import RunningCollector


@pytest.mark.e2e
def test_ten_threads_deliver_every_event_exactly_once(collector: RunningCollector) -> None:
    client = Client(collector.key, collector.url, flush_at=100, flush_interval=0.2)
    sent: list[list[str]] = [[] for _ in range(10)]

    def shopper(index: int) -> None:
        for n in range(500):
            sent[index].append(
                client.track(
                    "Product Viewed",
                    {"product_id": f"p_{n}", "thread": index, "n": n},
                    user_id=f"u_{index}",
                )
            )

    started = time.perf_counter()
    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.close(timeout=60)
    elapsed = time.perf_counter() - started

    expected = {message_id for ids in sent for message_id in ids}
    assert len(expected) == 5000
    users = {f"u_{i}" for i in range(10)}
    events = [event for event in collector.events() if event.user_id in users]
    counts = Counter(event.message_id for event in events)
    assert set(counts) == expected
    assert max(counts.values()) == 1, "an event arrived twice"
    assert client.stats.delivered == 5000
    assert client.stats.dropped == client.stats.failed == client.stats.rejected == 0
    assert {event.tenant_id for event in events} == {"sdk-shop"}
    by_thread = Counter(event.user_id for event in events)
    assert by_thread == {f"u_{i}": 500 for i in range(10)}
    first = events[0]
    assert first.context["library"]["name"] == "intellishop-python"
    assert first.properties["product_id"].startswith("p_")
    print(f"5000 events from 10 threads in {elapsed:.2f} s, {client.stats.retries} retries")


@pytest.mark.e2e
def test_close_flushes_every_call_type(collector: RunningCollector) -> None:
    # Neither the size nor the timer would send before close(): close() must.
    client = Client(collector.key, collector.url, flush_at=1000, flush_interval=600)
    ids = [
        client.identify("u_7", {"email": "jo@example.com"}, anonymous_id="anon_7"),
        client.track("Order Completed", {"order_id": "o_1", "revenue": 42.5}, user_id="u_7"),
        client.page("Checkout", {"path": "/checkout"}, user_id="u_7", category="Shop"),
        client.alias("u_7", "anon_7"),
        client.group("acme", {"plan": "b2b"}, user_id="u_7"),
    ]
    time.sleep(0.3)
    assert not set(ids) & {event.message_id for event in collector.events()}
    assert client.close(timeout=10)
    events = {event.message_id: event for event in collector.events()}
    assert set(ids) <= set(events)
    identify, track, page, alias, group = (events[i] for i in ids)
    assert (identify.type, identify.user_id, identify.anonymous_id) == ("identify", "u_7", "anon_7")
    assert identify.traits == {"email": "jo@example.com"}
    assert (track.event, track.properties["revenue"]) == ("Order Completed", 42.5)
    assert (page.type, page.event, page.properties["category"]) == ("page", "Checkout", "Shop")
    assert (alias.type, alias.previous_id) == ("alias", "anon_7")
    assert group.type == "group"
    with pytest.raises(RuntimeError, match="closed"):
        client.track("Late", user_id="u_7")


@pytest.mark.e2e
def test_retries_until_the_collector_starts(
    collector_factory: Callable[..., RunningCollector],
) -> None:
    collector = collector_factory()  # not started: connections are refused
    client = Client(
        collector.key,
        collector.url,
        flush_at=10,
        flush_interval=0.1,
        backoff_base=0.1,
        backoff_max=0.5,
        max_retries=200,
    )
    ids = [client.track("Cart Viewed", {"n": n}, anonymous_id="a_1") for n in range(25)]
    assert not client.flush(timeout=0.5)
    assert client.stats.retries > 0
    collector.start()
    assert client.flush(timeout=30)
    counts = Counter(event.message_id for event in collector.events())
    assert counts == Counter(ids)
    assert client.stats.delivered == 25 and client.stats.failed == 0
    client.close()


def _recording_transport(
    answers: list[httpx.Response],
) -> tuple[httpx.MockTransport, list[tuple[float, httpx.Request]]]:
    calls: list[tuple[float, httpx.Request]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((time.monotonic(), request))
        return answers.pop(0) if answers else httpx.Response(200, json={"rejected": []})

    return httpx.MockTransport(handler), calls


def test_full_queue_drops_the_oldest_and_counts_them() -> None:
    transport, calls = _recording_transport([])
    client = Client(
        "isk_test", flush_at=1000, flush_interval=600, max_queue_size=10, transport=transport
    )
    ids = [client.track("Product Viewed", {"n": n}, user_id="u") for n in range(25)]
    assert client.dropped == 15
    assert client.close(timeout=5)
    sent = [
        message["messageId"]
        for _, request in calls
        for message in httpx.Response(200, content=request.content).json()["batch"]
    ]
    assert sent == ids[15:]


def test_a_4xx_is_not_retried_and_429_waits_for_retry_after() -> None:
    transport, calls = _recording_transport([httpx.Response(401, json={"detail": "bad key"})])
    client = Client("isk_test", flush_at=1, backoff_base=0.01, transport=transport)
    client.track("A", user_id="u")
    assert client.flush(timeout=5)
    assert len(calls) == 1 and client.stats.rejected == 1 and client.stats.retries == 0
    client.close()

    transport, calls = _recording_transport(
        [httpx.Response(429, headers={"Retry-After": "0.4"}), httpx.Response(503)]
    )
    client = Client("isk_test", flush_at=1, backoff_base=0.01, transport=transport)
    client.track("B", user_id="u")
    assert client.flush(timeout=5)
    assert len(calls) == 3 and client.stats.delivered == 1 and client.stats.retries == 2
    assert calls[1][0] - calls[0][0] >= 0.4, "Retry-After was not respected"
    assert calls[1][1].content == calls[0][1].content, "a retry must resend the same batch"
    client.close()


def test_shop_values_are_encoded_and_oversized_events_refused_at_the_call() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    transport, calls = _recording_transport([])
    client = Client("isk_test", flush_at=1, transport=transport)
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    message_id = client.track(
        "Order Completed",
        {"revenue": Decimal("89.90"), "placed_at": when, "tags": ("a",)},
        user_id="u",
        timestamp=when,
    )
    with pytest.raises(ValueError, match="at most 32768"):
        client.track("Huge", {"blob": "x" * 40_000}, user_id="u")
    with pytest.raises(ValueError, match="user_id or anonymous_id"):
        client.track("Nobody")
    assert client.close(timeout=5)
    [message] = [
        m for _, r in calls for m in httpx.Response(200, content=r.content).json()["batch"]
    ]
    assert message["messageId"] == message_id
    assert message["properties"] == {
        "revenue": 89.9,
        "placed_at": "2026-03-01T12:30:00+00:00",
        "tags": ["a"],
    }
    assert message["timestamp"] == "2026-03-01T12:30:00.000Z"
    assert client.stats.queued == 1
