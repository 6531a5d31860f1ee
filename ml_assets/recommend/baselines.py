"""The simple recommenders every model must beat: popularity and the person's own history.

- ``Popularity(window_days=None)``: all-time most wanted products (summed event weights, no
  decay), the same list for everyone.
- ``Popularity(window_days=30)``: the same over the last 30 days before ``as_of``.
- ``OwnHistory``: the person's own products, recency weighted (half-life 30 days): "show them
  what they looked at". Strong wherever people come back to products.

The popularity lists leave out a person's own products unless the tenant's data says repeats
help (``repeat.learn_repeat_policy``): on a film site a seen film is a wasted slot, in a grocery
shop it is the best guess. That makes the baselines as strong as a simple rule can be.
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


class Popularity:
    """Most wanted products of the tenant (optionally only over the last ``window_days``)."""

    def __init__(self, *, window_days: float | None = None, candidates: int = 200) -> None:
        self.window_days = window_days
        self.candidates = candidates
        self.name = "popular_all_time" if window_days is None else f"popular_{window_days:g}d"
        self._popular = pl.DataFrame()
        self._seen = pl.DataFrame()
        self.policy = pl.DataFrame(schema=REPEAT_SCHEMA)

    def fit(self, interactions: pl.DataFrame, *, as_of: datetime) -> Self:
        # A very long half-life: "no decay" for the all-time list, weights stay event weights.
        touched = touches(interactions, as_of, half_life_days=1e9)
        self.policy = learn_repeat_policy(touched)
        recent = touched
        if self.window_days is not None:
            start = utc_naive(as_of) - timedelta(days=self.window_days)
            recent = touched.filter(pl.col("occurred_at") > start)
        self._popular = (
            recent.group_by("tenant_id", "product_id")
            .agg(pl.col("weight").sum().alias("score"))
            .filter(pl.col("score") > 0)
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
