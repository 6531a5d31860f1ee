"""Webhook events are enriched like collector events, from the shopper's details in the payload."""

from __future__ import annotations

import json
from typing import Any

from ingest.platforms.client import ClientInfo, shopify_client, woocommerce_client
from intellishop.events import LoggedEvent
from intellishop.tenants import TenantRegistry

from .conftest import Shops, fixture_bytes, fixture_json
from .test_webhooks import logged

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
#: An address geoip2fast places in Great Britain (see tests/ingest/test_enrichment.py).
GB_IP = "81.2.69.160"


def context(event: LoggedEvent) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event.context)
    return loaded


def test_shopify_fixture_gets_the_address_country_and_drops_the_ip(shops: Shops) -> None:
    response = shops.shopify("orders/create", fixture_bytes("shopify", "orders_create"))
    assert response.status_code == 200, response.text
    [(_, event)] = logged(shops.settings)
    stored = context(event)
    assert stored["location"] == {"country": "US"}  # billing_address.country_code
    assert "ip" not in stored  # browser_ip is personal data: the tenant did not opt in
    assert stored["intellishop"] == {"is_bot": False}  # no user agent in this payload
    assert stored["integration"]["name"] == "shopify"  # the mapper's own context is kept


def test_shopify_client_details_give_device_and_ip_country(shops: Shops) -> None:
    payload = fixture_json("shopify", "orders_create")
    payload["billing_address"] = None
    payload["client_details"] = {"browser_ip": GB_IP, "user_agent": IPHONE}
    TenantRegistry(shops.settings.tenants_db_path).update("shop-a", store_ip=True)
    response = shops.shopify("orders/create", json.dumps(payload).encode())
    assert response.status_code == 200, response.text
    [(_, event)] = logged(shops.settings)
    stored = context(event)
    assert stored["location"] == {"country": "GB"}  # from the IP: no address in the payload
    assert stored["ip"] == GB_IP  # the tenant opted in
    assert stored["userAgent"] == IPHONE
    assert stored["intellishop"] == {
        "is_bot": False,
        "device_type": "mobile",
        "browser": "Mobile Safari",
        "os": "iOS",
    }


def test_woocommerce_order_gets_country_device_and_no_ip(shops: Shops) -> None:
    payload = fixture_json("woocommerce", "order_created")
    payload["customer_ip_address"] = GB_IP
    payload["customer_user_agent"] = "Googlebot/2.1 (+http://www.google.com/bot.html)"
    payload["shipping"]["country"] = "fr"
    response = shops.woocommerce("order.created", json.dumps(payload).encode())
    assert response.status_code == 200, response.text
    events = [event for _, event in logged(shops.settings)]
    assert events
    for event in events:
        stored = context(event)
        assert stored["location"] == {"country": "FR"}  # shipping wins over billing and the IP
        assert "ip" not in stored
        assert stored["intellishop"]["is_bot"] is True


def test_client_info_reads_each_platform_and_survives_odd_shapes() -> None:
    shopify = shopify_client(fixture_bytes("shopify", "orders_create"))
    assert shopify == ClientInfo(ip="216.191.105.146", user_agent=None, country="US")
    customer = fixture_json("shopify", "customers_create")
    assert shopify_client(json.dumps(customer).encode()).ip is None
    woo = woocommerce_client(fixture_bytes("woocommerce", "order_created"))
    assert woo == ClientInfo(ip=None, user_agent=None, country="US")  # "" is no value
    assert shopify_client(b'{"browser_ip": 5}') == ClientInfo()
    assert woocommerce_client(b'{"billing": {"country": "United States"}}') == ClientInfo()
