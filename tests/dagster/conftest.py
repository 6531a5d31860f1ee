"""A small two-shop installation for the pipeline tests: real collector, simulated traffic.

Two tenants in time zones on either side of UTC get two weeks of simulated shopping each, sent
through the collector app in process (``POST /v1/batch``, HTTP Basic auth), so the event log
holds exactly what a live collector would have appended. Nothing is loaded yet: that is the
pipeline's job.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import create_app
from intellishop.settings import Settings
from intellishop.simulation import SimulationConfig, generate_events
from intellishop.tenants import TenantRegistry


@dataclass(frozen=True)
class Shop:
    tenant_id: str
    timezone: str
    seed: int


#: West and east of UTC, so a tenant's day differs from the UTC day in both directions.
SHOPS = (
    Shop("shop-ny", "America/New_York", seed=11),
    Shop("shop-tokyo", "Asia/Tokyo", seed=12),
)
#: Two weeks ending 14 March 2025: New York switches to daylight saving time on 9 March inside it.
END = datetime.now(UTC).date() - timedelta(days=1)


def simulation(seed: int) -> SimulationConfig:
    """About 2,600 events per shop: enough for orders, refunds, bots and returning visitors."""
    return SimulationConfig(
        seed=seed,
        days=14,
        customers=40,
        products=40,
        anonymous_visitors_per_customer=8,
        refund_rate=0.3,
        end=END,
    )


def basic_auth(api_key: str) -> dict[str, str]:
    token = base64.b64encode(f"{api_key}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def post_batches(
    client: TestClient, api_key: str, events: list[dict[str, Any]], batch_size: int = 250
) -> int:
    """Send ``events`` as Segment batches (no ``sentAt``: timestamps are kept as generated)."""
    accepted = 0
    for start in range(0, len(events), batch_size):
        batch = events[start : start + batch_size]
        response = client.post("/v1/batch", json={"batch": batch}, headers=basic_auth(api_key))
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("rejected"), body
        accepted += int(body["accepted"])
    return accepted


def partial_refund(events: list[dict[str, Any]]) -> dict[str, Any]:
    """A back-office refund of a third of the first order's total, an hour after the order.

    The simulator refunds only some orders, at random: this one makes sure every shop has a
    partial refund (sent server-side, as shops do: a user id and no anonymous id).
    """
    order = next(e for e in events if e["type"] == "track" and e["event"] == "Order Completed")
    ordered_at = datetime.fromisoformat(order["timestamp"].replace("Z", "+00:00"))
    refunded_at = ordered_at + timedelta(hours=1)
    return {
        "type": "track",
        "event": "Order Refunded",
        "messageId": f"test-refund-{order['messageId']}",
        "userId": order.get("userId") or order["anonymousId"],
        "timestamp": refunded_at.isoformat().replace("+00:00", "Z"),
        "context": {"library": {"name": "analytics-python", "version": "2.3.3"}},
        "properties": {
            "order_id": order["properties"]["order_id"],
            "currency": order["properties"].get("currency", "USD"),
            "total": round(order["properties"]["total"] / 3, 2),
        },
    }


@dataclass
class Installation:
    settings: Settings
    client: TestClient
    keys: dict[str, str]
    #: The messages each tenant sent, as generated.
    events: dict[str, list[dict[str, Any]]]
    #: Where stale INTELLISHOP_WAREHOUSE_PATH / INTELLISHOP_RAW_ZONE values point (must stay empty).
    decoy_dir: Path


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """Two tenants with their traffic in the event log; the environment points at them.

    Only the settings' own variables are set, as an operator would. The dbt variables point at
    another directory on purpose (left over from another installation): the pipeline must build
    the warehouse of its settings, never whatever an old shell exported.
    """
    root = tmp_path_factory.mktemp("installation")
    settings = Settings(data_dir=root / "data")
    settings.ensure_dirs()
    decoy_dir = root / "elsewhere"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("INTELLISHOP_PROFILE", "local")
        env.setenv("INTELLISHOP_DATA_DIR", str(settings.data_dir))
        env.setenv("DAGSTER_HOME", str(settings.dagster_home))
        env.setenv("DAGSTER_DISABLE_TELEMETRY", "1")
        env.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        env.setenv("OPENBLAS_NUM_THREADS", "1")
        env.setenv("INTELLISHOP_WAREHOUSE_PATH", str(decoy_dir / "warehouse.duckdb"))
        env.setenv("INTELLISHOP_RAW_ZONE", str(decoy_dir / "raw"))
        registry = TenantRegistry(settings.tenants_db_path)
        client = TestClient(create_app(settings))
        keys: dict[str, str] = {}
        events: dict[str, list[dict[str, Any]]] = {}
        for shop in SHOPS:
            _, keys[shop.tenant_id] = registry.create(
                shop.tenant_id.upper(), tenant_id=shop.tenant_id, timezone=shop.timezone
            )
            generated = list(generate_events(simulation(shop.seed)))
            events[shop.tenant_id] = [*generated, partial_refund(generated)]
            sent = post_batches(client, keys[shop.tenant_id], events[shop.tenant_id])
            assert sent == len(events[shop.tenant_id])
        yield Installation(settings, client, keys, events, decoy_dir)
