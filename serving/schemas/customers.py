"""Bodies of ``GET /v1/customers/{user_id}`` and ``GET /v1/segments``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Customer(BaseModel):
    tenant_id: str
    model_version: str = Field(description="The published artifact version that answered.")
    customer_id: str = Field(description="The user id, or the anonymous id of a guest.")
    user_id: str | None = Field(description="Null for a guest who never identified.")
    orders: int = Field(description="Orders not fully refunded.")
    net_revenue: float = Field(description="Net of refunds, in the tenant's currency.")
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    recency_days: int = Field(description="Days between the last order and the tenant's latest.")
    recency_score: int = Field(ge=1, le=5, description="Quintile within the tenant, 5 = best.")
    frequency_score: int = Field(ge=1, le=5)
    monetary_score: int = Field(ge=1, le=5)
    rfm_code: str = Field(description="The three scores, e.g. '545'.")
    rfm_segment: str


class Segment(BaseModel):
    segment: str
    customers: int
    net_revenue: float = Field(description="Total net revenue of the segment's customers.")
    avg_net_revenue: float = Field(description="net_revenue / customers.")
    avg_orders: float
    avg_recency_days: float | None


class Segments(BaseModel):
    tenant_id: str
    model_version: str = Field(description="The published artifact version that answered.")
    customers: int = Field(description="Buying customers in all segments.")
    segments: list[Segment] = Field(description="Largest net revenue first.")
