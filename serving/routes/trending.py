"""The tenant's trending products, overall or in one category."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ..deps import PublicTenant, PublishedIndex
from ..fast_json import json_response
from ..schemas import Trending

router = APIRouter(prefix="/v1/trending", tags=["trending"])


@router.get(
    "",
    response_model=Trending,
    summary="Products with the most recent interest",
    description="Ranked by time-decayed interest. With `category`, ranks are within that "
    "category; an unknown category has no items.",
)
async def trending(
    tenant: PublicTenant,
    index: PublishedIndex,
    n: Annotated[int, Query(ge=1, le=100, description="How many items (1-100).")] = 10,
    category: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    return json_response(
        {
            "tenant_id": tenant.tenant_id,
            "category": category,
            "model_version": index.version,
            "items": index.trending(n, category),
        }
    )
