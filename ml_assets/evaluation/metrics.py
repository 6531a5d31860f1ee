"""Top-k ranking metrics over per-user lists, averaged over the evaluated users.

With ``hits`` the targets among a user's first k products and ``R`` the user's targets:

- precision@k = hits / k (always k: a short list wastes its empty slots);
- recall@k = hits / |R|;
- nDCG@k = sum over hits of 1 / log2(rank + 1), divided by the same sum for a perfect list
  (min(|R|, k) hits at ranks 1..);
- MAP@k = mean over users of AP@k = sum over hits of (hits up to that rank / rank), divided
  by min(|R|, k);
- coverage = distinct products recommended to anyone / products known before the cut.

A user without a list scores 0 everywhere. ``precision_ceiling`` is the best precision@k any
list could reach, mean(min(|R|, k)) / k: when users have few targets it is far below 1.
"""

from __future__ import annotations

import math

import polars as pl

METRICS = ("precision", "recall", "ndcg", "map", "coverage")


def ranking_metrics(
    lists: pl.DataFrame,
    targets: pl.DataFrame,
    users: pl.DataFrame,
    *,
    catalog_size: int,
    k: int = 10,
) -> dict[str, float]:
    """``METRICS`` at ``k`` of ``lists`` (tenant_id, user_id, product_id, rank)."""
    keys = ["tenant_id", "user_id"]
    top = lists.filter(pl.col("rank") <= k).join(users, on=keys, how="semi")
    relevant = targets.group_by(keys).agg(pl.len().alias("relevant"))
    hits = (
        top.join(targets, on=[*keys, "product_id"], how="semi")
        .sort(*keys, "rank")
        .with_columns((pl.int_range(pl.len()).over(keys) + 1).alias("hit_number"))
        .group_by(keys)
        .agg(
            pl.len().alias("hits"),
            (1.0 / (pl.col("rank").cast(pl.Float64) + 1.0).log(2)).sum().alias("dcg"),
            (pl.col("hit_number") / pl.col("rank")).sum().alias("precision_sum"),
        )
    )
    ideal = pl.Series([1.0 / math.log2(r + 2) for r in range(k)]).cum_sum()
    per_user = (
        users.join(relevant, on=keys, how="left")
        .join(hits, on=keys, how="left")
        .with_columns(
            pl.col("relevant").fill_null(0),
            pl.col("hits").fill_null(0),
            pl.col("dcg").fill_null(0.0),
            pl.col("precision_sum").fill_null(0.0),
            pl.min_horizontal(pl.col("relevant"), pl.lit(k)).alias("capped"),
        )
        .with_columns(
            pl.col("capped")
            .map_elements(lambda c: ideal[c - 1] if c > 0 else 1.0, return_dtype=pl.Float64)
            .alias("idcg")
        )
    )
    if per_user.height == 0:
        return dict.fromkeys(METRICS, 0.0)
    recommended = top.select("tenant_id", "product_id").unique().height
    summary = per_user.select(
        (pl.col("hits") / k).mean().alias("precision"),
        (pl.col("hits") / pl.col("relevant").clip(lower_bound=1)).mean().alias("recall"),
        (pl.col("dcg") / pl.col("idcg")).mean().alias("ndcg"),
        (pl.col("precision_sum") / pl.col("capped").clip(lower_bound=1)).mean().alias("map"),
    ).row(0, named=True)
    return {
        **{name: float(value) for name, value in summary.items()},
        "coverage": recommended / catalog_size if catalog_size else 0.0,
    }


def precision_ceiling(targets: pl.DataFrame, users: pl.DataFrame, *, k: int = 10) -> float:
    """mean over users of min(|targets|, k) / k: the best precision@k any list can reach."""
    if users.height == 0:
        return 0.0
    counts = users.join(
        targets.group_by("tenant_id", "user_id").len(), on=["tenant_id", "user_id"], how="left"
    )
    return float(counts.select((pl.col("len").fill_null(0).clip(upper_bound=k) / k).mean()).item())
