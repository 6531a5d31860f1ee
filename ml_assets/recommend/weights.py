"""How much each kind of product touch says about interest in the product.

The scale is "product views": a view weighs 1, and the steps down the funnel weigh more because
each costs the shopper more effort and predicts a purchase better. A reversal (removing from the
cart or wishlist, a refund, a cancelled order) weighs minus the step it takes back, so it cancels
that step and nothing more: the views and cart adds that came before still count as interest.
Scores are clipped at zero per product after summing (see ``interaction_weights``), so a product
can lose interest through reversals but never become "anti-popular".

Events not listed (searches, list views, custom events) weigh 0: they carry no product, or no
signal we trust yet.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

#: Weight of one touch per Segment e-commerce event name, in "product views".
EVENT_WEIGHTS: dict[str, float] = {
    "Product Viewed": 1.0,
    "Product Clicked": 1.0,
    "Product Shared": 2.0,
    "Product Reviewed": 2.0,
    "Product Added": 3.0,
    "Product Added to Wishlist": 3.0,
    "Checkout Started": 4.0,
    "Order Completed": 6.0,
    # Reversals: minus the step they take back.
    "Product Removed": -3.0,
    "Product Removed from Wishlist": -3.0,
    "Order Refunded": -6.0,
    "Order Cancelled": -6.0,
}

#: Events that mean the actor owns the product (a later touch is a repurchase candidate).
PURCHASE_EVENTS: frozenset[str] = frozenset({"Order Completed"})

#: Quantities above this count as this many: one bulk order of 40 units should not make a product
#: trend on its own, while "bought 2" is still a stronger signal than "bought 1".
QUANTITY_CAP = 5


def base_weight() -> pl.Expr:
    """Each row's event weight times its capped quantity (unknown event: 0, no quantity: 1)."""
    weight = pl.col("event").replace_strict(EVENT_WEIGHTS, default=0.0, return_dtype=pl.Float64)
    quantity = pl.col("quantity").cast(pl.Float64).fill_null(1.0).clip(1.0, float(QUANTITY_CAP))
    return weight * quantity


def age_days(as_of: datetime | pl.Expr) -> pl.Expr:
    """Days between ``occurred_at`` and ``as_of`` (fractional; negative for later touches).

    ``as_of`` is a naive UTC datetime, or an expression (a per-tenant reference time).
    """
    reference = as_of if isinstance(as_of, pl.Expr) else pl.lit(as_of, dtype=pl.Datetime("us"))
    elapsed = (reference - pl.col("occurred_at")).dt.total_microseconds().cast(pl.Float64)
    return elapsed / 86_400_000_000.0


def decay(as_of: datetime | pl.Expr, half_life_days: float) -> pl.Expr:
    """Exponential time decay: 1 for a touch at ``as_of``, 0.5 one half-life earlier.

    Touches after ``as_of`` count as fresh (1), never more: a clock running a little fast must
    not make a product hotter than a product touched right now.
    """
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    return pl.lit(0.5).pow(age_days(as_of).clip(lower_bound=0.0) / half_life_days)
