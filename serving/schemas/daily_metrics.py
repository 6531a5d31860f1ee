"""Bodies of ``GET /v1/analytics/daily``."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class DailyMetric(BaseModel):
    metric_date: date = Field(description="A calendar day in the tenant's time zone.")
    currency: str | None
    revenue: float = Field(description="Net of refunds, in the tenant's currency.")
    orders: int
    aov: float | None = Field(description="Average order value; null on a day without orders.")
    sessions: int
    visitors: int
    conversion_rate: float | None = Field(
        description="orders / sessions (a fraction); null on a day without sessions."
    )


class DailyTotals(BaseModel):
    days: int = Field(description="Days in the range that have published metrics.")
    revenue: float = Field(description="Sum of the days' net revenue.")
    orders: int
    sessions: int
    visitors: int = Field(
        description="Sum of daily visitors: someone who visits on three days counts three times."
    )
    aov: float | None = Field(description="revenue / orders of the sums; null without orders.")
    conversion_rate: float | None = Field(
        description="orders / sessions of the sums (not an average of the daily rates); null "
        "without sessions."
    )


class DailyMetrics(BaseModel):
    tenant_id: str
    model_version: str = Field(description="The published artifact version that answered.")
    start: date | None = Field(description="The requested first day (null: from the first).")
    end: date | None = Field(description="The requested last day (null: up to the last).")
    currency: str | None = Field(
        description="The currency of every amount; null when the range is empty."
    )
    totals: DailyTotals
    days: list[DailyMetric] = Field(description="In date order.")
