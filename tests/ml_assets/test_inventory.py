"""Inventory policy numbers checked by hand.

Demand 10 units/day with sigma 4, lead time 9 days, 95 % service (z = 1.6449), review 7 days:
safety stock = 1.6449 x 4 x 3 = 19.74 -> 20; reorder point = 90 + 19.74 = 109.74 -> 110;
order-up-to = 10 x 16 + 1.6449 x 4 x 4 = 186.32 -> 187; quantity at the reorder point
= 186.32 - 109.74 = 76.58 -> 77; with 50 on hand: 136.32 -> 137.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from ml_assets.inventory import REORDER_SCHEMA, reorder_policy, reorder_suggestions
from ml_assets.inventory.policy import sigma_from_interval

Z80 = 1.2815515655446004  # the normal quantile of a central 80 % interval's upper end


def test_policy_by_hand() -> None:
    s = reorder_policy(10.0, 4.0, lead_time_days=9, service_level=0.95, review_days=7)
    assert (s.safety_stock, s.reorder_point, s.order_up_to) == (20, 110, 187)
    assert s.suggested_order_qty == 77
    with_stock = reorder_policy(10.0, 4.0, lead_time_days=9, service_level=0.95, on_hand=50)
    assert with_stock.suggested_order_qty == 137
    full = reorder_policy(10.0, 4.0, lead_time_days=9, service_level=0.95, on_hand=500)
    assert full.suggested_order_qty == 0


def test_higher_service_and_longer_lead_time_need_more_stock() -> None:
    base = reorder_policy(5.0, 2.0, lead_time_days=4, service_level=0.9)
    assert reorder_policy(5.0, 2.0, lead_time_days=4, service_level=0.99).safety_stock > (
        base.safety_stock
    )
    assert reorder_policy(5.0, 2.0, lead_time_days=16, service_level=0.9).safety_stock == (
        pytest.approx(2 * base.safety_stock, abs=1)
    )
    certain = reorder_policy(5.0, 0.0, lead_time_days=4, service_level=0.99)
    assert certain.safety_stock == 0 and certain.reorder_point == 20
    with pytest.raises(ValueError, match="service_level"):
        reorder_policy(5.0, 2.0, lead_time_days=4, service_level=1.0)


def test_sigma_from_an_80_percent_interval() -> None:
    assert sigma_from_interval(10 - Z80 * 3, 10 + Z80 * 3, 0.8) == pytest.approx(3.0)


def test_suggestions_from_a_forecast_frame() -> None:
    start = date(2025, 7, 1)
    rows = []
    for k in range(14):
        day = start + timedelta(days=k)
        # p1: 10/day with sigma 4 for the first 9 days (the lead time), then something else.
        mean, sigma = (10.0, 4.0) if k < 9 else (100.0, 50.0)
        rows.append(("t", "p1", day, mean, mean - Z80 * sigma, mean + Z80 * sigma))
        rows.append(("u", "p1", day, 0.0, 0.0, 0.0))
    forecast = pl.DataFrame(
        rows,
        schema=["tenant_id", "product_id", "forecast_date", "yhat", "yhat_lower", "yhat_upper"],
        orient="row",
    )
    out = reorder_suggestions(forecast, lead_time_days=9, service_level=0.95)
    assert dict(out.schema) == REORDER_SCHEMA
    t = out.filter(pl.col("tenant_id") == "t").row(0, named=True)
    assert t["daily_demand_mean"] == pytest.approx(10.0)
    assert t["daily_demand_std"] == pytest.approx(4.0)
    assert (t["safety_stock"], t["reorder_point"], t["suggested_order_qty"]) == (20, 110, 77)
    u = out.filter(pl.col("tenant_id") == "u").row(0, named=True)
    assert (u["safety_stock"], u["reorder_point"], u["suggested_order_qty"]) == (0, 0, 0)
    longer = reorder_suggestions(forecast, lead_times={("t", "p1"): 3.0}, service_level=0.95)
    assert longer.filter(pl.col("tenant_id") == "t")["lead_time_days"].item() == 3.0
