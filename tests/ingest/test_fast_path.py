"""The collection routes' fast path (``ingest.fast_path``) answers exactly what FastAPI would.

Each request is sent twice to one collector: as is (the fast path) and with a dependency
override (which gives the route back to FastAPI's own handler). Both must give the same status,
the headers that matter, the same body, the same events stored (but their receive times), the
same Prometheus counts and the same access-log line (but its duration). State that a request
changes (rate tokens, quota) is set up again before each of the two sends.
"""

from __future__ import annotations

import base64
import gzip
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from ingest.app import create_app
from ingest.fast_path import AdmittedRoute, AdmittedRouteDispatch
from ingest.limits import InMemoryTenantLimits, install_tenant_limits
from ingest.logging import ACCESS_LOGGER_NAME
from ingest.metrics import REGISTRY
from intellishop.plans import get_plan
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry, key_id_of
from tests.conftest import run_async

CONSUMER = "fast-path-test"
#: A frozen clock: rate tokens never come back, so a drained bucket stays drained.
NOW = 1_000.0


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = {k: v for k, v in vars(record).items() if k in _LOGGED}
        line.pop("ms")
        self.lines.append(line)


_LOGGED = ("route", "method", "status", "tenant", "events_accepted", "events_rejected", "ms")
_KEPT_HEADERS = (
    "content-type",
    "content-length",
    "www-authenticate",
    "retry-after",
    "allow",
    "access-control-allow-origin",
    "vary",
)


@dataclass
class Collector:
    app: FastAPI
    client: TestClient
    keys: dict[str, str]
    limits: InMemoryTenantLimits
    records: _Records
    prepare: Callable[[], None] = field(default=lambda: None)

    def both(
        self, path: str, content: bytes | None, headers: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(fast path's answer, FastAPI's answer) to the same request."""
        fast = self._answer(path, content, headers)
        self.app.dependency_overrides[_unused] = _unused
        try:
            slow = self._answer(path, content, headers)
        finally:
            self.app.dependency_overrides.clear()
        return fast, slow

    def _answer(self, path: str, content: bytes | None, headers: dict[str, str]) -> dict[str, Any]:
        self.prepare()
        counts = _counts()
        logged = len(self.records.lines)
        method = "GET" if content is None else "POST"
        response = self.client.request(method, path, content=content, headers=headers)
        body = response.json() if response.content else None
        return {
            "status": response.status_code,
            "headers": {name: response.headers.get(name) for name in _KEPT_HEADERS},
            "body": body,
            "stored": self._stored(),
            "counted": _difference(_counts(), counts),
            "logged": self.records.lines[logged:],
        }

    def _stored(self) -> list[Any]:
        """The entries appended since the last call, receive times left out."""
        log = self.app.state.event_log
        entries = log.read(CONSUMER, 1000)
        if entries:
            log.commit(CONSUMER, entries[-1].entry_id)
        return [
            (
                entry.batch.tenant_id,
                [
                    (e.message_id, e.type, e.event, e.user_id, e.properties, e.context)
                    for e in entry.batch.events
                ],
            )
            for entry in entries
        ]


def _unused() -> None:
    """A dependency no route uses: overriding it only switches the fast path off."""


def _counts() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name.endswith(("_total", "_count"))
    }


def _difference(after: dict[Any, float], before: dict[Any, float]) -> dict[Any, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


@pytest.fixture
def collector(settings: Settings) -> Iterator[Collector]:
    registry = TenantRegistry(settings.tenants_db_path)
    keys: dict[str, str] = {}
    _, keys["shop-a"] = registry.create("Shop A", tenant_id="shop-a", store_ip=True)
    _, keys["shop-b"] = registry.create(
        "Shop B", tenant_id="shop-b", allowed_origins=["https://b.example"]
    )
    _, keys["starter"] = registry.create("Starter", tenant_id="starter", plan="starter")
    _, keys["disabled"] = registry.create("Gone", tenant_id="gone")
    registry.update("gone", disabled=True)
    keys["write"] = registry.create_key("shop-a", scope="write")
    keys["public"] = registry.create_key("shop-a", scope="public")
    keys["revoked"] = registry.create_key("shop-a")
    registry.revoke_key("shop-a", key_id_of(keys["revoked"]))
    app = create_app(settings.model_copy(update={"max_batch_bytes": 20_000}))
    limits = InMemoryTenantLimits(clock=lambda: NOW)
    install_tenant_limits(app, limits)
    records = _Records()
    logger = logging.getLogger(ACCESS_LOGGER_NAME)
    logger.addHandler(records)
    try:
        with TestClient(app) as client:
            yield Collector(app, client, keys, limits, records)
    finally:
        logger.removeHandler(records)
        app.state.event_log.close()


def _now(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def _track(index: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": f"m-{index}",
        "userId": "u1",
        "properties": {"product_id": "p1", "price": 9.5},
        "context": {"ip": "81.2.69.160", "page": {"url": "https://s.example/?utm_source=x"}},
        **fields,
    }


def _json(value: Any) -> bytes:
    return msgspec.json.encode(value)


GOOD_BATCH = _json(
    {
        "batch": [
            _track(1),
            {"type": "page", "name": "Home", "anonymousId": "a1", "messageId": "m-2"},
            {"type": "identify", "userId": "u1", "traits": {"email": "x@example.com"}},
        ],
        "sentAt": _now(),
        "context": {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"},
    }
)
PARTLY_BAD = _json(
    {
        "batch": [
            _track(3),
            _track(4, userId=None),
            _track(5, properties={"product_id": "p1", "price": "cheap"}),
            _track(6, timestamp=_now(timedelta(days=30))),
            _track(7, properties=[1, 2]),
            {"type": "alias", "userId": "u2", "messageId": "m-8"},
            _track(9, event="x" * 300),
            {"type": "track", "event": "E", "userId": "u", "unknownField": 1},
            _track(10, context={"ip": "\u0000"}),
        ]
    }
)
BATCHES: list[tuple[bytes, dict[str, str]]] = [
    (GOOD_BATCH, {}),
    (PARTLY_BAD, {}),
    (_json({"batch": [_track(11, userId=None), {"type": "nope"}]}), {}),
    (_json({"batch": []}), {}),
    (_json({"batch": "x"}), {}),
    (_json({"batch": [_track(12)], "context": {"bad": "\u0000"}}), {}),
    (b'{"batch": [', {}),
    (b"[1, 2]", {}),
    (b"", {}),
    (b"\xff\xfe", {}),
    (GOOD_BATCH, {"Content-Type": "text/plain"}),
    (GOOD_BATCH, {"Content-Type": "application/xml"}),
    (gzip.compress(GOOD_BATCH), {"Content-Encoding": "gzip"}),
    (b"not gzip", {"Content-Encoding": "gzip"}),
    (gzip.compress(b" " * 30_000), {"Content-Encoding": "gzip"}),
    (GOOD_BATCH, {"Content-Encoding": "br"}),
    (_json({"batch": [_track(13, properties={"pad": "x" * 40_000})]}), {}),
    (_json({"batch": [_track(i, properties={"pad": "x" * 500}) for i in range(40)]}), {}),
    (_json({"batch": [_track(14, properties={"pad": "x" * 33_000})]})[:19_000], {}),
    (_json({"batch": [{"type": "track", "event": "No Id", "userId": "u9"}]}), {}),
]


def test_batches_are_answered_like_fastapi(collector: Collector) -> None:
    statuses = set()
    for content, extra in BATCHES:
        headers = {"X-API-Key": collector.keys["shop-a"], **extra}
        fast, slow = collector.both("/v1/batch", content, headers)
        assert fast == slow, (content[:80], extra)
        statuses.add(fast["status"])
    assert statuses == {200, 400, 413, 415, 422}


SINGLES: list[tuple[str, bytes]] = [
    ("/v1/track", _json(_track(20))),
    ("/v1/track", _json({**_track(21), "type": "identify"})),
    ("/v1/track", _json(_track(22, userId=None))),
    ("/v1/identify", _json({"userId": "u1", "traits": {"plan": "gold"}})),
    ("/v1/page", _json({"anonymousId": "a1", "name": "Cart"})),
    ("/v1/screen", _json({"userId": "u1", "name": "Home"})),
    ("/v1/alias", _json({"userId": "u2"})),
    ("/v1/alias", _json({"userId": "u2", "previousId": "a1"})),
    ("/v1/group", _json({"userId": "u1", "groupId": "g1"})),
    ("/v1/track", b"[]"),
    ("/v1/track", b"{"),
    ("/v1/track", _json(_track(23, properties={"pad": "x" * 40_000}))),
]


def test_single_messages_are_answered_like_fastapi(collector: Collector) -> None:
    statuses = set()
    for path, content in SINGLES:
        fast, slow = collector.both(path, content, {"X-API-Key": collector.keys["shop-a"]})
        assert fast == slow, (path, content[:80])
        statuses.add(fast["status"])
    assert statuses == {200, 400, 413, 422}
    fast, slow = collector.both("/v1/batch", None, {"X-API-Key": collector.keys["shop-a"]})
    assert fast == slow
    assert fast["status"] == 405


def test_every_credential_is_judged_like_fastapi(collector: Collector) -> None:
    keys = collector.keys
    basic = base64.b64encode(f"{keys['shop-a']}:".encode()).decode()
    cases: list[tuple[str, dict[str, str]]] = [
        ("/v1/batch", {}),
        ("/v1/batch", {"X-API-Key": "nope"}),
        ("/v1/batch", {"X-API-Key": keys["shop-b"]}),
        ("/v1/batch", {"X-API-Key": keys["write"]}),
        ("/v1/batch", {"X-API-Key": keys["public"]}),
        ("/v1/batch", {"X-API-Key": keys["revoked"]}),
        ("/v1/batch", {"X-API-Key": keys["disabled"]}),
        ("/v1/batch", {"Authorization": f"Basic {basic}"}),
        ("/v1/batch", {"Authorization": f"Bearer {keys['shop-a']}"}),
        ("/v1/batch", {"Authorization": "Bearer a.b.c"}),
        ("/v1/batch", {"X-API-Key": "", "Authorization": f"Bearer {keys['shop-b']}"}),
        (f"/v1/batch?key={keys['shop-b']}", {}),
        (f"/v1/batch?key={keys['shop-b']}", {"Origin": "https://b.example"}),
        (f"/v1/batch?key={keys['shop-b']}", {"Origin": "https://evil.example"}),
        ("/v1/batch?key=", {}),
    ]
    statuses = set()
    for path, headers in cases:
        fast, slow = collector.both(path, GOOD_BATCH, headers)
        assert fast == slow, (path, headers)
        statuses.add(fast["status"])
    assert statuses == {200, 401, 403}


def test_rate_limit_and_quota_answers_are_fastapis(collector: Collector) -> None:
    limits, plan = collector.limits, get_plan("starter")
    headers = {"X-API-Key": collector.keys["starter"]}

    def drained() -> None:
        while run_async(limits.take_request("starter", plan)) == 0.0:
            pass

    collector.prepare = drained
    fast, slow = collector.both("/v1/batch", GOOD_BATCH, headers)
    assert fast == slow
    assert fast["status"] == 429

    def quota_left(count: int) -> Callable[[], None]:
        def prepare() -> None:  # fresh limits: a full bucket, only the quota is tested
            fresh = collector.app.state.tenant_limits = InMemoryTenantLimits(clock=lambda: NOW)
            assert plan.monthly_events is not None
            left = plan.monthly_events - count
            run_async(fresh.reserve_events("starter", plan, left, datetime.now(UTC)))

        return prepare

    for left, status in ((2, 200), (0, 429)):
        collector.prepare = quota_left(left)
        fast, slow = collector.both("/v1/batch", GOOD_BATCH, headers)
        for answer in (fast, slow):  # seconds to the month's end: may tick between the two
            answer["headers"].pop("retry-after")
            if answer["body"].pop("retry_after", None) is not None:
                answer["headers"].pop("content-length")
        assert fast == slow, left
        assert fast["status"] == status


def test_ordinary_requests_do_take_the_fast_path(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else the comparisons above would compare FastAPI with itself."""
    handled: list[str] = []
    fastapi_handle = APIRoute.handle

    async def counted(self: APIRoute, scope: Scope, receive: Receive, send: Send) -> None:
        handled.append(self.path)
        await fastapi_handle(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", counted)
    headers = {"X-API-Key": collector.keys["shop-a"]}
    fast, _ = collector.both("/v1/batch", PARTLY_BAD, headers)
    collector.client.post("/v1/track", content=b"{", headers={})
    assert handled == ["/v1/batch"]  # the FastAPI path of ``both`` only
    assert fast["body"]["accepted"] == 1


def test_a_route_taking_more_than_its_admission_is_refused() -> None:
    from fastapi import Depends, Request

    async def endpoint(request: Request, extra: int = Depends(lambda: 1)) -> None: ...

    with pytest.raises(TypeError, match="AdmissionDep only"):
        AdmittedRoute("/v1/x", endpoint, methods=["POST"])


def test_collection_paths_skip_the_router_and_the_rest_do_not(collector: Collector) -> None:
    """The dispatch in front of the router sends exactly the collection routes' requests past
    it; every other request (another path or method, a trailing slash, a root path) is routed
    as before, and answered as before."""
    dispatch = collector.app.router.middleware_stack
    assert isinstance(dispatch, AdmittedRouteDispatch)
    routed: list[str] = []
    router_app = dispatch._router_app

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        routed.append(f"{scope['method']} {scope['path']}")
        await router_app(scope, receive, send)

    dispatch._router_app = counted
    headers = {"X-API-Key": collector.keys["shop-a"]}
    client = collector.client
    assert client.post("/v1/batch", content=GOOD_BATCH, headers=headers).status_code == 200
    assert client.post("/v1/track", content=_json(_track(30)), headers=headers).status_code == 200
    assert routed == []

    assert client.get("/v1/batch", headers=headers).status_code == 405
    slash = client.post("/v1/batch/", content=GOOD_BATCH, headers=headers, follow_redirects=False)
    assert slash.status_code == 307 and slash.headers["location"].endswith("/v1/batch")
    assert client.get("/healthz").status_code == 200
    assert routed == ["GET /v1/batch", "POST /v1/batch/", "GET /healthz"]

    behind_proxy = TestClient(collector.app, root_path="/collector")
    answer = behind_proxy.post("/v1/track", content=_json(_track(31)), headers=headers)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    assert len(routed) == 4 and routed[-1].startswith("POST ")  # routed, not dispatched
