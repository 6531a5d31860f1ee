"""The simple recommenders every model must beat: popularity and the person's own history.

- ``Popularity(window_days=None)``: all-time most wanted products (summed event weights, no
  decay), the same list for everyone.
- ``Popularity(window_days=30)``: the same over the last 30 days before ``as_of``.
- ``OwnHistory``: the person's own products, recency weighted (half-life 30 days): "show them
  what they looked at". Strong wherever people come back to products.

The popularity lists leave out a person's own products unless the tenant's data says repeats
help (``repeat.learn_repeat_policy``): on a film site a seen film is a wasted slot, in a grocery
shop it is the best guess. That makes the baselines as strong as a simple rule can be.

``PopularityList`` is the one implementation of "the tenant's most wanted products, own
products hidden by the repeat policy": ``Popularity`` and ``sources.Trending`` differ only in
which touches they count and how those are weighted (window or decay).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Self

import polars as pl

from .interactions import utc_naive
from .protocol import requested_users, top_n, touches, user_item_weights
from .repeat import REPEAT_SCHEMA, learn_repeat_policy

#: A person's own products are scored by how recently they touched them (days).
OWN_HISTORY_HALF_LIFE_DAYS = 30.0
#: A half-life so long that nothing decays: weights stay event weights.
NO_DECAY_DAYS = 1e9


def product_popularity(touched: pl.DataFrame) -> pl.DataFrame:
    """Summed touch weight per (tenant_id, product_id), positive ones only, as ``score``.

    ``touched`` is the output of ``protocol.touches``: its decay decides whether this is
    all-time popularity or a trending score.
    """
    return (
        touched.group_by("tenant_id", "product_id")
        .agg(pl.col("weight").sum().alias("score"))
        .filter(pl.col("score") > 0)
    )


class PopularityList:
    """The tenant's most wanted products, the same list for everyone, minus own products
    where the tenant's repeat policy says repeats do not help. Subclasses pick the touches."""

    name: str

    def __init__(self, *, candidates: int = 200) -> None:
        self.candidates = candidates
        self._popular = pl.DataFrame()
        self._seen = pl.DataFrame()
        self.policy = pl.DataFrame(schema=REPEAT_SCHEMA)

    def _touches(self, interactions: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
        """Every touch with its weight (``protocol.touches`` with the subclass's decay)."""
        raise NotImplementedError

    def _counted(self, touched: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
        """The touches that make a product popular (all of them unless overridden)."""
        return touched

    def fit(self, interactions: pl.DataFrame, *, as_of: datetime) -> Self:
        touched = self._touches(interactions, as_of)
        self.policy = learn_repeat_policy(touched)
        self._popular = (
            product_popularity(self._counted(touched, as_of))
            .sort(["tenant_id", "score", "product_id"], descending=[False, True, False])
            .filter(pl.int_range(pl.len()).over("tenant_id") < self.candidates)
        )
        hide = self.policy.filter(~pl.col("repeats_help")).select("tenant_id")
        self._seen = (
            user_item_weights(touched)
            .join(hide, on="tenant_id", how="semi")
            .select("tenant_id", pl.col("actor_id").alias("user_id"), "product_id")
        )
        return self

    def recommend(
        self, users: pl.DataFrame, *, n: int = 10, exclude: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        scored = requested_users(users).join(self._popular, on="tenant_id")
        hidden = self._seen if exclude is None else pl.concat([self._seen, _keys(exclude)])
        return top_n(scored, n=n, algorithm=self.name, exclude=hidden)


class Popularity(PopularityList):
    """Most wanted products of the tenant (optionally only over the last ``window_days``)."""

    def __init__(self, *, window_days: float | None = None, candidates: int = 200) -> None:
        super().__init__(candidates=candidates)
        self.window_days = window_days
        self.name = "popular_all_time" if window_days is None else f"popular_{window_days:g}d"

    def _touches(self, interactions: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
        return touches(interactions, as_of, half_life_days=NO_DECAY_DAYS)

    def _counted(self, touched: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
        if self.window_days is None:
            return touched
        start = utc_naive(as_of) - timedelta(days=self.window_days)
        return touched.filter(pl.col("occurred_at") > start)


class OwnHistory:
    """The person's own touched products, recency weighted (the "recently viewed" shelf)."""

    name = "own_history"

    def __init__(self, *, half_life_days: float = OWN_HISTORY_HALF_LIFE_DAYS) -> None:
        self.half_life_days = half_life_days
        self._scores = pl.DataFrame()

    def fit(self, interactions: pl.DataFrame, *, as_of: datetime) -> Self:
        touched = touches(interactions, as_of, self.half_life_days)
        self._scores = user_item_weights(touched).select(
            "tenant_id",
            pl.col("actor_id").alias("user_id"),
            "product_id",
            pl.col("weight").alias("score"),
        )
        return self

    def recommend(
        self, users: pl.DataFrame, *, n: int = 10, exclude: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        scored = self._scores.join(requested_users(users), on=["tenant_id", "user_id"])
        return top_n(scored, n=n, algorithm=self.name, exclude=exclude)


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col("tenant_id").cast(pl.String),
        pl.col("user_id").cast(pl.String),
        pl.col("product_id").cast(pl.String),
    )
