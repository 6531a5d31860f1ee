"""``GET /v1/prices/{product_id}``: the catalog price, or a running price experiment's variant
price for the visitor (sticky, exposure logged with the product), the decided winner for all;
orders of the priced product by exposed visitors come out per variant in the results; tenants
never see each other's experiments; bad input is a 422 or 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import polars as pl
import pytest
from fastapi.testclient import TestClient

from ingest.event_log import open_event_log
from intellishop.artifacts import LocalArtifactStore
from intellishop.experiments import EXPOSURE_EVENT, PriceChooser, assign, evaluate, open_store
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.app import create_app
from serving.routes import prices
from tests.serving.test_api import artifacts

PRICE_TEST: dict[str, Any] = {
    "key": "tents-5-off",
    "name": "Tents 5% off",
    "surface": "price",
    "variants": [
        {"id": "list", "weight": 1, "control": True, "config": {"categories": ["tents"]}},
        {"id": "five_off", "name": "5% off", "weight": 1, "config": {"price_multiplier": 0.95}},
    ],
    "target_metric": "revenue_per_user",
}


@dataclass
class PriceApi:
    client: TestClient
    settings: Settings
    keys: dict[str, str]

    def price(self, product_id: str, key: str = "shop-a", **params: Any) -> httpx.Response:
        answer: httpx.Response = self.client.get(
            f"/v1/prices/{product_id}", params=params, headers={"X-API-Key": self.keys[key]}
        )
        return answer

    def experiments(
        self, method: str, path: str = "", key: str = "shop-a", **kw: Any
    ) -> httpx.Response:
        headers = {"X-API-Key": self.keys[key]}
        answer: httpx.Response = self.client.request(
            method, f"/v1/experiments{path}", headers=headers, **kw
        )
        return answer

    def exposures(self) -> list[dict[str, Any]]:
        """The exposures in the event log (after flushing the API's queue)."""
        self.client.app.state.served_events.flush()  # type: ignore[attr-defined]
        log = open_event_log(self.settings)
        try:
            entries = log.read("test-reader", 100_000)
        finally:
            log.close()
        return [
            {
                "tenant_id": entry.batch.tenant_id,
                "user_id": event.user_id,
                "anonymous_id": event.anonymous_id,
                "at": datetime.fromtimestamp(event.timestamp_us / 1e6, UTC),
                **json.loads(event.properties),
            }
            for entry in entries
            for event in entry.batch.events
            if event.event == EXPOSURE_EVENT
        ]


@pytest.fixture
def api(settings: Settings) -> Iterator[PriceApi]:
    registry = TenantRegistry(settings.tenants_db_path)
    keys: dict[str, str] = {}
    for tenant_id in ("shop-a", "shop-b"):
        _, keys[tenant_id] = registry.create(tenant_id.upper(), tenant_id=tenant_id)
    keys["public-a"] = registry.create_key("shop-a", scope="public")
    keys["write-a"] = registry.create_key("shop-a", scope="write")
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("shop-a", artifacts("a", ["alice"]))  # a-p0..2 tents, a-p3..5 stoves
    store.publish("shop-b", artifacts("b", ["bob"]))
    app = create_app(settings, refresh_seconds=0, auth_cache_seconds=0)
    if "/v1/prices/{product_id}" not in {getattr(r, "path", "") for r in app.routes}:
        app.include_router(prices.router)  # until serving/app.py registers it
    # Experiments started in the test count at once (production caches the lookup for 5 s).
    app.state.choose_price = PriceChooser(settings, app.state.served_events.put, cache_seconds=0)
    with TestClient(app) as client:
        yield PriceApi(client, settings, keys)


def start(api: PriceApi, body: dict[str, Any] = PRICE_TEST) -> None:
    created = api.experiments("POST", json=body)
    assert created.status_code == 201, created.text
    assert api.experiments("POST", f"/{body['key']}/start").status_code == 200


def test_catalog_price_without_an_experiment(api: PriceApi) -> None:
    answer = api.price("a-p1", key="public-a", user_id="alice")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["price"] == body["catalog_price"] == 20.0
    assert body["price_multiplier"] == 1.0
    assert body["experiment"] is None and body["exposure_logged"] is False
    assert api.exposures() == []


def test_variant_prices_are_sticky_exposures_name_the_product_and_results_count_its_orders(
    api: PriceApi,
) -> None:
    start(api)
    experiment = open_store(api.settings).get("shop-a", "tents-5-off")
    users = [f"u{i:03d}" for i in range(60)]
    arm = {u: assign(experiment, u).id for u in users}
    want = {"list": 20.0, "five_off": 19.0}
    for user in users:
        body = api.price("a-p1", key="public-a", user_id=user).json()
        assert body["price"] == want[arm[user]], body
        assert (body["experiment"], body["variant_id"]) == ("tents-5-off", arm[user])
        assert body["exposure_logged"] is True
    again = api.price("a-p1", user_id=users[0]).json()
    assert again["price"] == want[arm[users[0]]] and again["exposure_logged"] is False
    # Out of the experiment's categories: the catalog price, not an exposure.
    stove = api.price("a-p3", user_id=users[0]).json()
    assert stove["price"] == 40.0 and stove["experiment"] is None
    anonymous = api.price("a-p2", anonymous_id="device-1").json()
    assert anonymous["unit_id"] == "device-1" and anonymous["exposure_logged"] is True

    exposures = api.exposures()
    assert len(exposures) == len(users) + 1
    seen = {e["user_id"]: e for e in exposures if e["user_id"]}
    assert {u: (e["variation_id"], e["product_id"], e["price"]) for u, e in seen.items()} == {
        u: (arm[u], "a-p1", want[arm[u]]) for u in users
    }
    device = next(e for e in exposures if e["anonymous_id"] == "device-1")
    assert device["user_id"] is None and device["product_id"] == "a-p2"

    # Order lines as the warehouse gives them: every third visitor buys two of the priced tent
    # at the price they were shown, and a stove (which the experiment did not price).
    buyers = users[::3]
    later = datetime.now(UTC) + timedelta(minutes=5)
    lines = pl.DataFrame(
        [
            {
                "tenant_id": "shop-a",
                "unit_id": u,
                "order_id": f"o-{u}",
                "ordered_at": later,
                "product_id": product,
                "revenue": revenue,
            }
            for u in buyers
            for product, revenue in (("a-p1", 2 * want[arm[u]]), ("a-p3", 40.0))
        ]
    )
    frame = pl.DataFrame(
        {
            "tenant_id": [e["tenant_id"] for e in exposures],
            "experiment_id": [e["experiment_id"] for e in exposures],
            "unit_id": [e["user_id"] or e["anonymous_id"] for e in exposures],
            "variant_id": [e["variation_id"] for e in exposures],
            "exposed_at": [e["at"] for e in exposures],
            "product_id": [e["product_id"] for e in exposures],
        }
    )
    results = evaluate(
        open_store(api.settings),
        experiment,
        frame,
        lines,
        as_of=later + timedelta(minutes=1),
        act=False,
    )
    by_variant = {v["variant"]: v for v in results["variants"]}
    for variant_id, price in want.items():
        bought = [u for u in buyers if arm[u] == variant_id]
        assert by_variant[variant_id]["converters"] == by_variant[variant_id]["orders"]
        assert by_variant[variant_id]["orders"] == len(bought)
        assert by_variant[variant_id]["revenue"] == pytest.approx(2 * price * len(bought))
    comparison = next(c for c in results["comparisons"] if c["role"] == "target")
    assert comparison["metric"] == "revenue_per_user"
    assert comparison["fixed_horizon"]["test"] == "Welch t"
    assert results["attribution"].startswith("order lines")
    shown = api.experiments("GET", "/tents-5-off/results").json()
    assert shown["looks"] == 1 and shown["results"]["variants"][1]["variant"] == "five_off"


def test_the_decided_winner_prices_everyone_without_exposures(api: PriceApi) -> None:
    start(api)
    decided = api.experiments("POST", "/tents-5-off/decision", json={"winner": "five_off"})
    assert decided.status_code == 200, decided.text
    for user in ("x1", "x2", "x3", "x4"):
        body = api.price("a-p0", user_id=user).json()
        assert (body["price"], body["decided"], body["exposure_logged"]) == (9.5, True, False)
    assert api.exposures() == []


def test_tenants_never_reach_each_others_price_experiments(api: PriceApi) -> None:
    start(api)
    # Shop B asks about its own tent: its catalog price; A's experiment does not apply.
    body = api.price("b-p1", key="shop-b", user_id="u001").json()
    assert (body["tenant_id"], body["price"], body["experiment"]) == ("shop-b", 20.0, None)
    # A's product under B's key is unknown to B; A's experiment is a 404 for B everywhere.
    assert api.price("a-p1", key="shop-b", user_id="u001").status_code == 404
    assert api.experiments("GET", "/tents-5-off", key="shop-b").status_code == 404
    assigned = api.experiments(
        "POST", "/tents-5-off/assignments", key="shop-b", json={"unit_id": "u001"}
    )
    assert assigned.status_code == 404
    assert api.experiments("POST", "/tents-5-off/stop", key="shop-b").status_code == 404
    assert [e["tenant_id"] for e in api.exposures()] == []
    # B's own price experiment with the same key is B's alone.
    start_b = api.experiments(
        "POST",
        key="shop-b",
        json={
            **PRICE_TEST,
            "variants": [
                {"id": "list", "weight": 1, "control": True},
                {"id": "double", "weight": 1, "config": {"price_multiplier": 2.0}},
            ],
        },
    )
    assert start_b.status_code == 201
    assert api.experiments("POST", "/tents-5-off/start", key="shop-b").status_code == 200
    assert api.price("b-p1", key="shop-b", user_id="u001").json()["price"] in (20.0, 40.0)
    assert api.price("a-p1", user_id="u001").json()["price"] in (20.0, 19.0)
    assert {e["tenant_id"] for e in api.exposures()} == {"shop-a", "shop-b"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "user_id"),
        ({"user_id": "u1", "anonymous_id": "d1"}, "user_id"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "u" * 257}, "user_id"),
        ({"anonymous_id": "d" * 257}, "anonymous_id"),
    ],
)
def test_bad_visitor_ids_are_422(api: PriceApi, params: dict[str, str], field: str) -> None:
    answer = api.price("a-p1", **params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["query", field]


def test_unknown_products_keys_and_bad_variants(api: PriceApi) -> None:
    assert api.price("nope", user_id="u1").status_code == 404
    assert "unknown product" in api.price("nope", user_id="u1").json()["detail"]
    assert api.price("a-p1", key="write-a", user_id="u1").status_code == 403
    assert api.client.get("/v1/prices/a-p1", params={"user_id": "u1"}).status_code == 401
    for config, key in (
        ({"price_multiplier": 95}, "price_multiplier"),
        ({"price_multiplier": "cheap"}, "price_multiplier"),
        ({"price_multiplier": 0}, "price_multiplier"),
        ({"product_ids": "a-p1"}, "product_ids"),
    ):
        body = {
            **PRICE_TEST,
            "variants": [PRICE_TEST["variants"][0], {"id": "t", "weight": 1, "config": config}],
        }
        answer = api.experiments("POST", json=body)
        assert answer.status_code == 422, (config, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["body", "variants", 1, "config", key]
