"""Segment e-commerce v2 events: typed products and orders, errors that name the field path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER
from intellishop.ecommerce import PROPERTIES_BY_EVENT, check_properties
from intellishop.events import ECOMMERCE_EVENTS
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

PRODUCT: dict[str, Any] = {
    "product_id": "p_42",
    "sku": "TS-42-BLK",
    "category": "Footwear",
    "name": "Trail Shoe",
    "brand": "Acme",
    "variant": "Black",
    "price": 89.0,
    "quantity": 1,
    "coupon": "SPRING",
    "position": 3,
    "url": "https://shop.example/p/42",
    "image_url": "https://cdn.example/p/42.jpg",
}
ORDER: dict[str, Any] = {
    "order_id": "o_1",
    "checkout_id": "c_1",
    "total": 102.5,
    "revenue": 89.0,
    "shipping": 5.0,
    "tax": 8.5,
    "discount": 0,
    "coupon": "SPRING",
    "currency": "USD",
    "products": [PRODUCT, {**PRODUCT, "product_id": 7, "quantity": 2}],
}
#: A spec-conforming properties object for every e-commerce event.
VALID_PROPERTIES: dict[str, dict[str, Any]] = {
    "Products Searched": {"query": "trail shoes"},
    "Product List Viewed": {"list_id": "l1", "category": "Footwear", "products": [PRODUCT]},
    "Product List Filtered": {
        "list_id": "l1",
        "filters": [{"type": "size", "value": "42"}],
        "sorts": [{"type": "price", "value": "desc"}],
        "products": [PRODUCT],
    },
    "Promotion Viewed": {"promotion_id": "promo_1", "creative": "top_banner", "position": "top"},
    "Promotion Clicked": {"promotion_id": "promo_1", "name": "Spring", "position": "home_top"},
    "Product Clicked": PRODUCT,
    "Product Viewed": {**PRODUCT, "currency": "USD", "value": 89.0},
    "Product Added": {**PRODUCT, "cart_id": "cart_1", "quantity": 2},
    "Product Removed": {**PRODUCT, "cart_id": "cart_1"},
    "Cart Viewed": {"cart_id": "cart_1", "products": [PRODUCT]},
    "Checkout Started": {k: v for k, v in ORDER.items() if k != "order_id"},
    "Checkout Step Viewed": {"checkout_id": "c_1", "step": 2, "shipping_method": "UPS"},
    "Checkout Step Completed": {"checkout_id": "c_1", "step": 2, "payment_method": "card"},
    "Payment Info Entered": {"checkout_id": "c_1", "order_id": "o_1", "step": 3},
    "Order Completed": ORDER,
    "Order Updated": ORDER,
    "Order Refunded": {"order_id": "o_1", "total": 30.0, "currency": "USD"},
    "Order Cancelled": {"order_id": "o_1"},
    "Coupon Entered": {"order_id": "o_1", "cart_id": "cart_1", "coupon_id": "SPRING"},
    "Coupon Applied": {"order_id": "o_1", "coupon_id": "SPRING", "discount": 10.0},
    "Coupon Denied": {"coupon_id": "OLD", "reason": "expired"},
    "Coupon Removed": {"coupon_id": "SPRING", "coupon_name": "Spring", "discount": 10},
    "Product Added to Wishlist": {**PRODUCT, "wishlist_id": "w1", "wishlist_name": "Later"},
    "Product Removed from Wishlist": {**PRODUCT, "wishlist_id": "w1"},
    "Wishlist Product Added to Cart": {**PRODUCT, "wishlist_id": "w1", "cart_id": "cart_1"},
    "Product Shared": {**PRODUCT, "share_via": "email", "recipient": "friend@example.com"},
    "Cart Shared": {"cart_id": "cart_1", "share_via": "sms", "products": [{"product_id": "p1"}]},
    "Product Reviewed": {"product_id": "p_42", "review_id": "r1", "rating": 5, "review_body": "ok"},
}


@pytest.fixture
def shop(settings: Settings) -> tuple[TestClient, str]:
    _, key = TenantRegistry(settings.tenants_db_path).create("Shop A")
    return TestClient(create_app(settings)), key


def track(event: str, properties: Any, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "userId": "u1", "properties": properties, **fields}


def stored_properties(settings: Settings) -> list[dict[str, Any]]:
    entries = SqliteEventLog(settings.event_log_path).read(LOADER_CONSUMER, 1000)
    return [json.loads(e.properties) for entry in entries for e in entry.batch.events]


def test_every_segment_ecommerce_event_is_typed() -> None:
    assert set(PROPERTIES_BY_EVENT) == ECOMMERCE_EVENTS
    assert set(VALID_PROPERTIES) == ECOMMERCE_EVENTS


@pytest.mark.parametrize("event", sorted(VALID_PROPERTIES))
def test_spec_conforming_events_are_accepted_and_stored_as_sent(
    shop: tuple[TestClient, str], settings: Settings, event: str
) -> None:
    client, key = shop
    properties = {**VALID_PROPERTIES[event], "shop_specific": {"any": ["thing"]}}
    response = client.post("/v1/track", json=track(event, properties), auth=(key, ""))
    assert response.status_code == 200, response.text
    assert stored_properties(settings) == [properties]


def test_wrong_types_name_the_event_index_and_field_path(
    shop: tuple[TestClient, str], settings: Settings
) -> None:
    client, key = shop
    bad_line = [{"product_id": "p1", "price": 5}, {"product_id": "p2", "price": "abc"}]
    batch = [
        track("Product Viewed", PRODUCT),
        track("Product Added", {**PRODUCT, "quantity": -1}),
        track("Cart Viewed", {"products": {"product_id": "p1"}}),
        track("Order Completed", {**ORDER, "products": bad_line}),
        track("Order Completed", {"revenue": 10.0}),
        track("Order Completed", {**ORDER, "total": "NaN"}),
        track("Product Viewed", {"product_id": ["not", "an", "id"]}),
        track("Checkout Step Viewed", {"step": "two"}),
        track("Order Completed", {**ORDER, "currency": "dollars"}),
    ]
    response = client.post("/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1
    fields = {r["index"]: [e["field"] for e in r["errors"]] for r in body["rejected"]}
    assert fields == {
        1: ["properties.quantity"],
        2: ["properties.products"],
        3: ["properties.products[1].price"],
        4: ["properties.order_id"],
        5: ["properties.total"],
        6: ["properties.product_id"],
        7: ["properties.step"],
        8: ["properties.currency"],
    }
    paths = [e["path"] for e in body["errors"]]
    assert "batch[3].properties.products[1].price" in paths
    assert "batch[4].properties.order_id" in paths
    messages = {e["path"]: e["message"] for e in body["errors"]}
    assert "got `str`" in messages["batch[3].properties.products[1].price"]
    assert ">= 1" in messages["batch[1].properties.quantity"]
    assert "missing required field" in messages["batch[4].properties.order_id"]
    assert stored_properties(settings) == [PRODUCT]


def test_a_batch_of_only_bad_ecommerce_events_is_400_and_stores_nothing(
    shop: tuple[TestClient, str], settings: Settings
) -> None:
    client, key = shop
    batch = [track("Order Completed", {"revenue": 1}), track("Product Added", {"price": "x"})]
    response = client.post("/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == [
        "batch[0].properties.order_id",
        "batch[1].properties.price",
    ]
    assert stored_properties(settings) == []


def test_single_track_endpoint_answers_422_with_the_field(shop: tuple[TestClient, str]) -> None:
    client, key = shop
    response = client.post(
        "/v1/track", json=track("Product Added", {"quantity": 0}), auth=(key, "")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "properties.quantity"


def test_numeric_strings_are_numbers_but_words_are_not() -> None:
    assert check_properties("Product Viewed", {"price": "19.99", "quantity": "2"}) is None
    assert check_properties("Order Completed", {"order_id": "o", "total": 100_000_000_000_000})
    assert (
        check_properties("Order Completed", {"order_id": "o", "total": 99_999_999_999_999}) is None
    )
    for bad in ("abc", "Infinity", "1e400", True, 1e30, -1e30):
        assert check_properties("Product Viewed", {"price": bad}) is not None, bad


def test_custom_events_keep_any_properties(
    shop: tuple[TestClient, str], settings: Settings
) -> None:
    client, key = shop
    odd = {"price": "abc", "products": "none", "quantity": -5, "nested": {"deep": [1, {"x": None}]}}
    response = client.post("/v1/track", json=track("Loyalty Points Earned", odd), auth=(key, ""))
    assert response.status_code == 200, response.text
    assert stored_properties(settings) == [odd]


@pytest.mark.parametrize(
    ("properties", "kind"), [([1, 2], "array"), ("text", "str"), (None, "null"), (3, "number")]
)
def test_properties_must_be_an_object(
    shop: tuple[TestClient, str], properties: Any, kind: str
) -> None:
    client, key = shop
    response = client.post("/v1/track", json=track("Custom", properties), auth=(key, ""))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "properties", "message": f"Expected `object`, got `{kind}`"}
    ]


def test_event_names_are_case_sensitive_like_segment() -> None:
    # "order completed" is a custom event in Segment's spec too: not checked as an order.
    assert check_properties("order completed", {"revenue": "lots"}) is None
    assert check_properties("Order Completed", {"revenue": "lots"}) is not None
