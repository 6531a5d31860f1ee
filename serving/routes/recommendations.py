"""Personal recommendations for one of the tenant's users."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import State
from starlette.types import Scope

from intellishop.tenants import Tenant

from ..auth import Access
from ..catalog import VersionIndex
from ..deps import PublicTenant, PublishedIndex, ServedEvents
from ..fast_json import json_response
from ..fast_path import FastPathRoute, QueryArgs, fast_index, fast_path, fast_principal
from ..recommend import AlgorithmChooser, RecommendationRequest, recommend
from ..schemas import Recommendations
from ..served_events import ServedEventLog

router = APIRouter(
    prefix="/v1/recommendations", tags=["recommendations"], route_class=FastPathRoute
)


@router.get(
    "/{user_id}",
    response_model=Recommendations,
    summary="Products to show one user",
    description="The user's published personal list (the `blend` of every recommender when "
    "published, or the `algorithm` asked for), filtered by `category`, `exclude` and the "
    "`context` product, topped up from the cold-start chain when short. A user the pipeline "
    "has not seen yet (new, or still anonymous) gets the cold-start answer: products similar "
    "to the `context` product, then trending (in the category), then all-time popular; "
    "flagged with `cold_start`, never a 404. Readable with a public (browser) key. Each "
    'answer has a new `recommendation_id` and is logged as a "Recommendations Served" event.',
)
async def recommendations(
    request: Request,
    user_id: Annotated[str, Path(min_length=1, max_length=256)],
    tenant: PublicTenant,
    index: PublishedIndex,
    served: ServedEvents,
    n: Annotated[int, Query(ge=1, le=100, description="How many items (1-100).")] = 10,
    category: Annotated[
        str | None, Query(min_length=1, max_length=256, description="Only this category.")
    ] = None,
    context: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=256,
            description="The product the user is looking at (a product page, the cart's last "
            "item): never recommended back, and the cold-start answer starts from products "
            "similar to it.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        Query(
            max_length=100,
            description="Product ids not to show (e.g. the cart); repeat the parameter or "
            "separate ids with commas.",
        ),
    ] = None,
    algorithm: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z0-9_]{1,40}$",
            description="One published recommender (als, content, buy_again, blend, ...) "
            "instead of the default; a user without rows for it gets the cold-start answer.",
        ),
    ] = None,
) -> Response:
    return answer(
        request.app.state,
        tenant,
        index,
        served,
        user_id,
        n=n,
        category=category,
        context=context,
        exclude=exclude,
        algorithm=algorithm,
    )


def answer(
    state: State,
    tenant: Tenant,
    index: VersionIndex,
    served: ServedEventLog,
    user_id: str,
    *,
    n: int,
    category: str | None,
    context: str | None,
    exclude: list[str] | None,
    algorithm: str | None,
) -> Response:
    """The list, logged as served: the one body of the FastAPI endpoint and the fast path."""
    if algorithm is None:
        chooser: AlgorithmChooser | None = getattr(state, "choose_algorithm", None)
        if chooser is not None:
            algorithm = chooser(tenant.tenant_id, user_id)
    skip = frozenset(
        part.strip() for value in exclude or [] for part in value.split(",") if part.strip()
    )
    result = recommend(
        index,
        RecommendationRequest(
            user_id=user_id,
            n=n,
            category=category,
            context=context,
            exclude=skip,
            algorithm=algorithm,
        ),
    )
    recommendation_id = uuid.uuid4().hex
    served.record(
        tenant.tenant_id,
        recommendation_id=recommendation_id,
        algorithm=result.algorithm,
        product_ids=[item["product_id"] for item in result.items],
        surface="recommendations",
        model_version=index.version,
        user_id=user_id,
        context_product_id=context,
    )
    return json_response(
        {
            "tenant_id": tenant.tenant_id,
            "user_id": user_id,
            "algorithm": result.algorithm,
            "cold_start": result.cold_start,
            "model_version": index.version,
            "recommendation_id": recommendation_id,
            "items": result.items,
        }
    )


_ALGORITHM = re.compile(r"^[a-z0-9_]{1,40}$")


@fast_path(recommendations)
async def recommendations_fast(scope: Scope) -> Response | None:
    """The endpoint for an ordinary request, without FastAPI's dependency solving."""
    user_id = scope["path_params"].get("user_id", "")
    if not 1 <= len(user_id) <= 256:
        return None
    args = QueryArgs(scope)
    n = args.integer("n", 10, 1, 100)
    category = args.text("category")
    context = args.text("context")
    exclude = args.texts("exclude", 100)
    algorithm = args.text("algorithm", pattern=_ALGORITHM)
    if not args.ok:
        return None
    principal = fast_principal(scope, Access.PUBLIC)
    if principal is None:
        return None
    index = fast_index(scope, principal)
    if index is None:
        return None
    app = scope["app"]
    return answer(
        app.state,
        principal.tenant,
        index,
        app.state.served_events,
        user_id,
        n=n,
        category=category,
        context=context,
        exclude=exclude,
        algorithm=algorithm,
    )
