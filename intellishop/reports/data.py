"""What a merchant report says, worked out from the published tables (no warehouse access).

A report covers a period (:func:`period_for`: a day, the 7 days, or the calendar month to date,
ending on a day in the shop's time zone) and is made of sections; each section is computed
here once and then drawn by :mod:`.pdf` and written by :mod:`.excel`, so the PDF and the
workbook always show the same numbers. Ratios are computed from summed counts, never as means
of daily ratios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import polars as pl
import pyarrow as pa

Cadence = Literal["daily", "weekly", "monthly"]
CADENCES: tuple[Cadence, ...] = ("daily", "weekly", "monthly")
#: Every section a report can have, in the order they appear.
SECTIONS = ("kpis", "daily", "products", "customers", "geography", "funnel")
SECTION_TITLES = {
    "kpis": "Headline numbers",
    "daily": "Day by day",
    "products": "Top products",
    "customers": "Customer segments",
    "geography": "Revenue by country",
    "funnel": "Purchase funnel",
}
TOP_N = 15


def period_for(cadence: Cadence, end: date) -> tuple[date, date]:
    """(first, last) day of the ``cadence`` report that ends on ``end``."""
    if cadence == "daily":
        return end, end
    if cadence == "weekly":
        return end - timedelta(days=6), end
    return end.replace(day=1), end


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The same number of days just before ``start``..``end``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


@dataclass(frozen=True)
class Kpi:
    """One headline number and the same for the period before (None when unknown)."""

    label: str
    value: float | None
    previous: float | None
    kind: Literal["money", "count", "percent"]

    @property
    def change(self) -> float | None:
        """Relative change (0.1 = +10 %); None without a previous value to compare."""
        if self.value is None or not self.previous:
            return None
        return (self.value - self.previous) / self.previous


@dataclass
class ReportData:
    """Everything one report shows; frames are ``None`` for a section without data."""

    tenant_id: str
    shop_name: str
    currency: str
    timezone: str
    cadence: Cadence
    start: date
    end: date
    sections: tuple[str, ...]
    kpis: list[Kpi] = field(default_factory=list)
    daily: pl.DataFrame | None = None
    products: pl.DataFrame | None = None
    customers: pl.DataFrame | None = None
    geography: pl.DataFrame | None = None
    funnel: pl.DataFrame | None = None


def _frame(tables: dict[str, pa.Table], name: str) -> pl.DataFrame | None:
    table = tables.get(name)
    if table is None or table.num_rows == 0:
        return None
    return pl.DataFrame(table)


def _days(frame: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    return frame.with_columns(pl.col("metric_date").cast(pl.Date)).filter(
        pl.col("metric_date").is_between(start, end)
    )


def _totals(daily: pl.DataFrame) -> dict[str, float | None]:
    if daily.is_empty():
        return {"revenue": None, "orders": None, "sessions": None, "aov": None, "cr": None}
    revenue = float(daily["revenue"].sum() or 0.0)
    orders = float(daily["orders"].sum() or 0)
    sessions = float(daily["sessions"].sum() or 0)
    return {
        "revenue": revenue,
        "orders": orders,
        "sessions": sessions,
        "aov": revenue / orders if orders else None,
        "cr": orders / sessions if sessions else None,
    }


def build_report(
    tables: dict[str, pa.Table],
    *,
    tenant_id: str,
    shop_name: str,
    currency: str,
    timezone: str,
    cadence: Cadence,
    end: date | None = None,
    sections: tuple[str, ...] = SECTIONS,
) -> ReportData:
    """The report of the published ``tables`` of one tenant for the period ending ``end``
    (default: the latest published day)."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown report sections {sorted(unknown)}; known: {SECTIONS}")
    daily_all = _frame(tables, "daily_metrics")
    if end is None:
        latest = daily_all["metric_date"].cast(pl.Date).max() if daily_all is not None else None
        end = latest if isinstance(latest, date) else date.today()
    start, last = period_for(cadence, end)
    report = ReportData(
        tenant_id, shop_name, currency, timezone, cadence, start, last, tuple(sections)
    )
    if daily_all is not None:
        now = _days(daily_all, start, last)
        before = _totals(_days(daily_all, *previous_period(start, last)))
        totals = _totals(now)
        report.kpis = [
            Kpi("Revenue", totals["revenue"], before["revenue"], "money"),
            Kpi("Orders", totals["orders"], before["orders"], "count"),
            Kpi("Average order value", totals["aov"], before["aov"], "money"),
            Kpi("Sessions", totals["sessions"], before["sessions"], "count"),
            Kpi("Conversion rate", totals["cr"], before["cr"], "percent"),
        ]
        if not now.is_empty():
            report.daily = now.sort("metric_date").select(
                "metric_date", "revenue", "orders", "sessions", "conversion_rate"
            )
    performance = _frame(tables, "product_performance")
    if performance is not None:
        report.products = (
            performance.sort(["revenue", "product_id"], descending=[True, False], nulls_last=True)
            .head(TOP_N)
            .select(
                pl.coalesce("name", "product_id").alias("product"),
                "category",
                pl.col("revenue").cast(pl.Float64),
                pl.col("units_sold").cast(pl.Int64),
                pl.col("views").cast(pl.Int64),
                pl.col("return_rate").cast(pl.Float64),
            )
        )
    customers = _frame(tables, "customers")
    if customers is not None:
        total = float(customers["net_revenue"].sum() or 0.0)
        report.customers = (
            customers.group_by("rfm_segment")
            .agg(
                pl.len().cast(pl.Int64).alias("customers"),
                pl.col("net_revenue").sum().cast(pl.Float64).alias("net_revenue"),
                pl.col("orders").mean().cast(pl.Float64).alias("avg_orders"),
            )
            .with_columns(
                (pl.col("net_revenue") / total if total else pl.lit(None, pl.Float64)).alias(
                    "revenue_share"
                )
            )
            .rename({"rfm_segment": "segment"})
            .sort(["net_revenue", "segment"], descending=[True, False])
        )
    geo = _frame(tables, "geo_daily")
    if geo is not None:
        in_period = _days(geo, start, last)
        if not in_period.is_empty():
            report.geography = (
                in_period.group_by("country")
                .agg(
                    pl.col("net_revenue").sum().cast(pl.Float64),
                    pl.col("orders").sum().cast(pl.Int64),
                    pl.col("sessions").sum().cast(pl.Int64),
                )
                .sort(["net_revenue", "country"], descending=[True, False])
                .head(TOP_N)
            )
    funnel = _frame(tables, "funnel_daily")
    if funnel is not None:
        in_period = _days(funnel, start, last)
        if not in_period.is_empty():
            steps = [
                ("Visits", "sessions"),
                ("Product viewed", "viewed_sessions"),
                ("Added to cart", "added_sessions"),
                ("Checkout started", "checkout_sessions"),
                ("Order completed", "ordered_sessions"),
            ]
            counts = [int(in_period[column].sum()) for _, column in steps]
            report.funnel = pl.DataFrame(
                {
                    "step": [label for label, _ in steps],
                    "visits": counts,
                    "of_visits": [c / counts[0] if counts[0] else None for c in counts],
                },
                schema={"step": pl.String, "visits": pl.Int64, "of_visits": pl.Float64},
            )
    return report
