"""Tenant registry (hashed keys, validation) and the settings' profile rules."""

from __future__ import annotations

import base64
import sqlite3

import pytest
from pydantic import ValidationError

from intellishop.settings import Profile, Settings
from intellishop.tenants import TenantError, TenantRegistry, api_key_from_headers


def test_keys_are_stored_hashed_and_authenticate(settings: Settings) -> None:
    registry = TenantRegistry(settings.tenants_db_path)
    tenant, key = registry.create("Acme Outdoor", timezone="America/New_York")
    assert tenant.tenant_id == "acme-outdoor"
    assert registry.authenticate(key) == tenant
    assert registry.authenticate(key + "x") is None
    stored = (
        sqlite3.connect(settings.tenants_db_path)
        .execute("select key_hash from api_keys")
        .fetchall()
    )
    assert key not in {row[0] for row in stored}
    second = registry.create_key(tenant.tenant_id)
    assert registry.authenticate(second) == tenant


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tenant_id": "Bad Id!"}, "lowercase"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"currency": "dollars"}, "currency"),
    ],
)
def test_bad_tenants_are_refused(settings: Settings, kwargs: dict[str, str], message: str) -> None:
    registry = TenantRegistry(settings.tenants_db_path)
    with pytest.raises(TenantError, match=message):
        registry.create("Shop", **kwargs)
    assert registry.list() == []


def test_duplicate_tenant_is_refused(settings: Settings) -> None:
    registry = TenantRegistry(settings.tenants_db_path)
    registry.create("Shop")
    with pytest.raises(TenantError, match="already exists"):
        registry.create("Shop")


def test_api_key_header_forms() -> None:
    basic = "Basic " + base64.b64encode(b"isk_abc:").decode()
    assert api_key_from_headers(basic, None) == "isk_abc"
    assert api_key_from_headers("Bearer isk_abc", None) == "isk_abc"
    assert api_key_from_headers(None, "isk_abc") == "isk_abc"
    assert api_key_from_headers("Basic %%%", None) is None
    assert api_key_from_headers("Digest x", None) is None
    assert api_key_from_headers(None, None) is None


def test_api_key_in_the_query_string_is_the_last_resort() -> None:
    assert api_key_from_headers(None, None, "isk_query") == "isk_query"
    assert api_key_from_headers(None, "isk_header", "isk_query") == "isk_header"
    assert api_key_from_headers("Bearer isk_bearer", None, "isk_query") == "isk_bearer"
    assert api_key_from_headers(None, None, "  ") is None


def test_prod_refuses_the_default_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTELLISHOP_ADMIN_TOKEN", raising=False)
    with pytest.raises(ValidationError, match="ADMIN_TOKEN"):
        Settings(profile=Profile.PROD)
    assert Settings(profile=Profile.PROD, admin_token="s3cret-from-env").profile is Profile.PROD
