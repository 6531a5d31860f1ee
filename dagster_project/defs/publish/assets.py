"""Publish: each tenant's serving tables, written as a new immutable version of its artifacts.

Readers (the API, the dashboards) switch to the new version atomically; they never open the
warehouse, so they keep answering while the next run rebuilds it.
"""

import dagster as dg
import polars as pl
import pyarrow as pa

from ...resources import ServingStoreResource, WarehouseResource

#: Row order of each published table: readers may rely on it (a chart reads days in order).
PUBLISHED_ORDER: dict[str, list[str]] = {
    "products": ["product_id"],
    "trending": ["rank", "product_id"],
    "popular": ["rank", "product_id"],
    "recommendations": ["user_id", "rank"],
    "daily_metrics": ["metric_date"],
}

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
    ],
}


def tenant_tables(tables: dict[str, pl.DataFrame], tenant_id: str) -> dict[str, pa.Table]:
    """The rows of ``tenant_id`` only, in the published columns and order (see above)."""
    published: dict[str, pa.Table] = {}
    for name, columns in PUBLISHED_COLUMNS.items():
        frame = (
            tables[name]
            .filter(pl.col("tenant_id") == tenant_id)
            .select(columns)
            .sort(PUBLISHED_ORDER[name])
        )
        published[name] = frame.to_arrow()
    return published


@dg.asset(
    group_name="publish",
    deps=[dg.AssetKey("products"), dg.AssetKey("daily_metrics")],
    kinds={"parquet"},
)
def serving_artifacts(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    serving_store: ServingStoreResource,
    trending: pl.DataFrame,
    popular: pl.DataFrame,
    user_recommendations: pl.DataFrame,
) -> dg.MaterializeResult[None]:
    """One new artifact version per tenant that has data: products, lists and daily metrics."""
    tables = {
        "products": warehouse.read_table("products"),
        "daily_metrics": warehouse.read_table("daily_metrics").with_columns(
            pl.col("revenue", "aov").cast(pl.Float64)
        ),
        "trending": trending,
        "popular": popular,
        "recommendations": user_recommendations,
    }
    tenants = sorted(
        set(tables["products"]["tenant_id"].to_list())
        | set(tables["daily_metrics"]["tenant_id"].to_list())
    )
    store = serving_store.store()
    versions: dict[str, str] = {}
    for tenant_id in tenants:
        published = tenant_tables(tables, tenant_id)
        versions[tenant_id] = store.publish(
            tenant_id, published, metadata={"dagster_run_id": context.run.run_id}
        )
        context.log.info(
            f"published {tenant_id} version {versions[tenant_id]}: "
            + ", ".join(f"{name} {table.num_rows}" for name, table in published.items())
        )
    return dg.MaterializeResult(
        metadata={"tenants": len(versions), "versions": dg.MetadataValue.json(versions)}
    )
