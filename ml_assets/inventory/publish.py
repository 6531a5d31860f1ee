"""``reorder_suggestions``: the inventory policy of every product of every tenant.

Reads the ``demand_forecast`` frame (tenant_id, product_id, forecast_date, yhat, yhat_lower,
yhat_upper) and, per product, takes the forecast days of its lead time: their mean yhat is the
daily demand, the spread implied by their intervals the daily sigma (see :mod:`policy`).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from ml_assets.inventory.policy import reorder_policy, sigma_from_interval

REORDER_SCHEMA = {
    "tenant_id": pl.String,
    "product_id": pl.String,
    "daily_demand_mean": pl.Float64,
    "daily_demand_std": pl.Float64,
    "lead_time_days": pl.Float64,
    "service_level": pl.Float64,
    "safety_stock": pl.Float64,
    "reorder_point": pl.Float64,
    "suggested_order_qty": pl.Float64,
}


def reorder_suggestions(
    demand_forecast: pl.DataFrame,
    *,
    lead_time_days: float = 7.0,
    service_level: float = 0.95,
    review_days: float = 7.0,
    interval_width: float = 0.8,
    lead_times: Mapping[tuple[str, str], float] | None = None,
    on_hand: Mapping[tuple[str, str], float] | None = None,
) -> pl.DataFrame:
    """One row per (tenant_id, product_id) of the forecast; see the module doc.

    ``lead_times`` and ``on_hand`` override per (tenant_id, product_id); ``interval_width`` must
    be the width the forecast's intervals were made with.
    """
    rows = []
    ordered = demand_forecast.sort("tenant_id", "product_id", "forecast_date")
    for (tenant, product), part in ordered.group_by(
        ["tenant_id", "product_id"], maintain_order=True
    ):
        key = (str(tenant), str(product))
        lead = (lead_times or {}).get(key, lead_time_days)
        window = part.head(max(1, round(lead)))
        sigmas = [
            sigma_from_interval(lo, hi, interval_width)
            for lo, hi in zip(window["yhat_lower"], window["yhat_upper"], strict=True)
        ]
        mean = float(window["yhat"].mean())  # type: ignore[arg-type]
        sigma = (sum(s * s for s in sigmas) / len(sigmas)) ** 0.5
        policy = reorder_policy(
            mean,
            sigma,
            lead_time_days=lead,
            service_level=service_level,
            review_days=review_days,
            on_hand=(on_hand or {}).get(key),
        )
        rows.append(
            {
                "tenant_id": key[0],
                "product_id": key[1],
                "daily_demand_mean": policy.daily_demand_mean,
                "daily_demand_std": policy.daily_demand_std,
                "lead_time_days": float(policy.lead_time_days),
                "service_level": policy.service_level,
                "safety_stock": float(policy.safety_stock),
                "reorder_point": float(policy.reorder_point),
                "suggested_order_qty": float(policy.suggested_order_qty),
            }
        )
    return pl.DataFrame(rows, schema=REORDER_SCHEMA)
