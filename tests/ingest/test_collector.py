"""The collector over HTTP (in-process): auth, validation, partial batches, durability."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry


@pytest.fixture
def shop(settings: Settings) -> tuple[TestClient, str, str]:
    registry = TenantRegistry(settings.tenants_db_path)
    _, key_a = registry.create("Shop A")
    _, key_b = registry.create("Shop B")
    return TestClient(create_app(settings)), key_a, key_b


def track(event: str = "Product Viewed", **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "userId": "u1",
        "properties": {"product_id": "p1"},
        **fields,
    }


def logged(settings: Settings) -> list[tuple[str, list[str]]]:
    log = SqliteEventLog(settings.event_log_path)
    entries = log.read(LOADER_CONSUMER, 1000)
    return [(e.batch.tenant_id, [ev.message_id for ev in e.batch.events]) for e in entries]


def test_health(shop: tuple[TestClient, str, str]) -> None:
    client, _, _ = shop
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.parametrize(
    "headers",
    [
        lambda key: {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
        lambda key: {"Authorization": f"Bearer {key}"},
        lambda key: {"X-API-Key": key},
    ],
    ids=["basic", "bearer", "x-api-key"],
)
def test_every_auth_style_is_accepted(shop: tuple[TestClient, str, str], headers: Any) -> None:
    client, key, _ = shop
    response = client.post("/v1/track", json=track(), headers=headers(key))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "isk_wrong"}, {"Authorization": "Basic !!notbase64"}]
)
def test_missing_or_wrong_key_is_401_and_stores_nothing(
    shop: tuple[TestClient, str, str], settings: Settings, headers: dict[str, str]
) -> None:
    client, _, _ = shop
    response = client.post("/v1/batch", json={"batch": [track()]}, headers=headers)
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]
    assert logged(settings) == []


def test_batch_keeps_good_events_and_names_bad_ones(
    shop: tuple[TestClient, str, str], settings: Settings
) -> None:
    client, key, _ = shop
    batch = [
        track(messageId="m1"),
        {"type": "track", "event": "Product Viewed", "userId": 5},
        {"type": "track", "userId": "u1"},
        {"type": "track", "event": "X"},
        track(messageId="m5", surprise=True),
        track(messageId="m6"),
    ]
    response = client.post("/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    rejected = {r["index"]: {e["field"] for e in r["errors"]} for r in body["rejected"]}
    assert rejected == {1: {"userId"}, 2: {"event"}, 3: {"userId"}, 4: {"surprise"}}
    assert logged(settings) == [("shop-a", ["m1", "m6"])]


def test_all_bad_batch_is_400_and_stores_nothing(
    shop: tuple[TestClient, str, str], settings: Settings
) -> None:
    client, key, _ = shop
    response = client.post("/v1/batch", json={"batch": [{"type": "nope"}]}, auth=(key, ""))
    assert response.status_code == 400
    assert response.json()["rejected"][0]["errors"][0]["field"] == "type"
    assert logged(settings) == []


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b"[]", 422, "Expected `object`"),
        (b'{"batch": "x"}', 422, "batch"),
        (b'{"batch": []}', 400, "empty"),
    ],
)
def test_malformed_bodies_get_clear_errors(
    shop: tuple[TestClient, str, str], body: bytes, status: int, words: str
) -> None:
    client, key, _ = shop
    response = client.post(
        "/v1/batch", content=body, auth=(key, ""), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_oversized_batch_and_event_are_refused(
    shop: tuple[TestClient, str, str], settings: Settings
) -> None:
    client, key, _ = shop
    big = track(properties={"blob": "x" * (settings.max_event_bytes + 10)})
    response = client.post("/v1/batch", json={"batch": [big, track()]}, auth=(key, ""))
    assert response.status_code == 200
    assert response.json()["rejected"][0]["index"] == 0
    assert "limit" in response.json()["rejected"][0]["errors"][0]["message"]
    huge = {"batch": [track(properties={"blob": "x" * 20_000}) for _ in range(30)]}
    response = client.post("/v1/batch", json=huge, auth=(key, ""))
    assert response.status_code == 413
    assert len(logged(settings)) == 1


def test_clock_skew_is_corrected_and_future_events_refused(
    shop: tuple[TestClient, str, str], settings: Settings
) -> None:
    client, key, _ = shop
    # The client's clock runs 2 hours fast: the event happened 10 s before it was sent.
    fast = datetime.now(UTC) + timedelta(hours=2)
    event = track(
        messageId="skewed",
        timestamp=(fast - timedelta(seconds=10)).isoformat(),
        sentAt=fast.isoformat(),
    )
    future = track(timestamp=(datetime.now(UTC) + timedelta(days=3)).isoformat())
    response = client.post("/v1/batch", json={"batch": [event, future]}, auth=(key, ""))
    assert response.json()["rejected"] == [
        {
            "index": 1,
            "errors": [
                {"field": "timestamp", "message": "is in the future (check the client's clock)"}
            ],
        }
    ]
    entry = SqliteEventLog(settings.event_log_path).read(LOADER_CONSUMER, 10)[0]
    stored = entry.batch.events[0]
    assert abs(stored.received_at_us - stored.timestamp_us - 10_000_000) < 1_000


def test_tenant_comes_from_the_key_never_from_the_body(
    shop: tuple[TestClient, str, str], settings: Settings
) -> None:
    client, key_a, key_b = shop
    client.post(
        "/v1/track", json=track(context={"tenant_id": "shop-b"}), headers={"X-API-Key": key_a}
    )
    client.post("/v1/track", json=track(), headers={"X-API-Key": key_b})
    assert [tenant for tenant, _ in logged(settings)] == ["shop-a", "shop-b"]


def test_single_endpoints_imply_the_type(shop: tuple[TestClient, str, str]) -> None:
    client, key, _ = shop
    identify = {"userId": "u1", "anonymousId": "a1", "traits": {"email": "a@example.com"}}
    assert client.post("/v1/identify", json=identify, auth=(key, "")).status_code == 200
    assert (
        client.post(
            "/v1/page", json={"anonymousId": "a1", "name": "Home"}, auth=(key, "")
        ).status_code
        == 200
    )
    alias = client.post("/v1/alias", json={"userId": "u1"}, auth=(key, ""))
    assert alias.status_code == 422
    assert alias.json()["errors"] == [
        {"field": "previousId", "message": "alias messages need previousId"}
    ]
    wrong = client.post("/v1/track", json={"type": "identify", "userId": "u"}, auth=(key, ""))
    assert wrong.status_code == 422


def test_missing_message_id_is_derived_from_the_bytes(
    shop: tuple[TestClient, str, str], settings: Settings
) -> None:
    client, key, _ = shop
    event = track(timestamp="2026-01-01T00:00:00Z")
    client.post("/v1/batch", json={"batch": [event]}, auth=(key, ""))
    client.post("/v1/batch", json={"batch": [event]}, auth=(key, ""))
    ids = [ids[0] for _, ids in logged(settings)]
    assert len(ids) == 2 and ids[0] == ids[1]
