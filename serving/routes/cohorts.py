"""The tenant's acquisition cohorts and how they kept ordering."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..analytics import CohortGrain
from ..deps import AnalyticsTenant, PublishedAnalytics
from ..schemas import Cohort, Cohorts

router = APIRouter(prefix="/v1/analytics/cohorts", tags=["analytics"])


@router.get(
    "",
    summary="The customer retention matrix",
    description="One row per cohort (customers by the month or Monday-week of their first "
    "order, in the tenant's calendar), with retention and net revenue for each later period.",
)
def cohorts(
    tenant: AnalyticsTenant,
    analytics: PublishedAnalytics,
    grain: Annotated[CohortGrain, Query(description="month or week.")] = "month",
) -> Cohorts:
    return Cohorts(
        tenant_id=tenant.tenant_id,
        model_version=analytics.version,
        grain=grain,
        cohorts=[Cohort.model_validate(row) for row in analytics.cohorts(grain)],
    )
