"""Inventory: safety stock, reorder point and order quantity from the demand forecast.

See :mod:`ml_assets.inventory.policy` for the formulas and their assumptions.
"""

from ml_assets.inventory.policy import ReorderSuggestion, reorder_policy, sigma_from_interval
from ml_assets.inventory.publish import REORDER_SCHEMA, reorder_suggestions

__all__ = [
    "REORDER_SCHEMA",
    "ReorderSuggestion",
    "reorder_policy",
    "reorder_suggestions",
    "sigma_from_interval",
]
