"""Frequently bought together, and similar products by co-purchase, from orders.

An order is the products of one ``Order Completed``: the rows of one person with the same
``order_id`` when the frame has that column, else the same person and ``occurred_at`` (all the
products of one order event share its timestamp in ``int_product_interactions``).

For products ``a`` and ``b`` over a tenant's ``N`` orders:

- ``orders_together`` = orders containing both;
- ``confidence`` = orders_together / orders containing ``a`` (P(b in order | a in order));
- ``lift`` = confidence / (orders containing ``b`` / N): how much more often than chance. A
  lift near 1 means ``b`` is just popular; bestsellers get confidence without lift.

``frequently_bought_together`` ranks each product's partners by confidence, then lift, and
keeps pairs seen in at least ``min_orders`` orders (one shared order is an anecdote).
``co_purchase_similar`` does the same over people instead of orders ("bought by the same
people", any time), ranked by lift: similar taste rather than complementary items.

Assumes orders are independent baskets and that a pair's past rate is its future rate; with
few orders, confidence is noisy, hence ``min_orders``.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from .interactions import prepare_interactions, utc_naive
from .weights import PURCHASE_EVENTS

FBT_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "product_id": pl.String(),
    "other_product_id": pl.String(),
    "orders_together": pl.Int64(),
    "confidence": pl.Float64(),
    "lift": pl.Float64(),
    "rank": pl.Int32(),
}
SIMILAR_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "product_id": pl.String(),
    "similar_product_id": pl.String(),
    "score": pl.Float64(),
    "rank": pl.Int32(),
    "algorithm": pl.String(),
}


def _baskets(interactions: pl.DataFrame, as_of: datetime | None, by_person: bool) -> pl.DataFrame:
    """tenant_id, basket (an id), product_id: one row per product in each basket."""
    frame = prepare_interactions(interactions)
    if "order_id" in interactions.columns:
        frame = frame.with_columns(
            interactions.filter(
                pl.col("product_id").is_not_null() & pl.col("tenant_id").is_not_null()
            )["order_id"].cast(pl.String)
        )
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("order_id"))
    if as_of is not None:
        frame = frame.filter(pl.col("occurred_at") <= utc_naive(as_of))
    bought = frame.filter(
        pl.col("event").is_in(list(PURCHASE_EVENTS)) & pl.col("actor_id").is_not_null()
    )
    basket = (
        pl.col("actor_id")
        if by_person
        else pl.concat_str(
            pl.col("actor_id"),
            pl.coalesce(pl.col("order_id"), pl.col("occurred_at").cast(pl.String)),
            separator="\x1f",
        )
    )
    return bought.select("tenant_id", basket.alias("basket"), "product_id").unique()


def _pairs(baskets: pl.DataFrame, min_together: int) -> pl.DataFrame:
    """Pair counts with confidence and lift (both directions)."""
    totals = baskets.group_by("tenant_id").agg(pl.col("basket").n_unique().alias("baskets"))
    counts = baskets.group_by("tenant_id", "product_id").agg(pl.len().alias("count"))
    pairs = (
        baskets.join(baskets, on=["tenant_id", "basket"], suffix="_other")
        .filter(pl.col("product_id") != pl.col("product_id_other"))
        .group_by("tenant_id", "product_id", pl.col("product_id_other").alias("other_product_id"))
        .agg(pl.len().cast(pl.Int64).alias("orders_together"))
        .filter(pl.col("orders_together") >= min_together)
    )
    return (
        pairs.join(counts, on=["tenant_id", "product_id"])
        .join(
            counts.rename({"product_id": "other_product_id", "count": "other_count"}),
            on=["tenant_id", "other_product_id"],
        )
        .join(totals, on="tenant_id")
        .with_columns((pl.col("orders_together") / pl.col("count")).alias("confidence"))
        .with_columns(
            (pl.col("confidence") / (pl.col("other_count") / pl.col("baskets"))).alias("lift")
        )
    )


def frequently_bought_together(
    interactions: pl.DataFrame,
    *,
    as_of: datetime | None = None,
    min_orders: int = 2,
    top_k: int = 20,
) -> pl.DataFrame:
    """``FBT_SCHEMA``: each product's top ``top_k`` partners in the same order."""
    pairs = _pairs(_baskets(interactions, as_of, by_person=False), min_orders)
    return (
        pairs.with_columns(pl.col("confidence").round(6), pl.col("lift").round(6))
        .sort(
            ["tenant_id", "product_id", "confidence", "lift", "other_product_id"],
            descending=[False, False, True, True, False],
        )
        .with_columns(
            (pl.int_range(pl.len()).over("tenant_id", "product_id") + 1)
            .cast(pl.Int32)
            .alias("rank")
        )
        .filter(pl.col("rank") <= top_k)
        .select(list(FBT_SCHEMA))
    )


def co_purchase_similar(
    interactions: pl.DataFrame,
    *,
    as_of: datetime | None = None,
    min_people: int = 2,
    top_k: int = 20,
) -> pl.DataFrame:
    """``SIMILAR_SCHEMA`` rows (algorithm ``co_purchase``): bought by the same people, by lift."""
    pairs = _pairs(_baskets(interactions, as_of, by_person=True), min_people)
    return (
        pairs.select(
            "tenant_id",
            "product_id",
            pl.col("other_product_id").alias("similar_product_id"),
            pl.col("lift").round(6).alias("score"),
        )
        .sort(
            ["tenant_id", "product_id", "score", "similar_product_id"],
            descending=[False, False, True, False],
        )
        .with_columns(
            (pl.int_range(pl.len()).over("tenant_id", "product_id") + 1)
            .cast(pl.Int32)
            .alias("rank"),
            pl.lit("co_purchase").alias("algorithm"),
        )
        .filter(pl.col("rank") <= top_k)
        .select(list(SIMILAR_SCHEMA))
    )
