"""The price route's hook: which price a visitor is shown for a product, exposure logged.

``GET /v1/prices/{product_id}`` asks a :class:`PriceChooser` with the published catalog price.
With a ``price`` experiment running for the tenant and the product in its scope (see
:mod:`.variant_config`), the visitor's sticky variant's ``price_multiplier`` applies and the
first sight of each (visitor, product) is logged as an "Experiment Viewed" event carrying the
``product_id`` and the prices, so only orders of that product count for the variant
(:mod:`.attribution`). With nothing running, the winner of the latest decided price
experiment applies to everyone (no exposure); a decision to keep the control, or none, is the
catalog price.

Exposures go to ``sink(tenant_id, event)``, the API's queue that a background thread appends
in batches (as for recommendations), and each (tenant, experiment, visitor, product) is sent
once per process while remembered. If the experiment store is unreachable the catalog price is
served (never an error) and the store is asked again a few seconds later.

The shop must charge what it showed: ask again at checkout (server side, the same visitor id),
which gives the same answer for as long as the experiment runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .assignment import assign, exposure_event
from .chooser import SurfaceChooser
from .model import Experiment, Surface, Variant
from .variant_config import price_multiplier


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The price to show and where it comes from."""

    #: What to show: catalog price x multiplier, rounded to cents (None: no catalog price).
    price: float | None
    catalog_price: float | None
    multiplier: float
    #: The experiment that set the price (running, or decided with this winner), if any.
    experiment: str | None = None
    variant_id: str | None = None
    variant_name: str | None = None
    control: bool | None = None
    #: True when the price is the rolled-out winner of a decided experiment.
    decided: bool = False
    #: True when this call logged the visitor's first sight of this product's price.
    exposure_logged: bool = False


def in_scope(experiment: Experiment, product_id: str, category: str | None) -> bool:
    """Whether the experiment covers the product: the control's ``product_ids`` and
    ``categories`` (either matching is enough); neither given, every product."""
    config = experiment.control.config
    products, categories = config.get("product_ids"), config.get("categories")
    if not products and not categories:
        return True
    return product_id in (products or ()) or (
        category is not None and category in (categories or ())
    )


def shown_price(catalog_price: float | None, multiplier: float) -> float | None:
    """Catalog price x multiplier in cents, half away from zero as shops round."""
    if catalog_price is None:
        return None
    cents = catalog_price * multiplier * 100
    return float(int(cents + 0.5 if cents >= 0 else cents - 0.5)) / 100


class PriceChooser(SurfaceChooser):
    """``quote(tenant_id, unit_id, product, category, catalog_price)`` for the price route."""

    surface = Surface.PRICE
    remember_default = 200_000  # (visitor, product) pairs, not visitors

    def quote(
        self,
        tenant_id: str,
        unit_id: str,
        product_id: str,
        category: str | None,
        catalog_price: float | None,
        *,
        anonymous: bool = False,
    ) -> PriceQuote:
        plain = PriceQuote(catalog_price, catalog_price, 1.0)
        found = self._look_up(tenant_id)
        if found is None:  # the store is down: the catalog price, never an error
            return plain
        experiment, decided = found
        if experiment is None:
            if decided is None or not in_scope(decided[0], product_id, category):
                return plain
            return self._quote(decided[0], decided[1], catalog_price, decided=True)
        if not in_scope(experiment, product_id, category) or catalog_price is None:
            return plain  # nothing experimental is shown: not an exposure
        variant = assign(experiment, unit_id)
        quote = self._quote(experiment, variant, catalog_price)
        logged = self._first_time((tenant_id, experiment.key, unit_id, product_id))
        if logged:
            event = exposure_event(
                experiment,
                variant,
                user_id=None if anonymous else unit_id,
                anonymous_id=unit_id if anonymous else None,
                properties={
                    "product_id": product_id,
                    "price": quote.price,
                    "catalog_price": catalog_price,
                    "price_multiplier": quote.multiplier,
                },
            )
            self.sink(tenant_id, event)
        return PriceQuote(
            quote.price,
            quote.catalog_price,
            quote.multiplier,
            quote.experiment,
            quote.variant_id,
            quote.variant_name,
            quote.control,
            exposure_logged=logged,
        )

    @staticmethod
    def _quote(
        experiment: Experiment,
        variant: Variant,
        catalog_price: float | None,
        *,
        decided: bool = False,
    ) -> PriceQuote:
        multiplier = price_multiplier(variant.config)
        return PriceQuote(
            shown_price(catalog_price, multiplier),
            catalog_price,
            multiplier,
            experiment.key,
            variant.id,
            variant.name,
            variant.control,
            decided=decided,
        )
