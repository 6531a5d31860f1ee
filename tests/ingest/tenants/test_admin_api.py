"""The operator API on the collector: token auth, tenant and key flows, hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import create_app
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry, hash_key

from .conftest import ADMIN_TOKEN, admin_headers, logged, track


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/admin/v1/tenants", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"X-API-Key": ADMIN_TOKEN},
    ],
    ids=["none", "wrong", "longer", "basic-scheme", "x-api-key"],
)
def test_admin_api_needs_the_admin_token(collector: TestClient, headers: dict[str, str]) -> None:
    for method, path in (
        ("GET", "/admin/v1/tenants"),
        ("POST", "/admin/v1/tenants"),
        ("GET", "/admin/v1/tenants/shop"),
        ("POST", "/admin/v1/tenants/shop/disable"),
        ("DELETE", "/admin/v1/tenants/shop/keys/0123456789abcdef"),
    ):
        response = collector.request(method, path, headers=headers, json={"name": "Evil"})
        assert response.status_code == 401, (method, path, response.text)
        assert "INTELLISHOP_ADMIN_TOKEN" in response.json()["detail"]
    assert collector.get("/admin/v1/tenants", headers=admin_headers()).json() == []


def test_admin_api_is_off_with_the_placeholder_token(settings: Settings) -> None:
    client = TestClient(create_app(settings))  # the default (placeholder) admin token
    response = client.get(
        "/admin/v1/tenants", headers={"Authorization": f"Bearer {settings.admin_token}"}
    )
    assert response.status_code == 503
    assert "INTELLISHOP_ADMIN_TOKEN" in response.json()["detail"]


def test_tenant_keys_never_open_the_admin_api(
    collector: TestClient, registry: TenantRegistry
) -> None:
    _, key = registry.create("Shop")
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        assert collector.get("/admin/v1/tenants", headers=headers).status_code == 401
        assert collector.get("/admin/v1/tenants/shop", headers=headers).status_code == 401
    assert collector.get(f"/admin/v1/tenants?key={key}").status_code == 401


def test_create_show_update_disable_enable(collector: TestClient, admin_settings: Settings) -> None:
    created = _create(
        collector,
        name="Acme Outdoor",
        timezone="America/New_York",
        plan="growth",
        allowed_origins=["https://acme.example"],
    )
    tenant, api_key = created["tenant"], created["api_key"]
    assert tenant["tenant_id"] == "acme-outdoor" and tenant["plan"] == "growth"
    assert (
        collector.post("/v1/track", json=track(), headers={"X-API-Key": api_key}).status_code == 200
    )

    shown = collector.get("/admin/v1/tenants/acme-outdoor", headers=admin_headers())
    assert shown.status_code == 200
    assert shown.json()["allowed_origins"] == ["https://acme.example"]
    assert [k["prefix"] for k in shown.json()["keys"]] == [api_key[:8]]
    assert api_key not in shown.text and hash_key(api_key) not in shown.text

    patched = collector.patch(
        "/admin/v1/tenants/acme-outdoor",
        json={"plan": "pro", "currency": "EUR", "store_ip": True},
        headers=admin_headers(),
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["plan"], patched.json()["currency"]) == ("pro", "EUR")
    assert patched.json()["timezone"] == "America/New_York"

    disabled = collector.post("/admin/v1/tenants/acme-outdoor/disable", headers=admin_headers())
    assert disabled.json()["disabled"] is True
    # Same process: the key cache is dropped, so the key stops working at once.
    refused = collector.post("/v1/track", json=track(), headers={"X-API-Key": api_key})
    assert refused.status_code == 401
    collector.post("/admin/v1/tenants/acme-outdoor/enable", headers=admin_headers())
    assert (
        collector.post("/v1/track", json=track(), headers={"X-API-Key": api_key}).status_code == 200
    )
    assert logged(admin_settings) == [("acme-outdoor", 1), ("acme-outdoor", 1)]
    listed = collector.get("/admin/v1/tenants", headers=admin_headers()).json()
    assert [t["tenant_id"] for t in listed] == ["acme-outdoor"]


def test_key_create_rotate_revoke(collector: TestClient) -> None:
    first = _create(collector, name="Shop")["api_key"]
    created = collector.post("/admin/v1/tenants/shop/keys", headers=admin_headers())
    assert created.status_code == 201
    second = created.json()["api_key"]
    second_id = created.json()["key"]["key_id"]
    keys = collector.get("/admin/v1/tenants/shop/keys", headers=admin_headers()).json()
    assert len(keys) == 2 and all(k["active"] for k in keys)
    first_id = next(k["key_id"] for k in keys if k["key_id"] != second_id)

    rotated = collector.post(
        f"/admin/v1/tenants/shop/keys/{first_id}/rotate",
        json={"grace_seconds": 3600},
        headers=admin_headers(),
    )
    assert rotated.status_code == 201, rotated.text
    third = rotated.json()["api_key"]
    assert rotated.json()["old"]["active"] is True  # still inside its grace period
    for key in (first, second, third):
        ok = collector.post("/v1/track", json=track(), headers={"X-API-Key": key})
        assert ok.status_code == 200

    revoked = collector.delete(f"/admin/v1/tenants/shop/keys/{first_id}", headers=admin_headers())
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert (
        collector.post("/v1/track", json=track(), headers={"X-API-Key": first}).status_code == 401
    )
    assert (
        collector.post("/v1/track", json=track(), headers={"X-API-Key": third}).status_code == 200
    )


def test_one_tenants_key_ids_do_not_reach_another(collector: TestClient) -> None:
    key_a = _create(collector, name="Shop A")["api_key"]
    _create(collector, name="Shop B")
    key_a_id = collector.get("/admin/v1/tenants/shop-a/keys", headers=admin_headers()).json()[0][
        "key_id"
    ]
    wrong = collector.delete(f"/admin/v1/tenants/shop-b/keys/{key_a_id}", headers=admin_headers())
    assert wrong.status_code == 404
    assert (
        collector.post("/v1/track", json=track(), headers={"X-API-Key": key_a}).status_code == 200
    )


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"name": "x" * 201}, 422, "200"),
        ({"name": ""}, 422, "name"),
        ({"name": "Shop", "tenant_id": "x'; drop table tenants;--"}, 422, "lowercase"),
        ({"name": "Shop", "plan": "platinum"}, 422, "unknown plan"),
        ({"name": "Shop", "timezone": "Mars/Olympus"}, 422, "timezone"),
        ({"name": "Shop", "allowed_origins": ["*"]}, 422, "wildcard"),
        ({"name": "Shop", "tenant_id": "shop", "disabled": True}, 422, "disabled"),
        ({"name": "Shop", "currency": "dollars"}, 422, "currency"),
    ],
)
def test_hostile_creates_get_clear_4xx(
    collector: TestClient, body: dict[str, Any], status: int, needle: str
) -> None:
    response = collector.post("/admin/v1/tenants", json=body, headers=admin_headers())
    assert response.status_code == status, response.text
    assert needle in response.text
    assert collector.get("/admin/v1/tenants", headers=admin_headers()).json() == []


def test_unknown_duplicate_and_hostile_paths(collector: TestClient) -> None:
    _create(collector, name="Shop")
    assert (
        collector.post(
            "/admin/v1/tenants", json={"name": "Shop"}, headers=admin_headers()
        ).status_code
        == 409
    )
    assert collector.get("/admin/v1/tenants/nope", headers=admin_headers()).status_code == 404
    hostile = collector.get("/admin/v1/tenants/shop' or '1'='1", headers=admin_headers())
    assert hostile.status_code == 422 and "lowercase" in hostile.json()["detail"]
    bad_plan = collector.patch(
        "/admin/v1/tenants/shop", json={"plan": "free"}, headers=admin_headers()
    )
    assert bad_plan.status_code == 422 and "starter" in bad_plan.json()["detail"]
    bad_key = collector.delete("/admin/v1/tenants/shop/keys/not-a-key", headers=admin_headers())
    assert bad_key.status_code == 422 and "16 hex digits" in bad_key.json()["detail"]
    unknown_key = collector.delete(
        "/admin/v1/tenants/shop/keys/0123456789abcdef", headers=admin_headers()
    )
    assert unknown_key.status_code == 404
    assert (
        collector.get("/admin/v1/tenants/shop", headers=admin_headers()).json()["plan"] == "starter"
    )


def test_rotate_without_a_body_revokes_the_old_key_at_once(collector: TestClient) -> None:
    old = _create(collector, name="Shop")["api_key"]
    old_id = collector.get("/admin/v1/tenants/shop/keys", headers=admin_headers()).json()[0][
        "key_id"
    ]
    rotated = collector.post(
        f"/admin/v1/tenants/shop/keys/{old_id}/rotate", headers=admin_headers()
    )
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["old"]["active"] is False
    new = rotated.json()["api_key"]
    assert collector.post("/v1/track", json=track(), headers={"X-API-Key": old}).status_code == 401
    assert collector.post("/v1/track", json=track(), headers={"X-API-Key": new}).status_code == 200
    too_long = collector.post(
        f"/admin/v1/tenants/shop/keys/{rotated.json()['key']['key_id']}/rotate",
        json={"grace_seconds": 31 * 86400},
        headers=admin_headers(),
    )
    assert too_long.status_code == 422
