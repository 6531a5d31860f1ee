"""The input frame, ``int_product_interactions``, checked and brought to one shape.

The warehouse may hand over ``occurred_at`` with or without a time zone, in ms or us; everything
downstream assumes naive UTC microseconds so that ``as_of`` arithmetic is plain subtraction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

#: Columns of ``int_product_interactions`` (docs/contracts.md) and the types used internally.
INTERACTION_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "actor_id": pl.String(),
    "user_id": pl.String(),
    "product_id": pl.String(),
    "category": pl.String(),
    "event": pl.String(),
    "quantity": pl.Float64(),
    "occurred_at": pl.Datetime("us"),
}


def empty_interactions() -> pl.DataFrame:
    return pl.DataFrame(schema=INTERACTION_SCHEMA)


def prepare_interactions(interactions: pl.DataFrame) -> pl.DataFrame:
    """The contract's columns with internal types; rows without a product are dropped.

    Raises ``ValueError`` naming the missing columns, so a renamed dbt column fails loudly in the
    pipeline rather than producing empty recommendations.
    """
    missing = [name for name in INTERACTION_SCHEMA if name not in interactions.columns]
    if missing:
        raise ValueError(f"interactions lack the columns {missing} (see docs/contracts.md)")
    occurred = interactions.schema["occurred_at"]
    occurred_at = pl.col("occurred_at")
    if isinstance(occurred, pl.Datetime) and occurred.time_zone is not None:
        occurred_at = occurred_at.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return interactions.select(
        *(
            pl.col(name).cast(dtype)
            for name, dtype in INTERACTION_SCHEMA.items()
            if name != "occurred_at"
        ),
        occurred_at.cast(pl.Datetime("us")).alias("occurred_at"),
    ).filter(pl.col("product_id").is_not_null() & pl.col("tenant_id").is_not_null())


def utc_naive(moment: datetime) -> datetime:
    """``moment`` as naive UTC; a naive ``moment`` is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def latest_touch(interactions: pl.DataFrame, *, now: datetime) -> datetime:
    """The moment to compute lists as of: the latest touch, or ``now`` when there is none or
    the latest lies ahead of ``now`` (a client's clock); naive UTC.

    Why not ``now``: every source's recency weights are relative to this moment, so on the wall
    clock two runs over the same events a minute apart weigh them a little differently, ALS's
    factors move, and the ranker may cross a split: the same data must give the same lists.
    For a shop taking orders the two moments are minutes apart.
    """
    moment = utc_naive(now)
    latest = interactions["occurred_at"].max() if interactions.height else None
    if isinstance(latest, datetime) and utc_naive(latest) < moment:
        return utc_naive(latest)
    return moment


def product_categories(interactions: pl.DataFrame) -> pl.DataFrame:
    """One category per (tenant, product): the most recently seen non-null one.

    Catalogues get re-categorised; the latest label is what the shop shows today.
    """
    return (
        interactions.filter(pl.col("category").is_not_null())
        .sort("tenant_id", "product_id", "occurred_at", "category")
        .group_by("tenant_id", "product_id")
        .agg(pl.col("category").last())
    )
