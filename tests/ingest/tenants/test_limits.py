"""Rate limits (token bucket) and monthly quotas: 429 + Retry-After, partial batches, Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.limits import (
    LEASE_SECONDS,
    InMemoryTenantLimits,
    RedisTenantLimits,
    install_tenant_limits,
    open_tenant_limits,
)
from intellishop.plans import (
    PLANS,
    Plan,
    PlanError,
    get_plan,
    next_month_start,
    quota_month,
    seconds_until_quota_reset,
)
from intellishop.settings import Profile, Settings
from intellishop.tenants import TenantRegistry
from tests.conftest import run_async

from .conftest import REDIS_URL, logged, track, utc_now


class FrozenClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_plans_and_month_arithmetic() -> None:
    assert [PLANS[p].monthly_events for p in ("starter", "growth", "pro", "enterprise")] == [
        100_000,
        1_000_000,
        10_000_000,
        None,
    ]
    with pytest.raises(PlanError, match="starter, growth, pro, enterprise"):
        get_plan("gold")
    december = datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC)
    assert next_month_start(december) == datetime(2027, 1, 1, tzinfo=UTC)
    assert seconds_until_quota_reset(december) == 30
    assert quota_month(december) == "2026-12"
    assert seconds_until_quota_reset(datetime(2026, 2, 1, tzinfo=UTC)) == 28 * 86400


def test_token_bucket_in_memory() -> None:
    clock = FrozenClock()
    limits = InMemoryTenantLimits(clock)
    plan = Plan("test", None, requests_per_second=2, burst=3)
    assert [run_async(limits.take_request("a", plan)) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert run_async(limits.take_request("a", plan)) == pytest.approx(0.5)
    assert run_async(limits.take_request("b", plan)) == 0.0  # buckets are per tenant
    clock.now += 0.5
    assert run_async(limits.take_request("a", plan)) == 0.0
    assert run_async(limits.take_request("a", plan)) > 0


def test_rate_limit_answers_429_with_retry_after(
    collector_app: FastAPI, registry: TenantRegistry, admin_settings: Settings
) -> None:
    _, key = registry.create("Shop")  # starter: 10 requests/s, bursts of 50
    clock = FrozenClock()
    install_tenant_limits(collector_app, InMemoryTenantLimits(clock))
    client = TestClient(collector_app)
    headers = {"X-API-Key": key}
    for _ in range(50):
        assert client.post("/v1/track", json=track(), headers=headers).status_code == 200
    refused = client.post("/v1/batch", json={"batch": [track()]}, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    body = refused.json()
    assert body["limit"] == "rate" and body["plan"] == "starter"
    assert "10 requests/s" in body["detail"]
    clock.now += 0.1
    assert client.post("/v1/track", json=track(), headers=headers).status_code == 200
    assert len(logged(admin_settings)) == 51  # the refused request stored nothing


def test_rate_limit_of_one_tenant_does_not_touch_another(
    collector_app: FastAPI, registry: TenantRegistry
) -> None:
    _, key_a = registry.create("Shop A")
    _, key_b = registry.create("Shop B")
    install_tenant_limits(collector_app, InMemoryTenantLimits(FrozenClock()))
    client = TestClient(collector_app)
    for _ in range(50):
        client.post("/v1/track", json=track(), headers={"X-API-Key": key_a})
    assert client.post("/v1/track", json=track(), headers={"X-API-Key": key_a}).status_code == 429
    assert client.post("/v1/track", json=track(), headers={"X-API-Key": key_b}).status_code == 200


def test_batch_crossing_the_quota_keeps_what_fits(
    collector_app: FastAPI, registry: TenantRegistry, admin_settings: Settings
) -> None:
    tenant, key = registry.create("Shop")
    limits = InMemoryTenantLimits()
    install_tenant_limits(collector_app, limits)
    assert (
        run_async(limits.reserve_events(tenant.tenant_id, get_plan("starter"), 99_997, utc_now()))
        == 99_997
    )
    client = TestClient(collector_app)
    batch = [track(), {"type": "track"}, track(), track(), track(), track()]  # index 1 invalid
    response = client.post("/v1/batch", json={"batch": batch}, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 3
    assert [r["index"] for r in body["rejected"]] == [1, 4, 5]
    assert body["rejected"][0].get("reason") != "quota"
    assert [r.get("reason") for r in body["rejected"][1:]] == ["quota", "quota"]
    assert "monthly quota of 100,000" in body["rejected"][1]["errors"][0]["message"]
    assert logged(admin_settings) == [("shop", 3)]
    assert run_async(limits.events_used(tenant.tenant_id, utc_now())) == 100_000

    refused = client.post("/v1/batch", json={"batch": [track()]}, headers={"X-API-Key": key})
    assert refused.status_code == 429
    assert refused.json()["limit"] == "quota"
    retry_after = int(refused.headers["Retry-After"])
    assert abs(retry_after - seconds_until_quota_reset(utc_now())) <= 2
    single = client.post("/v1/identify", json={"userId": "u1"}, headers={"X-API-Key": key})
    assert single.status_code == 429 and single.json()["limit"] == "quota"
    assert logged(admin_settings) == [("shop", 3)]


def test_invalid_events_do_not_count_against_the_quota(
    collector_app: FastAPI, registry: TenantRegistry
) -> None:
    tenant, key = registry.create("Shop")
    limits = InMemoryTenantLimits()
    install_tenant_limits(collector_app, limits)
    client = TestClient(collector_app)
    client.post("/v1/batch", json={"batch": [{"type": "track"}] * 3}, headers={"X-API-Key": key})
    client.post(
        "/v1/batch", json={"batch": [track(), {"type": "nope"}]}, headers={"X-API-Key": key}
    )
    assert run_async(limits.events_used(tenant.tenant_id, utc_now())) == 1


def test_a_failed_append_gives_the_quota_back(
    collector_app: FastAPI, registry: TenantRegistry
) -> None:
    tenant, key = registry.create("Shop")
    limits = InMemoryTenantLimits()
    install_tenant_limits(collector_app, limits)

    class BrokenLog:
        def append(self, batch: Any) -> None:
            raise OSError("disk full")

    collector_app.state.event_log = BrokenLog()
    client = TestClient(collector_app, raise_server_exceptions=False)
    response = client.post("/v1/batch", json={"batch": [track()] * 4}, headers={"X-API-Key": key})
    assert response.status_code == 500
    assert run_async(limits.events_used(tenant.tenant_id, utc_now())) == 0


def test_enterprise_has_no_quota() -> None:
    limits = InMemoryTenantLimits()
    assert (
        run_async(limits.reserve_events("big", get_plan("enterprise"), 50_000_000, utc_now()))
        == 50_000_000
    )


def test_profiles_pick_their_backend(admin_settings: Settings) -> None:
    assert isinstance(open_tenant_limits(admin_settings), InMemoryTenantLimits)
    prod = admin_settings.model_copy(update={"profile": Profile.PROD, "redis_url": REDIS_URL})
    assert isinstance(open_tenant_limits(prod), RedisTenantLimits)


# --- prod profile: Redis, shared by every collector worker ---------------------------------


@pytest.mark.redis
def test_redis_bucket_is_atomic_under_concurrency(redis_client: Any, redis_prefix: str) -> None:
    plan = Plan("test", None, requests_per_second=0.001, burst=40)

    async def worker() -> int:  # a collector worker of its own, 25 requests in flight at once
        own = RedisTenantLimits(REDIS_URL, redis_prefix)
        waits = await asyncio.gather(*(own.take_request("t", plan) for _ in range(25)))
        return sum(wait == 0.0 for wait in waits)

    async def four_workers() -> list[int]:
        return list(await asyncio.gather(*(worker() for _ in range(4))))

    assert sum(run_async(four_workers())) == 40  # 100 attempts, exactly the burst let through
    limits = RedisTenantLimits(REDIS_URL, redis_prefix)
    assert run_async(limits.take_request("t", plan)) > 900  # about 1/0.001 s to the next token
    assert redis_client.ttl(f"{redis_prefix}:bucket:t") > 0


@pytest.mark.redis
def test_redis_quota_grants_exactly_the_limit(redis_client: Any, redis_prefix: str) -> None:
    plan = Plan("test", 100, requests_per_second=1, burst=1)
    now = utc_now()

    async def worker() -> list[int]:
        own = RedisTenantLimits(REDIS_URL, redis_prefix)
        return list(
            await asyncio.gather(*(own.reserve_events("t", plan, 7, now) for _ in range(5)))
        )

    async def four_workers() -> list[int]:
        return [
            granted
            for one in await asyncio.gather(*(worker() for _ in range(4)))
            for granted in one
        ]

    assert sum(run_async(four_workers())) == 100  # 140 asked for
    limits = RedisTenantLimits(REDIS_URL, redis_prefix)
    assert run_async(limits.events_used("t", now)) == 100
    key = f"{redis_prefix}:quota:t:{quota_month(now)}"
    assert (
        seconds_until_quota_reset(now)
        < redis_client.ttl(key)
        <= seconds_until_quota_reset(now) + 8 * 86400
    )
    run_async(limits.release_events("t", 10, now))
    assert run_async(limits.events_used("t", now)) == 90


class CountingRedisLimits(RedisTenantLimits):
    """Counts this worker's round trips to Redis for the two limits."""

    round_trips = 0

    def _on_this_loop(self) -> Any:
        found = super()._on_this_loop()

        def counted(script: Any) -> Any:
            async def call(**kwargs: Any) -> Any:
                self.round_trips += 1
                return await script(**kwargs)

            return call

        return dataclasses.replace(found, take=counted(found.take), reserve=counted(found.reserve))


@pytest.mark.redis
def test_a_busy_worker_leases_tokens_and_gives_back_what_it_did_not_use(
    redis_client: Any, redis_prefix: str
) -> None:
    plan = Plan("test", None, requests_per_second=0.001, burst=1000)  # leases of up to 100
    limits = CountingRedisLimits(REDIS_URL, redis_prefix)

    def taken() -> float:
        return 1000 - float(redis_client.hget(f"{redis_prefix}:bucket:t", "tokens"))

    async def worker() -> tuple[list[float], int, float, list[float]]:  # one worker: one loop
        busy = [await limits.take_request("t", plan) for _ in range(300)]
        round_trips, taken_while_busy = limits.round_trips, taken()
        await asyncio.sleep(LEASE_SECONDS)
        return busy, round_trips, taken_while_busy, [await limits.take_request("t", plan)]

    busy, round_trips, taken_while_busy, later = run_async(worker())
    assert busy == [0.0] * 300 and later == [0.0]
    assert round_trips < 20  # not one a request: asks for 1, 2, 3, 5, 9, ... then 101 at once
    assert 300 < taken_while_busy <= 300 + 100  # a lease held, never over a tenth of the burst
    assert taken() == pytest.approx(301, abs=0.01)  # its time over, the rest went back


@pytest.mark.redis
def test_a_busy_worker_leases_quota_within_the_limit(redis_client: Any, redis_prefix: str) -> None:
    plan = Plan("test", 20_000, requests_per_second=1, burst=1)  # leases of up to 20 events
    limits = CountingRedisLimits(REDIS_URL, redis_prefix)
    now = utc_now()

    async def worker() -> list[Any]:
        seen: list[Any] = [[await limits.reserve_events("t", plan, 7, now) for _ in range(100)]]
        seen += [limits.round_trips, await limits.events_used("t", now)]
        await asyncio.sleep(LEASE_SECONDS)
        seen += [await limits.reserve_events("t", plan, 7, now), await limits.events_used("t", now)]
        # Near the limit a lease takes only what is there: exactly the rest is granted.
        seen += [await limits.reserve_events("t", plan, 20_000, now)]
        seen += [await limits.events_used("t", now), await limits.reserve_events("t", plan, 1, now)]
        return seen

    busy, round_trips, used_while_busy, later, used_later, rest, used_at_end, over = run_async(
        worker()
    )
    assert busy == [7] * 100 and later == 7
    assert round_trips < 50
    assert 700 < used_while_busy <= 700 + 20
    assert used_later == 707  # the unused lease went back
    assert rest == 20_000 - 707 and used_at_end == 20_000 and over == 0


@pytest.mark.redis
def test_two_collectors_share_the_redis_bucket_and_quota(
    admin_settings: Settings,
    registry: TenantRegistry,
    redis_client: Any,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A slow plan, so the test is not racing the refill: a request every 20 s, bursts of 3.
    monkeypatch.setitem(PLANS, "starter", Plan("starter", 100_000, 0.05, 3))
    tenant, key = registry.create("Shop")
    apps = [create_app(admin_settings), create_app(admin_settings)]
    for app in apps:
        install_tenant_limits(app, RedisTenantLimits(REDIS_URL, redis_prefix))
    first, second = (TestClient(app) for app in apps)
    headers = {"X-API-Key": key}
    assert first.post("/v1/track", json=track(), headers=headers).status_code == 200
    assert second.post("/v1/track", json=track(), headers=headers).status_code == 200
    assert first.post("/v1/track", json=track(), headers=headers).status_code == 200
    refused = second.post("/v1/track", json=track(), headers=headers)
    assert refused.status_code == 429, "the second worker must see the first one's requests"
    assert refused.json()["limit"] == "rate"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20
    # The quota counter is shared too: three events went through, on two workers.
    assert (
        run_async(
            RedisTenantLimits(REDIS_URL, redis_prefix).events_used(tenant.tenant_id, utc_now())
        )
        == 3
    )


@pytest.mark.redis
def test_redis_quota_exhaustion_over_http(
    collector_app: FastAPI, registry: TenantRegistry, redis_client: Any, redis_prefix: str
) -> None:
    tenant, key = registry.create("Shop")
    limits = RedisTenantLimits(REDIS_URL, redis_prefix)
    install_tenant_limits(collector_app, limits)
    run_async(limits.reserve_events(tenant.tenant_id, get_plan("starter"), 99_999, utc_now()))
    client = TestClient(collector_app)
    response = client.post("/v1/batch", json={"batch": [track()] * 3}, headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert [r["reason"] for r in response.json()["rejected"]] == ["quota", "quota"]
    refused = client.post("/v1/track", json=track(), headers={"X-API-Key": key})
    assert refused.status_code == 429 and refused.json()["limit"] == "quota"
    assert int(refused.headers["Retry-After"]) > 0
