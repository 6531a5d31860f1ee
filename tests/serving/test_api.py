"""The API in-process: auth, tenant isolation, cold start, limits, publish and re-publish."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.app import create_app
from serving.catalog import VersionIndex


def artifacts(prefix: str, users: list[str], *, trending: bool = True) -> dict[str, pa.Table]:
    """A small published set: 6 products in 2 categories; each user gets 3 recommendations."""
    products = [f"{prefix}-p{i}" for i in range(6)]
    categories = ["tents", "tents", "tents", "stoves", "stoves", "stoves"]
    trending_rows = list(zip(products, categories, strict=True)) if trending else []
    recs: dict[str, list[Any]] = {
        k: [] for k in ("user_id", "product_id", "score", "rank", "algorithm")
    }
    for user in users:
        for rank, product in enumerate(products[3:6], start=1):
            recs["user_id"].append(user)
            recs["product_id"].append(product)
            recs["score"].append(1.0 / rank)
            recs["rank"].append(rank)
            recs["algorithm"].append("repurchase" if rank == 1 else "trending_affinity")
    return {
        "products": pa.table(
            {
                "product_id": products,
                "name": [f"{prefix.upper()} item {i}" for i in range(6)],
                "category": categories,
                "brand": ["acme"] * 6,
                "price": [10.0 * (i + 1) for i in range(6)],
            }
        ),
        "trending": pa.table(
            {
                "product_id": [p for p, _ in trending_rows],
                "category": [c for _, c in trending_rows],
                "score": [float(10 - i) for i in range(len(trending_rows))],
                "rank": pa.array(range(1, len(trending_rows) + 1), pa.int32()),
                "category_rank": pa.array([1, 2, 3, 1, 2, 3][: len(trending_rows)], pa.int32()),
            }
        ),
        "popular": pa.table(
            {
                "product_id": list(reversed(products)),
                "category": list(reversed(categories)),
                "score": [float(100 - i) for i in range(6)],
                "rank": pa.array(range(1, 7), pa.int32()),
            }
        ),
        "recommendations": pa.table({**recs, "rank": pa.array(recs["rank"], pa.int32())}),
    }


@dataclass
class Api:
    client: TestClient
    store: LocalArtifactStore
    keys: dict[str, str]

    def get(self, path: str, tenant: str = "shop-a", **params: Any) -> Any:
        return self.client.get(path, params=params, headers={"X-API-Key": self.keys[tenant]})


@pytest.fixture
def api(settings: Settings) -> Api:
    registry = TenantRegistry(settings.tenants_db_path)
    keys = {}
    for tenant_id in ("shop-a", "shop-b", "shop-new"):
        _, keys[tenant_id] = registry.create(tenant_id.upper(), tenant_id=tenant_id)
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("shop-a", artifacts("a", ["alice", "sam"]))
    store.publish("shop-b", artifacts("b", ["bob", "sam"]))
    client = TestClient(create_app(settings, refresh_seconds=0, auth_cache_seconds=0))
    return Api(client, store, keys)


def test_health_needs_no_key(api: Api) -> None:
    body = api.client.get("/healthz").json()
    assert body["status"] == "ok" and body["service"] == "api"


@pytest.mark.parametrize(
    "headers",
    [
        lambda key: {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
        lambda key: {"Authorization": f"Bearer {key}"},
        lambda key: {"X-API-Key": key},
    ],
    ids=["basic", "bearer", "x-api-key"],
)
def test_every_auth_style_is_accepted(api: Api, headers: Callable[[str], dict[str, str]]) -> None:
    response = api.client.get("/v1/trending", headers=headers(api.keys["shop-a"]))
    assert response.status_code == 200, response.text
    assert response.json()["tenant_id"] == "shop-a"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing API key"),
        ({"X-API-Key": "isk_forged"}, "invalid"),
        ({"Authorization": "Bearer "}, "missing API key"),
        ({"Authorization": "Basic !!!"}, "missing API key"),
    ],
)
def test_missing_or_wrong_key_is_a_clear_401(
    api: Api, headers: dict[str, str], message: str
) -> None:
    for path in ("/v1/trending", "/v1/recommendations/alice"):
        response = api.client.get(path, headers=headers)
        assert response.status_code == 401
        assert message in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Basic")


def test_known_user_gets_their_published_list(api: Api) -> None:
    version = api.store.current("shop-a")
    assert version is not None
    body = api.get("/v1/recommendations/alice", n=2).json()
    assert body["tenant_id"] == "shop-a" and body["user_id"] == "alice"
    assert body["cold_start"] is False
    assert body["algorithm"] == "repurchase+trending_affinity"
    assert body["model_version"] == version.version
    assert len(body["recommendation_id"]) == 32
    assert body["items"] == [
        {
            "product_id": "a-p3",
            "name": "A item 3",
            "category": "stoves",
            "price": 40.0,
            "score": 1.0,
            "rank": 1,
            "algorithm": "repurchase",
        },
        {
            "product_id": "a-p4",
            "name": "A item 4",
            "category": "stoves",
            "price": 50.0,
            "score": 0.5,
            "rank": 2,
            "algorithm": "trending_affinity",
        },
    ]
    again = api.get("/v1/recommendations/alice", n=2).json()
    assert again["recommendation_id"] != body["recommendation_id"]


def test_unknown_user_gets_trending_not_404(api: Api) -> None:
    response = api.get("/v1/recommendations/stranger", n=4)
    assert response.status_code == 200
    body = response.json()
    assert body["cold_start"] is True and body["algorithm"] == "cold_start_trending"
    assert [i["product_id"] for i in body["items"]] == ["a-p0", "a-p1", "a-p2", "a-p3"]
    assert [i["rank"] for i in body["items"]] == [1, 2, 3, 4]


def test_cold_start_falls_back_to_popular_when_nothing_trends(api: Api) -> None:
    api.store.publish("shop-a", artifacts("a", ["alice"], trending=False))
    body = api.get("/v1/recommendations/stranger", n=3).json()
    assert body["algorithm"] == "cold_start_popular"
    assert [i["product_id"] for i in body["items"]] == ["a-p5", "a-p4", "a-p3"]
    assert api.get("/v1/trending").json()["items"] == []


def test_tenants_never_see_each_other(api: Api) -> None:
    # "sam" is a user of both shops: each shop answers with its own list.
    as_a = api.get("/v1/recommendations/sam", "shop-a").json()
    as_b = api.get("/v1/recommendations/sam", "shop-b").json()
    assert {i["product_id"][:2] for i in as_a["items"]} == {"a-"}
    assert {i["product_id"][:2] for i in as_b["items"]} == {"b-"}
    # Shop B's user is a stranger to shop A, and gets shop A's products.
    bob_at_a = api.get("/v1/recommendations/bob", "shop-a").json()
    assert bob_at_a["tenant_id"] == "shop-a" and bob_at_a["cold_start"] is True
    assert {i["product_id"][:2] for i in bob_at_a["items"]} == {"a-"}
    trending_b = api.get("/v1/trending", "shop-b", n=100).json()
    assert trending_b["tenant_id"] == "shop-b"
    assert {i["product_id"][:2] for i in trending_b["items"]} == {"b-"}


def test_trending_overall_and_by_category(api: Api) -> None:
    body = api.get("/v1/trending", n=3).json()
    assert [i["product_id"] for i in body["items"]] == ["a-p0", "a-p1", "a-p2"]
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    stoves = api.get("/v1/trending", n=2, category="stoves").json()
    assert stoves["category"] == "stoves"
    assert [(i["product_id"], i["rank"]) for i in stoves["items"]] == [("a-p3", 1), ("a-p4", 2)]
    assert api.get("/v1/trending", category="kayaks").json()["items"] == []


@pytest.mark.parametrize("n", ["0", "101", "-1", "ten"])
def test_n_out_of_range_is_a_422_naming_the_field(api: Api, n: str) -> None:
    for path in ("/v1/trending", "/v1/recommendations/alice"):
        response = api.get(path, n=n)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "n"]


def test_n_bounds_are_inclusive(api: Api) -> None:
    assert len(api.get("/v1/trending", n=1).json()["items"]) == 1
    assert len(api.get("/v1/trending", n=100).json()["items"]) == 6


def test_nothing_published_is_a_503_saying_what_to_do(api: Api) -> None:
    for path in ("/v1/trending", "/v1/recommendations/alice"):
        response = api.get(path, "shop-new")
        assert response.status_code == 503
        assert "no artifacts published yet" in response.json()["detail"]
        assert "intellishop pipeline run" in response.json()["detail"]


def test_a_publish_is_picked_up_and_indexed_once(api: Api) -> None:
    first = api.get("/v1/trending").json()
    catalog = api.client.app.state.catalog  # type: ignore[attr-defined]
    index = catalog.current("shop-a")
    assert api.get("/v1/trending").json()["model_version"] == first["model_version"]
    assert catalog.current("shop-a") is index  # not rebuilt per request

    api.store.publish("shop-a", artifacts("z", ["zoe"]))
    after = api.get("/v1/trending").json()
    assert after["model_version"] != first["model_version"]
    assert after["items"][0]["product_id"] == "z-p0"
    assert api.get("/v1/recommendations/zoe").json()["cold_start"] is False
    assert api.get("/v1/recommendations/alice").json()["cold_start"] is True
    # The first tenant's publish did not touch the second tenant.
    assert api.get("/v1/trending", "shop-b").json()["items"][0]["product_id"] == "b-p0"


def test_the_api_keeps_answering_during_publishes(api: Api) -> None:
    done = threading.Event()

    def publish_repeatedly() -> None:
        for i in range(8):
            api.store.publish("shop-a", artifacts(f"v{i}", ["alice"]))
        done.set()

    publisher = threading.Thread(target=publish_repeatedly)
    publisher.start()
    statuses: list[int] = []
    while not done.is_set() or len(statuses) < 20:
        statuses.append(api.get("/v1/recommendations/alice", n=3).status_code)
        statuses.append(api.get("/v1/trending").status_code)
    publisher.join()
    assert set(statuses) == {200}
    assert api.get("/v1/trending").json()["items"][0]["product_id"] == "v7-p0"


def test_a_request_costs_o_n_not_a_table_scan() -> None:
    users = 20_000
    per_user = 20
    table = pa.table(
        {
            "user_id": [f"u{u}" for u in range(users) for _ in range(per_user)],
            "product_id": [f"p{r}" for _ in range(users) for r in range(per_user)],
            "score": [1.0 / (r + 1) for _ in range(users) for r in range(per_user)],
            "rank": [r + 1 for _ in range(users) for r in range(per_user)],
            "algorithm": ["trending_affinity"] * (users * per_user),
        }
    )
    from intellishop.artifacts import ArtifactVersion

    index = VersionIndex(ArtifactVersion("t", "v1", "now", {"recommendations": table}))
    started = time.perf_counter()
    for u in range(0, users, 10):
        items = index.recommendations(f"u{u}", 10)
        assert items is not None and len(items) == 10
    per_request = (time.perf_counter() - started) / (users / 10)
    assert per_request < 0.002, f"{per_request * 1000:.2f} ms per lookup"
