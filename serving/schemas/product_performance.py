"""Bodies of ``GET /v1/analytics/products``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ProductPerformance(BaseModel):
    rank: int = Field(description="1 = first by the requested sort.")
    product_id: str
    name: str | None
    category: str | None
    views: int
    viewers: int
    cart_adds: int
    add_to_cart_rate: float | None = Field(description="cart_adds / views; null without views.")
    orders: int
    buyers: int
    units_sold: int
    revenue: float = Field(description="Gross product revenue, in the tenant's currency.")
    units_refunded: int
    return_rate: float | None = Field(
        description="units_refunded / units_sold; null when nothing was sold."
    )


class ProductPerformanceList(BaseModel):
    tenant_id: str
    model_version: str = Field(description="The published artifact version that answered.")
    sort: Literal["revenue", "views", "units_sold", "return_rate"] = Field(
        description="Highest first; ties by product_id; null return rates last."
    )
    products_total: int = Field(description="Products with published performance.")
    items: list[ProductPerformance]
