"""The dashboards' only data access: the pipeline's published artifacts and the tenant list.

Pages never open the warehouse (a reader holding the DuckDB file would block ``dbt build``) and
never compute metrics themselves: they show what the pipeline published, in the tenant's
currency and time zone. Published tables are cached per artifact version, so a new publish shows
up within the store's refresh time and an unchanged one costs nothing to re-render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
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

    def change(name: str) -> str | None:
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
            change("revenue"),
            f"Revenue of the day's completed orders, in {shop.currency}.",
        ),
        Kpi("Orders", _count(latest["orders"]), change("orders"), "Completed orders."),
        Kpi(
            "Average order value",
            format_money(latest["aov"], shop.currency),
            change("aov"),
            "Revenue per order.",
        ),
        Kpi("Sessions", _count(latest["sessions"]), change("sessions"), "Visits to the shop."),
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
        is_today=day == today.date(),
        kpis=kpis,
    )


def _count(value: float | None) -> str:
    return MISSING if value is None else f"{round(value):,}"
