"""The published analytics marts of one version, indexed once for cheap per-request answers.

Like :mod:`serving.catalog`, this reads only what the pipeline published (docs/contracts.md,
"Publish -> serving store"), never the warehouse. Built once per tenant version:

- ``daily_metrics`` and ``funnel_daily`` sorted by day, so a date range is a slice found by
  bisection and a request sums only the days it asks for;
- ``customers`` as a dict user id -> row, so a customer lookup is O(1), and the per-segment
  summary computed once;
- ``cohort_retention`` grouped into matrix rows per grain;
- ``product_performance`` pre-sorted by every sortable column.

Money is rounded to 4 decimals (the warehouse's precision) after summing, to drop float noise;
ratios are not rounded. A ratio whose denominator is 0 is None, never 0 or NaN.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime
from typing import Any, Literal, TypedDict

import pyarrow as pa
import pyarrow.compute as pc

from intellishop.artifacts import ArtifactVersion

CohortGrain = Literal["month", "week"]
ProductSort = Literal["revenue", "views", "units_sold", "return_rate"]

#: Funnel steps in order: (name in the answer, column of ``funnel_daily``).
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("session", "sessions"),
    ("product_viewed", "viewed_sessions"),
    ("product_added", "added_sessions"),
    ("checkout_started", "checkout_sessions"),
    ("order_completed", "ordered_sessions"),
)
PRODUCT_SORTS: tuple[ProductSort, ...] = ("revenue", "views", "units_sold", "return_rate")
#: ``rfm_segment`` of a customer the pipeline left unsegmented.
UNSEGMENTED = "unsegmented"


class TableNotPublishedError(LookupError):
    """The tenant's live version lacks a table (published by an older pipeline): a 503."""

    def __init__(self, tenant_id: str, version: str, table: str) -> None:
        super().__init__(table)
        self.tenant_id = tenant_id
        self.version = version
        self.table = table


class DailyTotals(TypedDict):
    days: int
    revenue: float
    orders: int
    sessions: int
    visitors: int
    aov: float | None
    conversion_rate: float | None


class CohortPeriod(TypedDict):
    period_number: int
    active_customers: int
    customer_retention: float
    net_revenue: float


class CohortRow(TypedDict):
    cohort_start: date
    cohort_customers: int
    periods: list[CohortPeriod]


class SegmentSummary(TypedDict):
    segment: str
    customers: int
    net_revenue: float
    avg_net_revenue: float
    avg_orders: float
    avg_recency_days: float | None


def money(value: float) -> float:
    return round(float(value), 4)


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def _to_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


class _DatedRows:
    """A table sorted by ``metric_date``: a date range is a slice found by bisection."""

    def __init__(self, table: pa.Table) -> None:
        ordered = table.sort_by([("metric_date", "ascending")]).combine_chunks()
        self.table = ordered
        self.dates = [as_date(day) for day in ordered.column("metric_date").to_pylist()]

    def bounds(self, start: date | None, end: date | None) -> tuple[int, int]:
        low = 0 if start is None else bisect.bisect_left(self.dates, start)
        high = len(self.dates) if end is None else bisect.bisect_right(self.dates, end)
        return low, max(low, high)

    def slice(self, start: date | None, end: date | None) -> pa.Table:
        low, high = self.bounds(start, end)
        return self.table.slice(low, high - low)


def _sum(table: pa.Table, column: str) -> Any:
    total = pc.sum(table.column(column)).as_py()
    return 0 if total is None else total


class AnalyticsIndex:
    """Analytics lookups over one immutable published version of one tenant."""

    def __init__(self, artifact: ArtifactVersion) -> None:
        self.tenant_id = artifact.tenant_id
        self.version = artifact.version
        tables = artifact.tables
        daily = tables.get("daily_metrics")
        self._daily = None if daily is None else _DatedRows(daily)
        funnel = tables.get("funnel_daily")
        self._funnel = None if funnel is None else _DatedRows(funnel)
        self._customers: pa.Table | None = None
        self._customer_rows: dict[str, int] = {}
        self._segments: list[SegmentSummary] = []
        self._segment_members: dict[str, list[int]] = {}
        customers = tables.get("customers")
        if customers is not None:
            self._index_customers(customers.combine_chunks())
        cohorts = tables.get("cohort_retention")
        self._cohorts = None if cohorts is None else _cohort_matrix(cohorts)
        self._products: pa.Table | None = None
        self._product_order: dict[ProductSort, pa.Array] = {}
        products = tables.get("product_performance")
        if products is not None:
            self._products = products.combine_chunks()
            self._product_order = {
                key: pc.sort_indices(
                    self._products,
                    # Nulls (a return rate of nothing sold) sort last, pyarrow's default.
                    sort_keys=[(key, "descending"), ("product_id", "ascending")],
                )
                for key in PRODUCT_SORTS
            }

    def _missing(self, table: str) -> TableNotPublishedError:
        return TableNotPublishedError(self.tenant_id, self.version, table)

    # daily metrics -------------------------------------------------------------------------

    def daily(
        self, start: date | None, end: date | None
    ) -> tuple[list[dict[str, Any]], DailyTotals]:
        """The days in ``[start, end]`` (either open) in date order, and their totals.

        AOV and conversion of the totals are ratios of the sums, never averages of the daily
        ratios (a quiet day would otherwise weigh as much as a busy one).
        """
        if self._daily is None:
            raise self._missing("daily_metrics")
        days = self._daily.slice(start, end)
        revenue = money(_sum(days, "revenue"))
        orders = int(_sum(days, "orders"))
        sessions = int(_sum(days, "sessions"))
        totals = DailyTotals(
            days=days.num_rows,
            revenue=revenue,
            orders=orders,
            sessions=sessions,
            visitors=int(_sum(days, "visitors")),
            aov=None if not orders else money(revenue / orders),
            conversion_rate=ratio(orders, sessions),
        )
        return _to_rows(days), totals

    # funnel --------------------------------------------------------------------------------

    def funnel(
        self,
        start: date | None,
        end: date | None,
        *,
        device_type: str | None = None,
        traffic_source: str | None = None,
        country: str | None = None,
    ) -> tuple[int, list[int]]:
        """(matching rows, session count of each :data:`FUNNEL_STEPS` step) summed over them."""
        if self._funnel is None:
            raise self._missing("funnel_daily")
        rows = self._funnel.slice(start, end)
        mask: pa.Array | None = None
        for column, wanted in (
            ("device_type", device_type),
            ("traffic_source", traffic_source),
            ("country", country),
        ):
            if wanted is None:
                continue
            matches = pc.fill_null(pc.equal(rows.column(column), wanted), False)
            mask = matches if mask is None else pc.and_(mask, matches)
        if mask is not None:
            rows = rows.filter(mask)
        return rows.num_rows, [int(_sum(rows, column)) for _, column in FUNNEL_STEPS]

    # customers -----------------------------------------------------------------------------

    def _index_customers(self, customers: pa.Table) -> None:
        self._customers = customers
        # A guest who never identified has no user id: their anonymous id (the customer id)
        # finds them. Registered users are indexed last so their user id always wins.
        for position, customer_id in enumerate(customers.column("customer_id").to_pylist()):
            if customer_id is not None:
                self._customer_rows[str(customer_id)] = position
        for position, user_id in enumerate(customers.column("user_id").to_pylist()):
            if user_id is not None:
                self._customer_rows[str(user_id)] = position
        segments = pc.fill_null(customers.column("rfm_segment"), UNSEGMENTED)
        grouped = (
            pa.table(
                {
                    "segment": segments,
                    "net_revenue": customers.column("net_revenue"),
                    "orders": customers.column("orders"),
                    "recency_days": customers.column("recency_days"),
                }
            )
            .group_by("segment")
            .aggregate(
                [
                    ("segment", "count"),
                    ("net_revenue", "sum"),
                    ("orders", "sum"),
                    ("recency_days", "mean"),
                ]
            )
        )
        summaries: list[SegmentSummary] = []
        for row in grouped.to_pylist():
            count = int(row["segment_count"])
            net_revenue = float(row["net_revenue_sum"] or 0.0)
            summaries.append(
                SegmentSummary(
                    segment=str(row["segment"]),
                    customers=count,
                    net_revenue=money(net_revenue),
                    avg_net_revenue=money(net_revenue / count),
                    avg_orders=int(row["orders_sum"] or 0) / count,
                    avg_recency_days=row["recency_days_mean"],
                )
            )
        summaries.sort(key=lambda s: (-s["net_revenue"], s["segment"]))
        self._segments = summaries
        # Each segment's members, best customers first: a page is a slice of positions.
        order = pc.sort_indices(
            customers,
            sort_keys=[("net_revenue", "descending"), ("customer_id", "ascending")],
        ).to_pylist()
        names = segments.to_pylist()
        members: dict[str, list[int]] = {}
        for position in order:
            members.setdefault(str(names[position]), []).append(position)
        self._segment_members = members

    def customer(self, user_id: str) -> dict[str, Any] | None:
        """The customer's RFM row, or None when this tenant has no such buying customer."""
        if self._customers is None:
            raise self._missing("customers")
        position = self._customer_rows.get(user_id)
        if position is None:
            return None
        row: dict[str, Any] = self._customers.slice(position, 1).to_pylist()[0]
        return row

    def segment_members(
        self, segment: str, offset: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]] | None:
        """(members in the segment, one page of their rows), or None for an unknown segment."""
        if self._customers is None:
            raise self._missing("customers")
        positions = self._segment_members.get(segment)
        if positions is None:
            return None
        page = positions[offset : offset + limit]
        if not page:
            return len(positions), []
        rows = _to_rows(self._customers.take(pa.array(page, pa.int64())))
        return len(positions), rows

    def segments(self) -> list[SegmentSummary]:
        """One summary per RFM segment, largest net revenue first."""
        if self._customers is None:
            raise self._missing("customers")
        return self._segments

    # cohorts -------------------------------------------------------------------------------

    def cohorts(self, grain: CohortGrain) -> list[CohortRow]:
        """The retention matrix at ``grain``: one row per cohort, oldest first."""
        if self._cohorts is None:
            raise self._missing("cohort_retention")
        return self._cohorts.get(grain, [])

    # product performance -------------------------------------------------------------------

    def products(self, sort: ProductSort, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """(product count, the top ``limit`` by ``sort`` descending; ties by product id)."""
        if self._products is None:
            raise self._missing("product_performance")
        order = self._product_order[sort]
        return self._products.num_rows, _to_rows(self._products.take(order.slice(0, limit)))


def _cohort_matrix(table: pa.Table) -> dict[str, list[CohortRow]]:
    ordered = table.sort_by(
        [
            ("cohort_grain", "ascending"),
            ("cohort_start", "ascending"),
            ("period_number", "ascending"),
        ]
    )
    matrix: dict[str, list[CohortRow]] = {}
    for row in ordered.to_pylist():
        rows = matrix.setdefault(str(row["cohort_grain"]), [])
        cohort_start = as_date(row["cohort_start"])
        if not rows or rows[-1]["cohort_start"] != cohort_start:
            rows.append(
                CohortRow(
                    cohort_start=cohort_start,
                    cohort_customers=int(row["cohort_customers"]),
                    periods=[],
                )
            )
        rows[-1]["periods"].append(
            CohortPeriod(
                period_number=int(row["period_number"]),
                active_customers=int(row["active_customers"]),
                customer_retention=float(row["customer_retention"]),
                net_revenue=money(row["net_revenue"] or 0.0),
            )
        )
    return matrix
