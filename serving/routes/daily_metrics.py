"""The tenant's headline numbers per day, and their totals over a date range."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import AnalyticsTenant, DateRangeQuery, PublishedAnalytics
from ..schemas import DailyMetric, DailyMetrics, DailyTotals

router = APIRouter(prefix="/v1/analytics/daily", tags=["analytics"])


@router.get(
    "",
    summary="Daily revenue, orders, sessions and conversion",
    description="Published `daily_metrics` rows from `start` to `end` (inclusive, the tenant's "
    "calendar days; both optional), with totals. The totals' AOV and conversion rate are "
    "computed from the summed revenue, orders and sessions, not averaged over days.",
)
def daily_metrics(
    tenant: AnalyticsTenant, analytics: PublishedAnalytics, dates: DateRangeQuery
) -> DailyMetrics:
    rows, totals = analytics.daily(dates.start, dates.end)
    currencies = {row["currency"] for row in rows}
    return DailyMetrics(
        tenant_id=tenant.tenant_id,
        model_version=analytics.version,
        start=dates.start,
        end=dates.end,
        currency=currencies.pop() if len(currencies) == 1 else None,
        totals=DailyTotals(**totals),
        days=[DailyMetric(**row) for row in rows],
    )
