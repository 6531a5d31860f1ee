"""Personal recommendation lists for identified users: trending, bent toward the user's taste.

The score of product ``i`` for user ``u`` estimates how likely ``i`` is to be ``u``'s next
product, as a mixture of "comes back to something already touched" and "finds something new"::

    score = lam * own_u(i)  +  (1 - lam) * affinity_u(category(i)) * trending_share(i | category)

- ``own_u(i)``: the user's share of recency-weighted interest on ``i`` (0 if never touched).
- ``lam``: how often shoppers of this tenant return to a product on a later day, measured from
  the tenant's own data (see ``revisit_rates``), not a tuning knob. Products the user bought stay
  in the list, scored by this same evidence; hiding them is a tenant setting for the publish
  step, not a modelling decision.
- ``affinity_u(c)``: the user's recency-weighted share of interest in category ``c``, smoothed
  toward the tenant's trending category mix with ``prior_strength`` "views" of pseudo-evidence,
  so a user with one view gets mostly the tenant's trending list (cold start) and a regular gets
  their own categories.
- ``trending_share(i | c)``: ``i``'s share of the trending score of its category.

Each row's ``algorithm`` names the term that contributed most: ``trending_affinity``,
``repurchase`` (the user bought it) or ``revisit`` (touched, not bought).

Only candidates that can reach a user's top ``n`` are materialised: the tenant's overall top
``n`` (enough for every untouched category, whose products all share one multiplier), the top
``n`` of each category the user touched that beat the n-th best of those, and the user's own
products. The result is exactly the full ranking's top ``n`` (the tests compare it with a brute
force) and a million interactions take a few seconds.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from .interactions import prepare_interactions, product_categories, utc_naive
from .weights import PURCHASE_EVENTS, base_weight, decay

#: Scores are probabilities (0..1); rounding before ranking keeps ties stable across row orders.
SCORE_DECIMALS = 9

#: Scores closer than this to a user's floor are kept: equal scores are decided by product_id.
_TIE_TOLERANCE = 1e-9

#: What produced a row, by the term of the score that contributed most (see module docstring).
ALGORITHMS = ("trending_affinity", "repurchase", "revisit")

RECOMMENDATION_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "user_id": pl.String(),
    "product_id": pl.String(),
    "score": pl.Float64(),
    "rank": pl.Int32(),
    "algorithm": pl.String(),
}


def recommend_for_users(
    interactions: pl.DataFrame,
    trending: pl.DataFrame,
    *,
    n: int = 20,
    as_of: datetime | None = None,
    half_life_days: float = 30.0,
    prior_strength: float = 3.0,
) -> pl.DataFrame:
    """Up to ``n`` products for every identified user (``user_id`` not null) of every tenant.

    ``trending`` is ``trending_products``'s output (tenant_id, product_id, category, score).
    ``as_of`` defaults to each tenant's latest interaction, which keeps the result a pure
    function of the data (the same input gives the same output tomorrow); only touches at or
    before it count. ``half_life_days`` is how fast a user's own taste is forgotten, slower than
    trending because a person's taste drifts more slowly than a shop's hot list.

    A user's history includes their anonymous touches once identity stitching linked them
    (rows whose ``actor_id`` is the user's id). Returns tenant_id, user_id, product_id, score,
    rank (1 = best, ties by product_id) and algorithm.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if prior_strength <= 0:
        raise ValueError(f"prior_strength must be positive, got {prior_strength}")
    frame = prepare_interactions(interactions)
    if as_of is None:
        frame = frame.with_columns(pl.col("occurred_at").max().over("tenant_id").alias("as_of"))
    else:
        frame = frame.with_columns(pl.lit(utc_naive(as_of), dtype=pl.Datetime("us")).alias("as_of"))
    frame = frame.filter(pl.col("occurred_at") <= pl.col("as_of")).with_columns(
        (base_weight() * decay(pl.col("as_of"), half_life_days)).alias("weight")
    )
    lam = revisit_rates(frame)

    # Integer ids: joining, grouping and sorting millions of candidate rows on strings is several
    # times slower. Ids follow (tenant_id, name) order, so "ties by product_id" is "ties by pid".
    users = (
        frame.filter(pl.col("user_id").is_not_null())
        .select("tenant_id", "user_id")
        .unique()
        .sort("tenant_id", "user_id")
        .with_row_index("uid")
    )
    products = _products(frame, trending)
    history = (
        frame.with_columns(pl.coalesce("user_id", "actor_id").alias("user_id"))
        .join(users, on=["tenant_id", "user_id"], how="inner")
        .join(products.select("tenant_id", "product_id", "pid"), on=["tenant_id", "product_id"])
        .group_by("uid", "pid")
        .agg(
            pl.col("tenant_id").first(),
            pl.col("weight").sum().clip(lower_bound=0.0).alias("weight"),
            pl.col("event").is_in(list(PURCHASE_EVENTS)).any().alias("bought"),
        )
        .join(products.select("pid", "cid"), on="pid")
    )
    per_user = (
        users.join(
            history.group_by("uid").agg(pl.col("weight").sum().alias("user_weight")),
            on="uid",
            how="left",
        )
        .join(lam, on="tenant_id", how="left")
        .select(
            "uid",
            "tenant_id",
            # A user whose every touch was taken back gets the cold-start mix.
            pl.col("user_weight").fill_null(0.0),
            pl.col("lam").fill_null(0.0),
        )
    )
    affinity = history.group_by("uid", "cid").agg(
        pl.col("tenant_id").first(), pl.col("weight").sum().alias("category_weight")
    )
    trend = products.filter(pl.col("rank").is_not_null())
    in_overall_top = pl.col("rank") <= n
    in_category_top = pl.col("category_rank") <= n
    trend_features = ["pid", "cid", "item_share", "category_share"]

    trend_score = (
        (1.0 - pl.col("lam"))
        * (pl.col("category_weight") + prior_strength * pl.col("category_share"))
        / (pl.col("user_weight") + prior_strength)
        * pl.col("item_share")
    ).alias("trend_score")

    # Candidates come in three disjoint sets, so no de-duplication pass over millions of rows is
    # needed. (1) The tenant's overall top n for every user: enough for all the categories the
    # user never touched, whose products share one multiplier.
    broad = (
        per_user.join(
            trend.filter(in_overall_top).select("tenant_id", *trend_features), on="tenant_id"
        )
        .join(affinity.select("uid", "cid", "category_weight"), on=["uid", "cid"], how="left")
        .with_columns(pl.col("category_weight").fill_null(0.0))
        .with_columns(trend_score)
    )
    # The user's n-th best score in (1) is a floor for their final n-th best: a row of (2)
    # below it can never make the list, so it is dropped before the expensive sort.
    floor = broad.group_by("uid").agg(
        pl.when(pl.len() >= n).then(pl.col("trend_score").min()).otherwise(0.0).alias("floor")
    )
    # (2) The top n of each category the user touched, minus those already in (1).
    focused = (
        affinity.join(
            trend.filter(~in_overall_top & in_category_top).select("tenant_id", *trend_features),
            on=["tenant_id", "cid"],
        )
        .join(per_user.select("uid", "user_weight", "lam"), on="uid")
        .with_columns(trend_score)
        .join(floor, on="uid", how="left")
        .filter(pl.col("trend_score") >= pl.col("floor").fill_null(0.0) - _TIE_TOLERANCE)
    )
    # (3) The user's own products; they replace their rows in (1) and (2).
    own = (
        history.filter(pl.col("weight") > 0)
        .join(per_user.select("uid", "user_weight", "lam"), on="uid")
        .join(
            products.select("pid", "item_share", "category_share", "rank", "category_rank"),
            on="pid",
        )
        .join(affinity.select("uid", "cid", "category_weight"), on=["uid", "cid"])
        .with_columns(
            pl.col("item_share").fill_null(0.0),
            pl.col("category_share").fill_null(0.0),
            _pair_key(),
        )
        .with_columns(
            trend_score,
            # weight > 0 here, so user_weight > 0.
            (pl.col("lam") * pl.col("weight") / pl.col("user_weight")).alias("own_score"),
        )
    )
    trend_only = (
        pl.concat(
            [
                broad.select("uid", "pid", "trend_score"),
                focused.select("uid", "pid", "trend_score"),
            ]
        )
        .with_columns(_pair_key())
        .join(own.filter((in_overall_top | in_category_top).fill_null(False)), on="key", how="anti")
        .select(
            "uid",
            "pid",
            "trend_score",
            pl.lit(0.0).alias("own_score"),
            pl.lit(False).alias("bought"),
        )
    )
    scored = (
        pl.concat([trend_only, own.select(trend_only.columns)])
        .select(
            "uid",
            "pid",
            (pl.col("trend_score") + pl.col("own_score")).round(SCORE_DECIMALS).alias("score"),
            pl.when(pl.col("own_score") <= pl.col("trend_score"))
            .then(pl.lit(0, dtype=pl.UInt8))
            .when(pl.col("bought"))
            .then(pl.lit(1, dtype=pl.UInt8))
            .otherwise(pl.lit(2, dtype=pl.UInt8))
            .alias("algorithm"),
        )
        .filter(pl.col("score") > 0)
    )
    top = (
        scored.sort(["uid", "score", "pid"], descending=[False, True, False])
        .with_columns((pl.int_range(pl.len()).over("uid") + 1).cast(pl.Int32).alias("rank"))
        .filter(pl.col("rank") <= n)
    )
    return (
        top.join(users, on="uid")
        .join(products.select("pid", "product_id"), on="pid")
        .sort("uid", "rank")
        .with_columns(
            pl.col("algorithm").replace_strict(dict(enumerate(ALGORITHMS)), return_dtype=pl.String)
        )
        .select(list(RECOMMENDATION_SCHEMA))
    )


def _pair_key() -> pl.Expr:
    """(uid, pid) packed into one integer: a single-column join is much cheaper than two."""
    return (pl.col("uid").cast(pl.UInt64) * (1 << 32) + pl.col("pid").cast(pl.UInt64)).alias("key")


def revisit_rates(frame: pl.DataFrame) -> pl.DataFrame:
    """Per tenant, the share of (actor, product, day) touches that return to a product the actor
    touched on an earlier day: how much of tomorrow's interest goes to things already seen.

    Days, not rows, because the funnel steps of one visit (view, add, checkout) are one decision;
    all actors count, anonymous ones too. Returns tenant_id, lam (0..1).
    """
    days = (
        frame.filter(pl.col("weight") > 0)
        .select("tenant_id", "actor_id", "product_id", pl.col("occurred_at").dt.date().alias("day"))
        .unique()
    )
    return days.group_by("tenant_id").agg(
        ((pl.len() - pl.struct("actor_id", "product_id").n_unique()) / pl.len()).alias("lam")
    )


def _products(frame: pl.DataFrame, trending: pl.DataFrame) -> pl.DataFrame:
    """Every product of the interactions or trending, with an integer ``pid`` and its trend.

    ``pid`` follows (tenant_id, product_id) order, so "ties by product_id" is "ties by pid";
    ``cid`` numbers the (tenant_id, category) pairs (a missing category is a category too).
    A trending product's category is the one trending published; otherwise the latest seen.
    Trending columns (null when not trending): rank and category_rank (recomputed here, so
    ``popular`` or a hand-made frame without ``category_rank`` works as ``trending`` too),
    item_share (its share of its category's trending score) and category_share (its category's
    share of the tenant's).
    """
    trend = (
        trending.select(
            pl.col("tenant_id").cast(pl.String),
            pl.col("product_id").cast(pl.String),
            pl.col("category").cast(pl.String).alias("trend_category"),
            pl.col("score").cast(pl.Float64),
        )
        .filter(pl.col("score") > 0)
        .unique(["tenant_id", "product_id"], keep="first", maintain_order=True)
        .sort(["tenant_id", "score", "product_id"], descending=[False, True, False])
        .with_columns(
            (pl.col("score") / pl.col("score").sum().over("tenant_id", "trend_category")).alias(
                "item_share"
            ),
            (
                pl.col("score").sum().over("tenant_id", "trend_category")
                / pl.col("score").sum().over("tenant_id")
            ).alias("category_share"),
            (pl.int_range(pl.len()).over("tenant_id") + 1).alias("rank"),
            (pl.int_range(pl.len()).over("tenant_id", "trend_category") + 1).alias("category_rank"),
        )
    )
    seen = frame.select("tenant_id", "product_id").unique()
    return (
        pl.concat([seen, trend.select("tenant_id", "product_id")])
        .unique()
        .join(product_categories(frame), on=["tenant_id", "product_id"], how="left")
        .join(trend, on=["tenant_id", "product_id"], how="left")
        .with_columns(
            pl.when(pl.col("score").is_not_null())
            .then(pl.col("trend_category"))
            .otherwise(pl.col("category"))
            .alias("category")
        )
        .drop("trend_category", "score")
        .sort("tenant_id", "product_id")
        .with_row_index("pid")
        .with_columns(pl.struct("tenant_id", "category").rank("dense").alias("cid"))
    )
