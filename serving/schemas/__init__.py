"""Response bodies of the API, one module per resource (the OpenAPI schema at /docs is
generated from these)."""

from __future__ import annotations

from .auth import Token, TokenRequest
from .cohorts import Cohort, CohortPeriod, Cohorts
from .customers import (
    ChurnFeature,
    Customer,
    CustomerOrder,
    Segment,
    SegmentMember,
    SegmentMembers,
    Segments,
)
from .daily_metrics import DailyMetric, DailyMetrics, DailyTotals
from .forecasts import ForecastDay, ProductForecast, ReorderSuggestion
from .funnel import Funnel, FunnelFilters, FunnelStep
from .product_performance import ProductPerformance, ProductPerformanceList
from .query import AnalyticsQueryResult, QueryRow
from .recommendations import (
    BoughtTogetherItem,
    FrequentlyBoughtTogether,
    Product,
    Recommendations,
    SimilarProducts,
    Trending,
)

__all__ = [
    "AnalyticsQueryResult",
    "BoughtTogetherItem",
    "ChurnFeature",
    "Cohort",
    "CohortPeriod",
    "Cohorts",
    "Customer",
    "CustomerOrder",
    "DailyMetric",
    "DailyMetrics",
    "DailyTotals",
    "ForecastDay",
    "FrequentlyBoughtTogether",
    "Funnel",
    "FunnelFilters",
    "FunnelStep",
    "Product",
    "ProductForecast",
    "ProductPerformance",
    "ProductPerformanceList",
    "QueryRow",
    "Recommendations",
    "ReorderSuggestion",
    "Segment",
    "SegmentMember",
    "SegmentMembers",
    "Segments",
    "SimilarProducts",
    "Token",
    "TokenRequest",
    "Trending",
]
