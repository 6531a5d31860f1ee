"""Recommendation assets: thin wrappers over ``ml_assets.recommend`` (which knows no Dagster).

``product_interactions`` reads the warehouse once; the models downstream take that frame, so
only one step ever opens the warehouse and the ML steps can run while others read artifacts.
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from ml_assets.recommend.interactions import INTERACTION_SCHEMA
from ml_assets.recommend.personal import recommend_for_users
from ml_assets.recommend.trending import popular_products, trending_products

from ...resources import SettingsResource, WarehouseResource

#: Products kept per tenant (and per category) in the trending and popular lists.
TOP_N = 100
#: Recommendations kept per identified user.
RECOMMENDATIONS_PER_USER = 20


@dg.asset(
    group_name="ml",
    deps=[dg.AssetKey("int_product_interactions")],
    kinds={"polars"},
)
def product_interactions(warehouse: WarehouseResource) -> pl.DataFrame:
    """Every product touch (view, add, order, ...) of every tenant, from the warehouse."""
    return warehouse.read_table("int_product_interactions", list(INTERACTION_SCHEMA))


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


@dg.asset(group_name="ml", kinds={"polars"})
def user_recommendations(
    context: dg.AssetExecutionContext, product_interactions: pl.DataFrame, trending: pl.DataFrame
) -> pl.DataFrame:
    """Up to 20 products per identified user: their own taste, bent toward what is trending."""
    frame = recommend_for_users(product_interactions, trending, n=RECOMMENDATIONS_PER_USER)
    context.add_output_metadata(
        {"rows": frame.height, "users": frame.select("tenant_id", "user_id").n_unique()}
    )
    return frame
