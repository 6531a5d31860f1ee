"""Publish: each tenant's serving tables, written as a new immutable version of its artifacts.

Readers (the API, the dashboards) switch to the new version atomically; they never open the
warehouse, so they keep answering while the next run rebuilds it.
"""

import time
from datetime import timedelta
from typing import Any

import dagster as dg
import polars as pl
import pyarrow as pa

from intellishop.observability import record_pipeline_run
from intellishop.privacy import forget_recent_erasures, strip_recent_erasures

from ...preview import markdown_preview
from ...resources import ServingStoreResource, SettingsResource, WarehouseResource

#: Columns of each published table (docs/contracts.md); tenant_id is implied by the tenant.
PUBLISHED_COLUMNS: dict[str, list[str]] = {
    "products": ["product_id", "name", "category", "brand", "price"],
    "trending": ["product_id", "category", "score", "rank", "category_rank"],
    "popular": ["product_id", "category", "score", "rank"],
    "recommendations": ["user_id", "product_id", "score", "rank", "algorithm"],
    "daily_metrics": [
        "metric_date",
        "currency",
        "revenue",
        "orders",
        "aov",
        "sessions",
        "visitors",
        "conversion_rate",
        "gross_revenue",
        "refunded_revenue",
        "refunded_orders",
        "new_visitors",
        "returning_visitors",
        "customers",
        "new_customers",
        "returning_customers",
    ],
    "hourly_metrics": [
        "metric_hour",
        "metric_date",
        "metric_hour_utc",
        "sessions",
        "visitors",
        "orders",
        "revenue",
        "gross_revenue",
    ],
    "behavioural_segments": ["person_id", "user_id", "segment", "as_of"],
    "recommendation_attribution": [
        "metric_date",
        "algorithm",
        "served",
        "products_served",
        "clicks",
        "add_to_carts",
        "orders",
        "attributed_lines",
        "attributed_units",
        "attributed_revenue",
        "clicks_per_serve",
    ],
    "product_performance": [
        "product_id",
        "name",
        "category",
        "views",
        "viewers",
        "cart_adds",
        "add_to_cart_rate",
        "orders",
        "buyers",
        "units_sold",
        "revenue",
        "units_refunded",
        "return_rate",
    ],
    "funnel_daily": [
        "metric_date",
        "device_type",
        "traffic_source",
        "country",
        "sessions",
        "viewed_sessions",
        "added_sessions",
        "checkout_sessions",
        "ordered_sessions",
    ],
    "geo_daily": ["metric_date", "country", "sessions", "visitors", "orders", "net_revenue"],
    "customers": [
        "customer_id",
        "user_id",
        "orders",
        "net_revenue",
        "first_order_at",
        "last_order_at",
        "recency_days",
        "recency_score",
        "frequency_score",
        "monetary_score",
        "rfm_code",
        "rfm_segment",
    ],
    "cohort_retention": [
        "cohort_grain",
        "cohort_start",
        "period_number",
        "cohort_customers",
        "active_customers",
        "customer_retention",
        "net_revenue",
        "revenue_retention",
    ],
    "similar_products": ["product_id", "similar_product_id", "score", "rank", "algorithm"],
    "frequently_bought_together": [
        "product_id",
        "other_product_id",
        "orders_together",
        "confidence",
        "lift",
        "rank",
    ],
    "cold_start": ["context", "product_id", "score", "rank"],
    "customer_scores": [
        "user_id",
        "churn_probability",
        "churn_top_features",
        "clv_12m",
        "expected_purchases_90d",
        "model_version",
    ],
    "demand_forecast": ["product_id", "forecast_date", "yhat", "yhat_lower", "yhat_upper"],
    "reorder_suggestions": [
        "product_id",
        "daily_demand_mean",
        "daily_demand_std",
        "lead_time_days",
        "service_level",
        "safety_stock",
        "reorder_point",
        "suggested_order_qty",
    ],
}

#: Row order of each published table: readers may rely on it (a chart reads days in order).
PUBLISHED_ORDER: dict[str, list[str]] = {
    "products": ["product_id"],
    "trending": ["rank", "product_id"],
    "popular": ["rank", "product_id"],
    "recommendations": ["user_id", "rank"],
    "daily_metrics": ["metric_date"],
    "product_performance": ["product_id"],
    "funnel_daily": ["metric_date", "device_type", "traffic_source", "country"],
    "geo_daily": ["metric_date", "country"],
    "customers": ["customer_id"],
    "cohort_retention": ["cohort_grain", "cohort_start", "period_number"],
    "similar_products": ["algorithm", "product_id", "rank"],
    "frequently_bought_together": ["product_id", "rank"],
    "cold_start": ["context", "rank"],
    "customer_scores": ["user_id"],
    "demand_forecast": ["product_id", "forecast_date"],
    "reorder_suggestions": ["product_id"],
    "hourly_metrics": ["metric_hour_utc"],
    "behavioural_segments": ["person_id", "segment"],
    "recommendation_attribution": ["metric_date", "algorithm"],
}

#: Marts published as they are (the other tables come from the ML assets).
PUBLISHED_MARTS = (
    "products",
    "daily_metrics",
    "product_performance",
    "funnel_daily",
    "geo_daily",
    "customers",
    "cohort_retention",
    "hourly_metrics",
    "behavioural_segments",
    "recommendation_attribution",
)


def tenant_tables(tables: dict[str, pl.DataFrame], tenant_id: str) -> dict[str, pa.Table]:
    """The rows of ``tenant_id`` only, in the published columns and order (see above).

    Exact decimals become floats: the readers (JSON answers, charts) want numbers.
    """
    unknown = set(tables) - set(PUBLISHED_COLUMNS)
    if unknown:
        raise ValueError(f"not a published table: {sorted(unknown)}")
    published: dict[str, pa.Table] = {}
    for name, frame in tables.items():
        frame = (
            frame.filter(pl.col("tenant_id") == tenant_id)
            .select(PUBLISHED_COLUMNS[name])
            .sort(PUBLISHED_ORDER[name])
        )
        decimals = [column for column, dtype in frame.schema.items() if dtype == pl.Decimal]
        published[name] = frame.with_columns(pl.col(decimals).cast(pl.Float64)).to_arrow()
    return published


@dg.asset(
    group_name="publish",
    deps=[dg.AssetKey(name) for name in PUBLISHED_MARTS],
    kinds={"parquet"},
    # What merchants see: a day old means neither the schedule nor the sensor is rebuilding it.
    freshness_policy=dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=26), warn_window=timedelta(hours=2)
    ),
)
def serving_artifacts(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    serving_store: ServingStoreResource,
    settings: SettingsResource,
    trending: pl.DataFrame,
    popular: pl.DataFrame,
    user_recommendations: pl.DataFrame,
    similar_products: pl.DataFrame,
    frequently_bought_together: pl.DataFrame,
    cold_start_lists: pl.DataFrame,
    customer_scores: pl.DataFrame,
    demand_forecast: pl.DataFrame,
    reorder_suggestions: pl.DataFrame,
) -> dg.MaterializeResult[None]:
    """One new artifact version per tenant that has data: lists, recommendations, marts,
    customer scores, demand forecasts and reorder suggestions."""
    tables = {
        **{name: warehouse.read_table(name) for name in PUBLISHED_MARTS},
        "trending": trending,
        "popular": popular,
        "recommendations": user_recommendations,
        "similar_products": similar_products,
        "frequently_bought_together": frequently_bought_together,
        "cold_start": cold_start_lists,
        "customer_scores": customer_scores,
        "demand_forecast": demand_forecast,
        "reorder_suggestions": reorder_suggestions,
    }
    tenants = sorted(
        set(tables["products"]["tenant_id"].to_list())
        | set(tables["daily_metrics"]["tenant_id"].to_list())
    )
    store = serving_store.store()
    versions: dict[str, str] = {}
    rows: dict[str, dict[str, int]] = {}
    config = settings.get()
    run_started = context.instance.get_run_stats(context.run.run_id).start_time or time.time()
    for tenant_id in tenants:
        # People erased while this run was under way may still be in its frames.
        published = strip_recent_erasures(config, tenant_id, tenant_tables(tables, tenant_id))
        versions[tenant_id] = store.publish(
            tenant_id, published, metadata={"dagster_run_id": context.run.run_id}
        )
        rows[tenant_id] = {name: table.num_rows for name, table in published.items()}
        context.log.info(
            f"published {tenant_id} version {versions[tenant_id]}: "
            + ", ".join(f"{name} {table.num_rows}" for name, table in published.items())
        )
    forget_recent_erasures(config, before=run_started)
    # Publishing is the run's last step: reaching it is the run's success (the DataStale alert).
    record_pipeline_run(config, context.run.run_id, succeeded=True)
    return dg.MaterializeResult(metadata=publish_metadata(versions, rows, tables))


def publish_metadata(
    versions: dict[str, str], rows: dict[str, dict[str, int]], tables: dict[str, pl.DataFrame]
) -> dict[str, Any]:
    """What the UI shows for a publish: versions, rows per table and tenant, a metrics preview."""
    by_table = pl.DataFrame(
        [{"tenant_id": tenant_id, **counts} for tenant_id, counts in rows.items()],
        schema={"tenant_id": pl.String, **dict.fromkeys(PUBLISHED_COLUMNS, pl.Int64)},
    )
    latest_days = (
        tables["daily_metrics"]
        .sort("metric_date", "tenant_id", descending=[True, False])
        .select("tenant_id", *PUBLISHED_COLUMNS["daily_metrics"])
    )
    return {
        "tenants": len(versions),
        "versions": dg.MetadataValue.json(versions),
        "dagster/row_count": sum(sum(counts.values()) for counts in rows.values()),
        "rows_by_tenant_and_table": dg.MetadataValue.md(markdown_preview(by_table, rows=50)),
        "latest_daily_metrics": dg.MetadataValue.md(markdown_preview(latest_days)),
    }
