"""Existing list builders wrapped in the ``Recommender`` interface, for the blend and the
evaluation: the trending-affinity lists of ``personal.recommend_for_users`` and trending per
category (``trending.trending_products``)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import polars as pl

from .interactions import utc_naive
from .personal import recommend_for_users
from .protocol import empty_recommendations, requested_users, top_n
from .trending import trending_products

#: A shop's hot list moves in about a week (the pipeline's default too).
TRENDING_HALF_LIFE_DAYS = 7.0


class TrendingAffinity:
    """``recommend_for_users``: trending bent toward the person's categories, plus revisits.

    Identified users only (``user_id`` set on some touch), as in the pipeline.
    """

    name = "trending_affinity"

    def __init__(self, *, candidates: int = 50) -> None:
        self.candidates = candidates
        self._lists = empty_recommendations()

    def fit(self, interactions: pl.DataFrame, *, as_of: datetime) -> Self:
        moment = utc_naive(as_of)
        trending = trending_products(
            interactions, as_of=moment, half_life_days=TRENDING_HALF_LIFE_DAYS, top_n=100
        )
        self._lists = recommend_for_users(interactions, trending, n=self.candidates, as_of=moment)
        return self

    def recommend(
        self, users: pl.DataFrame, *, n: int = 10, exclude: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        scored = self._lists.join(requested_users(users), on=["tenant_id", "user_id"]).select(
            "tenant_id", "user_id", "product_id", "score"
        )
        return top_n(scored, n=n, algorithm=self.name, exclude=exclude)
