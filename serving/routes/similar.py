"""Products similar to one product: the "you may also like" shelf of a product page."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from starlette.types import Scope

from intellishop.tenants import Tenant

from ..auth import Access
from ..catalog import COLD_START_TRENDING, ProductItem, VersionIndex
from ..deps import ProductIdPath, PublicTenant, PublishedIndex, ServedEvents
from ..fast_json import json_response
from ..fast_path import FastPathRoute, QueryArgs, fast_index, fast_path, fast_principal
from ..schemas import SimilarProducts
from ..served_events import ServedEventLog

router = APIRouter(prefix="/v1/products", tags=["recommendations"], route_class=FastPathRoute)

#: ``algorithm`` of the answer when no similar products are published for the product.
CATEGORY_TRENDING = "category_trending"
ALGORITHMS = ("als", "co_purchase", "content")


def unknown_product(tenant_id: str, product_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail=f"unknown product {product_id!r}: tenant {tenant_id!r}'s published catalogue "
        "has no such product (new products appear after the next pipeline run)",
    )


def similar_items(
    index: VersionIndex, product_id: str, n: int, algorithm: str | None
) -> tuple[str, bool, list[ProductItem]]:
    """(algorithm, fallback?, items): published neighbours, else the category's trending."""
    rows = index.similar_rows(product_id) or []
    if algorithm is not None:
        rows = [row for row in rows if row["algorithm"] == algorithm]
    items: list[ProductItem] = []
    seen = {product_id}
    for row in rows:  # rows are by rank: the best of several algorithms comes first
        other = str(row["similar_product_id"])
        if other not in seen:
            seen.add(other)
            items.append(index.item(other, row["score"], 0, str(row["algorithm"])))
        if len(items) >= n:
            break
    if items:
        used = "+".join(sorted({item["algorithm"] for item in items}))
        fallback = False
    else:
        category = index.category_of(product_id)
        trending = index.trending(n + 1, category) if category is not None else []
        items = [item for item in trending if item["product_id"] not in seen][:n]
        for item in items:
            item["algorithm"] = CATEGORY_TRENDING
        used, fallback = CATEGORY_TRENDING if category is not None else COLD_START_TRENDING, True
    for position, item in enumerate(items, start=1):
        item["rank"] = position
    return used, fallback, items


@router.get(
    "/{product_id}/similar",
    response_model=SimilarProducts,
    summary="Products similar to one product",
    description="Published `similar_products` (ALS item factors, co-purchases, content) by "
    "rank; with `algorithm`, that one only. A known product without published neighbours "
    "gets its category's trending products, flagged `fallback`. An unknown product is a 404 "
    'saying so. Readable with a public (browser) key; logged as "Recommendations Served".',
    responses={status.HTTP_404_NOT_FOUND: {"description": "The product is unknown."}},
)
async def similar(
    product_id: ProductIdPath,
    tenant: PublicTenant,
    index: PublishedIndex,
    served: ServedEvents,
    n: Annotated[int, Query(ge=1, le=100, description="How many items (1-100).")] = 10,
    algorithm: Annotated[
        str | None, Query(pattern=r"^(als|co_purchase|content)$", description="One algorithm.")
    ] = None,
    user_id: Annotated[
        str | None,
        Query(min_length=1, max_length=256, description="Who is looking (for attribution)."),
    ] = None,
) -> Response:
    if not index.knows_product(product_id):
        raise unknown_product(tenant.tenant_id, product_id)
    return answer(tenant, index, served, product_id, n=n, algorithm=algorithm, user_id=user_id)


def answer(
    tenant: Tenant,
    index: VersionIndex,
    served: ServedEventLog,
    product_id: str,
    *,
    n: int,
    algorithm: str | None,
    user_id: str | None,
) -> Response:
    """A known product's shelf, logged as served: the endpoint's body and the fast path's."""
    used, fallback, items = similar_items(index, product_id, n, algorithm)
    recommendation_id = uuid.uuid4().hex
    served.record(
        tenant.tenant_id,
        recommendation_id=recommendation_id,
        algorithm=used,
        product_ids=[item["product_id"] for item in items],
        surface="similar",
        model_version=index.version,
        user_id=user_id,
        context_product_id=product_id,
    )
    return json_response(
        {
            "tenant_id": tenant.tenant_id,
            "product_id": product_id,
            "algorithm": used,
            "fallback": fallback,
            "model_version": index.version,
            "recommendation_id": recommendation_id,
            "items": items,
        }
    )


_ALGORITHMS = frozenset(ALGORITHMS)


@fast_path(similar)
async def similar_fast(scope: Scope) -> Response | None:
    """The endpoint for an ordinary request about a known product (an unknown one: FastAPI)."""
    product_id = scope["path_params"].get("product_id", "")
    if not 1 <= len(product_id) <= 256:
        return None
    args = QueryArgs(scope)
    n = args.integer("n", 10, 1, 100)
    algorithm = args.choice("algorithm", _ALGORITHMS)
    user_id = args.text("user_id")
    if not args.ok:
        return None
    principal = fast_principal(scope, Access.PUBLIC)
    if principal is None:
        return None
    index = fast_index(scope, principal)
    if index is None or not index.knows_product(product_id):
        return None
    served: ServedEventLog = scope["app"].state.served_events
    return answer(
        principal.tenant, index, served, product_id, n=n, algorithm=algorithm, user_id=user_id
    )
