"""Body of ``GET /v1/analytics/query``."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class QueryRow(BaseModel):
    period: date = Field(description="First day of the period (weeks start on Monday).")
    group: str | None = Field(description="The breakdown dimension's value; null without one.")
    value: float | None = Field(description="The metric; null for a ratio over nothing.")


class AnalyticsQueryResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "acme",
                    "model_version": "20260101T020000000000Z",
                    "metric": "revenue",
                    "granularity": "week",
                    "start": "2025-12-01",
                    "end": "2025-12-31",
                    "breakdown": "country",
                    "filters": {},
                    "source": "geo_daily",
                    "rows": [{"period": "2025-12-01", "group": "US", "value": 1520.5}],
                    "total": 1520.5,
                }
            ]
        }
    )

    tenant_id: str
    model_version: str = Field(description="The published artifact version that answered.")
    metric: str
    granularity: str
    start: date | None
    end: date | None
    breakdown: str | None
    filters: dict[str, str]
    source: str = Field(description="The published table that answered.")
    rows: list[QueryRow] = Field(description="By period, then group.")
    total: float | None = Field(description="Over every row (ratios: of the sums).")
