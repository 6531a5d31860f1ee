"""Response bodies of the API, one module per resource (the OpenAPI schema at /docs is
generated from these)."""

from __future__ import annotations

from .cohorts import Cohort, CohortPeriod, Cohorts
from .customers import Customer, Segment, Segments
from .daily_metrics import DailyMetric, DailyMetrics, DailyTotals
from .funnel import Funnel, FunnelFilters, FunnelStep
from .product_performance import ProductPerformance, ProductPerformanceList
from .recommendations import Product, Recommendations, Trending

__all__ = [
    "Cohort",
    "CohortPeriod",
    "Cohorts",
    "Customer",
    "DailyMetric",
    "DailyMetrics",
    "DailyTotals",
    "Funnel",
    "FunnelFilters",
    "FunnelStep",
    "Product",
    "ProductPerformance",
    "ProductPerformanceList",
    "Recommendations",
    "Segment",
    "Segments",
    "Trending",
]
