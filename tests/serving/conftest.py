"""Fixtures of the serving tests: two shops with every published table, keys of each scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.app import create_app
from tests.serving.published import full_shop
from tests.serving.test_analytics import shop_b
from tests.serving.test_api import artifacts


@dataclass
class Shops:
    """An API over shop-a (everything published) and shop-b (other data, same user names)."""

    client: TestClient
    store: LocalArtifactStore
    settings: Settings
    keys: dict[str, str]

    def get(self, path: str, key: str = "shop-a", **params: Any) -> Any:
        return self.client.get(path, params=params, headers={"X-API-Key": self.keys[key]})


def shop_b_tables() -> dict[str, Any]:
    from tests.serving.published import model_tables

    return {**shop_b(), **artifacts("b", ["bob", "sam"]), **model_tables("b")}


@pytest.fixture
def shops(settings: Settings) -> Iterator[Shops]:
    registry = TenantRegistry(settings.tenants_db_path)
    keys: dict[str, str] = {}
    for tenant_id in ("shop-a", "shop-b"):
        _, keys[tenant_id] = registry.create(tenant_id.upper(), tenant_id=tenant_id)
    keys["shop-a-public"] = registry.create_key("shop-a", scope="public")
    keys["shop-a-write"] = registry.create_key("shop-a", scope="write")
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("shop-a", full_shop("a", ["alice", "sam"]))
    store.publish("shop-b", shop_b_tables())
    app = create_app(settings, refresh_seconds=0, auth_cache_seconds=0)
    with TestClient(app) as client:
        yield Shops(client, store, settings, keys)
