"""Per-tenant CORS on the event routes: preflight, allowed and refused origins, sendBeacon."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from .conftest import admin_headers, logged, track

SHOP = "https://shop.example.com"
EVIL = "https://evil.example.net"


@pytest.fixture
def shop_key(registry: TenantRegistry) -> str:
    _, key = registry.create("Shop", allowed_origins=[SHOP, "http://localhost:3000"])
    return key


def preflight(client: TestClient, origin: str, url: str = "/v1/batch") -> object:
    return client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
        },
    )


def test_preflight_without_a_key_is_answered_for_any_origin(collector: TestClient) -> None:
    for origin in (SHOP, EVIL):
        response = collector.options(
            "/v1/batch",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-api-key",
            },
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == origin
        assert "POST" in response.headers["access-control-allow-methods"]
        assert "X-API-Key" in response.headers["access-control-allow-headers"]
        assert "access-control-allow-credentials" not in response.headers
        assert "Origin" in response.headers["vary"]


def test_preflight_with_the_key_in_the_query_is_checked(
    collector: TestClient, shop_key: str
) -> None:
    allowed = collector.options(
        f"/v1/batch?key={shop_key}",
        headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SHOP
    refused = collector.options(
        f"/v1/batch?key={shop_key}",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_allowed_origin_gets_its_origin_echoed(
    collector: TestClient, shop_key: str, admin_settings: Settings
) -> None:
    response = collector.post(
        "/v1/batch", json={"batch": [track()]}, headers={"Origin": SHOP, "X-API-Key": shop_key}
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.headers["access-control-allow-origin"] != "*"
    assert "Retry-After" in response.headers["access-control-expose-headers"]
    assert "Origin" in response.headers["vary"]
    assert logged(admin_settings) == [("shop", 1)]


@pytest.mark.parametrize(
    "origin", [EVIL, "null", "https://shop.example.com.evil.net", "http://shop.example.com"]
)
def test_disallowed_origin_is_403_and_stores_nothing(
    collector: TestClient, shop_key: str, admin_settings: Settings, origin: str
) -> None:
    response = collector.post(
        "/v1/batch", json={"batch": [track()]}, headers={"Origin": origin, "X-API-Key": shop_key}
    )
    assert response.status_code == 403
    assert "may not send events with this API key" in response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers
    assert logged(admin_settings) == []


def test_send_beacon_style_request_with_the_key_in_the_query(
    collector: TestClient, shop_key: str, admin_settings: Settings
) -> None:
    body = '{"batch": [{"type": "track", "event": "Page Left", "anonymousId": "a1"}]}'
    beacon = collector.post(
        f"/v1/batch?key={shop_key}",
        content=body,
        headers={"Origin": SHOP, "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert beacon.status_code == 200, beacon.text
    refused = collector.post(
        f"/v1/batch?key={shop_key}",
        content=body,
        headers={"Origin": EVIL, "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert refused.status_code == 403  # the browser ignores a beacon's answer: we must not store
    assert logged(admin_settings) == [("shop", 1)]


def test_requests_without_origin_are_not_browsers(collector: TestClient, shop_key: str) -> None:
    response = collector.post("/v1/track", json=track(), headers={"X-API-Key": shop_key})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_tenant_without_origins_gets_no_browser_events(
    collector: TestClient, registry: TenantRegistry
) -> None:
    _, key = registry.create("Server Only")
    response = collector.post("/v1/track", json=track(), headers={"Origin": SHOP, "X-API-Key": key})
    assert response.status_code == 403


def test_unknown_key_with_origin_is_a_plain_401(collector: TestClient) -> None:
    response = collector.post(
        "/v1/track", json=track(), headers={"Origin": SHOP, "X-API-Key": "isk_forged"}
    )
    assert response.status_code == 401
    assert "access-control-allow-origin" not in response.headers


def test_origin_list_changes_apply_through_the_admin_api(
    collector: TestClient, shop_key: str
) -> None:
    headers = {"Origin": EVIL, "X-API-Key": shop_key}
    assert collector.post("/v1/track", json=track(), headers=headers).status_code == 403
    collector.patch(
        "/admin/v1/tenants/shop", json={"allowed_origins": [EVIL]}, headers=admin_headers()
    )
    assert collector.post("/v1/track", json=track(), headers=headers).status_code == 200
    assert (
        collector.post(
            "/v1/track", json=track(), headers={"Origin": SHOP, "X-API-Key": shop_key}
        ).status_code
        == 403
    )


def test_admin_api_gets_no_cors_headers(collector: TestClient) -> None:
    response = collector.options(
        "/admin/v1/tenants", headers={"Origin": SHOP, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in response.headers
    got = collector.get("/admin/v1/tenants", headers={"Origin": SHOP, **admin_headers()})
    assert "access-control-allow-origin" not in got.headers
