"""The pipeline's one call per run: every recommendation table, for every tenant.

``recommendation_tables(interactions, products, as_of=...)`` returns the serving tables
(each with ``tenant_id``; docs/models/recommendations.md has the contract):

- ``recommendations``: user_id, product_id, score, rank, algorithm (``blend``; ``cold_start``
  for identified users the blend had nothing for), after the business filters;
- ``similar_products``: product_id, similar_product_id, score, rank, algorithm (``als`` |
  ``co_purchase`` | ``content``; content covers catalog products nobody touched);
- ``frequently_bought_together``: product_id, other_product_id, orders_together,
  confidence, lift, rank;
- ``cold_start``: context (``all`` | ``category:<c>`` | ``country:<cc>``), product_id, score,
  rank: trending products (7-day half-life) for a new visitor in that context.

Business filters are tenant settings (``TenantOptions``), never defaults: out-of-stock
products (``products.in_stock`` false) are dropped from every personal list, as are
``excluded_categories``; products the user already bought are dropped only for tenants with
``exclude_purchased``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from .als import ALS, als_similar_products
from .blend import Blend, default_sources
from .content import content_similar
from .copurchase import SIMILAR_SCHEMA, co_purchase_similar, frequently_bought_together
from .interactions import prepare_interactions, product_categories, utc_naive
from .protocol import RECOMMENDATION_SCHEMA, top_n, touches
from .weights import PURCHASE_EVENTS

COLD_START_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "context": pl.String(),
    "product_id": pl.String(),
    "score": pl.Float64(),
    "rank": pl.Int32(),
}
COLD_START_HALF_LIFE_DAYS = 7.0


@dataclass(frozen=True)
class TenantOptions:
    """A tenant's recommendation settings (business rules, not model choices)."""

    #: Hide products the user bought before (off by default: repeats may be the best guess).
    exclude_purchased: bool = False
    #: Categories never recommended (e.g. gift cards, age-restricted goods).
    excluded_categories: frozenset[str] = field(default_factory=frozenset)


def recommendation_tables(
    interactions: pl.DataFrame,
    products: pl.DataFrame | None = None,
    *,
    as_of: datetime,
    options: Mapping[str, TenantOptions] | None = None,
    n: int = 20,
    similar_k: int = 20,
) -> dict[str, pl.DataFrame]:
    """All four tables (see the module docstring) from one interactions frame.

    ``products`` (tenant_id, product_id and any of name, category, brand, price, in_stock) adds
    text for the content neighbours, untouched catalog products, and the stock filter.
    """
    moment = utc_naive(as_of)
    frame = prepare_interactions(interactions).filter(pl.col("occurred_at") <= moment)
    settings = options or {}

    blend = Blend(sources=default_sources).fit(frame, as_of=moment)
    als = next((s for s in blend.sources if isinstance(s, ALS)), None)
    users = (
        frame.filter(pl.col("user_id").is_not_null())
        .select("tenant_id", "user_id")
        .unique()
        .sort("tenant_id", "user_id")
    )
    blocked = _blocked(frame, products, users, settings)
    personal = blend.recommend(users, n=n, exclude=blocked)
    cold = cold_start_lists(interactions, as_of=moment, n=n)
    missing = users.join(
        personal.select("tenant_id", "user_id").unique(), on=["tenant_id", "user_id"], how="anti"
    )
    fallback = top_n(
        missing.join(
            cold.filter(pl.col("context") == "all").select("tenant_id", "product_id", "score"),
            on="tenant_id",
        ),
        n=n,
        algorithm="cold_start",
        exclude=blocked,
    )
    recommendations = pl.concat([personal, fallback]).sort("tenant_id", "user_id", "rank")

    similar = [
        co_purchase_similar(frame, top_k=similar_k),
        content_similar(_catalog(frame, products), top_k=similar_k),
    ]
    if als is not None:
        for tenant, model in als.models.items():
            similar.append(
                als_similar_products(model, k=similar_k).with_columns(
                    pl.lit(tenant).alias("tenant_id"), pl.lit("als").alias("algorithm")
                )
            )
    return {
        "recommendations": recommendations.select(list(RECOMMENDATION_SCHEMA)),
        "similar_products": pl.concat([f.select(list(SIMILAR_SCHEMA)) for f in similar]).sort(
            "tenant_id", "algorithm", "product_id", "rank"
        ),
        "frequently_bought_together": frequently_bought_together(frame, top_k=similar_k),
        "cold_start": cold,
    }


def cold_start_lists(interactions: pl.DataFrame, *, as_of: datetime, n: int = 20) -> pl.DataFrame:
    """``COLD_START_SCHEMA``: trending overall, per category and per country (when the frame
    has a ``country`` column) for visitors with no history: what is hot where they are."""
    touched = touches(interactions, as_of, COLD_START_HALF_LIFE_DAYS)
    categories = product_categories(touched)
    scored = touched.group_by("tenant_id", "product_id").agg(pl.col("weight").sum().alias("score"))
    frames = [scored.with_columns(pl.lit("all").alias("context"))]
    frames.append(
        scored.join(categories, on=["tenant_id", "product_id"])
        .filter(pl.col("category").is_not_null())
        .select(
            "tenant_id",
            "product_id",
            "score",
            ("category:" + pl.col("category")).alias("context"),
        )
    )
    if "country" in interactions.columns:
        moment = utc_naive(as_of)
        countries = interactions.filter(
            pl.col("country").is_not_null()
            & (pl.col("occurred_at").cast(pl.Datetime("us")) <= moment)
        )
        if countries.height:
            by_country = (
                touches(countries, moment, COLD_START_HALF_LIFE_DAYS)
                .join(
                    countries.select(
                        "tenant_id", "actor_id", "product_id", "occurred_at", "country"
                    )
                    .with_columns(pl.col("occurred_at").cast(pl.Datetime("us")))
                    .unique(["tenant_id", "actor_id", "product_id", "occurred_at"]),
                    on=["tenant_id", "actor_id", "product_id", "occurred_at"],
                )
                .group_by("tenant_id", "country", "product_id")
                .agg(pl.col("weight").sum().alias("score"))
                .select(
                    "tenant_id",
                    "product_id",
                    "score",
                    ("country:" + pl.col("country")).alias("context"),
                )
            )
            frames.append(by_country)
    return (
        pl.concat([f.select("tenant_id", "context", "product_id", "score") for f in frames])
        .filter(pl.col("score") > 0)
        .with_columns(pl.col("score").round(6))
        .sort(
            ["tenant_id", "context", "score", "product_id"], descending=[False, False, True, False]
        )
        .with_columns(
            (pl.int_range(pl.len()).over("tenant_id", "context") + 1).cast(pl.Int32).alias("rank")
        )
        .filter(pl.col("rank") <= n)
        .select(list(COLD_START_SCHEMA))
    )


def _catalog(frame: pl.DataFrame, products: pl.DataFrame | None) -> pl.DataFrame:
    """Products to describe: the catalog's (with its text) plus any only seen in events."""
    seen = (
        frame.select("tenant_id", "product_id")
        .unique()
        .join(product_categories(frame), on=["tenant_id", "product_id"], how="left")
    )
    if products is None:
        return seen
    catalog = products.with_columns(
        pl.col("tenant_id").cast(pl.String), pl.col("product_id").cast(pl.String)
    )
    return pl.concat(
        [catalog, seen.join(catalog, on=["tenant_id", "product_id"], how="anti")],
        how="diagonal_relaxed",
    )


def _blocked(
    frame: pl.DataFrame,
    products: pl.DataFrame | None,
    users: pl.DataFrame,
    settings: Mapping[str, TenantOptions],
) -> pl.DataFrame:
    """(tenant_id, user_id, product_id) pairs the business filters forbid."""
    keys = {"tenant_id": pl.String(), "user_id": pl.String(), "product_id": pl.String()}
    parts = [pl.DataFrame(schema=keys)]
    catalog = _catalog(frame, products)
    unavailable = pl.DataFrame(schema={"tenant_id": pl.String(), "product_id": pl.String()})
    if products is not None and "in_stock" in products.columns:
        unavailable = products.filter(pl.col("in_stock").eq(False)).select(
            pl.col("tenant_id").cast(pl.String), pl.col("product_id").cast(pl.String)
        )
    excluded = [
        (tenant, category)
        for tenant, option in settings.items()
        for category in option.excluded_categories
    ]
    if excluded:
        banned = pl.DataFrame(excluded, schema=["tenant_id", "category"], orient="row")
        unavailable = pl.concat(
            [
                unavailable,
                catalog.join(banned, on=["tenant_id", "category"]).select(
                    "tenant_id", "product_id"
                ),
            ]
        )
    if unavailable.height:
        parts.append(users.join(unavailable.unique(), on="tenant_id").select(list(keys)))
    purchasers = [tenant for tenant, option in settings.items() if option.exclude_purchased]
    if purchasers:
        parts.append(
            frame.filter(
                pl.col("tenant_id").is_in(purchasers)
                & pl.col("event").is_in(list(PURCHASE_EVENTS))
                & pl.col("actor_id").is_not_null()
            )
            .select("tenant_id", pl.col("actor_id").alias("user_id"), "product_id")
            .unique()
        )
    return pl.concat(parts).unique()
