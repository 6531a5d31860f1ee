"""The tenant registry: updates, keys (list, rotate, revoke), hostile input, the key cache."""

from __future__ import annotations

import sqlite3
import time

import pytest

from intellishop.plans import PLANS
from intellishop.tenants import (
    CachedTenantAuthenticator,
    TenantError,
    TenantRegistry,
    UnknownTenantError,
    key_id_of,
    normalize_origin,
)


def test_update_changes_only_given_fields_and_checks_them(registry: TenantRegistry) -> None:
    tenant, _ = registry.create("Acme", timezone="Europe/Berlin", currency="EUR")
    updated = registry.update(
        tenant.tenant_id,
        plan="growth",
        allowed_origins=["HTTPS://Shop.Example.com/", "https://shop.example.com:443"],
        store_ip=True,
    )
    assert updated.plan == "growth"
    assert updated.allowed_origins == ("https://shop.example.com",)
    assert updated.store_ip is True
    assert (updated.timezone, updated.currency, updated.name) == ("Europe/Berlin", "EUR", "Acme")
    with pytest.raises(TenantError, match="unknown plan 'platinum'"):
        registry.update(tenant.tenant_id, plan="platinum", timezone="UTC")
    # A refused update changes nothing, not even the fields that were valid.
    assert registry.require(tenant.tenant_id).timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "x" * 201}, "limit is 200"),
        ({"name": "   "}, "must not be empty"),
        ({"name": "bad\x00name"}, "control characters"),
        ({"tenant_id": "x'; drop table tenants;--"}, "lowercase letters"),
        ({"tenant_id": "a" * 64}, "lowercase letters"),
        ({"plan": "free' or 1=1"}, "unknown plan"),
        ({"allowed_origins": ["*"]}, "no wildcard"),
        ({"allowed_origins": ["https://*.example.com"]}, "no wildcard"),
        ({"allowed_origins": ["https://shop.example.com/path"]}, "no path"),
        ({"allowed_origins": ["ftp://shop.example.com"]}, "http or https"),
        ({"allowed_origins": ["null"]}, "http or https"),
    ],
)
def test_hostile_tenants_are_refused(
    registry: TenantRegistry, kwargs: dict[str, object], message: str
) -> None:
    name = kwargs.pop("name", "Shop")
    with pytest.raises(TenantError, match=message):
        registry.create(str(name), **kwargs)  # type: ignore[arg-type]
    assert registry.list() == []


def test_sql_text_in_ids_is_data_not_sql(registry: TenantRegistry) -> None:
    registry.create("Shop")
    for hostile in ("shop' or '1'='1", "shop; drop table tenants"):
        with pytest.raises(TenantError, match="lowercase letters"):
            registry.require(hostile)
        with pytest.raises(TenantError):
            registry.list_keys(hostile)
    assert registry.get("x' or '1'='1") is None
    assert [t.tenant_id for t in registry.list()] == ["shop"]


def test_every_plan_is_accepted(registry: TenantRegistry) -> None:
    for plan in PLANS:
        tenant, _ = registry.create(f"Shop {plan}", plan=plan)
        assert tenant.plan == plan


def test_keys_list_shows_prefix_and_dates_never_the_key(registry: TenantRegistry) -> None:
    tenant, first = registry.create("Shop")
    second = registry.create_key(tenant.tenant_id)
    keys = registry.list_keys(tenant.tenant_id)
    assert [k.key_id for k in keys] == [key_id_of(first), key_id_of(second)]
    for key, api_key in zip(keys, (first, second), strict=True):
        assert key.prefix == api_key[:8]
        assert api_key not in repr(key)
        assert key.active()


def test_revoke_is_scoped_to_the_tenant(registry: TenantRegistry) -> None:
    shop_a, key_a = registry.create("Shop A")
    shop_b, _ = registry.create("Shop B")
    with pytest.raises(UnknownTenantError):
        registry.revoke_key(shop_b.tenant_id, key_id_of(key_a))
    assert registry.authenticate(key_a) == shop_a
    revoked = registry.revoke_key(shop_a.tenant_id, key_id_of(key_a))
    assert not revoked.active()
    assert registry.authenticate(key_a) is None
    with pytest.raises(TenantError, match="16 hex digits"):
        registry.revoke_key(shop_a.tenant_id, "' or 1=1 --")


def test_rotation_keeps_the_old_key_for_the_grace_period(registry: TenantRegistry) -> None:
    tenant, old = registry.create("Shop")
    new, old_info = registry.rotate_key(tenant.tenant_id, key_id_of(old), grace_seconds=1.0)
    assert old_info.revoked_at is not None and old_info.active()
    assert registry.authenticate(old) == tenant
    assert registry.authenticate(new) == tenant
    time.sleep(1.1)
    assert registry.authenticate(old) is None
    assert registry.authenticate(new) == tenant
    with pytest.raises(TenantError, match="already revoked"):
        registry.rotate_key(tenant.tenant_id, key_id_of(old))


def test_rotation_without_grace_revokes_at_once(registry: TenantRegistry) -> None:
    tenant, old = registry.create("Shop")
    new, _ = registry.rotate_key(tenant.tenant_id, key_id_of(old))
    assert registry.authenticate(old) is None
    assert registry.authenticate(new) == tenant


def test_revoking_again_cannot_extend_a_grace_period(registry: TenantRegistry) -> None:
    tenant, key = registry.create("Shop")
    first = registry.revoke_key(tenant.tenant_id, key_id_of(key), grace_seconds=60)
    second = registry.revoke_key(tenant.tenant_id, key_id_of(key), grace_seconds=3600)
    assert second.revoked_at == first.revoked_at
    now = registry.revoke_key(tenant.tenant_id, key_id_of(key))
    assert now.revoked_at is not None and now.revoked_at < str(first.revoked_at)
    assert registry.authenticate(key) is None


def test_keys_stay_hashed_at_rest(registry: TenantRegistry) -> None:
    tenant, key = registry.create("Shop")
    rotated, _ = registry.rotate_key(tenant.tenant_id, key_id_of(key), grace_seconds=10)
    dump = "\n".join(sqlite3.connect(registry.path).iterdump())
    assert key not in dump and rotated not in dump


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cached_authenticator_sees_a_disable_within_its_ttl(registry: TenantRegistry) -> None:
    tenant, key = registry.create("Shop")
    clock = FakeClock()
    authenticate = CachedTenantAuthenticator(registry, ttl_seconds=5.0, clock=clock)
    assert authenticate(key) == tenant
    registry.set_disabled(tenant.tenant_id, True)
    clock.now += 4.9
    assert authenticate(key) == tenant  # cached: no database read inside the TTL
    clock.now += 0.2
    assert authenticate(key) is None  # past the TTL: the disable is seen
    registry.set_disabled(tenant.tenant_id, False)
    clock.now += 5.1
    assert authenticate(key) == tenant


def test_cached_authenticator_does_not_outlive_a_grace_period(registry: TenantRegistry) -> None:
    tenant, key = registry.create("Shop")
    registry.revoke_key(tenant.tenant_id, key_id_of(key), grace_seconds=1.0)
    authenticate = CachedTenantAuthenticator(registry, ttl_seconds=60.0)
    assert authenticate(key) == tenant
    time.sleep(1.1)
    assert authenticate(key) is None  # the 60 s TTL was cut to the 1 s grace


def test_forget_makes_changes_visible_at_once(registry: TenantRegistry) -> None:
    tenant, key = registry.create("Shop")
    authenticate = CachedTenantAuthenticator(registry, ttl_seconds=60.0)
    assert authenticate(key) == tenant
    registry.revoke_key(tenant.tenant_id, key_id_of(key))
    assert authenticate(key) == tenant
    authenticate.forget()
    assert authenticate(key) is None


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("http://localhost:3000/", "http://localhost:3000"),
        ("http://shop.example.com:80", "http://shop.example.com"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_origins_are_normalized_like_browsers_send_them(origin: str, expected: str) -> None:
    assert normalize_origin(origin) == expected
