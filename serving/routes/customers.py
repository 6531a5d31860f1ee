"""One buying customer of the tenant: orders, spend and RFM scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from ..deps import CurrentTenant, PublishedAnalytics
from ..schemas import Customer

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "/{user_id}",
    summary="A customer's RFM scores and segment",
    description="The published `customers` row of the user (a guest who never identified is "
    "found by their anonymous id). 404 for someone who has no order that counts with this "
    "tenant: customers of other tenants are never visible, even under the same user id.",
    responses={status.HTTP_404_NOT_FOUND: {"description": "Not a buying customer of the tenant."}},
)
def customer(
    user_id: Annotated[str, Path(min_length=1, max_length=256)],
    tenant: CurrentTenant,
    analytics: PublishedAnalytics,
) -> Customer:
    row = analytics.customer(user_id)
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no customer {user_id!r} in tenant {tenant.tenant_id!r}'s published data "
            "(only users with an order that was not fully refunded are customers)",
        )
    return Customer(tenant_id=tenant.tenant_id, model_version=analytics.version, **row)
