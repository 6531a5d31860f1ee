"""Key scopes: ``write`` keys (for web pages) send events but cannot read the API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from intellishop.cli import app as cli
from intellishop.settings import Settings
from intellishop.tenants import TenantError, TenantRegistry, key_id_of
from serving.app import create_app as create_api

from .conftest import admin_headers, track


def test_write_keys_send_events_but_cannot_read_the_api(
    collector: TestClient, registry: TenantRegistry, admin_settings: Settings
) -> None:
    tenant, full = registry.create("Shop")
    write = registry.create_key(tenant.tenant_id, scope="write")
    for key in (full, write):
        sent = collector.post("/v1/track", json=track(), headers={"X-API-Key": key})
        assert sent.status_code == 200
    api = TestClient(create_api(admin_settings))
    assert api.get("/v1/trending", headers={"X-API-Key": full}).status_code == 503  # no artifacts
    refused = api.get("/v1/trending", headers={"X-API-Key": write})
    assert refused.status_code == 403 and "write key" in refused.json()["detail"]
    assert api.get("/v1/recommendations/u1", headers={"X-API-Key": write}).status_code == 403


def test_scopes_are_listed_kept_on_rotation_and_checked(registry: TenantRegistry) -> None:
    tenant, _full = registry.create("Shop")
    write = registry.create_key(tenant.tenant_id, scope="write")
    assert [k.scope for k in registry.list_keys(tenant.tenant_id)] == ["full", "write"]
    rotated, _ = registry.rotate_key(tenant.tenant_id, key_id_of(write))
    grant = registry.authenticate_key(rotated)
    assert grant is not None and grant.scope == "write" and not grant.may_read
    with pytest.raises(TenantError, match="'full'"):
        registry.create_key(tenant.tenant_id, scope="admin")


def test_older_registries_get_the_scope_column(tmp_path: Path) -> None:
    path = tmp_path / "tenants.sqlite3"
    con = sqlite3.connect(path)
    con.executescript(
        """
        create table tenants (tenant_id text primary key, name text not null,
            timezone text not null default 'UTC', currency text not null default 'USD',
            created_at text not null, disabled integer not null default 0);
        create table api_keys (key_hash text primary key, tenant_id text not null,
            key_prefix text not null, created_at text not null, revoked_at text);
        insert into tenants (tenant_id, name, created_at) values ('old', 'Old', '2025-01-01');
        """
    )
    con.commit()
    con.close()
    registry = TenantRegistry(path)
    key = registry.create_key("old")
    grant = registry.authenticate_key(key)
    assert grant is not None and grant.scope == "full" and grant.tenant.plan == "starter"


def test_admin_api_and_cli_create_write_keys(
    collector: TestClient, admin_settings: Settings
) -> None:
    created = collector.post("/admin/v1/tenants", json={"name": "Shop"}, headers=admin_headers())
    assert created.status_code == 201
    write = collector.post(
        "/admin/v1/tenants/shop/keys", json={"scope": "write"}, headers=admin_headers()
    )
    assert write.status_code == 201 and write.json()["key"]["scope"] == "write"
    bad = collector.post(
        "/admin/v1/tenants/shop/keys", json={"scope": "admin"}, headers=admin_headers()
    )
    assert bad.status_code == 422 and "'write'" in bad.json()["detail"]

    result = CliRunner().invoke(cli, ["tenants", "keys", "create", "shop", "--scope", "write"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    grant = TenantRegistry(admin_settings.tenants_db_path).authenticate_key(key)
    assert grant is not None and grant.scope == "write"
    result = CliRunner().invoke(cli, ["tenants", "keys", "create", "shop", "--scope", "root"])
    assert result.exit_code == 2 and "must be 'full'" in result.output
