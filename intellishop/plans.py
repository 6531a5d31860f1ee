"""Billing plans: the monthly event quota and the request rate limit each tenant gets.

A quota counts *accepted* events (what lands in the event log) per tenant per calendar month in
UTC, whatever the tenant's own time zone: one boundary for every tenant keeps the counters simple
and the Retry-After honest. The rate limit is a token bucket per tenant, in HTTP requests (a
batch of 100 events is one request): ``requests_per_second`` refill, ``burst`` capacity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime


class PlanError(ValueError):
    """An unknown plan name."""


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    #: Accepted events per calendar month (UTC); None means unlimited.
    monthly_events: int | None
    #: Sustained HTTP requests per second to the collector's event routes.
    requests_per_second: float
    #: Requests that may arrive at once after a quiet spell (the bucket's capacity).
    burst: int


PLANS: dict[str, Plan] = {
    plan.name: plan
    for plan in (
        Plan("starter", 100_000, requests_per_second=10, burst=50),
        Plan("growth", 1_000_000, requests_per_second=50, burst=200),
        Plan("pro", 10_000_000, requests_per_second=200, burst=1_000),
        Plan("enterprise", None, requests_per_second=1_000, burst=5_000),
    )
}
DEFAULT_PLAN = "starter"


def get_plan(name: str) -> Plan:
    """The plan called ``name``; a :class:`PlanError` naming the valid plans otherwise."""
    plan = PLANS.get(name)
    if plan is None:
        raise PlanError(f"unknown plan {name[:40]!r}: choose one of {', '.join(PLANS)}")
    return plan


def quota_month(now: datetime) -> str:
    """The calendar month (UTC) a quota counter belongs to, as ``YYYY-MM``.

    Formatted by hand: every collection request asks, and ``strftime`` costs three times as
    much."""
    utc = now.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


def next_month_start(now: datetime) -> datetime:
    """Midnight UTC on the first day of the month after ``now``: when quotas reset."""
    now = now.astimezone(UTC)
    if now.month == 12:
        return datetime(now.year + 1, 1, 1, tzinfo=UTC)
    return datetime(now.year, now.month + 1, 1, tzinfo=UTC)


def seconds_until_quota_reset(now: datetime) -> int:
    """Whole seconds (at least 1) until the monthly quotas reset: the 429's Retry-After."""
    return max(1, math.ceil((next_month_start(now) - now.astimezone(UTC)).total_seconds()))
