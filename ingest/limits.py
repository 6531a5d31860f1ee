"""Per-tenant rate limits and monthly event quotas for the collector's event routes.

Two limits, both from the tenant's plan (:mod:`intellishop.plans`):

- **rate**: a token bucket per tenant, one token per HTTP request to ``/v1/*``. Checked before
  the body is read, so a flood costs almost nothing. Over it: 429, ``limit: "rate"``,
  ``Retry-After`` = seconds until a token is back.
- **quota**: accepted events per calendar month (UTC). Checked after validation (invalid events
  do not count) and reserved before the append (so concurrent requests cannot overshoot). A batch
  that would cross the quota keeps the events that fit, in batch order, and lists the rest in
  ``rejected`` by index with ``reason: "quota"`` (200, like any partly bad batch); a request of
  which nothing fits is a 429, ``limit: "quota"``, ``Retry-After`` = seconds until the month
  rolls over. A reservation whose append then fails is given back.

Backends, picked by profile:

- ``local``: :class:`InMemoryTenantLimits`, in the process's memory. Right for the single
  collector worker the local profile runs; with several workers each would have its own bucket
  and counter, and the counters restart with the process.
- ``prod``: :class:`RedisTenantLimits`: the bucket is a Redis hash updated by one Lua script
  (refill, take, and Redis's own clock, atomically), the quota a counter per tenant and month
  (a script that grants only what fits, expiring after the month), so every collector worker
  shares both.

**Leases (prod).** A Redis round trip per request and limit was the largest cost the prod
collector had over the local one. So a worker whose tenant keeps it busy takes a little ahead:
when its last lease ran out within ``LEASE_SECONDS``, the next refill asks for an extra that
doubles each time, up to a tenth of the plan's burst (tokens) or a thousandth of the monthly
quota (events; 10,000 when unlimited); a tenant sending less often gets exactly what each
request needs, as without leases. What a worker holds past ``LEASE_SECONDS`` goes back to
Redis with its next refill, so neither limit is ever exceeded: at worst another worker refuses
a request while this one holds the tenant's last tokens, for at most ``LEASE_SECONDS``. The
quota counter (``events_used``) includes events leased and not yet used; a worker that dies
holding some leaves them counted, at most one lease's worth.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol, TypeVar

import redis.asyncio as aioredis
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from redis.commands.core import AsyncScript

from intellishop.plans import Plan, get_plan, quota_month, seconds_until_quota_reset
from intellishop.settings import Profile, Settings
from intellishop.tenants import Tenant

from .deps import current_tenant

T = TypeVar("T")

#: Redis key prefix of every limit key (``<prefix>:bucket:<tenant>``, ``<prefix>:quota:...``).
REDIS_KEY_PREFIX = "intellishop:limits"
#: Quota counters outlive their month by this long (so an operator can still read them).
QUOTA_KEY_GRACE_SECONDS = 7 * 86400


class LimitExceededError(Exception):
    """A request over the tenant's rate limit or monthly quota: answered with a 429."""

    def __init__(self, limit: str, detail: str, retry_after: int, plan: str) -> None:
        super().__init__(detail)
        self.limit = limit
        self.detail = detail
        self.retry_after = max(1, retry_after)
        self.plan = plan


class TenantLimits(Protocol):
    """Where buckets and counters live: process memory (local) or Redis (prod).

    Asynchronous, so Redis's round trips wait on the event loop: a hop to a worker thread
    and back cost more CPU than the round trip itself (docs/benchmarks.md).
    """

    async def take_request(self, tenant_id: str, plan: Plan) -> float:
        """Take one request token; 0.0 if allowed, else the seconds until one is back."""
        ...

    async def reserve_events(self, tenant_id: str, plan: Plan, count: int, now: datetime) -> int:
        """Reserve up to ``count`` events of this month's quota; returns how many fit."""
        ...

    async def release_events(self, tenant_id: str, count: int, now: datetime) -> None:
        """Give back a reservation whose events were not stored."""
        ...

    async def events_used(self, tenant_id: str, now: datetime) -> int: ...


class InMemoryTenantLimits:
    """Buckets and counters in this process (the local profile's single collector worker)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, at)
        self._used: dict[tuple[str, str], int] = {}  # (tenant, YYYY-MM) -> events
        # Test clients may run each request on its own event loop, in its own thread.
        self._lock = threading.Lock()

    async def take_request(self, tenant_id: str, plan: Plan) -> float:
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(tenant_id, (float(plan.burst), now))
            tokens = min(float(plan.burst), tokens + max(0.0, now - at) * plan.requests_per_second)
            if tokens >= 1.0:
                self._buckets[tenant_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[tenant_id] = (tokens, now)
            return (1.0 - tokens) / plan.requests_per_second

    async def reserve_events(self, tenant_id: str, plan: Plan, count: int, now: datetime) -> int:
        key = (tenant_id, quota_month(now))
        with self._lock:
            used = self._used.get(key, 0)
            granted = (
                count
                if plan.monthly_events is None
                else max(0, min(count, plan.monthly_events - used))
            )
            self._used[key] = used + granted
        return granted

    async def release_events(self, tenant_id: str, count: int, now: datetime) -> None:
        key = (tenant_id, quota_month(now))
        with self._lock:
            self._used[key] = max(0, self._used.get(key, 0) - count)

    async def events_used(self, tenant_id: str, now: datetime) -> int:
        return self._used.get((tenant_id, quota_month(now)), 0)


#: A worker keeps what it took from Redis ahead of need for at most this long (see the module).
LEASE_SECONDS = 0.2
#: A lease holds at most the plan's burst over this many tokens ...
TOKEN_LEASE_DIVISOR = 10
#: ... and at most its monthly quota over this many events, or this many when unlimited.
QUOTA_LEASE_DIVISOR = 1000
UNLIMITED_QUOTA_LEASE = 10_000

# KEYS[1] the bucket hash; ARGV rate (tokens/s), burst (capacity), wanted (at least one token,
# at most this many), returned (tokens a worker gives back). Uses Redis's clock, so every worker
# agrees on time. Returns {tokens granted, the wait in seconds as a string when none was}.
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local returned = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate + returned)
local granted = 0
local wait = 0
if tokens >= 1 then
  granted = math.min(wanted, math.floor(tokens))
  tokens = tokens - granted
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {granted, tostring(wait)}
"""

# KEYS[1] the month's counter; ARGV limit (-1: unlimited), wanted, ttl, returned (events a
# worker gives back). Grants what fits, up to ``wanted``.
_QUOTA_SCRIPT = """
local limit = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local used = math.max(0, tonumber(redis.call('GET', KEYS[1]) or '0') - tonumber(ARGV[4]))
local granted = wanted
if limit >= 0 then
  granted = math.max(0, math.min(wanted, limit - used))
end
redis.call('SET', KEYS[1], used + granted, 'EX', tonumber(ARGV[3]))
return granted
"""


@dataclass
class _Lease:
    """What this worker took from one shared limit ahead of need (see the module)."""

    held: int = 0
    #: Asked for beyond the need at the next refill: doubles while the tenant keeps us busy.
    extra: int = 0
    #: Until when ``held`` may be used (then it goes back with the next refill).
    until: float = 0.0
    #: A refill asking ahead is in flight: requests meanwhile ask for their own need only.
    refilling: bool = False

    def use(self, count: int, now: float) -> bool:
        if count <= self.held and now < self.until:
            self.held -= count
            return True
        return False

    def start_refill(self, now: float, cap: int) -> tuple[int, int, bool]:
        """(units given back, extra to ask for, whether this refill leads)."""
        if self.refilling:
            return 0, 0, False
        self.refilling = True
        returned, self.held = self.held, 0
        self.extra = min(cap, max(1, self.extra * 2)) if now < self.until else 0
        return returned, self.extra, True

    def end_refill(self, leads: bool, surplus: int) -> None:
        self.held += surplus
        if leads:
            self.refilling = False
            self.until = time.monotonic() + LEASE_SECONDS


@dataclass(frozen=True)
class _LoopClient:
    """One event loop's Redis client and its two scripts (asyncio connections belong to the
    loop that opened them)."""

    client: aioredis.Redis
    take: AsyncScript
    reserve: AsyncScript
    #: This worker's leases: request tokens by tenant, quota events by (tenant, month).
    tokens: dict[str, _Lease] = field(default_factory=dict)
    events: dict[tuple[str, str], _Lease] = field(default_factory=dict)


class RedisTenantLimits:
    """Buckets and counters in Redis, shared by every collector worker (the prod profile)."""

    def __init__(self, url: str, prefix: str = REDIS_KEY_PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        # A server runs one loop; a test client may run a loop per request.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )

    def _on_this_loop(self) -> _LoopClient:
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            client = aioredis.Redis.from_url(self.url)
            found = _LoopClient(
                client,
                client.register_script(_BUCKET_SCRIPT),
                client.register_script(_QUOTA_SCRIPT),
            )
            self._clients[loop] = found
        return found

    def _quota_key(self, tenant_id: str, now: datetime) -> str:
        return f"{self.prefix}:quota:{tenant_id}:{quota_month(now)}"

    async def take_request(self, tenant_id: str, plan: Plan) -> float:
        on_loop, clock = self._on_this_loop(), time.monotonic()
        lease = on_loop.tokens.setdefault(tenant_id, _Lease())
        if lease.use(1, clock):
            return 0.0
        returned, extra, leads = lease.start_refill(clock, plan.burst // TOKEN_LEASE_DIVISOR)
        granted = 0
        try:
            granted, wait = await on_loop.take(
                keys=[f"{self.prefix}:bucket:{tenant_id}"],
                args=[plan.requests_per_second, plan.burst, 1 + extra, returned],
            )
        finally:
            lease.end_refill(leads, max(0, int(granted) - 1))
        return 0.0 if granted else float(wait)

    async def reserve_events(self, tenant_id: str, plan: Plan, count: int, now: datetime) -> int:
        on_loop, clock = self._on_this_loop(), time.monotonic()
        lease = on_loop.events.setdefault((tenant_id, quota_month(now)), _Lease())
        if lease.use(count, clock):
            return count
        limit = -1 if plan.monthly_events is None else plan.monthly_events
        cap = UNLIMITED_QUOTA_LEASE if limit < 0 else limit // QUOTA_LEASE_DIVISOR
        returned, extra, leads = lease.start_refill(clock, cap)
        ttl = seconds_until_quota_reset(now) + QUOTA_KEY_GRACE_SECONDS
        granted = 0
        try:
            granted = int(
                await on_loop.reserve(
                    keys=[self._quota_key(tenant_id, now)],
                    args=[limit, count + extra, ttl, returned],
                )
            )
        finally:
            lease.end_refill(leads, max(0, granted - count))
        return min(granted, count)

    async def release_events(self, tenant_id: str, count: int, now: datetime) -> None:
        await self._on_this_loop().client.decrby(self._quota_key(tenant_id, now), count)

    async def events_used(self, tenant_id: str, now: datetime) -> int:
        return int(await self._on_this_loop().client.get(self._quota_key(tenant_id, now)) or 0)


def open_tenant_limits(settings: Settings) -> TenantLimits:
    """The limits backend of the profile: memory (local) or Redis (prod)."""
    if settings.profile is Profile.PROD:
        return RedisTenantLimits(settings.redis_url)
    return InMemoryTenantLimits()


async def _limit_exceeded(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LimitExceededError)
    return JSONResponse(
        {
            "success": False,
            "detail": exc.detail,
            "limit": exc.limit,
            "plan": exc.plan,
            "retry_after": exc.retry_after,
        },
        status_code=429,
        headers={"Retry-After": str(exc.retry_after)},
    )


def install_tenant_limits(app: FastAPI, limits: TenantLimits) -> None:
    """Give ``app`` its limits backend and the handler that turns a limit into a 429."""
    app.state.tenant_limits = limits
    app.add_exception_handler(LimitExceededError, _limit_exceeded)


@dataclass
class EventAdmission:
    """The calling tenant's admission for one request: rate already checked, quota to come."""

    tenant: Tenant
    plan: Plan
    limits: TenantLimits
    reserved: int = 0
    month_of: datetime | None = None

    async def admit(
        self, accepted: list[T], rejected: list[dict[str, Any]], batch_size: int
    ) -> tuple[list[T], list[dict[str, Any]]]:
        """Reserve quota for ``accepted``; those that do not fit join ``rejected`` by index.

        ``accepted`` are the valid events in batch order and ``rejected`` the invalid ones (each
        with its ``index``); the indexes of the accepted events are the others. Raises
        :class:`LimitExceededError` (429) when none fits.
        """
        now = datetime.now(UTC)
        granted = await self._reserve(len(accepted), now)
        if granted == len(accepted):
            return accepted, rejected
        if granted == 0:
            assert self.plan.monthly_events is not None
            raise LimitExceededError(
                "quota",
                f"monthly quota of the {self.plan.name} plan "
                f"({self.plan.monthly_events:,} events) is used up for {quota_month(now)}; "
                "it resets on the 1st of next month (UTC)",
                seconds_until_quota_reset(now),
                self.plan.name,
            )
        taken = {entry["index"] for entry in rejected}
        accepted_indexes = [index for index in range(batch_size) if index not in taken]
        over = [
            {
                "index": index,
                "reason": "quota",
                "errors": [
                    {
                        "field": "$",
                        "message": f"over the {self.plan.name} plan's monthly quota "
                        f"of {self.plan.monthly_events:,} events",
                    }
                ],
            }
            for index in accepted_indexes[granted:]
        ]
        merged = sorted([*rejected, *over], key=lambda entry: int(entry["index"]))
        return accepted[:granted], merged

    async def _reserve(self, count: int, now: datetime) -> int:
        granted = await self.limits.reserve_events(self.tenant.tenant_id, self.plan, count, now)
        self.reserved += granted
        self.month_of = now
        return granted

    async def give_back(self) -> None:
        """Return what was reserved (the append failed: those events were not accepted)."""
        if self.reserved and self.month_of is not None:
            await self.limits.release_events(self.tenant.tenant_id, self.reserved, self.month_of)
            self.reserved = 0


async def admit_request(request: Request) -> EventAdmission:
    """Dependency of the event routes: authenticate (401), take a rate token (429 if none), then
    hand the route an :class:`EventAdmission` for the quota. A route whose append fails after
    reserving quota calls :meth:`EventAdmission.give_back`.

    One dependency doing all three, not three chained ones: FastAPI's dependency resolution
    costs more per request than the checks themselves.
    """
    tenant = await current_tenant(request)
    request.state.tenant_id = tenant.tenant_id
    limits: TenantLimits = request.app.state.tenant_limits
    plan = get_plan(tenant.plan)
    wait = await limits.take_request(tenant.tenant_id, plan)
    if wait > 0:
        raise LimitExceededError(
            "rate",
            f"rate limit of the {plan.name} plan ({plan.requests_per_second:g} requests/s, "
            f"bursts of {plan.burst}) exceeded; retry after {math.ceil(wait)} s",
            math.ceil(wait),
            plan.name,
        )
    return EventAdmission(tenant=tenant, plan=plan, limits=limits)


AdmissionDep = Annotated[EventAdmission, Depends(admit_request)]
