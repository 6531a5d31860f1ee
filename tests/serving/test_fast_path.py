"""The hot routes' fast path (``serving.fast_path``) answers exactly what FastAPI would.

The other serving tests build the app with ``refresh_seconds=0``, so the pointer is never
"fresh" and every request takes FastAPI's path. Here the pointer stays fresh for a minute, so
ordinary requests take the fast path; each request is sent twice, once as is and once with a
dependency override (which turns the fast path off), and both answers must be the same status,
headers that matter and body (but the new ``recommendation_id``), logging the same number of
"Recommendations Served" events.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.app import create_app
from serving.routes.analytics_query import analytics_query_fast
from serving.routes.recommendations import recommendations_fast
from serving.routes.similar import similar_fast
from serving.served_events import ServedEventLog
from tests.serving.conftest import shop_b_tables
from tests.serving.published import full_shop

T = TypeVar("T")


@dataclass
class FastApi:
    app: FastAPI
    client: TestClient
    keys: dict[str, str]

    def both(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(fast path's answer, FastAPI's answer) to the same request, each with its events."""
        fast = self._answer(path, headers)
        self.app.dependency_overrides[_unused] = _unused
        try:
            slow = self._answer(path, headers)
        finally:
            self.app.dependency_overrides.clear()
        return fast, slow

    def _answer(self, path: str, headers: dict[str, str] | None) -> tuple[Any, ...]:
        served: ServedEventLog = self.app.state.served_events
        served.flush()
        # ``appended`` counts the background thread's flushes too (it may run meanwhile).
        before = served.appended
        response = self.client.get(
            path, headers={"X-API-Key": self.keys["shop-a"]} if headers is None else headers
        )
        body = response.json()
        if isinstance(body, dict):
            body.pop("recommendation_id", None)
        kept = ("content-type", "www-authenticate", "retry-after", "allow")
        served.flush()
        return (
            response.status_code,
            {name: response.headers.get(name) for name in kept},
            body,
            served.appended - before,
        )


def _unused() -> None:
    """A dependency no route uses: overriding it only switches the fast path off."""


@pytest.fixture
def api(settings: Settings) -> Iterator[FastApi]:
    registry = TenantRegistry(settings.tenants_db_path)
    keys: dict[str, str] = {}
    for tenant_id in ("shop-a", "shop-b"):
        _, keys[tenant_id] = registry.create(tenant_id.upper(), tenant_id=tenant_id)
    keys["public"] = registry.create_key("shop-a", scope="public")
    keys["write"] = registry.create_key("shop-a", scope="write")
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("shop-a", full_shop("a", ["alice", "sam"]))
    store.publish("shop-b", shop_b_tables())
    app = create_app(settings, refresh_seconds=600)
    with TestClient(app) as client:
        for tenant_id in ("shop-a", "shop-b"):  # load each index (FastAPI's path reads files)
            client.get("/v1/recommendations/x", headers={"X-API-Key": keys[tenant_id]})
        yield FastApi(app, client, keys)


RECOMMENDATIONS = [
    "/v1/recommendations/alice",
    "/v1/recommendations/alice?n=1",
    "/v1/recommendations/alice?n=100",
    "/v1/recommendations/alice?n=2&category=stoves",
    "/v1/recommendations/alice?context=a-p4&exclude=a-p5",
    "/v1/recommendations/alice?exclude=a-p3,a-p4&exclude=a-p0",
    "/v1/recommendations/alice?algorithm=repurchase",
    "/v1/recommendations/alice?algorithm=als&n=3&unknown=ignored",
    "/v1/recommendations/nobody?category=tents",
    "/v1/recommendations/nobody?context=a-p1",
    "/v1/recommendations/sam?n=2&n=3",
    "/v1/recommendations/alice?n=010",
    "/v1/recommendations/alice?n=",
    "/v1/recommendations/alice?n=0",
    "/v1/recommendations/alice?n=101",
    "/v1/recommendations/alice?n=ten",
    "/v1/recommendations/alice?category=",
    "/v1/recommendations/alice?algorithm=Bad-Name",
    "/v1/recommendations/alice?exclude=" + "&exclude=".join(f"p{i}" for i in range(101)),
    "/v1/recommendations/" + "u" * 257,
    "/v1/recommendations/caf%C3%A9%20au%20lait?category=" + "c" * 257,
]
SIMILAR = [
    "/v1/products/a-p0/similar",
    "/v1/products/a-p0/similar?n=1&algorithm=als&user_id=alice",
    "/v1/products/a-p4/similar?n=100",
    "/v1/products/a-p0/similar?algorithm=content",
    "/v1/products/a-p0/similar?algorithm=nope",
    "/v1/products/a-p0/similar?n=0",
    "/v1/products/no-such-product/similar",
    "/v1/products/a-p0/similar?user_id=",
]
QUERIES = [
    "/v1/analytics/query?metric=revenue&granularity=week&breakdown=country",
    "/v1/analytics/query?metric=revenue&granularity=week&breakdown=country",
    "/v1/analytics/query?metric=orders",
    "/v1/analytics/query?metric=orders&filter=country:US&start=2026-01-01&end=2026-01-31",
    "/v1/analytics/query?metric=orders&start=2026-02-01&end=2026-01-01",
    "/v1/analytics/query?metric=orders&start=2026-1-1",
    "/v1/analytics/query?metric=orders&filter=planet:mars",
    "/v1/analytics/query?metric=bogus",
    "/v1/analytics/query?granularity=week",
    "/v1/analytics/query?metric=orders&metric=revenue",
]


def test_fast_path_answers_like_fastapi(api: FastApi) -> None:
    for path in RECOMMENDATIONS + SIMILAR + QUERIES:  # one app for all: seconds, not minutes
        fast, slow = api.both(path)
        assert fast == slow, path


def test_every_credential_is_judged_like_fastapi(api: FastApi) -> None:
    basic = base64.b64encode(f"{api.keys['shop-a']}:".encode()).decode()
    for headers in (
        {},
        {"X-API-Key": "nope"},
        {"X-API-Key": api.keys["write"]},
        {"X-API-Key": api.keys["public"]},
        {"X-API-Key": api.keys["shop-b"]},
        {"Authorization": f"Bearer {api.keys['shop-a']}"},
        {"Authorization": f"Basic {basic}"},
        {"Authorization": "Bearer a.b.c"},
        {"X-API-Key": "", "Authorization": f"Bearer {api.keys['shop-a']}"},
    ):
        for path in (RECOMMENDATIONS[0], SIMILAR[0], QUERIES[0]):
            fast, slow = api.both(path, headers)
            assert fast == slow, (path, headers)


def _scope(api: FastApi, path_params: dict[str, str], query: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "app": api.app,
        "path_params": path_params,
        "query_string": query,
        "headers": [(b"x-api-key", api.keys["shop-a"].encode())],
    }


def test_ordinary_requests_do_take_the_fast_path(api: FastApi) -> None:
    """Else the comparisons above would compare FastAPI with itself."""
    api.client.get(QUERIES[0], headers={"X-API-Key": api.keys["shop-a"]})  # cache the answer
    cases = [
        (recommendations_fast, {"user_id": "alice"}, b"n=3&exclude=a-p3"),
        (similar_fast, {"product_id": "a-p0"}, b"n=2"),
        (analytics_query_fast, {}, QUERIES[0].partition("?")[2].encode()),
    ]
    for handler, params, query in cases:
        assert _run(handler(_scope(api, params, query))) is not None, handler
    unusual = [
        (recommendations_fast, {"user_id": "alice"}, b"n=0"),
        (similar_fast, {"product_id": "no-such-product"}, b""),
        (analytics_query_fast, {}, b"metric=orders&granularity=month"),  # not cached yet
    ]
    for handler, params, query in unusual:
        assert _run(handler(_scope(api, params, query))) is None, (handler, query)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: in the whole suite an earlier test can leave this
    thread's event loop marked running, and ``asyncio.run`` refuses to start under it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _requests_counted(api: FastApi, status: str) -> float:
    text = api.client.get("/metrics").text
    label = f'method="GET",route="/v1/recommendations/{{user_id}}",status="{status}"'
    for line in text.splitlines():
        if line.startswith("intellishop_api_requests_total{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_fast_answers_are_counted_under_their_route_template(api: FastApi) -> None:
    ok, bad = _requests_counted(api, "200"), _requests_counted(api, "422")
    for _ in range(3):
        api.client.get("/v1/recommendations/alice", headers={"X-API-Key": api.keys["shop-a"]})
    api.client.get("/v1/recommendations/alice?n=0", headers={"X-API-Key": api.keys["shop-a"]})
    assert _requests_counted(api, "200") == ok + 3
    assert _requests_counted(api, "422") == bad + 1
