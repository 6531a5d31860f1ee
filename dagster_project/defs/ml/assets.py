"""ML assets: thin wrappers over ``ml_assets`` (a plain library that knows no Dagster).

The warehouse reads (``product_interactions``, ``order_history``, ``session_history``) each open
the warehouse once; every model downstream takes those frames, so only those steps ever hold the
DuckDB file, and only while they read.

- Recommendations: ``recommendation_tables`` (one multi-asset: the blend's per-user lists,
  similar products, frequently bought together, cold-start lists), plus ``trending`` and
  ``popular``.
- Customers: ``customer_models`` trains, evaluates and registers churn and lifetime-value models
  per tenant when they are due (weekly; ``force`` retrains now) and shows their metrics and input
  drift as metadata; ``customer_scores`` scores every customer with the registry's ACTIVE
  versions, so a rejected candidate is never published.
- Stock: ``demand_forecast`` (daily units per product, Prophet for the best sellers),
  ``category_demand_forecast``, ``reorder_suggestions``.
"""

import time
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import polars as pl

from intellishop.commands.models import open_registry
from ml_assets.churn.evaluate import DEFAULT_HORIZON_DAYS
from ml_assets.churn.publish import SCORES_SCHEMA
from ml_assets.churn.publish import customer_scores as score_customers
from ml_assets.inventory.publish import reorder_suggestions as reorder_policy
from ml_assets.recommend.interactions import INTERACTION_SCHEMA, latest_touch
from ml_assets.recommend.tables import recommendation_tables
from ml_assets.recommend.trending import popular_products, trending_products
from ml_assets.retraining import (
    RETRAIN_AFTER,
    TenantRetraining,
    active_customer_models,
    retrain_customer_models,
)

from ...preview import markdown_preview
from ...resources import SettingsResource, WarehouseResource
from .forecasting import forecast_level, product_demand

#: Products kept per tenant (and per category) in the trending and popular lists.
TOP_N = 100
#: Recommendations kept per identified user, and neighbours kept per product.
RECOMMENDATIONS_PER_USER = 20
SIMILAR_PER_PRODUCT = 20
#: ``int_orders`` columns the customer models read (the optional ones guard against leakage:
#: a refund counts in a feature only once it was known, see ``ml_assets.features.frames``).
ORDER_COLUMNS = [
    "tenant_id", "order_id", "actor_id", "user_id", "ordered_at", "gross_revenue",
    "refunded_amount", "last_refunded_at", "cancelled_at", "coupon", "net_revenue", "currency",
]  # fmt: skip
SESSION_COLUMNS = ["tenant_id", "actor_id", "user_id", "session_number", "started_at"]
#: The ``products`` mart's columns the content recommender reads.
PRODUCT_COLUMNS = ["tenant_id", "product_id", "name", "category", "brand", "price"]


# --------------------------------------------------------------------------- warehouse reads


@dg.asset(
    group_name="ml",
    deps=[dg.AssetKey("int_product_interactions")],
    kinds={"polars"},
)
def product_interactions(warehouse: WarehouseResource) -> pl.DataFrame:
    """Every product touch (view, add, order, ...) of every tenant, from the warehouse."""
    return warehouse.read_table("int_product_interactions", list(INTERACTION_SCHEMA))


@dg.asset(group_name="ml", deps=[dg.AssetKey("int_orders")], kinds={"polars"})
def order_history(warehouse: WarehouseResource) -> pl.DataFrame:
    """Every order of every tenant (``int_orders``): what the churn and CLV models learn from."""
    return warehouse.read_table("int_orders", ORDER_COLUMNS)


@dg.asset(group_name="ml", deps=[dg.AssetKey("int_sessions")], kinds={"polars"})
def session_history(warehouse: WarehouseResource) -> pl.DataFrame:
    """Every visit of every tenant (``int_sessions``): the churn model's activity features."""
    return warehouse.read_table("int_sessions", SESSION_COLUMNS)


# --------------------------------------------------------------------------- recommendations


@dg.asset(group_name="ml", kinds={"polars"})
def trending(
    context: dg.AssetExecutionContext,
    settings: SettingsResource,
    product_interactions: pl.DataFrame,
) -> pl.DataFrame:
    """Products with the most recent interest per tenant, time-decayed.

    A touch ``INTELLISHOP_TRENDING_HALF_LIFE_DAYS`` old (default 7: a shop's hot list moves in
    about a week) counts half.
    """
    frame = trending_products(
        product_interactions,
        as_of=datetime.now(UTC),
        half_life_days=settings.get().trending_half_life_days,
        top_n=TOP_N,
    )
    context.add_output_metadata({"rows": frame.height, "tenants": frame["tenant_id"].n_unique()})
    return frame


@dg.asset(group_name="ml", kinds={"polars"})
def popular(context: dg.AssetExecutionContext, product_interactions: pl.DataFrame) -> pl.DataFrame:
    """All-time most wanted products per tenant: the cold-start fallback."""
    frame = popular_products(product_interactions, top_n=TOP_N)
    context.add_output_metadata({"rows": frame.height})
    return frame


def read_products(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> pl.DataFrame | None:
    """The ``products`` mart (names, categories, brands, prices), or None when it cannot be read.

    Recommendations must not fail for want of catalog text: without it the content neighbours
    use the categories seen in events, and untouched catalog products get no neighbours.
    """
    try:
        return warehouse.read_table("products", PRODUCT_COLUMNS)
    except Exception as exc:  # any backend's "no such table": tolerated by design
        context.log.warning(f"products mart unreadable, recommending without it: {exc}")
        return None


@dg.multi_asset(
    group_name="ml",
    deps=[dg.AssetKey("products")],
    outs={
        "user_recommendations": dg.AssetOut(
            kinds={"polars"},
            description="Up to 20 products per identified user: the blend, after the filters.",
        ),
        "similar_products": dg.AssetOut(
            kinds={"polars"},
            description="Neighbours per product: ALS factors, co-purchase and content (TF-IDF).",
        ),
        "frequently_bought_together": dg.AssetOut(
            kinds={"polars"}, description="Products in the same orders: confidence and lift."
        ),
        "cold_start_lists": dg.AssetOut(
            kinds={"polars"},
            description="What a new visitor sees: trending overall, per category, per country.",
        ),
    },
)
def recommendation_tables_assets(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    product_interactions: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Every recommendation table in one step: the blend fits its sources (ALS among them) once,
    and the similar-products table reuses those ALS factors. They are computed as of the latest
    touch, so a run over unchanged events publishes the same lists."""
    started = time.perf_counter()
    tables = recommendation_tables(
        product_interactions,
        read_products(context, warehouse),
        as_of=latest_touch(product_interactions, now=datetime.now(UTC)),
        n=RECOMMENDATIONS_PER_USER,
        similar_k=SIMILAR_PER_PRODUCT,
    )  # options={tenant: TenantOptions(...)} once tenants have these settings
    context.log.info(f"recommendation tables in {time.perf_counter() - started:.1f} s")
    outputs = {
        "user_recommendations": tables["recommendations"],
        "similar_products": tables["similar_products"],
        "frequently_bought_together": tables["frequently_bought_together"],
        "cold_start_lists": tables["cold_start"],
    }
    for name, frame in outputs.items():
        context.add_output_metadata(
            {"dagster/row_count": frame.height, "tenants": frame["tenant_id"].n_unique()},
            output_name=name,
        )
    return (
        outputs["user_recommendations"],
        outputs["similar_products"],
        outputs["frequently_bought_together"],
        outputs["cold_start_lists"],
    )


#: The name ``definitions.py`` imported before the multi-asset existed.
user_recommendations = recommendation_tables_assets


# --------------------------------------------------------------------------- customer models


class RetrainingConfig(dg.Config):
    """Run config of ``customer_models``."""

    #: Retrain every tenant now, whatever the age of its models (the weekly schedule sets it).
    force: bool = False


#: Columns of the ``customer_models`` output: one row per tenant and kind in this run.
MODEL_RUN_SCHEMA = {
    "tenant_id": pl.String,
    "kind": pl.String,
    "retrained": pl.Boolean,
    "version": pl.Int64,
    "status": pl.String,
    "promoted": pl.Boolean,
    "champion_version": pl.Int64,
    "max_psi": pl.Float64,
    "note": pl.String,
}


def retraining_frame(summaries: list[TenantRetraining]) -> pl.DataFrame:
    """``MODEL_RUN_SCHEMA`` rows: what each tenant's run did, for the UI and downstream."""
    rows: list[dict[str, Any]] = []
    for summary in summaries:
        if not summary.retrained:
            rows.append(
                {"tenant_id": summary.tenant_id, "retrained": False, "note": summary.reason}
            )
            continue
        for kind, outcome in summary.outcomes.items():
            rows.append(
                {
                    "tenant_id": summary.tenant_id,
                    "kind": kind,
                    "retrained": outcome.version is not None,
                    "version": outcome.version,
                    "status": outcome.status,
                    "promoted": outcome.promoted,
                    "champion_version": outcome.champion_version,
                    "max_psi": outcome.max_psi,
                    "note": outcome.skipped or outcome.reason,
                }
            )
    return pl.DataFrame(rows, schema=MODEL_RUN_SCHEMA)


def retraining_metadata(summaries: list[TenantRetraining]) -> dict[str, Any]:
    """Per tenant, ``<tenant>/<metric>`` numbers: Dagster plots each across materializations,
    which is the models' metric history; ``<tenant>/drift`` holds every feature's PSI."""
    metadata: dict[str, Any] = {
        "tenants_retrained": sum(s.retrained for s in summaries),
        "tenants_skipped": sum(not s.retrained for s in summaries),
    }
    for summary in summaries:
        churn, clv = summary.outcomes.get("churn"), summary.outcomes.get("clv")
        prefix = summary.tenant_id
        if churn is not None and churn.version is not None:
            for name in ("auc", "auc_recency", "auc_rfm_logistic", "brier_calibrated"):
                metadata[f"{prefix}/{name}"] = churn.metrics[name]
            if "auc" in churn.champion_metrics:
                metadata[f"{prefix}/champion_auc"] = churn.champion_metrics["auc"]
            metadata[f"{prefix}/churn_model_version"] = churn.version
            metadata[f"{prefix}/churn_promoted"] = churn.promoted
            if churn.max_psi is not None:
                metadata[f"{prefix}/max_psi"] = churn.max_psi
            metadata[f"{prefix}/drift"] = dg.MetadataValue.json(churn.drift)
        if clv is not None and clv.version is not None:
            metadata[f"{prefix}/clv_purchases_error"] = clv.metrics["purchases_error"]
            metadata[f"{prefix}/clv_naive_purchases_error"] = clv.metrics["naive_purchases_error"]
            metadata[f"{prefix}/clv_purchases_mae"] = clv.metrics["purchases_mae"]
            metadata[f"{prefix}/clv_naive_purchases_mae"] = clv.metrics["naive_purchases_mae"]
            metadata[f"{prefix}/clv_model_version"] = clv.version
            metadata[f"{prefix}/clv_promoted"] = clv.promoted
            metadata[f"{prefix}/clv_drift"] = dg.MetadataValue.json(clv.drift)
    return metadata


@dg.asset(group_name="ml", kinds={"xgboost"})
def customer_models(
    context: dg.AssetExecutionContext,
    config: RetrainingConfig,
    settings: SettingsResource,
    order_history: pl.DataFrame,
    session_history: pl.DataFrame,
    product_interactions: pl.DataFrame,
) -> pl.DataFrame:
    """Churn and lifetime-value models per tenant: trained when due, registered, promoted only
    when at least as good as the active version on the same holdout.

    A tenant is due when its newest registered model is older than 7 days or it has none; other
    runs (hourly, daily) only check and move on, so this step is cheap outside the weekly run.
    """
    started = time.perf_counter()
    summaries = retrain_customer_models(
        open_registry(settings.get()),
        order_history,
        as_of=datetime.now(UTC),
        interactions=product_interactions,
        sessions=session_history,
        force=config.force,
        max_age=RETRAIN_AFTER,
    )
    for summary in summaries:
        if not summary.retrained:
            context.log.info(f"{summary.tenant_id}: not retrained ({summary.reason})")
            continue
        for kind, outcome in summary.outcomes.items():
            if outcome.skipped:
                context.log.warning(f"{summary.tenant_id}/{kind} skipped: {outcome.skipped}")
            else:
                context.log.info(
                    f"{summary.tenant_id}/{kind} v{outcome.version} {outcome.status}: "
                    f"{outcome.reason}"
                )
    frame = retraining_frame(summaries)
    context.add_output_metadata(
        {
            **retraining_metadata(summaries),
            "seconds": round(time.perf_counter() - started, 2),
            "runs": dg.MetadataValue.md(markdown_preview(frame, rows=50)),
        }
    )
    return frame


@dg.asset(group_name="ml", kinds={"xgboost"})
def customer_scores(
    context: dg.AssetExecutionContext,
    settings: SettingsResource,
    customer_models: pl.DataFrame,
    order_history: pl.DataFrame,
    session_history: pl.DataFrame,
    product_interactions: pl.DataFrame,
) -> pl.DataFrame:
    """Churn probability with its top reasons, 12-month value and 90-day purchases per customer,
    from each tenant's ACTIVE registry versions (a rejected candidate is never published; a
    tenant without one gets nulls, never another tenant's numbers)."""
    tenants = sorted(order_history["tenant_id"].drop_nulls().unique().to_list())
    models, versions = active_customer_models(open_registry(settings.get()), tenants)
    frame = score_customers(
        order_history,
        as_of=datetime.now(UTC),
        interactions=product_interactions,
        sessions=session_history,
        models=models,
        model_versions=versions,
        horizon_days=DEFAULT_HORIZON_DAYS,
    )
    context.add_output_metadata(
        {
            "dagster/row_count": frame.height,
            "model_versions": dg.MetadataValue.json(versions),
            "scored_by_tenant": dg.MetadataValue.json(
                dict(frame.group_by("tenant_id").len().sort("tenant_id").iter_rows())
            ),
        }
    )
    return frame.select(list(SCORES_SCHEMA))


# --------------------------------------------------------------------------- demand and stock


class ForecastConfig(dg.Config):
    """Run config of the demand forecasts (see ``forecasting``)."""

    #: Days forecast from today.
    horizon_days: int = 28
    #: Prophet for at most this many best-selling products per tenant; the rest seasonal naive.
    prophet_max_series: int = 10
    #: The same cap for categories; None (the default): the library's rule alone decides.
    category_prophet_max_series: int | None = None
    #: Processes for Prophet (spawned). 1 on shared machines; 2+ from a few hundred series.
    n_jobs: int = 1


def forecast_metadata(forecast: pl.DataFrame, seconds: float) -> dict[str, Any]:
    """Series per method and the step's time: the number to watch when catalogs grow."""
    methods = forecast.select("tenant_id", "series", "method").unique()
    return {
        "dagster/row_count": forecast.height,
        "series": methods.height,
        "series_by_method": dg.MetadataValue.json(
            dict(methods.group_by("method").len().sort("method").iter_rows())
        ),
        "seconds": round(seconds, 2),
    }


@dg.asset(group_name="ml", kinds={"prophet"})
def demand_forecast(
    context: dg.AssetExecutionContext, config: ForecastConfig, product_interactions: pl.DataFrame
) -> pl.DataFrame:
    """Units per day per product for the next ``horizon_days``, with 80 % intervals."""
    started = time.perf_counter()
    forecast = forecast_level(
        product_interactions,
        as_of=datetime.now(UTC),
        level="product",
        horizon_days=config.horizon_days,
        prophet_max_series=config.prophet_max_series,
        n_jobs=config.n_jobs,
    )
    context.add_output_metadata(forecast_metadata(forecast, time.perf_counter() - started))
    return product_demand(forecast)


@dg.asset(group_name="ml", kinds={"prophet"})
def category_demand_forecast(
    context: dg.AssetExecutionContext, config: ForecastConfig, product_interactions: pl.DataFrame
) -> pl.DataFrame:
    """Units per day per category (tenant_id, category, forecast_date, yhat, yhat_lower,
    yhat_upper, method): the smoother series merchants plan purchasing budgets with."""
    started = time.perf_counter()
    forecast = forecast_level(
        product_interactions,
        as_of=datetime.now(UTC),
        level="category",
        horizon_days=config.horizon_days,
        prophet_max_series=config.category_prophet_max_series,
        n_jobs=config.n_jobs,
    )
    context.add_output_metadata(forecast_metadata(forecast, time.perf_counter() - started))
    return forecast.rename({"series": "category"})


@dg.asset(group_name="ml", kinds={"polars"})
def reorder_suggestions(
    context: dg.AssetExecutionContext, demand_forecast: pl.DataFrame
) -> pl.DataFrame:
    """Safety stock, reorder point and order quantity per product: 7-day lead time, 95 %
    service level (per-product lead times and stock come in when a catalog carries them)."""
    frame = reorder_policy(demand_forecast, lead_time_days=7.0, service_level=0.95)
    context.add_output_metadata(
        {
            "dagster/row_count": frame.height,
            "top_orders": dg.MetadataValue.md(
                markdown_preview(frame.sort("suggested_order_qty", descending=True), rows=10)
            ),
        }
    )
    return frame
