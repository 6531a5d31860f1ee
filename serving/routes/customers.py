"""One buying customer of the tenant: RFM, segment, churn and lifetime value, last orders."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from ..deps import CustomersTenant, PublishedIndex
from ..schemas import ChurnFeature, Customer, CustomerOrder

router = APIRouter(prefix="/v1/customers", tags=["customers"])

LAST_ORDERS = 5


@router.get(
    "/{user_id}",
    summary="A customer's profile: RFM, segment, churn probability, CLV, last orders",
    description="The published `customers` row of the user (a guest who never identified is "
    "found by their anonymous id), with the churn and CLV scores of `customer_scores` and the "
    "latest `customer_orders` once those are published (null until then). 404 for someone "
    "who has no order that counts with this tenant: customers of other tenants are never "
    "visible, even under the same user id. Needs the secret key, an analyst or an owner.",
    responses={status.HTTP_404_NOT_FOUND: {"description": "Not a buying customer of the tenant."}},
)
def customer(
    user_id: Annotated[str, Path(min_length=1, max_length=256)],
    tenant: CustomersTenant,
    index: PublishedIndex,
) -> Customer:
    row = index.analytics.customer(user_id)
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no customer {user_id!r} in tenant {tenant.tenant_id!r}'s published data "
            "(only users with an order that was not fully refunded are customers)",
        )
    scores = index.scores_row(row["user_id"] or row["customer_id"])
    orders = index.last_orders(row["user_id"] or row["customer_id"], LAST_ORDERS)
    return Customer(
        tenant_id=tenant.tenant_id,
        model_version=index.version,
        **row,
        **(_scores(scores) if scores else {}),
        last_orders=None
        if orders is None
        else [
            CustomerOrder(
                order_id=str(o["order_id"]),
                ordered_at=o.get("ordered_at"),
                revenue=o.get("revenue"),
            )
            for o in orders
        ],
    )


def _scores(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "churn_probability": row.get("churn_probability"),
        "churn_top_features": _features(row.get("churn_top_features")),
        "clv_12m": row.get("clv_12m"),
        "expected_purchases_90d": row.get("expected_purchases_90d"),
        "scores_model_version": row.get("model_version"),
    }


def _features(text: Any) -> list[ChurnFeature] | None:
    """The published JSON list of {feature, contribution}; None when absent or unreadable."""
    if not text:
        return None
    try:
        parsed = json.loads(text) if isinstance(text, str) else text
        return [ChurnFeature.model_validate(item) for item in parsed]
    except (ValueError, TypeError):
        return None
