"""The tenant's customers grouped by RFM segment, and each segment's members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from ..deps import AnalyticsTenant, CustomersTenant, PublishedAnalytics
from ..schemas import Segment, SegmentMember, SegmentMembers, Segments

router = APIRouter(prefix="/v1/segments", tags=["customers"])


@router.get(
    "",
    summary="Customers, revenue, orders and recency per RFM segment",
    description="Computed once per published version from the `customers` table.",
)
def segments(tenant: AnalyticsTenant, analytics: PublishedAnalytics) -> Segments:
    summaries = analytics.segments()
    return Segments(
        tenant_id=tenant.tenant_id,
        model_version=analytics.version,
        customers=sum(summary["customers"] for summary in summaries),
        segments=[Segment(**summary) for summary in summaries],
    )


@router.get(
    "/{segment}/members",
    summary="The customers of one segment, paged",
    description="Highest net revenue first (ties by customer id), `limit` at a time from "
    "`offset`; follow `next_offset` until it is null. 404 for a segment nobody is in. "
    "Person-level: needs the secret key, an analyst or an owner.",
    responses={status.HTTP_404_NOT_FOUND: {"description": "No customer is in this segment."}},
)
def segment_members(
    segment: Annotated[str, Path(min_length=1, max_length=100)],
    tenant: CustomersTenant,
    analytics: PublishedAnalytics,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Members to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Members per page (1-1000).")] = 100,
) -> SegmentMembers:
    found = analytics.segment_members(segment, offset, limit)
    if found is None:
        known = ", ".join(summary["segment"] for summary in analytics.segments())
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no customer of tenant {tenant.tenant_id!r} is in segment {segment!r} "
            f"(segments: {known or 'none yet'})",
        )
    total, rows = found
    following = offset + len(rows)
    return SegmentMembers(
        tenant_id=tenant.tenant_id,
        model_version=analytics.version,
        segment=segment,
        total=total,
        offset=offset,
        limit=limit,
        next_offset=following if following < total else None,
        members=[SegmentMember.model_validate(row) for row in rows],
    )
