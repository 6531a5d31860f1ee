"""Trending (recent, time-decayed) and popular (all-time) products per tenant.

Both rank products by summed event weights (see ``weights``); trending multiplies each touch by
``0.5 ** (age_days / half_life_days)`` so a touch one half-life old counts half. Scores are in
"fresh product views": a score of 12 is as much interest as twelve views right at ``as_of``.

Ties are broken by ``product_id`` so that the same input always gives the same ranks.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from .interactions import prepare_interactions, product_categories, utc_naive
from .weights import base_weight, decay

#: Scores are rounded to this many decimals before ranking: float sums in a different row order
#: differ in the last bits, and without rounding that could swap two equally hot products.
SCORE_DECIMALS = 6

TRENDING_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "product_id": pl.String(),
    "category": pl.String(),
    "score": pl.Float64(),
    "rank": pl.Int32(),
    "category_rank": pl.Int32(),
}
POPULAR_SCHEMA: dict[str, pl.DataType] = {
    name: dtype for name, dtype in TRENDING_SCHEMA.items() if name != "category_rank"
}


def trending_products(
    interactions: pl.DataFrame,
    *,
    as_of: datetime,
    half_life_days: float,
    top_n: int = 100,
) -> pl.DataFrame:
    """Products with the most recent interest, per tenant.

    Only touches at or before ``as_of`` count, so a back-test at a past ``as_of`` cannot see the
    future. Returns tenant_id, product_id, category, score, rank (1 = hottest in the tenant) and
    category_rank (1 = hottest in its category). A row is kept when it is in the tenant's top
    ``top_n`` *or* its category's top ``top_n``, so a "trending in category X" question has an
    answer even for categories that never reach the overall top. Products whose interest was
    fully taken back (net score <= 0) are left out.
    """
    frame = prepare_interactions(interactions)
    as_of = utc_naive(as_of)
    scored = (
        frame.filter(pl.col("occurred_at") <= as_of)
        .group_by("tenant_id", "product_id")
        .agg((base_weight() * decay(as_of, half_life_days)).sum().alias("score"))
    )
    ranked = _rank(scored, product_categories(frame), with_category_rank=True)
    return ranked.filter((pl.col("rank") <= top_n) | (pl.col("category_rank") <= top_n)).select(
        list(TRENDING_SCHEMA)
    )


def popular_products(interactions: pl.DataFrame, *, top_n: int = 100) -> pl.DataFrame:
    """All-time weighted interest per tenant: the fallback when there is nothing recent.

    Returns tenant_id, product_id, category, score, rank (top ``top_n`` per tenant).
    """
    frame = prepare_interactions(interactions)
    scored = frame.group_by("tenant_id", "product_id").agg(base_weight().sum().alias("score"))
    ranked = _rank(scored, product_categories(frame), with_category_rank=False)
    return ranked.filter(pl.col("rank") <= top_n).select(list(POPULAR_SCHEMA))


def _rank(
    scored: pl.DataFrame, categories: pl.DataFrame, *, with_category_rank: bool
) -> pl.DataFrame:
    """Dense 1..k ranks per tenant (and per category) by score, then product_id."""
    frame = (
        scored.with_columns(pl.col("score").round(SCORE_DECIMALS))
        .filter(pl.col("score") > 0)
        .join(categories, on=["tenant_id", "product_id"], how="left")
        .sort(["tenant_id", "score", "product_id"], descending=[False, True, False])
        .with_columns((pl.int_range(pl.len()).over("tenant_id") + 1).cast(pl.Int32).alias("rank"))
    )
    if with_category_rank:
        # Rows are already in (score desc, product_id) order within each tenant.
        frame = frame.with_columns(
            (pl.int_range(pl.len()).over("tenant_id", "category") + 1)
            .cast(pl.Int32)
            .alias("category_rank")
        )
    return frame
