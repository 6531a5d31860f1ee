"""The generic analytics query: one metric over time, by day, week or month, optionally broken
down and filtered by a traffic dimension, computed from the published marts.

Only the names in :data:`METRICS` and :data:`DIMENSIONS` are accepted, so a query never becomes
SQL or a column name from the caller. Each metric lists the published tables that can answer it,
coarsest first; the first whose dimensions cover the breakdown and the filters answers:

- ``daily_metrics``: revenue, orders, sessions, visitors, aov, conversion_rate (no dimensions);
- ``geo_daily``: revenue, orders, visitors, aov by ``country``;
- ``funnel_daily``: sessions and the funnel steps by ``device_type``, ``traffic_source``,
  ``country``; conversion_rate there is ordered sessions / sessions.

Ratios (aov, conversion_rate) divide the sums of each period, never average daily ratios.
Periods are the tenant's calendar: weeks start on Monday, months on the 1st.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import polars as pl
import pyarrow as pa

Granularity = Literal["day", "week", "month"]
Dimension = Literal["device_type", "traffic_source", "country"]
DIMENSIONS: tuple[Dimension, ...] = ("device_type", "traffic_source", "country")
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo"}


@dataclass(frozen=True, slots=True)
class Source:
    """One published table that can answer a metric: sum(numerator) [/ sum(denominator)]."""

    table: str
    numerator: str
    denominator: str | None = None
    dimensions: frozenset[str] = frozenset()


_FUNNEL_DIMS = frozenset(DIMENSIONS)
_GEO_DIMS = frozenset({"country"})

METRICS: dict[str, tuple[Source, ...]] = {
    "revenue": (
        Source("daily_metrics", "revenue"),
        Source("geo_daily", "net_revenue", dimensions=_GEO_DIMS),
    ),
    "orders": (
        Source("daily_metrics", "orders"),
        Source("geo_daily", "orders", dimensions=_GEO_DIMS),
    ),
    "sessions": (
        Source("daily_metrics", "sessions"),
        Source("funnel_daily", "sessions", dimensions=_FUNNEL_DIMS),
    ),
    "visitors": (
        Source("daily_metrics", "visitors"),
        Source("geo_daily", "visitors", dimensions=_GEO_DIMS),
    ),
    "aov": (
        Source("daily_metrics", "revenue", "orders"),
        Source("geo_daily", "net_revenue", "orders", dimensions=_GEO_DIMS),
    ),
    "conversion_rate": (
        Source("daily_metrics", "orders", "sessions"),
        Source("funnel_daily", "ordered_sessions", "sessions", dimensions=_FUNNEL_DIMS),
    ),
    "viewed_sessions": (Source("funnel_daily", "viewed_sessions", dimensions=_FUNNEL_DIMS),),
    "added_sessions": (Source("funnel_daily", "added_sessions", dimensions=_FUNNEL_DIMS),),
    "checkout_sessions": (Source("funnel_daily", "checkout_sessions", dimensions=_FUNNEL_DIMS),),
    "ordered_sessions": (Source("funnel_daily", "ordered_sessions", dimensions=_FUNNEL_DIMS),),
}
Metric = Literal[
    "revenue",
    "orders",
    "sessions",
    "visitors",
    "aov",
    "conversion_rate",
    "viewed_sessions",
    "added_sessions",
    "checkout_sessions",
    "ordered_sessions",
]


class QueryError(ValueError):
    """A query the published marts cannot answer; ``field`` is the parameter to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class MartMissingError(LookupError):
    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table


@dataclass(frozen=True, slots=True)
class AnalyticsQuery:
    metric: str
    granularity: Granularity
    start: date | None
    end: date | None
    breakdown: str | None
    filters: tuple[tuple[str, str], ...]

    def cache_key(self) -> str:
        filters = ",".join(f"{k}={v}" for k, v in sorted(self.filters))
        return (
            f"{self.metric}|{self.granularity}|{self.start}|{self.end}|{self.breakdown}|{filters}"
        )


def choose_source(query: AnalyticsQuery) -> Source:
    needed = {name for name, _ in query.filters} | ({query.breakdown} if query.breakdown else set())
    for source in METRICS[query.metric]:
        if needed <= source.dimensions:
            return source
    supported = sorted(set().union(*(s.dimensions for s in METRICS[query.metric])))
    field = "breakdown" if query.breakdown and query.breakdown not in supported else "filter"
    raise QueryError(
        field,
        f"metric {query.metric!r} can be broken down and filtered by "
        f"{', '.join(supported) or 'no dimension'} (together: one published table answers), "
        f"not by {', '.join(sorted(needed))}",
    )


def run_query(tables: dict[str, pa.Table], query: AnalyticsQuery) -> dict[str, Any]:
    """``{"source", "rows": [{period, group, value}], "total"}`` for the query."""
    source = choose_source(query)
    table = tables.get(source.table)
    if table is None:
        raise MartMissingError(source.table)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    day = pl.col("metric_date").cast(pl.Date)
    if query.start is not None:
        frame = frame.filter(day >= query.start)
    if query.end is not None:
        frame = frame.filter(day <= query.end)
    for name, value in query.filters:
        frame = frame.filter(pl.col(name) == value)
    keys = [day.dt.truncate(_TRUNCATE[query.granularity]).alias("period")]
    if query.breakdown is not None:
        keys.append(pl.col(query.breakdown).cast(pl.Utf8).alias("group"))
    sums = [pl.col(source.numerator).cast(pl.Float64).sum().alias("numerator")]
    if source.denominator is not None:
        sums.append(pl.col(source.denominator).cast(pl.Float64).sum().alias("denominator"))
    grouped = (
        frame.group_by(keys).agg(sums).sort(["period", "group"] if query.breakdown else "period")
    )
    rows = [
        {
            "period": row["period"],
            "group": row.get("group"),
            "value": _value(row["numerator"], row.get("denominator"), source),
        }
        for row in grouped.iter_rows(named=True)
    ]
    total_numerator = float(grouped["numerator"].sum()) if grouped.height else 0.0
    total_denominator = (
        float(grouped["denominator"].sum()) if source.denominator and grouped.height else None
    )
    return {
        "source": source.table,
        "rows": rows,
        "total": _value(total_numerator, total_denominator, source),
    }


def _value(numerator: float | None, denominator: float | None, source: Source) -> float | None:
    if source.denominator is None:
        return round(float(numerator or 0.0), 4)
    if not denominator:
        return None
    return float(numerator or 0.0) / float(denominator)
