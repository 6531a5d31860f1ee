"""Two tenants with Shopify and WooCommerce connected, and a signed-request helper."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from ingest.app import create_app
from ingest.platforms.connections import PlatformConnections, hmac_sha256_base64
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms"
SECRETS = {
    ("shop-a", "shopify"): "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",
    ("shop-a", "woocommerce"): "wc-secret-for-shop-a-4f1e2d3c",
    ("shop-b", "shopify"): "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",
}


def fixture_bytes(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / f"{name}.json").read_bytes()


def fixture_json(platform: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fixture_bytes(platform, name))
    return loaded


@dataclass
class Shops:
    client: TestClient
    settings: Settings

    def shopify(
        self,
        topic: str,
        body: bytes,
        *,
        tenant: str = "shop-a",
        secret: str | None = None,
        signature: str | None = None,
        webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    ) -> Response:
        secret = secret or SECRETS[("shop-a", "shopify")]
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature or hmac_sha256_base64(secret, body),
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": f"{tenant}.myshopify.com",
            "Content-Type": "application/json",
        }
        response: Response = self.client.post(
            f"/webhooks/shopify/{tenant}", content=body, headers=headers
        )
        return response

    def woocommerce(
        self, topic: str, body: bytes, *, tenant: str = "shop-a", secret: str | None = None
    ) -> Response:
        secret = secret or SECRETS[("shop-a", "woocommerce")]
        headers = {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": hmac_sha256_base64(secret, body),
            "X-WC-Webhook-ID": "14",
            "X-WC-Webhook-Delivery-ID": "a1b2c3",
            "Content-Type": "application/json",
        }
        response: Response = self.client.post(
            f"/webhooks/woocommerce/{tenant}", content=body, headers=headers
        )
        return response


@pytest.fixture
def shops(settings: Settings) -> Shops:
    registry = TenantRegistry(settings.tenants_db_path)
    registry.create("Shop A", tenant_id="shop-a")
    registry.create("Shop B", tenant_id="shop-b", currency="EUR")
    connections = PlatformConnections(settings.tenants_db_path)
    for (tenant, platform), secret in SECRETS.items():
        connections.connect(tenant, platform, secret)
    return Shops(TestClient(create_app(settings)), settings)


SignedPost = Callable[..., Response]
