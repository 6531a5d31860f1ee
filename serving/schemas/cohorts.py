"""Bodies of ``GET /v1/analytics/cohorts``."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class CohortPeriod(BaseModel):
    period_number: int = Field(description="Periods since the cohort's own (0 = the cohort's).")
    active_customers: int = Field(description="Cohort customers who ordered in this period.")
    customer_retention: float = Field(description="active_customers / cohort_customers.")
    net_revenue: float = Field(description="What they spent in this period, net of refunds.")


class Cohort(BaseModel):
    cohort_start: date = Field(description="First day of the month or week (weeks: Monday).")
    cohort_customers: int = Field(description="Customers whose first order fell in it.")
    periods: list[CohortPeriod] = Field(
        description="In period order; periods without activity are absent."
    )


class Cohorts(BaseModel):
    tenant_id: str
    model_version: str = Field(description="The published artifact version that answered.")
    grain: Literal["month", "week"]
    cohorts: list[Cohort] = Field(
        description="The retention matrix, one row per cohort, oldest first."
    )
