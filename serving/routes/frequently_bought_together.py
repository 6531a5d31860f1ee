"""Products often in the same order as one product: the "frequently bought together" box."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from ..deps import ProductIdPath, PublicTenant, PublishedIndex, ServedEvents
from ..schemas import BoughtTogetherItem, FrequentlyBoughtTogether
from .similar import unknown_product

router = APIRouter(prefix="/v1/products", tags=["recommendations"])

CO_PURCHASE = "co_purchase"


@router.get(
    "/{product_id}/frequently-bought-together",
    summary="Products bought in the same orders",
    description="Published `frequently_bought_together` pairs by rank, with how many orders "
    "had both, confidence and lift. Empty (not an error) until the pipeline publishes the "
    "table or when the product has no co-purchases; an unknown product is a 404. Readable "
    'with a public key; logged as "Recommendations Served".',
    responses={status.HTTP_404_NOT_FOUND: {"description": "The product is unknown."}},
)
async def frequently_bought_together(
    product_id: ProductIdPath,
    tenant: PublicTenant,
    index: PublishedIndex,
    served: ServedEvents,
    n: Annotated[int, Query(ge=1, le=100, description="How many items (1-100).")] = 5,
    user_id: Annotated[
        str | None,
        Query(min_length=1, max_length=256, description="Who is looking (for attribution)."),
    ] = None,
) -> FrequentlyBoughtTogether:
    if not index.knows_product(product_id):
        raise unknown_product(tenant.tenant_id, product_id)
    rows = index.together_rows(product_id, n) or []
    items = [
        BoughtTogetherItem(
            **index.item(str(row["other_product_id"]), row["lift"], position, CO_PURCHASE),
            orders_together=int(row["orders_together"]),
            confidence=float(row["confidence"]),
            lift=float(row["lift"]),
        )
        for position, row in enumerate(rows, start=1)
    ]
    recommendation_id = uuid.uuid4().hex
    served.record(
        tenant.tenant_id,
        recommendation_id=recommendation_id,
        algorithm=CO_PURCHASE,
        product_ids=[item.product_id for item in items],
        surface="frequently_bought_together",
        model_version=index.version,
        user_id=user_id,
        context_product_id=product_id,
    )
    return FrequentlyBoughtTogether(
        tenant_id=tenant.tenant_id,
        product_id=product_id,
        model_version=index.version,
        recommendation_id=recommendation_id,
        items=items,
    )
