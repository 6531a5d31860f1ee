"""Bodies of ``GET /v1/customers/{user_id}`` and the ``/v1/segments`` answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ChurnFeature(BaseModel):
    feature: str = Field(description="A model input, e.g. 'days_since_last_order'.")
    contribution: float = Field(description="Its push towards churn (positive) or staying.")


class CustomerOrder(BaseModel):
    order_id: str
    ordered_at: datetime | None
    revenue: float | None = Field(description="Net of refunds, in the tenant's currency.")


class Customer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "acme",
                    "model_version": "20260101T020000000000Z",
                    "customer_id": "u_1",
                    "user_id": "u_1",
                    "orders": 5,
                    "net_revenue": 412.5,
                    "first_order_at": "2025-09-01T10:00:00Z",
                    "last_order_at": "2025-12-20T18:30:00Z",
                    "recency_days": 12,
                    "recency_score": 5,
                    "frequency_score": 4,
                    "monetary_score": 5,
                    "rfm_code": "545",
                    "rfm_segment": "Champions",
                    "churn_probability": 0.08,
                    "churn_top_features": [
                        {"feature": "days_since_last_order", "contribution": -0.41}
                    ],
                    "clv_12m": 380.0,
                    "expected_purchases_90d": 1.7,
                    "scores_model_version": "churn-2026-01-01",
                    "last_orders": None,
                }
            ]
        }
    )

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
    churn_probability: float | None = Field(
        default=None, description="Chance of no order in the churn window; null until scored."
    )
    churn_top_features: list[ChurnFeature] | None = Field(
        default=None, description="What drives the churn probability most, largest first."
    )
    clv_12m: float | None = Field(
        default=None, description="Predicted revenue over the next 365 days; null until scored."
    )
    expected_purchases_90d: float | None = Field(
        default=None, description="Predicted orders over the next 90 days; null until scored."
    )
    scores_model_version: str | None = Field(
        default=None, description="The churn/CLV model that scored the customer."
    )
    last_orders: list[CustomerOrder] | None = Field(
        default=None,
        description="The latest orders, newest first; null until `customer_orders` is published.",
    )


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


class SegmentMember(BaseModel):
    customer_id: str
    user_id: str | None
    orders: int
    net_revenue: float
    last_order_at: datetime | None
    recency_days: int
    rfm_code: str


class SegmentMembers(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "acme",
                    "model_version": "20260101T020000000000Z",
                    "segment": "Champions",
                    "total": 120,
                    "offset": 0,
                    "limit": 50,
                    "next_offset": 50,
                    "members": [
                        {
                            "customer_id": "u_1",
                            "user_id": "u_1",
                            "orders": 5,
                            "net_revenue": 412.5,
                            "last_order_at": "2025-12-20T18:30:00Z",
                            "recency_days": 12,
                            "rfm_code": "545",
                        }
                    ],
                }
            ]
        }
    )

    tenant_id: str
    model_version: str
    segment: str
    total: int = Field(description="Members of the segment.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="The next page's offset; null on the last page.")
    members: list[SegmentMember] = Field(description="Highest net revenue first.")
