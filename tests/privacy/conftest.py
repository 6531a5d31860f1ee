"""A two-shop installation built through the real collector, for erasure and access tests.

Shop A has Alice (an anonymous visitor who later identifies with her email, then logs in on a
second device and is aliased from an old user id) and Bob. Shop B reuses Alice's user id,
anonymous id and email for a different person: nothing done for shop A may touch it. The first
half of the traffic is loaded (by the pipeline, which also builds the warehouse and publishes the
serving artifacts); the second half stays pending in the event log.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.loader import drain_event_log
from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

SHOP_A = "shop-a"
SHOP_B = "shop-b"
ADMIN_TOKEN = "test-admin-token-for-privacy"
#: Every id Alice has in shop A (what resolving her email must find).
ALICE_USER_IDS = {"u-alice", "old-alice"}
ALICE_ANONYMOUS_IDS = {"anon-1", "anon-2", "old-alice"}
START = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)
PRODUCTS = [f"p{i}" for i in range(1, 9)]


def at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def basic_auth(api_key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()}


def browse(
    ids: dict[str, str], start: int, products: list[str], *, order: str | None = None, tag: str
) -> list[dict[str, Any]]:
    """Views of ``products`` by one visitor, each added to the cart; optionally an order."""
    events: list[dict[str, Any]] = []
    for n, product in enumerate(products):
        for step, name in enumerate(("Product Viewed", "Product Added")):
            events.append(
                {
                    "type": "track",
                    "event": name,
                    **ids,
                    "messageId": f"{tag}-{product}-{step}",
                    "timestamp": at(start + 2 * n + step),
                    "properties": {
                        "product_id": product,
                        "name": product.upper(),
                        "category": "Gear",
                        "price": 10.0 + n,
                    },
                }
            )
    if order:
        events.append(
            {
                "type": "track",
                "event": "Order Completed",
                **ids,
                "messageId": f"{tag}-order",
                "timestamp": at(start + 2 * len(products) + 1),
                "properties": {
                    "order_id": order,
                    "revenue": 20.0,
                    "total": 20.0,
                    "currency": "USD",
                    "products": [{"product_id": products[0], "price": 20.0, "quantity": 1}],
                },
            }
        )
    return events


def first_half(tenant: str) -> list[dict[str, Any]]:
    """Loaded traffic: Alice anonymous then identified with her email; Bob; Carol."""
    alice_anon = {"anonymousId": "anon-1"}
    alice = {"userId": "u-alice", "anonymousId": "anon-1"}
    events = [
        {
            "type": "page",
            "name": "Home",
            **alice_anon,
            "messageId": f"{tenant}-a-page",
            "timestamp": at(0),
        },
        *browse(alice_anon, 1, PRODUCTS[:3], tag=f"{tenant}-a1"),
        {
            "type": "identify",
            **alice,
            "messageId": f"{tenant}-a-identify",
            "timestamp": at(20),
            "traits": {"email": " Alice@Example.COM ", "name": "Alice"},
        },
        *browse(alice, 21, PRODUCTS[2:5], order=f"{tenant}-o-alice", tag=f"{tenant}-a2"),
        {
            "type": "identify",
            "userId": "u-bob",
            "anonymousId": "anon-bob",
            "messageId": f"{tenant}-b-identify",
            "timestamp": at(60),
            "traits": {"email": "bob@example.com"},
        },
        *browse(
            {"userId": "u-bob", "anonymousId": "anon-bob"},
            61,
            PRODUCTS[1:6],
            order=f"{tenant}-o-bob",
            tag=f"{tenant}-b1",
        ),
        *browse({"userId": "u-carol"}, 90, PRODUCTS[3:8], tag=f"{tenant}-c1"),
    ]
    return events


def second_half(tenant: str) -> list[dict[str, Any]]:
    """Pending traffic: Alice on a second device, an alias from her old id; Bob again."""
    return [
        {
            "type": "identify",
            "userId": "u-alice",
            "anonymousId": "anon-2",
            "messageId": f"{tenant}-a-identify-2",
            "timestamp": at(24 * 60),
        },
        *browse({"anonymousId": "anon-2"}, 24 * 60 + 1, PRODUCTS[5:7], tag=f"{tenant}-a3"),
        {
            "type": "alias",
            "userId": "u-alice",
            "previousId": "old-alice",
            "messageId": f"{tenant}-a-alias",
            "timestamp": at(24 * 60 + 10),
        },
        *browse({"userId": "old-alice"}, 24 * 60 + 11, PRODUCTS[:1], tag=f"{tenant}-a4"),
        *browse({"userId": "u-bob"}, 24 * 60 + 30, PRODUCTS[6:8], tag=f"{tenant}-b2"),
    ]


def shop_b_events() -> list[dict[str, Any]]:
    """Shop B: a *different* person who happens to have Alice's ids and email."""
    return [
        {
            "type": "identify",
            "userId": "u-alice",
            "anonymousId": "anon-1",
            "messageId": "shop-b-identify",
            "timestamp": at(5),
            "traits": {"email": "alice@example.com"},
        },
        *browse(
            {"userId": "u-alice", "anonymousId": "anon-1"},
            6,
            PRODUCTS[:4],
            order="shop-b-o-1",
            tag="shop-b-a",
        ),
        *browse({"userId": "u-dave"}, 40, PRODUCTS[2:6], tag="shop-b-d"),
    ]


@dataclass
class Installation:
    settings: Settings
    client: TestClient
    keys: dict[str, str]
    sent: dict[str, list[dict[str, Any]]]

    def post(self, tenant: str, events: list[dict[str, Any]]) -> None:
        response = self.client.post(
            "/v1/batch", json={"batch": events}, headers=basic_auth(self.keys[tenant])
        )
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(events), response.text
        self.sent.setdefault(tenant, []).extend(events)


def build_warehouse(settings: Settings) -> None:
    """A warehouse shaped like dbt's (tables with tenant and person ids, a view, a mart without
    ids), built from the raw zone in plain SQL: fast, and independent of the models in flight."""
    raw = f"{settings.raw_zone_dir}/events/**/*.parquet"
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute(
            "create table stg_collector__events as select tenant_id, message_id, type as"
            " message_type, event, user_id, anonymous_id, previous_id, timestamp as occurred_at"
            f" from read_parquet('{raw}', hive_partitioning = true)"
        )
        con.execute(
            "create view int_identity_map as select distinct tenant_id, anonymous_id, user_id"
            " from stg_collector__events where anonymous_id is not null and user_id is not null"
        )
        con.execute(
            "create table int_sessions as select tenant_id, coalesce(user_id, anonymous_id)"
            " as actor_id, max(user_id) as user_id, count(*) as events"
            " from stg_collector__events group by all"
        )
        con.execute(
            "create table int_orders as select tenant_id, message_id as order_key,"
            " coalesce(user_id, anonymous_id) as actor_id, user_id"
            " from stg_collector__events where event = 'Order Completed'"
        )
        con.execute(
            "create table products as select distinct tenant_id, 'p1' as product_id"
            " from stg_collector__events"
        )
    finally:
        con.close()


def publish_serving(settings: Settings, tenant: str, actors: list[str]) -> None:
    """Serving artifacts with two recommendations for each actor, plus a table without ids."""
    users = [actor for actor in actors for _ in range(2)]
    recommendations = pa.table(
        {
            "user_id": users,
            "product_id": [PRODUCTS[i % 2] for i in range(len(users))],
            "score": [1.0] * len(users),
            "rank": [1 + i % 2 for i in range(len(users))],
            "algorithm": ["als"] * len(users),
        }
    )
    trending = pa.table({"product_id": PRODUCTS, "rank": list(range(1, len(PRODUCTS) + 1))})
    LocalArtifactStore(settings.artifacts_dir).publish(
        tenant, {"recommendations": recommendations, "trending": trending}
    )


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    data = tmp_path / "data"
    for name, value in {
        "INTELLISHOP_PROFILE": "local",
        "INTELLISHOP_DATA_DIR": str(data),
        "INTELLISHOP_ADMIN_TOKEN": ADMIN_TOKEN,
        "DAGSTER_HOME": str(data / "dagster"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "OPENBLAS_NUM_THREADS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("INTELLISHOP_WAREHOUSE_PATH", raising=False)
    monkeypatch.delenv("INTELLISHOP_RAW_ZONE", raising=False)
    settings = Settings()
    settings.ensure_dirs()
    return settings


def build(settings: Settings) -> Installation:
    registry = TenantRegistry(settings.tenants_db_path)
    keys = {
        tenant: registry.create(tenant.upper(), tenant_id=tenant)[1] for tenant in (SHOP_A, SHOP_B)
    }
    installation = Installation(settings, TestClient(create_app(settings)), keys, {})
    installation.post(SHOP_A, first_half(SHOP_A))
    installation.post(SHOP_B, shop_b_events())
    drain_event_log(settings)
    build_warehouse(settings)
    publish_serving(settings, SHOP_A, ["u-alice", "anon-1", "old-alice", "u-bob", "u-carol"])
    publish_serving(settings, SHOP_B, ["u-alice", "u-dave"])
    installation.post(SHOP_A, second_half(SHOP_A))
    return installation


@pytest.fixture
def installation(environment: Settings) -> Iterator[Installation]:
    """Loaded first half (warehouse and serving built from it) and pending second half."""
    yield build(environment)
