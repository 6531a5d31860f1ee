"""Bodies of ``GET /v1/products/{product_id}/forecast`` and ``/reorder``."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from .published import ProductAnswer, product_answer_example, with_examples


class ForecastDay(BaseModel):
    forecast_date: date = Field(description="A calendar day in the tenant's time zone.")
    yhat: float = Field(description="Expected units sold that day.")
    yhat_lower: float = Field(description="Lower bound of the prediction interval.")
    yhat_upper: float = Field(description="Upper bound of the prediction interval.")


class ProductForecast(ProductAnswer):
    model_config = with_examples(
        product_answer_example(
            days=[
                {"forecast_date": "2026-01-02", "yhat": 4.2, "yhat_lower": 1.0, "yhat_upper": 7.9}
            ],
            total_yhat=4.2,
        )
    )

    days: list[ForecastDay] = Field(description="In date order; empty when not forecast.")
    total_yhat: float = Field(description="Expected units over the days returned.")


class ReorderSuggestion(ProductAnswer):
    model_config = with_examples(
        product_answer_example(
            daily_demand_mean=3.1,
            daily_demand_std=1.4,
            lead_time_days=7,
            service_level=0.95,
            safety_stock=6.1,
            reorder_point=27.8,
            suggested_order_qty=93.0,
        )
    )

    daily_demand_mean: float = Field(description="Units a day, forecast mean.")
    daily_demand_std: float = Field(description="Standard deviation of daily units.")
    lead_time_days: float = Field(description="Days from ordering to stock on the shelf.")
    service_level: float = Field(description="Wanted chance of not running out (0-1).")
    safety_stock: float = Field(description="Units kept against demand above the mean.")
    reorder_point: float = Field(description="Order when stock falls to this many units.")
    suggested_order_qty: float = Field(description="Units to order when reordering.")
