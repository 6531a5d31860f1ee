"""How the tenant's products sell: views, cart adds, units, revenue and returns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..analytics import ProductSort
from ..deps import AnalyticsTenant, PublishedAnalytics
from ..schemas import ProductPerformance, ProductPerformanceList

router = APIRouter(prefix="/v1/analytics/products", tags=["analytics"])


@router.get(
    "",
    summary="Product performance, best first",
    description="Published `product_performance` rows sorted by `sort`, highest first (ties by "
    "product id; products without a return rate last).",
)
def product_performance(
    tenant: AnalyticsTenant,
    analytics: PublishedAnalytics,
    sort: Annotated[
        ProductSort, Query(description="revenue, views, units_sold or return_rate.")
    ] = "revenue",
    limit: Annotated[int, Query(ge=1, le=1000, description="How many products (1-1000).")] = 50,
) -> ProductPerformanceList:
    total, rows = analytics.products(sort, limit)
    return ProductPerformanceList(
        tenant_id=tenant.tenant_id,
        model_version=analytics.version,
        sort=sort,
        products_total=total,
        items=[ProductPerformance(rank=rank, **row) for rank, row in enumerate(rows, start=1)],
    )
