"""Cross-tenant isolation on the event routes, the query-string key, and the shared key cache."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from ingest.app import create_app
from intellishop.settings import Settings
from intellishop.tenants import CachedTenantAuthenticator, TenantRegistry, key_id_of
from serving.app import create_app as create_api

from .conftest import logged, track


def test_events_land_with_the_keys_tenant_whatever_the_body_says(
    collector: TestClient, registry: TenantRegistry, admin_settings: Settings
) -> None:
    _, key_a = registry.create("Shop A")
    registry.create("Shop B")
    spoofed = track(properties={"tenant_id": "shop-b"}, context={"tenant_id": "shop-b"})
    ok = collector.post("/v1/batch", json={"batch": [spoofed]}, headers={"X-API-Key": key_a})
    assert ok.status_code == 200, ok.text
    ok = collector.post("/v1/track?tenant_id=shop-b", json=spoofed, headers={"X-API-Key": key_a})
    assert ok.status_code == 200, ok.text
    # A top-level tenant_id is not part of the schema: refused, never obeyed.
    refused = collector.post(
        "/v1/track", json=track(tenant_id="shop-b"), headers={"X-API-Key": key_a}
    )
    assert refused.status_code == 422
    assert [tenant for tenant, _ in logged(admin_settings)] == ["shop-a", "shop-a"]


def test_key_in_the_query_string_works_and_headers_win(
    collector: TestClient, registry: TenantRegistry, admin_settings: Settings
) -> None:
    _, key_a = registry.create("Shop A")
    _, key_b = registry.create("Shop B")
    assert collector.post(f"/v1/track?key={key_a}", json=track()).status_code == 200
    assert (
        collector.post(
            f"/v1/track?key={key_a}", json=track(), headers={"X-API-Key": key_b}
        ).status_code
        == 200
    )
    assert collector.post("/v1/track?key=isk_forged", json=track()).status_code == 401
    assert [tenant for tenant, _ in logged(admin_settings)] == ["shop-a", "shop-b"]


def test_disabled_tenant_gets_401_from_the_collector_within_the_ttl(
    admin_settings: Settings, registry: TenantRegistry
) -> None:
    tenant, key = registry.create("Shop")
    app = create_app(admin_settings)
    ttl = 0.5
    app.state.authenticate = CachedTenantAuthenticator(registry, ttl_seconds=ttl)
    client = TestClient(app)
    assert client.post("/v1/track", json=track(), headers={"X-API-Key": key}).status_code == 200
    # Disabled from elsewhere (the CLI, another worker): this process learns within the TTL.
    TenantRegistry(admin_settings.tenants_db_path).set_disabled(tenant.tenant_id, True)
    deadline = time.monotonic() + ttl + 1.5  # margin for a busy machine
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = client.post("/v1/track", json=track(), headers={"X-API-Key": key}).status_code
        time.sleep(0.02)
    assert status == 401


def test_revoked_key_gets_401_from_the_api_within_the_ttl(
    admin_settings: Settings, registry: TenantRegistry
) -> None:
    tenant, key = registry.create("Shop")
    client = TestClient(create_api(admin_settings, auth_cache_seconds=1.0))
    # No artifacts are published: a good key gets 503, a bad one 401.
    assert client.get("/v1/trending", headers={"X-API-Key": key}).status_code == 503
    registry.revoke_key(tenant.tenant_id, key_id_of(key))
    assert client.get("/v1/trending", headers={"X-API-Key": key}).status_code == 503  # cached
    time.sleep(1.05)
    assert client.get("/v1/trending", headers={"X-API-Key": key}).status_code == 401


def test_both_services_use_the_one_authenticator(admin_settings: Settings) -> None:
    collector = create_app(admin_settings)
    api = create_api(admin_settings)
    assert type(collector.state.authenticate) is CachedTenantAuthenticator
    assert type(api.state.tenant_lookup) is CachedTenantAuthenticator
