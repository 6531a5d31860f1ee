"""Personal recommendations for one of the tenant's users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from ..deps import CurrentTenant, PublishedIndex
from ..schemas import Product, Recommendations

router = APIRouter(prefix="/v1/recommendations", tags=["recommendations"])


@router.get(
    "/{user_id}",
    summary="Products to show one user",
    description="The user's published personal list. A user the pipeline has not seen yet "
    "(new, or still anonymous) gets the tenant's trending products instead, flagged with "
    "`cold_start` and the algorithm `cold_start_trending`: never a 404.",
)
def recommendations(
    user_id: Annotated[str, Path(min_length=1, max_length=256)],
    tenant: CurrentTenant,
    index: PublishedIndex,
    n: Annotated[int, Query(ge=1, le=100, description="How many items (1-100).")] = 10,
) -> Recommendations:
    items = index.recommendations(user_id, n)
    if items:
        algorithm = "+".join(sorted({item["algorithm"] for item in items}))
        cold_start = False
    else:
        algorithm, items = index.cold_start(n)
        cold_start = True
    return Recommendations(
        tenant_id=tenant.tenant_id,
        user_id=user_id,
        algorithm=algorithm,
        cold_start=cold_start,
        model_version=index.version,
        recommendation_id=uuid.uuid4().hex,
        items=[Product(**item) for item in items],
    )
