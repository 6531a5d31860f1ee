"""Whether people come back to what they already touched, learned per tenant; and buy-it-again.

Groceries, supplies and wholesale shops sell the same product to the same person again; a book
or film shop almost never does. Which kind a tenant is gets measured on its own data with a
time split *inside the training window* (the last ``VALIDATION_SHARE`` of its touches are the
"future"), never assumed:

- ``repeat_share``: of the (person, product) pairs touched in the validation window by people
  seen before it, the share whose product the person had already touched before it.
- ``repurchase_rate``: the same for purchases: the share of validation-window purchases (by
  earlier buyers) of products the buyer had bought before.
- ``repeats_help``: whether a list of the person's own recent products (recency weighted) finds
  more of their validation-window products than the tenant's most popular products they have
  *not* touched. Recommenders that discover new products (ALS, popularity) keep a person's own
  products eligible only where this is true.

Hiding already purchased products from published lists is a separate tenant *setting* (see
``options.TenantOptions``), not a conclusion drawn here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Self

import polars as pl

from .interactions import utc_naive
from .protocol import requested_users, top_n, touches, user_item_weights
from .weights import PURCHASE_EVENTS

#: Share of a tenant's training touches held out (the latest) to learn repeat behaviour.
VALIDATION_SHARE = 0.15
#: List length the own-history and popularity lists are compared at.
POLICY_K = 10

REPEAT_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "repeat_share": pl.Float64(),
    "repurchase_rate": pl.Float64(),
    "repeats_help": pl.Boolean(),
}


def validation_cuts(touched: pl.DataFrame, share: float = VALIDATION_SHARE) -> pl.DataFrame:
    """Per tenant, the time after which its latest ``share`` of touches happened.

    A share of touches rather than a fixed number of days, so one rule fits a shop with a week
    of data and a film site with seven months. Returns tenant_id, cut.
    """
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")
    return touched.group_by("tenant_id").agg(
        pl.col("occurred_at").quantile(1 - share, interpolation="lower").alias("cut")
    )


def learn_repeat_policy(touched: pl.DataFrame) -> pl.DataFrame:
    """``REPEAT_SCHEMA`` per tenant of ``touched`` (the output of ``protocol.touches``).

    A tenant with too little history to tell (nobody active on both sides of the cut) gets
    repeat_share 0, repurchase_rate 0 and repeats_help False: new products are the safe guess.
    """
    cuts = validation_cuts(touched)
    frame = touched.join(cuts, on="tenant_id").with_columns(
        (pl.col("occurred_at") > pl.col("cut")).alias("later")
    )
    before = frame.filter(~pl.col("later"))
    after = frame.filter(pl.col("later") & (pl.col("weight") > 0))
    seen = before.filter(pl.col("weight") > 0).select("tenant_id", "actor_id", "product_id")
    returning = after.join(
        seen.select("tenant_id", "actor_id").unique(), on=["tenant_id", "actor_id"], how="semi"
    )
    later_pairs = returning.select("tenant_id", "actor_id", "product_id").unique()
    repeats = (
        later_pairs.join(
            seen.unique().with_columns(pl.lit(True).alias("was_seen")),
            on=["tenant_id", "actor_id", "product_id"],
            how="left",
        )
        .group_by("tenant_id")
        .agg(pl.col("was_seen").fill_null(False).mean().alias("repeat_share"))
    )
    bought = before.filter(pl.col("event").is_in(list(PURCHASE_EVENTS)))
    bought_later = after.filter(pl.col("event").is_in(list(PURCHASE_EVENTS))).join(
        bought.select("tenant_id", "actor_id").unique(), on=["tenant_id", "actor_id"], how="semi"
    )
    repurchases = (
        bought_later.select("tenant_id", "actor_id", "product_id")
        .unique()
        .join(
            bought.select("tenant_id", "actor_id", "product_id")
            .unique()
            .with_columns(pl.lit(True).alias("was_bought")),
            on=["tenant_id", "actor_id", "product_id"],
            how="left",
        )
        .group_by("tenant_id")
        .agg(pl.col("was_bought").fill_null(False).mean().alias("repurchase_rate"))
    )
    helps = _own_beats_popular(before, later_pairs)
    return (
        cuts.select("tenant_id")
        .join(repeats, on="tenant_id", how="left")
        .join(repurchases, on="tenant_id", how="left")
        .join(helps, on="tenant_id", how="left")
        .select(
            "tenant_id",
            pl.col("repeat_share").fill_null(0.0),
            pl.col("repurchase_rate").fill_null(0.0),
            pl.col("repeats_help").fill_null(False),
        )
        .sort("tenant_id")
    )


def _own_beats_popular(before: pl.DataFrame, later_pairs: pl.DataFrame) -> pl.DataFrame:
    """tenant_id, repeats_help: own top-k hits > popular-unseen top-k hits in the window."""
    people = later_pairs.select("tenant_id", "actor_id").unique()
    own = user_item_weights(before).join(people, on=["tenant_id", "actor_id"], how="semi")
    own_top = own.sort(["tenant_id", "actor_id", "weight"], descending=[False, False, True]).filter(
        pl.int_range(pl.len()).over("tenant_id", "actor_id") < POLICY_K
    )
    popular = (
        before.group_by("tenant_id", "product_id")
        .agg(pl.col("weight").sum())
        .filter(pl.col("weight") > 0)
        .sort(["tenant_id", "weight", "product_id"], descending=[False, True, False])
        # Enough to still have k after removing each person's own products.
        .filter(pl.int_range(pl.len()).over("tenant_id") < 10 * POLICY_K)
    )
    pop_top = (
        people.join(popular.select("tenant_id", "product_id", "weight"), on="tenant_id")
        .join(
            own.select("tenant_id", "actor_id", "product_id"),
            on=["tenant_id", "actor_id", "product_id"],
            how="anti",
        )
        .sort(["tenant_id", "actor_id", "weight"], descending=[False, False, True])
        .filter(pl.int_range(pl.len()).over("tenant_id", "actor_id") < POLICY_K)
    )
    keys = ["tenant_id", "actor_id", "product_id"]
    own_hits = own_top.join(later_pairs, on=keys, how="semi").group_by("tenant_id").len("own")
    pop_hits = pop_top.join(later_pairs, on=keys, how="semi").group_by("tenant_id").len("pop")
    return (
        people.select("tenant_id")
        .unique()
        .join(own_hits, on="tenant_id", how="left")
        .join(pop_hits, on="tenant_id", how="left")
        .select(
            "tenant_id",
            (pl.col("own").fill_null(0) > pl.col("pop").fill_null(0)).alias("repeats_help"),
        )
    )


class BuyItAgain:
    """The person's own purchases, recency weighted, scaled by the tenant's repurchase rate.

    Score = repurchase_rate x sum over the person's purchases of a product of
    quantity-weighted ``0.5 ** (age / half_life_days)``. A tenant whose people never bought the
    same product twice in its validation window (rate 0) gets no rows at all: for a book shop
    "buy it again" is noise. Assumes a repurchase is more likely the more recently and the more
    often a product was bought (replenishment), which is what the rate is measured on.
    """

    name = "buy_it_again"

    def __init__(self, *, half_life_days: float = 60.0) -> None:
        self.half_life_days = half_life_days
        self._scores = pl.DataFrame()
        self.policy = pl.DataFrame(schema=REPEAT_SCHEMA)

    def fit(self, interactions: pl.DataFrame, *, as_of: datetime) -> Self:
        touched = touches(interactions, as_of, self.half_life_days)
        self.policy = learn_repeat_policy(touched)
        bought = touched.filter(pl.col("event").is_in(list(PURCHASE_EVENTS)))
        self._scores = (
            user_item_weights(bought)
            .join(self.policy.select("tenant_id", "repurchase_rate"), on="tenant_id")
            .select(
                "tenant_id",
                pl.col("actor_id").alias("user_id"),
                "product_id",
                (pl.col("weight") * pl.col("repurchase_rate")).alias("score"),
            )
        )
        return self

    def recommend(
        self, users: pl.DataFrame, *, n: int = 10, exclude: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        scored = self._scores.join(requested_users(users), on=["tenant_id", "user_id"])
        return top_n(scored, n=n, algorithm=self.name, exclude=exclude)


def window_start(as_of: datetime, days: float) -> datetime:
    """``as_of`` minus ``days`` as naive UTC."""
    return utc_naive(as_of) - timedelta(days=days)
