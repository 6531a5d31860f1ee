"""The tenant's customers grouped by RFM segment."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import CurrentTenant, PublishedAnalytics
from ..schemas import Segment, Segments

router = APIRouter(prefix="/v1/segments", tags=["customers"])


@router.get(
    "",
    summary="Customers, revenue, orders and recency per RFM segment",
    description="Computed once per published version from the `customers` table.",
)
def segments(tenant: CurrentTenant, analytics: PublishedAnalytics) -> Segments:
    summaries = analytics.segments()
    return Segments(
        tenant_id=tenant.tenant_id,
        model_version=analytics.version,
        customers=sum(summary["customers"] for summary in summaries),
        segments=[Segment(**summary) for summary in summaries],
    )
