"""The tenant's conversion funnel, summed over days and segments of traffic."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..analytics import FUNNEL_STEPS, ratio
from ..deps import AnalyticsTenant, DateRangeQuery, PublishedAnalytics
from ..schemas import Funnel, FunnelFilters, FunnelStep

router = APIRouter(prefix="/v1/analytics/funnel", tags=["analytics"])

_Filter = Annotated[str | None, Query(min_length=1, max_length=256)]


@router.get(
    "",
    summary="Sessions reaching each funnel step, with conversion and drop-off",
    description="Sums the published `funnel_daily` counts of the matching rows first, then "
    "divides (a rate is never averaged). `device`, `source` and `country` match the published "
    "device type, traffic source and country exactly; a value nobody has gives zero counts.",
)
def funnel(
    tenant: AnalyticsTenant,
    analytics: PublishedAnalytics,
    dates: DateRangeQuery,
    device: _Filter = None,
    source: _Filter = None,
    country: _Filter = None,
) -> Funnel:
    rows, counts = analytics.funnel(
        dates.start, dates.end, device_type=device, traffic_source=source, country=country
    )
    first = counts[0]
    steps = []
    for position, ((step, _), count) in enumerate(zip(FUNNEL_STEPS, counts, strict=True)):
        previous = counts[position - 1] if position else None
        steps.append(
            FunnelStep(
                step=step,
                sessions=count,
                conversion_from_previous=None if previous is None else ratio(count, previous),
                conversion_from_start=ratio(count, first),
                drop_off=None if previous is None else previous - count,
                drop_off_rate=None if previous is None else ratio(previous - count, previous),
            )
        )
    return Funnel(
        tenant_id=tenant.tenant_id,
        model_version=analytics.version,
        filters=FunnelFilters(
            start=dates.start, end=dates.end, device=device, source=source, country=country
        ),
        rows=rows,
        conversion_rate=ratio(counts[-1], first),
        steps=steps,
    )
