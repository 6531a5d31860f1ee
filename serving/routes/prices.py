"""The price to show a visitor for a product, with price experiments applied (``/v1/prices``).

One call per product page (or cart line) with the visitor's id: the published catalog price,
times the ``price_multiplier`` of the visitor's sticky variant when a ``price`` experiment
runs for the tenant and covers the product (see :mod:`intellishop.experiments.pricing`). The
first sight is logged as an exposure so the experiment's results count the product's orders by
variant. Readable with a public (browser) key like recommendations; the shop's checkout should
ask again server side with the same visitor id and charge that price.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from intellishop.experiments import PriceChooser

from ..deps import ProductIdPath, PublicTenant, PublishedIndex, SettingsDep, query_error
from ..schemas.prices import PriceOut

router = APIRouter(prefix="/v1/prices", tags=["experiments"])

_ID = Query(min_length=1, max_length=256)


def price_chooser(request: Request, settings: SettingsDep) -> PriceChooser:
    """The app's chooser, made on first use; its exposures join the served-events queue."""
    chooser: PriceChooser | None = getattr(request.app.state, "choose_price", None)
    if chooser is None:
        chooser = request.app.state.choose_price = PriceChooser(
            settings, request.app.state.served_events.put
        )
    return chooser


@router.get(
    "/{product_id}",
    summary="The price to show one visitor for a product (price experiments applied)",
    description="The published catalog price, or with a running `price` experiment that "
    "covers the product, the visitor's sticky variant's `price_multiplier` applied (rounded "
    "to cents), the first sight logged as an 'Experiment Viewed' exposure with the product. "
    "Give exactly one of `user_id` and `anonymous_id`. With nothing running, the winner of "
    "the latest decided price experiment applies to everyone. 404 for a product the "
    "published catalogue does not have.",
    responses={404: {"description": "No such product in the tenant's published catalogue."}},
)
async def price_for_visitor(
    request: Request,
    product_id: ProductIdPath,
    tenant: PublicTenant,
    index: PublishedIndex,
    settings: SettingsDep,
    user_id: Annotated[
        str | None, Query(min_length=1, max_length=256, description="A known user's id.")
    ] = None,
    anonymous_id: Annotated[
        str | None,
        Query(min_length=1, max_length=256, description="A visitor's anonymous (device) id."),
    ] = None,
) -> PriceOut:
    if (user_id is None) == (anonymous_id is None):
        raise query_error(
            "user_id", "give exactly one of user_id and anonymous_id (the visitor)", user_id
        )
    unit_id = user_id or anonymous_id
    assert unit_id is not None
    if not index.knows_product(product_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"unknown product {product_id!r}: tenant {tenant.tenant_id!r}'s published "
            "catalogue has no such product (new products appear after the next pipeline run)",
        )
    catalog_price = index.item(product_id, 0.0, 0, "catalog")["price"]
    chooser = price_chooser(request, settings)
    quote = chooser.quote(
        tenant.tenant_id,
        unit_id,
        product_id,
        index.category_of(product_id),
        catalog_price,
        anonymous=user_id is None,
    )
    return PriceOut(
        tenant_id=tenant.tenant_id,
        product_id=product_id,
        unit_id=unit_id,
        price=quote.price,
        catalog_price=quote.catalog_price,
        price_multiplier=quote.multiplier,
        experiment=quote.experiment,
        variant_id=quote.variant_id,
        variant_name=quote.variant_name,
        control=quote.control,
        decided=quote.decided,
        exposure_logged=quote.exposure_logged,
    )
