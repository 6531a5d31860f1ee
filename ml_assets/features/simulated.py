"""Warehouse-shaped frames straight from Segment messages, for evaluation without dbt.

The benchmark and the tests need months of simulated history as ``int_orders``,
``int_product_interactions`` and ``int_sessions``; posting it through the collector and building
the warehouse would take minutes. This module follows the dbt models' rules closely enough for
model evaluation: identity stitching by the latest (anonymousId, userId) link, first Order
Completed per order id, refunds taken back by their share of the order's total, cancelled orders
worth nothing, 30-minute visits of device-side events, no crawlers. The dbt models stay the
source of truth in the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

#: Crawler user-agent markers (the simulator's, and the big search engines').
CRAWLERS = ("Googlebot", "bingbot", "AhrefsBot", "SemrushBot", "bot", "crawler", "spider")
SESSION_GAP = 30 * 60 * 1_000_000  # microseconds
LIST_EVENTS = frozenset({"Product List Viewed", "Product List Filtered"})


@dataclass(frozen=True)
class WarehouseFrames:
    """The three intermediate models the prediction models read, for one or more tenants."""

    orders: pl.DataFrame
    interactions: pl.DataFrame
    sessions: pl.DataFrame

    def concat(self, other: WarehouseFrames) -> WarehouseFrames:
        return WarehouseFrames(
            pl.concat([self.orders, other.orders]),
            pl.concat([self.interactions, other.interactions]),
            pl.concat([self.sessions, other.sessions]),
        )


def _when(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00")).replace(tzinfo=None)


def _is_bot(message: dict[str, Any]) -> bool:
    agent = (message.get("context") or {}).get("userAgent") or ""
    return any(marker in agent for marker in CRAWLERS)


def warehouse_frames(messages: Iterable[dict[str, Any]], tenant_id: str) -> WarehouseFrames:
    """``int_orders``, ``int_product_interactions`` and ``int_sessions`` of one tenant."""
    kept = [m for m in messages if not _is_bot(m)]
    links: dict[str, str] = {}
    for m in sorted(kept, key=lambda m: m["timestamp"]):
        if m.get("anonymousId") and m.get("userId"):
            links[m["anonymousId"]] = m["userId"]

    def actor(m: dict[str, Any]) -> tuple[str, str | None]:
        user = m.get("userId") or links.get(m.get("anonymousId") or "")
        return (user or m["anonymousId"]), user

    orders: dict[str, dict[str, Any]] = {}
    refunds: dict[str, tuple[float, datetime]] = {}
    cancelled: dict[str, datetime] = {}
    touches: list[dict[str, Any]] = []
    visits: list[tuple[str, str | None, datetime]] = []
    for m in kept:
        when = _when(m)
        who, user = actor(m)
        if m.get("anonymousId"):
            visits.append((who, user, when))
        if m.get("type") != "track":
            continue
        event, props = m.get("event"), m.get("properties") or {}
        order_id = props.get("order_id")
        if event == "Order Completed" and order_id and order_id not in orders:
            orders[order_id] = {
                "actor_id": who,
                "user_id": user,
                "ordered_at": when,
                "gross_revenue": float(props.get("revenue") or props.get("total") or 0.0),
                "total": float(props.get("total") or props.get("revenue") or 0.0),
                "discount": float(props.get("discount") or 0.0),
                "coupon": props.get("coupon"),
                "currency": props.get("currency"),
            }
        elif event == "Order Refunded" and order_id:
            amount, _ = refunds.get(order_id, (0.0, when))
            refunds[order_id] = (amount + float(props.get("total") or 0.0), when)
        elif event == "Order Cancelled" and order_id:
            cancelled.setdefault(order_id, when)
        if event in LIST_EVENTS:
            continue
        products = props.get("products") if isinstance(props.get("products"), list) else None
        for item in products or ([props] if props.get("product_id") else []):
            if not item.get("product_id"):
                continue
            touches.append(
                {
                    "tenant_id": tenant_id,
                    "actor_id": who,
                    "user_id": m.get("userId"),
                    "product_id": str(item["product_id"]),
                    "category": item.get("category"),
                    "event": event,
                    "quantity": float(item.get("quantity") or 1),
                    "occurred_at": when,
                }
            )
    order_rows = []
    for order_id, o in orders.items():
        refunded, refunded_at = refunds.get(order_id, (0.0, None))
        share = (
            1.0
            if order_id in cancelled
            else min(1.0, refunded / o["total"])
            if o["total"] > 0
            else 0.0
        )
        order_rows.append(
            {
                "tenant_id": tenant_id,
                "order_id": order_id,
                "actor_id": o["actor_id"],
                "user_id": o["user_id"],
                "ordered_at": o["ordered_at"],
                "gross_revenue": o["gross_revenue"],
                "refunded_amount": refunded,
                "last_refunded_at": refunded_at,
                "cancelled_at": cancelled.get(order_id),
                "discount": o["discount"],
                "coupon": o["coupon"],
                "net_revenue": o["gross_revenue"] * (1 - share),
                "currency": o["currency"],
            }
        )
    order_schema: dict[str, pl.DataType] = {
        "tenant_id": pl.String(), "order_id": pl.String(), "actor_id": pl.String(),
        "user_id": pl.String(), "ordered_at": pl.Datetime("us"), "gross_revenue": pl.Float64(),
        "refunded_amount": pl.Float64(), "last_refunded_at": pl.Datetime("us"),
        "cancelled_at": pl.Datetime("us"), "discount": pl.Float64(), "coupon": pl.String(),
        "net_revenue": pl.Float64(),
        "currency": pl.String(),
    }  # fmt: skip
    interaction_schema: dict[str, pl.DataType] = {
        "tenant_id": pl.String(), "actor_id": pl.String(), "user_id": pl.String(),
        "product_id": pl.String(), "category": pl.String(), "event": pl.String(),
        "quantity": pl.Float64(), "occurred_at": pl.Datetime("us"),
    }  # fmt: skip
    return WarehouseFrames(
        orders=pl.DataFrame(order_rows, schema=order_schema),
        interactions=pl.DataFrame(touches, schema=interaction_schema),
        sessions=_sessions(visits, tenant_id),
    )


def _sessions(visits: list[tuple[str, str | None, datetime]], tenant_id: str) -> pl.DataFrame:
    """One row per visit: device-side events of an actor with gaps under 30 minutes."""
    frame = pl.DataFrame(
        visits,
        schema={"actor_id": pl.String(), "user_id": pl.String(), "at": pl.Datetime("us")},
        orient="row",
    ).sort("actor_id", "at")
    gap = pl.col("at").diff().over("actor_id").dt.total_microseconds()
    return (
        frame.with_columns(
            (gap.is_null() | (gap >= SESSION_GAP)).cast(pl.Int64).cum_sum().over("actor_id").alias(
                "session_number"
            )
        )
        .group_by("actor_id", "session_number")
        .agg(
            pl.col("user_id").drop_nulls().last().alias("user_id"),
            pl.col("at").min().alias("started_at"),
            pl.col("at").max().alias("ended_at"),
            pl.len().alias("event_count"),
        )
        .with_columns(pl.lit(tenant_id).alias("tenant_id"))
        .select("tenant_id", "actor_id", "user_id", "session_number", "started_at", "ended_at",
                "event_count")
        .sort("actor_id", "session_number")
    )  # fmt: skip


def simulated_shop(
    *,
    seed: int = 7,
    days: int = 240,
    customers: int = 1500,
    products: int = 120,
    end: date = date(2025, 6, 30),
    tenant_id: str = "sim",
) -> WarehouseFrames:
    """A simulated shop's frames for evaluation: signed-up customers only (no anonymous
    visitors, who never order), so months of history take seconds to build."""
    from intellishop.simulation import SimulationConfig, generate_events

    config = SimulationConfig(
        seed=seed, days=days, customers=customers, products=products,
        anonymous_visitors_per_customer=0, end=end,
    )  # fmt: skip
    return warehouse_frames(generate_events(config), tenant_id)
