"""Reorder point, safety stock and order quantity from a demand forecast.

A continuous-review (s, S) policy, per product:

- over the lead time L (days), demand is the sum of L daily forecasts: mean d per day, and a
  per-day spread sigma taken from the forecast's own interval (half its width divided by the
  normal quantile of the interval, so sigma = (upper - lower) / (2 z_interval)), averaged over
  the days; days are assumed independent and demand roughly normal;
- safety stock SS = z(service level) x sigma x sqrt(L): the buffer that covers lead-time demand
  with probability ``service_level`` (a cycle service level, not a fill rate);
- reorder point ROP = d x L + SS: order when the inventory position falls to it;
- order-up-to level S = d x (L + R) + z x sigma x sqrt(L + R), with R the review period (the
  days one order must last, 7 by default);
- suggested order quantity = S - inventory position. Without stock data the position is taken
  to be the reorder point (the moment an order is due), so the quantity is S - ROP, about d x R
  units plus the extra buffer for the longer period. With ``on_hand`` (units on hand plus on
  order) it is max(0, S - on_hand).

Order-up-to rather than EOQ because EOQ needs ordering and holding costs that shops rarely know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm


@dataclass(frozen=True)
class ReorderSuggestion:
    """One product's policy numbers (units, except the days and the level)."""

    daily_demand_mean: float
    daily_demand_std: float
    lead_time_days: float
    service_level: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    suggested_order_qty: float


def sigma_from_interval(lower: float, upper: float, interval_width: float) -> float:
    """Daily standard deviation implied by a central ``interval_width`` interval (normal)."""
    z = float(norm.ppf(0.5 + interval_width / 2))
    return max(upper - lower, 0.0) / (2 * z)


def reorder_policy(
    daily_mean: float,
    daily_std: float,
    *,
    lead_time_days: float,
    service_level: float,
    review_days: float = 7.0,
    on_hand: float | None = None,
) -> ReorderSuggestion:
    """The (s, S) numbers for one product; quantities are rounded up to whole units."""
    if not 0.5 <= service_level < 1:
        raise ValueError("service_level must be in [0.5, 1)")
    if lead_time_days <= 0 or review_days < 0:
        raise ValueError("lead_time_days must be positive and review_days not negative")
    d, sigma = max(daily_mean, 0.0), max(daily_std, 0.0)
    z = float(norm.ppf(service_level))
    safety = z * sigma * math.sqrt(lead_time_days)
    reorder_point = d * lead_time_days + safety
    cover = lead_time_days + review_days
    order_up_to = d * cover + z * sigma * math.sqrt(cover)
    position = reorder_point if on_hand is None else on_hand
    quantity = max(0.0, order_up_to - position)
    return ReorderSuggestion(
        daily_demand_mean=d,
        daily_demand_std=sigma,
        lead_time_days=lead_time_days,
        service_level=service_level,
        safety_stock=math.ceil(safety - 1e-9),
        reorder_point=math.ceil(reorder_point - 1e-9),
        order_up_to=math.ceil(order_up_to - 1e-9),
        suggested_order_qty=math.ceil(quantity - 1e-9),
    )
