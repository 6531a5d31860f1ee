"""Events posted to the real collector reach a real HTTP receiver as signed webhooks, in time;
failures are retried with backoff, then dead-lettered and replayable; private targets are
refused unless the operator allows them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from intellishop.automation.delivery.webhook import (
    RefusedTargetError,
    is_public_address,
    resolve_target,
)
from intellishop.automation.signing import SIGNATURE_HEADER, sign_webhook, verify_webhook
from intellishop.automation.store import AutomationStore
from intellishop.automation.worker import Worker

from .conftest import WEBHOOK_SECRET, Receiver, Shop, run_until, track


def webhook_rule(url: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Order to CRM",
        "trigger_event": "Order Completed",
        "conditions": [{"field": "event.properties.revenue", "op": "gte", "value": 50}],
        "actions": [{"type": "webhook", "url": url, "secret": WEBHOOK_SECRET}],
    }
    body.update(overrides)
    return body


def create_rule(shop: Shop, key: str, body: dict[str, Any]) -> str:
    response = shop.api.post("/v1/automations/rules", json=body, headers=shop.auth(key))
    assert response.status_code == 201, response.text
    return str(response.json()["rule_id"])


def order(user: str, order_id: str, revenue: float) -> dict[str, Any]:
    return track(
        "Order Completed",
        user,
        order_id=order_id,
        revenue=revenue,
        currency="USD",
        products=[{"product_id": "p1", "price": revenue, "quantity": 1}],
    )


def test_signed_webhook_within_time_once_per_trigger(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    rule_id = create_rule(shop, shop.key_a, webhook_rule(receiver.url))
    worker = make_worker()
    started = time.monotonic()
    shop.send(shop.key_a, order("u1", "o1", 80.0), order("u2", "o2", 20.0))
    run_until(worker, lambda: len(receiver.requests) >= 1)
    elapsed = time.monotonic() - started
    assert elapsed < 60, elapsed
    for _ in range(5):  # more passes send nothing more
        worker.run_once()
    assert len(receiver.requests) == 1  # u2's order is below the condition
    got = receiver.requests[0]
    assert verify_webhook(WEBHOOK_SECRET, got.body, got.headers[SIGNATURE_HEADER])
    assert not verify_webhook("another-secret-of-16", got.body, got.headers[SIGNATURE_HEADER])
    assert not verify_webhook(WEBHOOK_SECRET, got.body + b" ", got.headers[SIGNATURE_HEADER])
    body = got.json()
    assert body["rule"]["id"] == rule_id and body["tenant_id"] == "shop-a"
    assert body["person_id"] == "u1" and body["trigger"]["properties"]["order_id"] == "o1"
    assert got.headers["Idempotency-Key"] == body["id"]
    assert got.headers["Idempotency-Key"].startswith(f"{rule_id}:")

    # The same message id sent again (a client retry) triggers nothing new.
    message = order("u1", "o1", 80.0) | {"messageId": "m-fixed"}
    shop.send(shop.key_a, message)
    shop.send(shop.key_a, message)
    run_until(worker, lambda: len(receiver.requests) >= 2)
    for _ in range(5):
        worker.run_once()
    keys = [r.headers["Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == 2 and len(set(keys)) == 2


def test_other_tenants_events_do_not_trigger(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    create_rule(shop, shop.key_a, webhook_rule(receiver.url))
    worker = make_worker()
    shop.send(shop.key_b, order("u1", "o1", 500.0))
    report = run_until(worker, lambda: True)
    for _ in range(3):
        worker.run_once()
    assert report.events >= 1
    assert receiver.requests == []


def test_retries_with_backoff_then_dead_letter_then_replay(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    create_rule(shop, shop.key_a, webhook_rule(receiver.url))
    receiver.statuses = [500, 503, 500, 502]  # the first attempt and all 3 retries fail
    worker = make_worker(backoff_base_seconds=0.1)
    shop.send(shop.key_a, order("u1", "o1", 99.0))
    auth = shop.auth(shop.key_a)
    run_until(
        worker,
        lambda: bool(
            shop.api.get("/v1/automations/dead-letters", headers=auth).json()["deliveries"]
        ),
    )
    times = [r for r in receiver.requests]
    assert len(times) == 4
    assert len({r.headers["Idempotency-Key"] for r in times}) == 1
    dead = shop.api.get("/v1/automations/dead-letters", headers=auth).json()["deliveries"]
    assert dead[0]["attempts"] == 4 and "HTTP 502" in dead[0]["last_error"]
    # Another tenant can neither see nor replay it.
    other = shop.auth(shop.key_b)
    assert shop.api.get("/v1/automations/dead-letters", headers=other).json()["deliveries"] == []
    replay_url = f"/v1/automations/dead-letters/{dead[0]['id']}/replay"
    assert shop.api.post(replay_url, headers=other).status_code == 404
    replayed = shop.api.post(replay_url, headers=auth)
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    run_until(worker, lambda: len(receiver.requests) == 5)
    assert receiver.requests[-1].headers["Idempotency-Key"] == dead[0]["idempotency_key"]
    perf = shop.api.get("/v1/automations/performance", headers=auth).json()["campaigns"]
    assert perf[0]["sent"] == 1 and perf[0]["delivered"] == 1 and perf[0]["failed"] == 0


def test_backoff_grows_exponentially_with_jitter(make_worker: Callable[..., Worker]) -> None:
    worker = make_worker(backoff_base_seconds=10.0)
    for attempt, base in ((1, 10.0), (2, 20.0), (3, 40.0)):
        delays = [worker.backoff_us(attempt) / 1e6 for _ in range(200)]
        assert all(0.5 * base <= d <= 1.5 * base for d in delays)
        assert max(delays) - min(delays) > 0.2 * base  # jittered, not fixed


def test_loopback_is_refused_by_default(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    create_rule(shop, shop.key_a, webhook_rule(receiver.url))
    worker = make_worker(allow_private_targets=False)
    shop.send(shop.key_a, order("u1", "o1", 99.0))
    store = AutomationStore.for_settings(shop.settings)
    run_until(worker, lambda: bool(store.dead_letters("shop-a")))
    assert receiver.requests == []
    dead = store.dead_letters("shop-a")[0]
    assert "refused" in (dead.last_error or "") and dead.attempts == 1


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "fc00::1",
    ],
)
def test_private_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


def test_public_addresses_pass_and_names_are_resolved() -> None:
    assert is_public_address("93.184.216.34") and is_public_address("2606:4700::1111")
    with pytest.raises(RefusedTargetError):
        resolve_target("http://localhost:9/x", allow_private=False)
    with pytest.raises(RefusedTargetError):
        resolve_target("http://[::ffff:169.254.169.254]/", allow_private=False)
    assert resolve_target("http://localhost:9/x", allow_private=True) in ("127.0.0.1", "::1")


def test_redirects_are_not_followed(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    create_rule(shop, shop.key_a, webhook_rule(receiver.url))
    receiver.statuses = [302]
    receiver.headers_out = {"Location": "http://169.254.169.254/latest/meta-data"}
    worker = make_worker(backoff_base_seconds=30.0)
    shop.send(shop.key_a, order("u1", "o1", 99.0))
    store = AutomationStore.for_settings(shop.settings)
    run_until(
        worker,
        lambda: (
            bool(store.deliveries("shop-a")[0].last_error) if store.deliveries("shop-a") else False
        ),
    )
    assert len(receiver.requests) == 1
    assert "redirects are not followed" in (store.deliveries("shop-a")[0].last_error or "")


def test_signature_format_is_documented_shape() -> None:
    header = sign_webhook("k" * 16, b'{"a":1}', timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify_webhook("k" * 16, b'{"a":1}', header, now=1_700_000_100)
    assert not verify_webhook("k" * 16, b'{"a":1}', header, now=1_700_001_000)  # too old
    assert not verify_webhook("k" * 16, b'{"a":1}', "garbage")
