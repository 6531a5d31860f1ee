"""Who is in a saved segment, from the published tables: the one definition of membership
that the dashboards' segment builder previews and the automation targets."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from .store import SegmentDefinition


def segment_members(
    definition: SegmentDefinition,
    customers: pa.Table | pl.DataFrame,
    scores: pa.Table | pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The customers of ``definition``: customer_id, user_id, orders, net_revenue,
    recency_days, rfm_segment (and churn_probability, clv_12m when scores are given).

    A condition on churn or value with no scores published matches nobody, rather than
    everybody: a campaign must not go to all customers by accident.
    """
    frame = customers if isinstance(customers, pl.DataFrame) else pl.DataFrame(customers)
    if "user_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("user_id"))
    frame = frame.select(
        "customer_id", "user_id", "orders", "net_revenue", "recency_days", "rfm_segment"
    )
    needs_scores = (
        definition.min_churn_probability is not None or definition.min_clv_12m is not None
    )
    if scores is not None:
        score_frame = scores if isinstance(scores, pl.DataFrame) else pl.DataFrame(scores)
        frame = frame.join(
            score_frame.select("user_id", "churn_probability", "clv_12m"), on="user_id", how="left"
        )
    elif needs_scores:
        return frame.clear()
    if definition.rfm_segments:
        frame = frame.filter(pl.col("rfm_segment").is_in(list(definition.rfm_segments)))
    if definition.min_orders is not None:
        frame = frame.filter(pl.col("orders") >= definition.min_orders)
    if definition.min_net_revenue is not None:
        frame = frame.filter(pl.col("net_revenue") >= definition.min_net_revenue)
    if definition.max_recency_days is not None:
        frame = frame.filter(pl.col("recency_days") <= definition.max_recency_days)
    if definition.min_churn_probability is not None:
        frame = frame.filter(pl.col("churn_probability") >= definition.min_churn_probability)
    if definition.min_clv_12m is not None:
        frame = frame.filter(pl.col("clv_12m") >= definition.min_clv_12m)
    return frame.sort("net_revenue", "customer_id", descending=[True, False])
