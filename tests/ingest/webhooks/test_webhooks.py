"""Platform webhooks over HTTP: signatures, topic mapping, redelivery and tenant isolation."""

from __future__ import annotations

import json
import stat
from typing import Any

import pyarrow.parquet as pq
import pytest

from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER, drain_event_log
from ingest.platforms.connections import (
    PlatformConnections,
    hmac_sha256_base64,
    signature_is_valid,
)
from intellishop.events import LoggedEvent, from_micros
from intellishop.settings import Settings

from .conftest import SECRETS, Shops, fixture_bytes, fixture_json


def logged(settings: Settings) -> list[tuple[str, LoggedEvent]]:
    log = SqliteEventLog(settings.event_log_path)
    try:
        entries = log.read(LOADER_CONSUMER, 10_000)
    finally:
        log.close()
    return [(entry.batch.tenant_id, event) for entry in entries for event in entry.batch.events]


def props(event: LoggedEvent) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event.properties)
    return loaded


# --- signatures -------------------------------------------------------------------------------


def test_signature_check_is_base64_hmac_of_the_raw_body() -> None:
    body = b'{"id": 1}'
    # Computed with openssl: printf '{"id": 1}' | openssl dgst -sha256 -hmac s3cr3t -binary
    expected = "xqbGLh7RbegVcfxMwDOFqVhyaef331P2LmOgyTOQy74="
    assert hmac_sha256_base64("s3cr3t", body) == expected
    assert signature_is_valid("s3cr3t", body, expected)
    assert not signature_is_valid("s3cr3t", body + b" ", expected)
    assert not signature_is_valid("other", body, expected)
    assert not signature_is_valid("s3cr3t", body, None)
    assert not signature_is_valid("s3cr3t", body, "not base64!!")


def test_valid_shopify_signature_is_stored(shops: Shops) -> None:
    response = shops.shopify("orders/create", fixture_bytes("shopify", "orders_create"))
    assert response.status_code == 200, response.text
    assert response.json()["events"] == ["Order Completed"]
    assert [tenant for tenant, _ in logged(shops.settings)] == ["shop-a"]


@pytest.mark.parametrize("signature", ["", "AAAA", "bm90IHRoZSBzaWduYXR1cmU="])
def test_bad_or_missing_signature_is_401_and_stores_nothing(shops: Shops, signature: str) -> None:
    body = fixture_bytes("shopify", "orders_create")
    headers = {"X-Shopify-Topic": "orders/create", "Content-Type": "application/json"}
    if signature:
        headers["X-Shopify-Hmac-Sha256"] = signature
    response = shops.client.post("/webhooks/shopify/shop-a", content=body, headers=headers)
    assert response.status_code == 401
    assert "signature" in response.json()["detail"]
    assert logged(shops.settings) == []


def test_woocommerce_signature_is_checked(shops: Shops) -> None:
    body = fixture_bytes("woocommerce", "order_created")
    headers = {"X-WC-Webhook-Topic": "order.created", "Content-Type": "application/json"}
    missing = shops.client.post("/webhooks/woocommerce/shop-a", content=body, headers=headers)
    assert missing.status_code == 401
    wrong = shops.woocommerce("order.created", body, secret=SECRETS[("shop-a", "shopify")])
    assert wrong.status_code == 401
    assert logged(shops.settings) == []
    assert shops.woocommerce("order.created", body).status_code == 200


def test_body_changed_after_signing_is_401(shops: Shops) -> None:
    body = fixture_bytes("shopify", "orders_create")
    signature = SECRETS[("shop-a", "shopify")]
    tampered = body.replace(b'"409.94"', b'"1.00"')
    response = shops.shopify(
        "orders/create", tampered, signature=hmac_sha256_base64(signature, body)
    )
    assert response.status_code == 401
    assert logged(shops.settings) == []


def test_one_tenants_secret_cannot_post_into_another_tenant(shops: Shops) -> None:
    body = fixture_bytes("shopify", "orders_create")
    response = shops.shopify(
        "orders/create", body, tenant="shop-b", secret=SECRETS[("shop-a", "shopify")]
    )
    assert response.status_code == 401
    # shop-b has no WooCommerce connection at all, and unknown tenants look the same.
    woo = fixture_bytes("woocommerce", "order_created")
    assert shops.woocommerce("order.created", woo, tenant="shop-b").status_code == 401
    assert shops.shopify("orders/create", body, tenant="no-such-shop").status_code == 401
    assert logged(shops.settings) == []
    # ...while shop-b's own secret works, and lands under shop-b only.
    own = shops.shopify(
        "orders/create", body, tenant="shop-b", secret=SECRETS[("shop-b", "shopify")]
    )
    assert own.status_code == 200
    assert [tenant for tenant, _ in logged(shops.settings)] == ["shop-b"]


def test_disabled_tenant_is_refused(shops: Shops) -> None:
    import sqlite3

    with sqlite3.connect(shops.settings.tenants_db_path) as con:
        con.execute("update tenants set disabled = 1 where tenant_id = 'shop-a'")
    response = shops.shopify("orders/create", fixture_bytes("shopify", "orders_create"))
    assert response.status_code == 401


def test_unknown_topic_is_202_ignored_and_malformed_is_400(shops: Shops) -> None:
    body = fixture_bytes("shopify", "orders_create")
    ignored = shops.shopify("products/update", body)
    assert ignored.status_code == 202
    assert ignored.json()["ignored"] is True
    assert "products/update" in ignored.json()["detail"]

    not_json = shops.shopify("orders/create", b"{not json")
    assert not_json.status_code == 400
    missing_id = json.dumps({"created_at": "2024-03-12T10:15:42-04:00"}).encode()
    response = shops.shopify("orders/create", missing_id)
    assert response.status_code == 400
    assert "id" in response.json()["field"]
    bad_line = fixture_json("shopify", "orders_create")
    bad_line["line_items"][1]["quantity"] = "two"
    response = shops.shopify("orders/create", json.dumps(bad_line).encode())
    assert response.status_code == 400
    assert response.json()["field"] == "line_items[1].quantity"
    assert logged(shops.settings) == []


def test_woocommerce_ping_is_acknowledged_without_storing(shops: Shops) -> None:
    response = shops.client.post(
        "/webhooks/woocommerce/shop-a",
        content=b"webhook_id=14",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert logged(shops.settings) == []


def test_connection_secret_file_is_owner_only(shops: Shops) -> None:
    mode = stat.S_IMODE(shops.settings.tenants_db_path.stat().st_mode)
    assert mode == 0o600
    connections = PlatformConnections(shops.settings.tenants_db_path)
    assert connections.webhook_secret("shop-a", "shopify") == SECRETS[("shop-a", "shopify")]
    assert connections.webhook_secret("shop-b", "woocommerce") is None
    assert connections.webhook_secret("'; drop table tenants; --", "shopify") is None


# --- Shopify topic mapping --------------------------------------------------------------------


def test_shopify_order_created_maps_to_order_completed(shops: Shops) -> None:
    assert shops.shopify("orders/create", fixture_bytes("shopify", "orders_create")).is_success
    [(_, event)] = logged(shops.settings)
    assert event.type == "track" and event.event == "Order Completed"
    assert event.user_id == "shopify:115310627314723954"
    assert event.anonymous_id == "shopify:checkout:bd5a8aa1ecd019dd3520ff791ee3a24c"
    assert from_micros(event.timestamp_us).isoformat() == "2024-03-12T14:15:42+00:00"
    properties = props(event)
    assert properties["order_id"] == "820982911946154508"
    assert properties["order_number"] == "#1001"
    assert properties["total"] == 409.94
    assert properties["revenue"] == 388.0
    assert properties["tax"] == 11.94
    assert properties["shipping"] == 10.0
    assert properties["discount"] == 10.0
    assert properties["coupon"] == "SPRING10"
    assert properties["currency"] == "USD"
    assert [
        (p["product_id"], p["sku"], p["variant"], p["quantity"], p["price"])
        for p in properties["products"]
    ] == [
        ("632910392", "IPOD2008PINK", "808950810", 1, 199.0),
        ("632910392", "IPOD2008BLACK", "457924702", 1, 199.0),
    ]
    assert properties["products"][0]["brand"] == "Apple"
    context = json.loads(event.context)
    assert context["integration"]["topic"] == "orders/create"


def test_shopify_updated_cancelled_and_refund(shops: Shops) -> None:
    for topic, name in [
        ("orders/updated", "orders_updated"),
        ("orders/cancelled", "orders_cancelled"),
        ("refunds/create", "refunds_create"),
    ]:
        assert shops.shopify(topic, fixture_bytes("shopify", name)).status_code == 200
    updated, cancelled, refunded = (event for _, event in logged(shops.settings))
    assert updated.event == "Order Updated"
    assert props(updated)["fulfillment_status"] == "fulfilled"
    assert from_micros(updated.timestamp_us).isoformat() == "2024-03-13T12:01:10+00:00"
    assert cancelled.event == "Order Cancelled"
    assert props(cancelled)["reason"] == "customer"
    assert props(cancelled)["total"] == 409.94
    assert refunded.event == "Order Refunded"
    refund = props(refunded)
    assert refund["order_id"] == "820982911946154508"
    assert refund["total"] == 199.64
    assert refund["currency"] == "USD"
    assert [(p["sku"], p["quantity"]) for p in refund["products"]] == [("IPOD2008PINK", 1)]


def test_shopify_checkouts_and_customers(shops: Shops) -> None:
    for topic, name in [
        ("checkouts/create", "checkouts_create"),
        ("checkouts/update", "checkouts_update"),
        ("customers/create", "customers_create"),
    ]:
        assert shops.shopify(topic, fixture_bytes("shopify", name)).status_code == 200
    started, updated, identify = (event for _, event in logged(shops.settings))
    assert started.event == "Checkout Started"
    assert props(started)["products"][0]["quantity"] == 1
    assert updated.event == "Checkout Updated"
    assert props(updated)["products"][0]["quantity"] == 2
    assert props(updated)["total"] == 409.94
    assert (
        started.anonymous_id
        == updated.anonymous_id
        == "shopify:checkout:" + ("bd5a8aa1ecd019dd3520ff791ee3a24c")
    )
    assert started.message_id != updated.message_id
    assert identify.type == "identify"
    assert identify.user_id == "shopify:706405506930370084"
    traits = json.loads(identify.traits)
    assert traits["email"] == "bob@biller.com"
    assert traits["name"] == "Bob Biller"


# --- WooCommerce topic mapping ----------------------------------------------------------------


def test_woocommerce_order_created_paid_is_order_completed(shops: Shops) -> None:
    response = shops.woocommerce("order.created", fixture_bytes("woocommerce", "order_created"))
    assert response.status_code == 200, response.text
    [(_, event)] = logged(shops.settings)
    assert event.event == "Order Completed"
    assert event.user_id == "woocommerce:25"
    assert from_micros(event.timestamp_us).isoformat() == "2024-03-22T16:28:03+00:00"
    properties = props(event)
    assert properties["total"] == 36.35
    assert properties["revenue"] == 25.0
    assert properties["tax"] == 1.35
    assert properties["shipping"] == 10.0
    assert properties["discount"] == 5.0
    assert properties["currency"] == "EUR"
    assert [
        (p["product_id"], p["variant"], p["quantity"], p["price"]) for p in properties["products"]
    ] == [("93", None, 2, 6.0), ("22", "23", 1, 18.0)]


def test_woocommerce_pending_then_paid_then_refunded(shops: Shops) -> None:
    assert shops.woocommerce(
        "order.created", fixture_bytes("woocommerce", "order_created_pending")
    ).is_success
    assert shops.woocommerce(
        "order.updated", fixture_bytes("woocommerce", "order_updated_refund")
    ).is_success
    events = [event for _, event in logged(shops.settings)]
    assert [e.event for e in events] == [
        "Checkout Started",
        "Order Completed",
        "Order Updated",
        "Order Refunded",
    ]
    refund = props(events[3])
    assert refund["total"] == 9.0
    assert refund["order_id"] == "727"
    assert refund["reason"] == "Damaged in transit"
    assert len({e.anonymous_id for e in events}) == 1


def test_woocommerce_cancelled_and_customer(shops: Shops) -> None:
    assert shops.woocommerce(
        "order.updated", fixture_bytes("woocommerce", "order_updated_cancelled")
    ).is_success
    assert shops.woocommerce(
        "customer.created", fixture_bytes("woocommerce", "customer_created")
    ).is_success
    events = [event for _, event in logged(shops.settings)]
    assert [e.event for e in events[:-1]] == ["Order Updated", "Order Cancelled"]
    identify = events[-1]
    assert identify.type == "identify" and identify.user_id == "woocommerce:25"
    assert json.loads(identify.traits)["email"] == "john.doe@example.com"


# --- redelivery -------------------------------------------------------------------------------


def test_redelivered_webhooks_land_once_downstream(shops: Shops) -> None:
    deliveries = [
        ("orders/create", "orders_create"),
        ("refunds/create", "refunds_create"),
        ("orders/updated", "orders_updated"),
    ]
    first = [shops.shopify(t, fixture_bytes("shopify", n), webhook_id="w1") for t, n in deliveries]
    again = [shops.shopify(t, fixture_bytes("shopify", n), webhook_id="w2") for t, n in deliveries]
    assert [r.json()["message_ids"] for r in first] == [r.json()["message_ids"] for r in again]
    woo = fixture_bytes("woocommerce", "order_updated_refund")
    woo_ids = [shops.woocommerce("order.updated", woo).json()["message_ids"] for _ in range(2)]
    assert woo_ids[0] == woo_ids[1]

    assert len(logged(shops.settings)) == 2 * (3 + 3)  # both deliveries are in the log...
    drain_event_log(shops.settings)
    table = pq.ParquetDataset(shops.settings.raw_zone_dir / "events").read()
    message_ids = table.column("message_id").to_pylist()
    # ...sharing their message ids, so staging (or a deduplicating loader) keeps one of each.
    assert len(message_ids) in (6, 12)
    assert len(set(message_ids)) == 6
    assert set(message_ids) == {m for r in first for m in r.json()["message_ids"]} | set(woo_ids[0])
