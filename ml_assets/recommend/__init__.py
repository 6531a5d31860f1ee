"""Recommenders: trending and popular products, and personal lists for identified users.

Input is ``int_product_interactions`` (one row per product touch, see ``docs/contracts.md``);
outputs are the ``trending``, ``popular`` and ``recommendations`` serving tables plus
``tenant_id``.
"""

from .personal import recommend_for_users
from .trending import popular_products, trending_products
from .weights import EVENT_WEIGHTS, QUANTITY_CAP

__all__ = [
    "EVENT_WEIGHTS",
    "QUANTITY_CAP",
    "popular_products",
    "recommend_for_users",
    "trending_products",
]
