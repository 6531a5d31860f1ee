"""The time-based split every evaluation uses: train before a cut, test after it.

- The cut is the time after which the latest ``test_share`` of the dataset's touches happened
  (one cut for the dataset: every model sees the same past).
- Models are fitted on touches strictly before the cut (``as_of`` = the cut).
- Evaluated users are identified people (a ``user_id`` on some event) who have at least one
  positive touch before the cut *and* at least one target after it. Targets are the products
  they purchased after the cut (``target="purchase"``) or touched with a positive weight
  (``"touch"``). Products touched before the cut stay targets when touched again: a repeat is a
  real outcome, and whether to predict it is the models' business.
- Cold users (targets after the cut, no history before it) cannot be personalised by any
  model here; they are counted (``cold_users``) and left out of the metrics, for every model
  alike. Their lists would be the cold-start list (popular in context).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from ml_assets.recommend.interactions import prepare_interactions
from ml_assets.recommend.weights import PURCHASE_EVENTS, base_weight

from .datasets import Target


@dataclass(frozen=True)
class TimeSplit:
    """Training interactions, the cut, and the (user, product) targets of evaluated users."""

    train: pl.DataFrame
    cut: datetime
    #: tenant_id, user_id, product_id: one row per target pair of an evaluated user.
    targets: pl.DataFrame
    #: tenant_id, user_id: the evaluated users.
    users: pl.DataFrame
    cold_users: int
    #: Products touched before the cut (the catalogue a model could know), per tenant.
    catalog_size: int


def time_split(interactions: pl.DataFrame, *, target: Target, test_share: float = 0.2) -> TimeSplit:
    """Split ``interactions`` at the time before its latest ``test_share`` of touches."""
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be in (0, 1), got {test_share}")
    frame = prepare_interactions(interactions).filter(pl.col("actor_id").is_not_null())
    cut = frame["occurred_at"].quantile(1 - test_share, interpolation="lower")
    if not isinstance(cut, datetime):
        raise ValueError("no interactions to split")
    train = interactions.filter(pl.col("occurred_at").cast(pl.Datetime("us")) < cut)
    before = frame.filter(pl.col("occurred_at") < cut)
    after = frame.filter(pl.col("occurred_at") >= cut)
    identified = (
        frame.filter(pl.col("user_id").is_not_null())
        .select("tenant_id", pl.col("actor_id").alias("user_id"))
        .unique()
    )
    with_history = (
        before.group_by("tenant_id", "actor_id", "product_id")
        .agg(base_weight().sum().alias("weight"))
        .filter(pl.col("weight") > 0)
        .select("tenant_id", pl.col("actor_id").alias("user_id"))
        .unique()
    )
    wanted = (
        after.filter(pl.col("event").is_in(list(PURCHASE_EVENTS)))
        if target == "purchase"
        else after.filter(base_weight() > 0)
    )
    all_targets = (
        wanted.select("tenant_id", pl.col("actor_id").alias("user_id"), "product_id")
        .unique()
        .join(identified, on=["tenant_id", "user_id"], how="semi")
    )
    targets = all_targets.join(with_history, on=["tenant_id", "user_id"], how="semi").sort(
        "tenant_id", "user_id", "product_id"
    )
    users = targets.select("tenant_id", "user_id").unique().sort("tenant_id", "user_id")
    cold = all_targets.select("tenant_id", "user_id").unique().height - users.height
    catalog = before.select("tenant_id", "product_id").unique().height
    return TimeSplit(
        train=train,
        cut=cut,
        targets=targets,
        users=users,
        cold_users=cold,
        catalog_size=catalog,
    )
