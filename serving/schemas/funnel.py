"""Bodies of ``GET /v1/analytics/funnel``."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class FunnelStep(BaseModel):
    step: str = Field(
        description="session, product_viewed, product_added, checkout_started or order_completed."
    )
    sessions: int = Field(description="Sessions that reached this step, summed over the rows.")
    conversion_from_previous: float | None = Field(
        description="sessions / the previous step's sessions; null for the first step or when "
        "the previous step has none."
    )
    conversion_from_start: float | None = Field(
        description="sessions / the first step's sessions; null when there are no sessions."
    )
    drop_off: int | None = Field(
        description="Sessions lost since the previous step; null for the first step."
    )
    drop_off_rate: float | None = Field(
        description="drop_off / the previous step's sessions; null like conversion_from_previous."
    )


class FunnelFilters(BaseModel):
    start: date | None
    end: date | None
    device: str | None
    source: str | None
    country: str | None


class Funnel(BaseModel):
    tenant_id: str
    model_version: str = Field(description="The published artifact version that answered.")
    filters: FunnelFilters = Field(description="What was asked for (null: not filtered).")
    rows: int = Field(description="Published (day, device, source, country) rows that matched.")
    conversion_rate: float | None = Field(
        description="order_completed / session sessions; null without sessions."
    )
    steps: list[FunnelStep] = Field(description="In funnel order.")
