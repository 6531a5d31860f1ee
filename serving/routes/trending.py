"""The tenant's trending products, overall or in one category."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import CurrentTenant, PublishedIndex
from ..schemas import Product, Trending

router = APIRouter(prefix="/v1/trending", tags=["trending"])


@router.get(
    "",
    summary="Products with the most recent interest",
    description="Ranked by time-decayed interest. With `category`, ranks are within that "
    "category; an unknown category has no items.",
)
def trending(
    tenant: CurrentTenant,
    index: PublishedIndex,
    n: Annotated[int, Query(ge=1, le=100, description="How many items (1-100).")] = 10,
    category: Annotated[str | None, Query(max_length=256)] = None,
) -> Trending:
    return Trending(
        tenant_id=tenant.tenant_id,
        category=category,
        model_version=index.version,
        items=[Product(**item) for item in index.trending(n, category)],
    )
