"""Shared input handling for the prediction models (churn, lifetime value, demand, inventory).

The warehouse hands over ``int_orders``, ``int_product_interactions`` and ``int_sessions`` as
polars frames; :mod:`ml_assets.features.frames` checks and normalises them (naive UTC times,
float money). :mod:`ml_assets.features.simulated` builds the same frames straight from simulated
Segment messages and :mod:`ml_assets.features.cdnow` from the CDNOW log, so models can be
evaluated without running dbt.
"""

from ml_assets.features.frames import (
    ORDER_COLUMNS,
    customer_orders,
    naive_utc,
    prepare_sessions,
    require_columns,
)

__all__ = ["ORDER_COLUMNS", "customer_orders", "naive_utc", "prepare_sessions", "require_columns"]
