"""The dashboards' only data access: the pipeline's published artifacts and the tenant list.

Pages never open the warehouse (a reader holding the DuckDB file would block ``dbt build``) and
never compute metrics themselves: they show what the pipeline published, in the tenant's
currency and time zone. Published tables are cached per artifact version, so a new publish shows
up within the store's refresh time and an unchanged one costs nothing to re-render.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import get_settings
from intellishop.tenants import TenantRegistry

#: How often a running dashboard looks for a new publish (the store re-reads CURRENT).
REFRESH_SECONDS = 5.0
#: Published versions are immutable, so a cached table only goes stale by memory pressure.
VERSION_CACHE_TTL_SECONDS = 3600

_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}

#: Shown for a number that was not published (an en dash, as in print).
MISSING = "\N{EN DASH}"

DAILY_METRICS_COLUMNS = (
    "metric_date",
    "revenue",
    "orders",
    "aov",
    "sessions",
    "visitors",
    "conversion_rate",
)


@dataclass(frozen=True)
class Shop:
    """A tenant as the dashboards show it."""

    tenant_id: str
    name: str
    currency: str
    timezone: str


@dataclass(frozen=True)
class Kpi:
    """One headline number of the latest day, with its change against the day before."""

    label: str
    value: str
    delta: str | None
    help: str


@dataclass(frozen=True)
class DaySummary:
    day: date
    previous_day: date | None
    is_today: bool
    kpis: list[Kpi]


def _artifacts_dir() -> str:
    return str(get_settings().artifacts_dir.resolve())


@st.cache_resource
def _store(artifacts_dir: str) -> LocalArtifactStore:
    """One store per process, so its in-memory version cache is shared by every session."""
    return LocalArtifactStore(Path(artifacts_dir), refresh_seconds=REFRESH_SECONDS)


def published_shops() -> list[Shop]:
    """Tenants that have something published, with their name, currency and time zone."""
    return _published_shops(_artifacts_dir(), str(get_settings().tenants_db_path.resolve()))


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def _published_shops(artifacts_dir: str, tenants_db: str) -> list[Shop]:
    published = _store(artifacts_dir).tenants()
    known = {}
    if Path(tenants_db).exists():  # opening the registry would create it
        known = {tenant.tenant_id: tenant for tenant in TenantRegistry(Path(tenants_db)).list()}
    shops = []
    for tenant_id in published:
        tenant = known.get(tenant_id)
        shops.append(
            Shop(
                tenant_id=tenant_id,
                name=tenant.name if tenant else tenant_id,
                currency=tenant.currency if tenant else "USD",
                timezone=tenant.timezone if tenant else "UTC",
            )
        )
    return shops


def shop(tenant_id: str) -> Shop:
    """The tenant as the dashboards show it (name, currency, zone from the registry)."""
    return _shop(tenant_id, str(get_settings().tenants_db_path.resolve()))


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def _shop(tenant_id: str, tenants_db: str) -> Shop:
    tenant = None
    if Path(tenants_db).exists():  # opening the registry would create it
        tenant = TenantRegistry(Path(tenants_db)).get(tenant_id)
    if tenant is None:
        return Shop(tenant_id, tenant_id, "USD", "UTC")
    return Shop(tenant_id, tenant.name, tenant.currency, tenant.timezone)


def current_version(tenant_id: str) -> tuple[str, str] | None:
    """(version, published_at) of the tenant's live artifacts, or None if none."""
    artifact = _store(_artifacts_dir()).current(tenant_id)
    return (artifact.version, artifact.published_at) if artifact else None


def daily_metrics(tenant_id: str, version: str) -> pl.DataFrame:
    """The published ``daily_metrics`` table, oldest day first (days in the tenant's zone)."""
    return _daily_metrics(_artifacts_dir(), tenant_id, version)


@st.cache_data(ttl=VERSION_CACHE_TTL_SECONDS, show_spinner=False)
def _daily_metrics(artifacts_dir: str, tenant_id: str, version: str) -> pl.DataFrame:
    table = _table(artifacts_dir, tenant_id, version, "daily_metrics")
    if table is None:
        return pl.DataFrame(schema={name: pl.Float64 for name in DAILY_METRICS_COLUMNS}).cast(
            {"metric_date": pl.Date}
        )
    return table.with_columns(pl.col("metric_date").cast(pl.Date)).sort("metric_date")


def top_trending(tenant_id: str, version: str, n: int = 10) -> pl.DataFrame:
    """The ``n`` hottest products with their names: rank, product, category, price, score."""
    return _top_trending(_artifacts_dir(), tenant_id, version, n)


@st.cache_data(ttl=VERSION_CACHE_TTL_SECONDS, show_spinner=False)
def _top_trending(artifacts_dir: str, tenant_id: str, version: str, n: int) -> pl.DataFrame:
    trending = _table(artifacts_dir, tenant_id, version, "trending")
    columns = ["rank", "product", "category", "price", "score"]
    if trending is None or trending.is_empty():
        return pl.DataFrame(
            schema={
                "rank": pl.Int32,
                "product": pl.String,
                "category": pl.String,
                "price": pl.Float64,
                "score": pl.Float64,
            }
        )
    top = trending.sort("rank").head(n)
    products = _table(artifacts_dir, tenant_id, version, "products")
    if products is not None:
        top = top.join(
            products.select(
                "product_id",
                pl.col("name"),
                pl.col("price").cast(pl.Float64),
                pl.col("category").alias("catalogue_category"),
            ),
            on="product_id",
            how="left",
        ).with_columns(pl.coalesce("catalogue_category", "category").alias("category"))
    else:
        top = top.with_columns(
            pl.lit(None, pl.String).alias("name"), pl.lit(None, pl.Float64).alias("price")
        )
    return top.select(
        pl.col("rank").cast(pl.Int32),
        pl.coalesce("name", "product_id").alias("product"),
        "category",
        "price",
        pl.col("score").cast(pl.Float64),
    ).select(columns)


def _table(artifacts_dir: str, tenant_id: str, version: str, name: str) -> pl.DataFrame | None:
    artifact = _store(artifacts_dir).current(tenant_id)
    if artifact is None or name not in artifact.tables:
        return None
    # The cache key is the version asked for; a newer publish in between is fine to show.
    return pl.DataFrame(artifact.tables[name])


def model_table(tenant_id: str, version: str, name: str) -> pl.DataFrame | None:
    """A published table read as it is (the ML and dbt tables whose columns may grow), or None
    when this version has not got it."""
    return _model_table(_artifacts_dir(), tenant_id, version, name)


@st.cache_data(ttl=VERSION_CACHE_TTL_SECONDS, show_spinner=False)
def _model_table(
    artifacts_dir: str, tenant_id: str, version: str, name: str
) -> pl.DataFrame | None:
    return _table(artifacts_dir, tenant_id, version, name)


def format_money(amount: float | None, currency: str) -> str:
    """Money for people: cents below 1,000, whole units above (a KPI card stays readable)."""
    if amount is None:
        return MISSING
    symbol = _CURRENCY_SYMBOLS.get(currency)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}" if abs(amount) < 1000 else f"{abs(amount):,.0f}"
    if symbol is None:
        return f"{sign}{digits} {currency}"
    return f"{sign}{symbol}{digits}"


def latest_day(daily: pl.DataFrame, shop: Shop, now: datetime | None = None) -> DaySummary | None:
    """The headline numbers of the latest published day against the calendar day before.

    ``conversion_rate`` is published as a fraction (orders per session) and shown in percent;
    its change is in percentage points, the others' in percent. A day missing from the table
    gives no delta rather than a made-up zero.
    """
    if daily.is_empty():
        return None
    rows = {row["metric_date"]: row for row in daily.iter_rows(named=True)}
    day = max(rows)
    latest = rows[day]
    previous_day = date.fromordinal(day.toordinal() - 1)
    previous = rows.get(previous_day)
    today = (now or datetime.now(ZoneInfo(shop.timezone))).astimezone(ZoneInfo(shop.timezone))
    is_today = day == today.date()

    def change(name: str, *, additive: bool = False) -> str | None:
        # A day still under way against a whole one would always look like a fall: totals
        # (revenue, orders, visits) get no change then; ratios compare fairly.
        if additive and is_today:
            return None
        if previous is None or previous[name] in (None, 0) or latest[name] is None:
            return None
        return f"{(latest[name] - previous[name]) / previous[name]:+.1%}"

    conversion = latest["conversion_rate"]
    conversion_delta = None
    if previous is not None and previous["conversion_rate"] is not None and conversion is not None:
        conversion_delta = f"{(conversion - previous['conversion_rate']) * 100:+.2f} pp"
    kpis = [
        Kpi(
            "Revenue",
            format_money(latest["revenue"], shop.currency),
            change("revenue", additive=True),
            f"Revenue of the day's completed orders, in {shop.currency}.",
        ),
        Kpi(
            "Orders",
            _count(latest["orders"]),
            change("orders", additive=True),
            "Completed orders.",
        ),
        Kpi(
            "Average order value",
            format_money(latest["aov"], shop.currency),
            change("aov"),
            "Revenue per order.",
        ),
        Kpi(
            "Sessions",
            _count(latest["sessions"]),
            change("sessions", additive=True),
            "Visits to the shop.",
        ),
        Kpi(
            "Conversion rate",
            MISSING if conversion is None else f"{conversion:.2%}",
            conversion_delta,
            "Orders per session.",
        ),
    ]
    return DaySummary(
        day=day,
        previous_day=previous_day if previous is not None else None,
        is_today=is_today,
        kpis=kpis,
    )


def _count(value: float | None) -> str:
    return MISSING if value is None else f"{round(value):,}"


# --- Merchant pages: funnel, customers, products --------------------------------------------

#: The purchase funnel's steps, in order, with the published visit count of each.
FUNNEL_STEPS = (
    ("Product Viewed", "viewed_sessions"),
    ("Product Added", "added_sessions"),
    ("Checkout Started", "checkout_sessions"),
    ("Order Completed", "ordered_sessions"),
)

_SCHEMAS: dict[str, dict[str, type[pl.DataType]]] = {
    "funnel_daily": {
        "metric_date": pl.Date,
        "device_type": pl.String,
        "traffic_source": pl.String,
        "country": pl.String,
        "sessions": pl.Int64,
        "viewed_sessions": pl.Int64,
        "added_sessions": pl.Int64,
        "checkout_sessions": pl.Int64,
        "ordered_sessions": pl.Int64,
    },
    "geo_daily": {
        "metric_date": pl.Date,
        "country": pl.String,
        "sessions": pl.Int64,
        "visitors": pl.Int64,
        "orders": pl.Int64,
        "net_revenue": pl.Float64,
    },
    "customers": {
        "customer_id": pl.String,
        "orders": pl.Int64,
        "net_revenue": pl.Float64,
        "recency_days": pl.Int64,
        "rfm_segment": pl.String,
    },
    "cohort_retention": {
        "cohort_grain": pl.String,
        "cohort_start": pl.Date,
        "period_number": pl.Int64,
        "cohort_customers": pl.Int64,
        "active_customers": pl.Int64,
        "customer_retention": pl.Float64,
        "net_revenue": pl.Float64,
    },
    "product_performance": {
        "product_id": pl.String,
        "name": pl.String,
        "category": pl.String,
        "views": pl.Int64,
        "add_to_cart_rate": pl.Float64,
        "units_sold": pl.Int64,
        "revenue": pl.Float64,
        "return_rate": pl.Float64,
    },
}

#: RFM segments from best to worst (the ``customers`` mart's names); others sort last.
RFM_SEGMENT_ORDER = (
    "Champions",
    "Loyal",
    "Potential Loyalists",
    "New",
    "Promising",
    "Can't Lose Them",
    "At Risk",
    "Hibernating",
    "Lost",
)


def published_table(tenant_id: str, version: str, name: str) -> pl.DataFrame:
    """One of the marts published as they are, in the columns the pages read.

    A table that was not published (an older publish, a shop without that data) comes back
    empty with the same columns, so a page only has to check ``is_empty()``.
    """
    if name not in _SCHEMAS:
        raise ValueError(f"not a published mart the dashboards read: {name}")
    return _published_table(_artifacts_dir(), tenant_id, version, name)


@st.cache_data(ttl=VERSION_CACHE_TTL_SECONDS, show_spinner=False)
def _published_table(artifacts_dir: str, tenant_id: str, version: str, name: str) -> pl.DataFrame:
    schema = _SCHEMAS[name]
    table = _table(artifacts_dir, tenant_id, version, name)
    if table is None or table.is_empty() or not set(schema) <= set(table.columns):
        return pl.DataFrame(schema=schema)
    return table.select([pl.col(column).cast(dtype) for column, dtype in schema.items()])


def funnel_daily(tenant_id: str, version: str) -> pl.DataFrame:
    """Visits per tenant-local day, device, traffic source and country reaching each step."""
    return published_table(tenant_id, version, "funnel_daily")


def geo_daily(tenant_id: str, version: str) -> pl.DataFrame:
    """Visits, visitors, orders and net revenue per tenant-local day and ISO-2 country."""
    return published_table(tenant_id, version, "geo_daily")


def customers(tenant_id: str, version: str) -> pl.DataFrame:
    """Buying customers with orders, net revenue, recency in days and RFM segment."""
    return published_table(tenant_id, version, "customers")


def cohort_retention(tenant_id: str, version: str) -> pl.DataFrame:
    """Acquisition cohorts (month and week) x periods since, with retention and revenue."""
    return published_table(tenant_id, version, "cohort_retention")


def product_performance(tenant_id: str, version: str) -> pl.DataFrame:
    """Each product's views, add-to-cart rate, units sold, revenue and return rate (all time)."""
    return published_table(tenant_id, version, "product_performance")


def date_span(days: pl.Series) -> tuple[date, date] | None:
    """(first, last) of a column of days, or None when it has none."""
    first, last = days.min(), days.max()
    if not isinstance(first, date) or not isinstance(last, date):
        return None
    return first, last


def default_date_range(days: pl.Series, length: int = 30) -> tuple[date, date] | None:
    """The last ``length`` days that end on the latest published day, or None without days.

    The range ends on the latest day with data rather than today, so a shop whose traffic
    stopped still sees its last month instead of an empty chart.
    """
    span = date_span(days)
    if span is None:
        return None
    first, last = span
    start = date.fromordinal(max(first.toordinal(), last.toordinal() - (length - 1)))
    return start, last


def funnel_filter_options(funnel: pl.DataFrame) -> dict[str, list[str]]:
    """The devices, traffic sources and countries that occur, each sorted, for the filters."""
    return {
        column: sorted(funnel[column].unique().drop_nulls().to_list())
        for column in ("device_type", "traffic_source", "country")
    }


def funnel_steps(
    funnel: pl.DataFrame,
    start: date,
    end: date,
    *,
    devices: list[str] | None = None,
    sources: list[str] | None = None,
    countries: list[str] | None = None,
) -> tuple[int, pl.DataFrame]:
    """(all visits, one row per funnel step) over ``start``..``end`` (inclusive) and the filters.

    An empty or None filter means all values. Visit counts are summed over the selected rows
    first and divided afterwards: a day's or a country's rate never counts more than its
    visits do. Each step row has ``visits``, ``step_conversion`` (of the step before; of all
    visits for the first step), ``drop_off`` (visits lost since the step before) and
    ``overall_conversion`` (of the visits that viewed a product). A rate over zero visits is
    None, not zero.
    """
    selected = funnel.filter(pl.col("metric_date").is_between(start, end))
    for column, values in (
        ("device_type", devices),
        ("traffic_source", sources),
        ("country", countries),
    ):
        if values:
            selected = selected.filter(pl.col(column).is_in(values))
    sessions = int(selected["sessions"].sum())
    counts = [int(selected[column].sum()) for _, column in FUNNEL_STEPS]
    previous = [sessions, *counts[:-1]]
    first = counts[0]
    steps = pl.DataFrame(
        {
            "step": [label for label, _ in FUNNEL_STEPS],
            "visits": counts,
            "step_conversion": [
                count / before if before else None
                for count, before in zip(counts, previous, strict=True)
            ],
            "drop_off": [before - count for count, before in zip(counts, previous, strict=True)],
            "overall_conversion": [count / first if first else None for count in counts],
        },
        schema={
            "step": pl.String,
            "visits": pl.Int64,
            "step_conversion": pl.Float64,
            "drop_off": pl.Int64,
            "overall_conversion": pl.Float64,
        },
    )
    return sessions, steps


def segment_summary(customers: pl.DataFrame) -> pl.DataFrame:
    """Per RFM segment, best first: customers, their share, net revenue and its share, and
    the average orders, net revenue and recency (days) of a customer in it."""
    total_customers = customers.height
    total_revenue = float(customers["net_revenue"].sum()) if total_customers else 0.0
    order = {name: index for index, name in enumerate(RFM_SEGMENT_ORDER)}
    summary = (
        customers.group_by("rfm_segment")
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            pl.col("net_revenue").sum().alias("net_revenue"),
            pl.col("orders").mean().alias("avg_orders"),
            pl.col("net_revenue").mean().alias("avg_net_revenue"),
            pl.col("recency_days").mean().alias("avg_recency_days"),
        )
        .rename({"rfm_segment": "segment"})
        .with_columns(
            (pl.col("customers") / total_customers).alias("customer_share"),
            (
                pl.col("net_revenue") / total_revenue if total_revenue else pl.lit(None, pl.Float64)
            ).alias("revenue_share"),
            pl.col("segment")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("_order"),
        )
        .sort("_order", "segment")
    )
    return summary.select(
        "segment",
        "customers",
        "customer_share",
        "net_revenue",
        "revenue_share",
        "avg_orders",
        "avg_net_revenue",
        "avg_recency_days",
    )


@dataclass(frozen=True)
class RetentionGrid:
    """Cohort retention laid out for a heatmap: one row per cohort, one column per period.

    ``retention[i][p]`` is the share (0..1) of cohort ``i`` ordering in period ``p``; a period
    the cohort has not reached yet is None, while a reached period without orders is 0.
    """

    grain: str
    cohorts: list[date]
    sizes: list[int]
    periods: list[int]
    retention: list[list[float | None]]


def retention_grid(
    cohorts: pl.DataFrame, grain: str, value: str = "customer_retention"
) -> RetentionGrid:
    """The ``grain`` ("month" or "week") cohorts, oldest first, as a dense grid.

    The mart has a row only for periods in which someone ordered again. The latest period
    with any order is taken as the current one: periods up to it are filled with 0, later
    ones stay empty (None), so a young cohort does not look like it lost everyone. ``value``
    is the mart's column shown: ``customer_retention`` (a share) or ``net_revenue``.
    """
    rows = cohorts.filter(pl.col("cohort_grain") == grain).sort("cohort_start", "period_number")
    if rows.is_empty():
        return RetentionGrid(grain, [], [], [], [])

    def index(day: date) -> int:  # months or weeks since year 1 (whose 1 January is a Monday)
        return day.year * 12 + day.month - 1 if grain == "month" else (day.toordinal() - 1) // 7

    starts: list[date] = rows["cohort_start"].unique().sort().to_list()
    current = max(
        index(start) + period
        for start, period in zip(rows["cohort_start"], rows["period_number"], strict=True)
    )
    periods = list(range(current - index(starts[0]) + 1))
    found = {
        (row["cohort_start"], row["period_number"]): row[value]
        for row in rows.iter_rows(named=True)
    }
    sizes = {row["cohort_start"]: row["cohort_customers"] for row in rows.iter_rows(named=True)}
    grid = [
        [
            found.get((start, period), 0.0) if period <= current - index(start) else None
            for period in periods
        ]
        for start in starts
    ]
    return RetentionGrid(grain, starts, [int(sizes[start]) for start in starts], periods, grid)


def top_products(performance: pl.DataFrame, n: int = 50) -> pl.DataFrame:
    """The ``n`` products with the most revenue (ties by units, then id): product, category,
    revenue, views, add-to-cart rate, units sold and return rate."""
    return (
        performance.sort(
            ["revenue", "units_sold", "product_id"],
            descending=[True, True, False],
            nulls_last=True,
        )
        .head(n)
        .select(
            pl.coalesce("name", "product_id").alias("product"),
            "category",
            "revenue",
            "views",
            "add_to_cart_rate",
            "units_sold",
            "return_rate",
        )
    )


def revenue_by_country(
    geo: pl.DataFrame, start: date | None = None, end: date | None = None
) -> pl.DataFrame:
    """Net revenue, orders and visits per country over the days given (all by default),
    most revenue first; ``country`` is the published ISO-2 code (or ``unknown``)."""
    selected = geo
    if start is not None:
        selected = selected.filter(pl.col("metric_date") >= start)
    if end is not None:
        selected = selected.filter(pl.col("metric_date") <= end)
    return (
        selected.group_by("country")
        .agg(
            pl.col("net_revenue").sum(),
            pl.col("orders").sum(),
            pl.col("sessions").sum(),
        )
        .sort(["net_revenue", "country"], descending=[True, False])
    )


@dataclass(frozen=True)
class PeriodTotals:
    """Revenue, orders, sessions and the ratios of a range of days (sums divided last)."""

    revenue: float
    orders: int
    sessions: int
    aov: float | None
    conversion_rate: float | None


def period_totals(daily: pl.DataFrame, start: date, end: date) -> PeriodTotals:
    """Totals of ``start``..``end`` (inclusive): ratios from the sums, never a mean of days."""
    rows = daily.filter(pl.col("metric_date").is_between(start, end))
    revenue = float(rows["revenue"].sum() or 0.0)
    orders = int(rows["orders"].sum() or 0)
    sessions = int(rows["sessions"].sum() or 0)
    return PeriodTotals(
        revenue=revenue,
        orders=orders,
        sessions=sessions,
        aov=revenue / orders if orders else None,
        conversion_rate=orders / sessions if sessions else None,
    )


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The range of the same length just before ``start``..``end``."""
    length = end.toordinal() - start.toordinal() + 1
    return (
        date.fromordinal(start.toordinal() - length),
        date.fromordinal(start.toordinal() - 1),
    )


def change(current: float | None, before: float | None) -> str | None:
    """``+12.3%`` against ``before``; None when there is nothing to compare with."""
    if current is None or before in (None, 0):
        return None
    assert before is not None
    return f"{(current - before) / before:+.1%}"


def rfm_grid(customers: pl.DataFrame) -> list[list[int]]:
    """Customers per (recency score, frequency score), rows recency 1..5, columns 1..5."""
    counts = customers.group_by("recency_score", "frequency_score").len("n")
    found = {
        (int(r["recency_score"]), int(r["frequency_score"])): int(r["n"])
        for r in counts.iter_rows(named=True)
        if r["recency_score"] is not None and r["frequency_score"] is not None
    }
    return [[found.get((r, f), 0) for f in range(1, 6)] for r in range(1, 6)]


def zone(timezone: str) -> ZoneInfo:
    """The shop's time zone (UTC for a name the system does not know)."""
    try:
        return ZoneInfo(timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def product_names(tenant_id: str, version: str) -> dict[str, str]:
    """Product id -> name from the published catalogue (ids without a name are left out)."""
    products = model_table(tenant_id, version, "products")
    if products is None or "name" not in products.columns:
        return {}
    return {
        row["product_id"]: row["name"]
        for row in products.select("product_id", "name").iter_rows(named=True)
        if row["name"]
    }


def recommended_users(tenant_id: str, version: str, limit: int = 500) -> list[str]:
    """Up to ``limit`` user ids that have personal recommendations, sorted."""
    recommendations = model_table(tenant_id, version, "recommendations")
    if recommendations is None or recommendations.is_empty():
        return []
    return recommendations["user_id"].unique().sort().head(limit).to_list()


@dataclass(frozen=True)
class CustomerProfile:
    """What the published tables know of one person (any part may be missing)."""

    user_id: str
    rfm: dict[str, object] | None
    scores: dict[str, object] | None
    orders: pl.DataFrame | None
    recommendations: pl.DataFrame | None


def customer_profile(tenant_id: str, version: str, person: str) -> CustomerProfile | None:
    """The profile of a user id (or a customer id of the ``customers`` mart), or None."""
    person = person.strip()
    if not person:
        return None
    customers = model_table(tenant_id, version, "customers")
    rfm = None
    user_id = person
    if customers is not None and not customers.is_empty():
        match = customers.filter(
            (pl.col("customer_id") == person) | (pl.col("user_id") == person)
            if "user_id" in customers.columns
            else pl.col("customer_id") == person
        )
        if not match.is_empty():
            rfm = match.row(0, named=True)
            user_id = str(rfm.get("user_id") or person)

    def rows_of(name: str) -> pl.DataFrame | None:
        table = model_table(tenant_id, version, name)
        if table is None or "user_id" not in table.columns:
            return None
        found = table.filter(pl.col("user_id") == user_id)
        return None if found.is_empty() else found

    scores = rows_of("customer_scores")
    orders = rows_of("customer_orders")
    recommendations = rows_of("recommendations")
    if rfm is None and scores is None and orders is None and recommendations is None:
        return None
    return CustomerProfile(
        user_id=user_id,
        rfm=rfm,
        scores=scores.row(0, named=True) if scores is not None else None,
        orders=orders,
        recommendations=recommendations,
    )


#: Country outlines (ISO alpha-3 ids) shipped with the dashboards: see dashboards/geo/README.md.
COUNTRY_OUTLINES = Path(__file__).resolve().parent / "geo" / "countries_110m.geojson"


@st.cache_resource(show_spinner=False)
def country_outlines() -> dict[str, Any]:
    """The world's countries as GeoJSON, read once per process."""
    outlines: dict[str, Any] = json.loads(COUNTRY_OUTLINES.read_text())
    return outlines
