"""End to end over the network: an event posted to the real collector process shows on the
real API process's WebSocket within a second, and a reconnect starts from a full snapshot."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from intellishop.ports import free_port
from intellishop.services import Supervisor, services
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:
    data_dir: Path = tmp_path_factory.mktemp("live") / "data"
    settings = Settings(data_dir=data_dir, collector_port=free_port(), api_port=free_port())
    settings.ensure_dirs()
    _, key = TenantRegistry(settings.tenants_db_path).create(
        "Live Shop", tenant_id="live-shop", plan="enterprise", timezone="Europe/Berlin"
    )
    supervisor = Supervisor(settings, data_dir / "logs")
    known = services(settings)
    try:
        supervisor.start(known["collector"])
        supervisor.start(known["api"])
        yield settings, key
    finally:
        supervisor.stop_all()


def _order(key: str, settings: Settings, order_id: str, revenue: float) -> None:
    response = httpx.post(
        f"http://{settings.host}:{settings.collector_port}/v1/track",
        headers={"X-API-Key": key},
        json={
            "type": "track",
            "event": "Order Completed",
            "userId": f"buyer-{order_id}",
            "messageId": uuid.uuid4().hex,
            "properties": {
                "order_id": order_id,
                "revenue": revenue,
                "currency": "EUR",
                "products": [{"product_id": "p1", "price": revenue, "quantity": 1}],
            },
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text


def _socket(settings: Settings, key: str) -> ClientConnection:
    return connect(f"ws://{settings.host}:{settings.api_port}/v1/live?key={key}", open_timeout=10)


def test_an_order_reaches_the_dashboard_socket_within_a_second(
    running: tuple[Settings, str],
) -> None:
    settings, key = running
    with _socket(settings, key) as socket:
        first = json.loads(socket.recv(timeout=10))
        assert first["type"] == "snapshot" and first["tenant_id"] == "live-shop"
        latencies = []
        for number in range(3):
            started = time.monotonic()
            _order(key, settings, f"o{number}", 10.0)
            while True:
                update = json.loads(socket.recv(timeout=5))
                if update["orders_today"] == first["orders_today"] + number + 1:
                    break
            latencies.append(time.monotonic() - started)
            assert update["latest_orders"][0]["order_id"] == f"o{number}"
        assert max(latencies) < 1.0, latencies
        assert update["revenue_today"] == first["revenue_today"] + 30.0
        assert update["timezone"] == "Europe/Berlin" and update["active_users"] >= 3
    with _socket(settings, key) as socket:  # reconnect: the same totals at once
        again = json.loads(socket.recv(timeout=10))
        assert again["orders_today"] == update["orders_today"]
        assert again["revenue_today"] == update["revenue_today"]
