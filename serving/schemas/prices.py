"""Body of ``GET /v1/prices/{product_id}``: the price to show one visitor, and why."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

_EXAMPLE: JsonDict = {
    "tenant_id": "acme",
    "product_id": "p_42",
    "unit_id": "u_17",
    "price": 85.5,
    "catalog_price": 90.0,
    "price_multiplier": 0.95,
    "experiment": "shoe-5-off",
    "variant_id": "five_off",
    "variant_name": "5% off",
    "control": False,
    "decided": False,
    "exposure_logged": True,
}


class PriceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    tenant_id: str
    product_id: str
    unit_id: str = Field(description="The visitor the price is for (user or anonymous id).")
    price: float | None = Field(
        description="What to show and charge, in the tenant's currency: the catalog price x "
        "price_multiplier, rounded to cents. Null when the catalogue has no price for it."
    )
    catalog_price: float | None = Field(description="The published catalogue's price.")
    price_multiplier: float = Field(description="1.0 when no experiment applies.")
    experiment: str | None = Field(
        description="The price experiment that set the price (running, or decided and rolled "
        "out); null for the plain catalog price."
    )
    variant_id: str | None
    variant_name: str | None
    control: bool | None
    decided: bool = Field(description="The price is a decided experiment's winner, for all.")
    exposure_logged: bool = Field(
        description="This call logged the visitor's first sight of this product's price "
        "(an 'Experiment Viewed' event); repeats are not logged again."
    )
