"""The one interface every personal recommender implements, and the helpers they share.

A recommender is fitted on an ``int_product_interactions`` frame (all tenants at once) with an
explicit ``as_of``: only touches at or before it are read, so a back-test at a past ``as_of``
cannot see the future. It then answers for a frame of (tenant_id, user_id) pairs with up to
``n`` products each, leaving out an optional per-user exclude set, in the ``recommendations``
shape (tenant_id, user_id, product_id, score, rank, algorithm).

A "user" is the stitched person, ``actor_id`` in the contract: for an identified user it equals
``user_id``, and their anonymous touches before logging in carry it too (identity stitching).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, Self, runtime_checkable

import polars as pl

from .interactions import prepare_interactions, utc_naive
from .personal import RECOMMENDATION_SCHEMA
from .weights import base_weight, decay

__all__ = [
    "RECOMMENDATION_SCHEMA",
    "Recommender",
    "empty_recommendations",
    "top_n",
    "touches",
]

#: Scores are rounded before ranking so that equal scores tie on product_id in every row order.
SCORE_DECIMALS = 9


@runtime_checkable
class Recommender(Protocol):
    """Fit on interactions up to ``as_of``; recommend ``n`` products per requested user."""

    #: Written into every row's ``algorithm`` column.
    name: str

    def fit(self, interactions: pl.DataFrame, *, as_of: datetime) -> Self:
        """Learn from the touches at or before ``as_of`` (naive UTC or aware)."""
        ...

    def recommend(
        self,
        users: pl.DataFrame,
        *,
        n: int = 10,
        exclude: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Up to ``n`` rows per (tenant_id, user_id) of ``users``, best first.

        ``exclude`` (tenant_id, user_id, product_id) lists products that must not be returned to
        that user (a business filter); ``None`` excludes nothing.
        """
        ...


def touches(interactions: pl.DataFrame, as_of: datetime, half_life_days: float) -> pl.DataFrame:
    """Every touch at or before ``as_of`` with its weight: event weight x recency decay.

    Returns tenant_id, actor_id, user_id, product_id, category, event, occurred_at, weight (in
    "fresh product views"; reversals are negative). Rows without an actor are dropped: they
    belong to nobody we could recommend to.
    """
    moment = utc_naive(as_of)
    frame = prepare_interactions(interactions)
    return frame.filter(
        (pl.col("occurred_at") <= moment) & pl.col("actor_id").is_not_null()
    ).with_columns((base_weight() * decay(moment, half_life_days)).alias("weight"))


def user_item_weights(touched: pl.DataFrame) -> pl.DataFrame:
    """Summed weight per (tenant_id, actor_id, product_id), only where it stays positive."""
    return (
        touched.group_by("tenant_id", "actor_id", "product_id")
        .agg(pl.col("weight").sum())
        .filter(pl.col("weight") > 0)
    )


def empty_recommendations() -> pl.DataFrame:
    return pl.DataFrame(schema=RECOMMENDATION_SCHEMA)


def requested_users(users: pl.DataFrame) -> pl.DataFrame:
    """(tenant_id, user_id) as strings, once each."""
    return users.select(
        pl.col("tenant_id").cast(pl.String), pl.col("user_id").cast(pl.String)
    ).unique()


def top_n(
    scored: pl.DataFrame,
    *,
    n: int,
    algorithm: str | pl.Expr,
    exclude: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The best ``n`` of ``scored`` (tenant_id, user_id, product_id, score) per user.

    Drops non-positive scores and excluded pairs; ranks by score, then product_id (stable).
    ``algorithm`` is a name, or an expression over ``scored``'s columns.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    frame = scored.filter(pl.col("score") > 0)
    if exclude is not None and exclude.height:
        frame = frame.join(
            exclude.select(
                pl.col("tenant_id").cast(pl.String),
                pl.col("user_id").cast(pl.String),
                pl.col("product_id").cast(pl.String),
            ),
            on=["tenant_id", "user_id", "product_id"],
            how="anti",
        )
    label = pl.lit(algorithm) if isinstance(algorithm, str) else algorithm
    return (
        frame.with_columns(pl.col("score").cast(pl.Float64).round(SCORE_DECIMALS))
        .sort(
            ["tenant_id", "user_id", "score", "product_id"],
            descending=[False, False, True, False],
        )
        .with_columns(
            (pl.int_range(pl.len()).over("tenant_id", "user_id") + 1).cast(pl.Int32).alias("rank"),
            label.cast(pl.String).alias("algorithm"),
        )
        .filter(pl.col("rank") <= n)
        .select(list(RECOMMENDATION_SCHEMA))
    )
