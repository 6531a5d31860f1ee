"""A product's demand forecast and the reorder suggestion derived from it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from ..analytics import TableNotPublishedError, as_date
from ..deps import AnalyticsTenant, DateRangeQuery, ProductIdPath, PublishedIndex
from ..schemas import ForecastDay, ProductForecast, ReorderSuggestion
from .similar import unknown_product

router = APIRouter(prefix="/v1/products", tags=["forecasts"])

#: The published columns of ``reorder_suggestions`` besides product_id (docs/contracts.md).
REORDER_COLUMNS = (
    "daily_demand_mean",
    "daily_demand_std",
    "lead_time_days",
    "service_level",
    "safety_stock",
    "reorder_point",
    "suggested_order_qty",
)
_NOT_PUBLISHED = {"description": "The forecast model has not published yet (Retry-After)."}


@router.get(
    "/{product_id}/forecast",
    summary="Expected daily units of one product",
    description="Published `demand_forecast` days of the product in the optional range, with "
    "prediction intervals. 404 for an unknown product; 503 until the model publishes.",
    responses={
        status.HTTP_404_NOT_FOUND: {"description": "The product is unknown."},
        status.HTTP_503_SERVICE_UNAVAILABLE: _NOT_PUBLISHED,
    },
)
def forecast(
    product_id: ProductIdPath,
    tenant: AnalyticsTenant,
    index: PublishedIndex,
    days: DateRangeQuery,
    limit: Annotated[int, Query(ge=1, le=366, description="At most this many days.")] = 90,
) -> ProductForecast:
    rows = index.forecast_rows(product_id)
    if rows is None:
        raise TableNotPublishedError(tenant.tenant_id, index.version, "demand_forecast")
    if not rows and not index.knows_product(product_id):
        raise unknown_product(tenant.tenant_id, product_id)
    chosen = [
        ForecastDay(
            forecast_date=as_date(row["forecast_date"]),
            yhat=float(row["yhat"]),
            yhat_lower=float(row["yhat_lower"]),
            yhat_upper=float(row["yhat_upper"]),
        )
        for row in rows
        if (days.start is None or as_date(row["forecast_date"]) >= days.start)
        and (days.end is None or as_date(row["forecast_date"]) <= days.end)
    ][:limit]
    return ProductForecast(
        tenant_id=tenant.tenant_id,
        product_id=product_id,
        model_version=index.version,
        days=chosen,
        total_yhat=round(sum(day.yhat for day in chosen), 4),
    )


@router.get(
    "/{product_id}/reorder",
    summary="When and how much of one product to reorder",
    description="The published `reorder_suggestions` row: safety stock and reorder point from "
    "the forecast's mean and spread, the lead time and the service level. 404 for an unknown "
    "product or one without a suggestion; 503 until the model publishes.",
    responses={
        status.HTTP_404_NOT_FOUND: {"description": "Unknown product, or no suggestion for it."},
        status.HTTP_503_SERVICE_UNAVAILABLE: _NOT_PUBLISHED,
    },
)
def reorder(
    product_id: ProductIdPath, tenant: AnalyticsTenant, index: PublishedIndex
) -> ReorderSuggestion:
    if not index.has_table("reorder_suggestions"):
        raise TableNotPublishedError(tenant.tenant_id, index.version, "reorder_suggestions")
    row = index.reorder_row(product_id)
    if row is None:
        if not index.knows_product(product_id):
            raise unknown_product(tenant.tenant_id, product_id)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no reorder suggestion for product {product_id!r}: it had no demand in "
            "the forecast's history",
        )
    return ReorderSuggestion(
        tenant_id=tenant.tenant_id,
        product_id=product_id,
        model_version=index.version,
        **{name: float(row[name]) for name in REORDER_COLUMNS},
    )
