"""Timing and built-in flows: delays, cancellation, quiet hours, frequency caps, win-back,
price drop, back in stock and add-to-segment. The worker's clock is passed in (``at_us``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from intellishop.artifacts import LocalArtifactStore
from intellishop.automation.store import AutomationStore
from intellishop.automation.worker import Worker
from intellishop.settings import Settings

from .conftest import WEBHOOK_SECRET, Receiver, Shop, run_until, track

MINUTE_US = 60 * 1_000_000


def hook(receiver: Receiver) -> list[dict[str, Any]]:
    return [{"type": "webhook", "url": receiver.url, "secret": WEBHOOK_SECRET}]


def enable(shop: Shop, flow: str, **params: Any) -> str:
    response = shop.api.post(
        f"/v1/automations/flows/{flow}", json=params, headers=shop.auth(shop.key_a)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["rule_id"])


def people(receiver: Receiver) -> list[str]:
    return sorted(r.json()["person_id"] for r in receiver.requests)


def settle(worker: Worker, at_us: int | None = None, passes: int = 4) -> None:
    for _ in range(passes):
        worker.run_once(at_us)


def test_abandoned_cart_fires_after_delay_and_order_cancels(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    enable(shop, "abandoned_cart", minutes=30, actions=hook(receiver))
    worker = make_worker()
    start = time.time_ns() // 1000
    shop.send(
        shop.key_a,
        track("Checkout Started", "u1", order_id="c1"),
        track("Checkout Started", "u2", order_id="c2"),
    )
    shop.send(shop.key_a, track("Order Completed", "u2", order_id="c2", revenue=30.0))
    settle(worker, start + 29 * MINUTE_US)
    assert receiver.requests == []  # not due yet
    settle(worker, start + 31 * MINUTE_US)
    assert people(receiver) == ["u1"]
    statuses = {
        p: s
        for _, _, p, s in AutomationStore.for_settings(shop.settings).scheduled_statuses("shop-a")
    }
    assert statuses == {"u1": "fired", "u2": "cancelled"}


def test_browse_abandonment_cancelled_by_add_to_cart(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    enable(shop, "browse_abandonment", minutes=10, actions=hook(receiver))
    worker = make_worker()
    start = time.time_ns() // 1000
    shop.send(
        shop.key_a,
        track("Product Viewed", "u1", product_id="p1"),
        track("Product Viewed", "u2", product_id="p1"),
        track("Product Added", "u2", product_id="p1", quantity=1),
    )
    settle(worker, start + 11 * MINUTE_US)
    assert people(receiver) == ["u1"]


def test_quiet_hours_wait_until_they_end_in_the_tenants_zone(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    berlin = datetime.now(ZoneInfo("Europe/Berlin"))
    start_local, end_local = berlin - timedelta(hours=1), berlin + timedelta(hours=1)
    body = {
        "name": "Quiet",
        "trigger_event": "Order Completed",
        "quiet_hours": {"start": start_local.strftime("%H:%M"), "end": end_local.strftime("%H:%M")},
        "actions": hook(receiver),
    }
    assert (
        shop.api.post("/v1/automations/rules", json=body, headers=shop.auth(shop.key_a)).status_code
        == 201
    )
    worker = make_worker()
    shop.send(shop.key_a, track("Order Completed", "u1", order_id="o1", revenue=5.0))
    settle(worker)
    assert receiver.requests == []
    release = end_local.replace(second=0, microsecond=0).astimezone(UTC)
    settle(worker, int(release.timestamp() * 1e6) - MINUTE_US)
    assert receiver.requests == []
    settle(worker, int(release.timestamp() * 1e6) + 1)
    assert people(receiver) == ["u1"]


def test_frequency_cap_per_person_per_window(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    body = {
        "name": "Capped",
        "trigger_event": "Product Viewed",
        "frequency_cap": {"max_actions": 1, "window_seconds": 3600},
        "actions": hook(receiver),
    }
    shop.api.post("/v1/automations/rules", json=body, headers=shop.auth(shop.key_a))
    worker = make_worker()
    shop.send(shop.key_a, *[track("Product Viewed", "u1", product_id=f"p{i}") for i in range(3)])
    shop.send(shop.key_a, track("Product Viewed", "u2", product_id="p1"))
    settle(worker)
    assert people(receiver) == ["u1", "u2"]
    statuses = [
        s
        for _, _, p, s in AutomationStore.for_settings(shop.settings).scheduled_statuses("shop-a")
        if p == "u1"
    ]
    assert sorted(statuses) == ["capped", "capped", "fired"]


def publish_customers(settings: Settings) -> None:
    customers = pa.table(
        {
            "customer_id": ["u1", "u2", "u3"],
            "user_id": ["u1", "u2", "u3"],
            "orders": [3, 1, 2],
            "net_revenue": [300.0, 50.0, 80.0],
            "recency_days": [120, 5, 5],
            "recency_score": [1, 5, 5],
            "frequency_score": [4, 1, 2],
            "monetary_score": [5, 1, 2],
            "rfm_code": ["145", "511", "522"],
            "rfm_segment": ["at_risk", "new_customers", "promising"],
        }
    )
    scores = pa.table(
        {
            "user_id": ["u1", "u2", "u3"],
            "churn_probability": [0.4, 0.85, 0.1],
            "clv_12m": [100.0, 20.0, 60.0],
            "expected_purchases_90d": [0.5, 0.1, 0.8],
            "model_version": ["t"] * 3,
        }
    )
    LocalArtifactStore(settings.artifacts_dir).publish(
        "shop-a", {"customers": customers, "customer_scores": scores}
    )


def test_win_back_by_recency_or_churn_once_per_period(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    publish_customers(shop.settings)
    enable(shop, "win_back", inactive_days=90, churn_threshold=0.7, actions=hook(receiver))
    worker = make_worker(scan_seconds=0.0)
    settle(worker)
    assert people(receiver) == ["u1", "u2"]
    body = receiver.requests[0].json()
    assert body["trigger"]["event"] == "Win-back Due"
    assert {r.json()["customer"]["rfm_segment"] for r in receiver.requests} == {
        "at_risk",
        "new_customers",
    }
    settle(worker)  # the next scan in the same period schedules nobody again
    assert len(receiver.requests) == 2


def test_conditions_on_customer_attributes(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    publish_customers(shop.settings)
    body = {
        "name": "Valuable and at risk, in Germany",
        "trigger_event": "Product Viewed",
        "conditions": [
            {"field": "customer.clv_12m", "op": "gte", "value": 50},
            {"field": "customer.rfm_segment", "op": "in", "value": ["at_risk", "promising"]},
            {"field": "customer.country", "op": "eq", "value": "DE"},
        ],
        "actions": hook(receiver),
    }
    shop.api.post("/v1/automations/rules", json=body, headers=shop.auth(shop.key_a))
    worker = make_worker()
    de = {"context": {"location": {"country": "DE"}}}
    fr = {"context": {"location": {"country": "FR"}}}
    shop.send(
        shop.key_a,
        track("Product Viewed", "u1", product_id="p1") | de,
        track("Product Viewed", "u2", product_id="p1") | de,  # clv too low
        track("Product Viewed", "u3", product_id="p1") | fr,  # wrong country
    )
    settle(worker)
    assert people(receiver) == ["u1"]


def write_catalog(settings: Settings, prices: dict[str, float], in_stock: dict[str, bool]) -> None:
    directory = settings.raw_zone_dir / "catalog" / "tenant_id=shop-a"
    directory.mkdir(parents=True, exist_ok=True)
    ids = sorted(prices)
    table = pa.table(
        {
            "product_id": ids,
            "name": [f"Product {i}" for i in ids],
            "price": [prices[i] for i in ids],
            "in_stock": [in_stock.get(i, True) for i in ids],
        }
    )
    path = directory / "products.parquet"
    pq.write_table(table, directory / ".tmp.parquet")
    (directory / ".tmp.parquet").replace(path)
    # Different mtime for each version even within the filesystem's timestamp resolution.
    stamp = time.time_ns() + len(prices) * 1000 + int(sum(prices.values()))
    os.utime(path, ns=(stamp, stamp))


def test_price_drop_and_back_in_stock_for_viewers(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    enable(shop, "price_drop", viewed_days=30, actions=hook(receiver))
    enable(shop, "back_in_stock", viewed_days=30, actions=hook(receiver))
    worker = make_worker()
    shop.send(
        shop.key_a,
        track("Product Viewed", "u1", product_id="p1"),
        track("Product Viewed", "u2", product_id="p2"),
    )
    write_catalog(shop.settings, {"p1": 100.0, "p2": 50.0, "p3": 10.0}, {"p2": False})
    settle(worker)
    assert receiver.requests == []  # the first catalog is the baseline
    write_catalog(shop.settings, {"p1": 80.0, "p2": 50.0, "p3": 5.0}, {"p2": True})
    settle(worker)
    got = sorted((r.json()["trigger"]["event"], r.json()["person_id"]) for r in receiver.requests)
    assert got == [("Back In Stock", "u2"), ("Price Dropped", "u1")]
    drop = next(r.json() for r in receiver.requests if r.json()["person_id"] == "u1")
    assert drop["trigger"]["properties"]["new_price"] == 80.0
    assert drop["trigger"]["properties"]["old_price"] == 100.0


def test_add_to_segment_then_condition_on_it(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    auth = shop.auth(shop.key_a)
    shop.api.post(
        "/v1/automations/rules",
        json={
            "name": "VIP",
            "trigger_event": "Order Completed",
            "conditions": [{"field": "event.properties.revenue", "op": "gt", "value": 500}],
            "actions": [{"type": "add_to_segment", "segment": "vip"}],
        },
        headers=auth,
    )
    shop.api.post(
        "/v1/automations/rules",
        json={
            "name": "VIP browsing",
            "trigger_event": "Product Viewed",
            "conditions": [{"field": "customer.segments", "op": "contains", "value": "vip"}],
            "actions": hook(receiver),
        },
        headers=auth,
    )
    worker = make_worker()
    shop.send(
        shop.key_a,
        track("Order Completed", "u1", order_id="o1", revenue=900.0),
        track("Order Completed", "u2", order_id="o2", revenue=9.0),
    )
    settle(worker)
    members = shop.api.get("/v1/automations/segments/vip", headers=auth).json()["members"]
    assert members == ["u1"]
    assert (
        shop.api.get("/v1/automations/segments/vip", headers=shop.auth(shop.key_b)).json()[
            "members"
        ]
        == []
    )
    shop.send(
        shop.key_a,
        track("Product Viewed", "u1", product_id="p1"),
        track("Product Viewed", "u2", product_id="p1"),
    )
    run_until(worker, lambda: len(receiver.requests) >= 1)
    settle(worker)
    assert people(receiver) == ["u1"]
