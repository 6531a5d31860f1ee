"""Trending and popular products: decay math, event weights, tenants, determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from ml_assets.recommend import EVENT_WEIGHTS, QUANTITY_CAP, popular_products, trending_products

from .conftest import AS_OF, SyntheticShop, interactions


def scores(frame: pl.DataFrame) -> dict[str, float]:
    return dict(zip(frame["product_id"], frame["score"], strict=True))


def test_a_touch_one_half_life_ago_weighs_half() -> None:
    frame = interactions(
        [
            {"product_id": "fresh", "occurred_at": AS_OF},
            {"product_id": "week", "occurred_at": AS_OF - timedelta(days=7)},
            {"product_id": "fortnight", "occurred_at": AS_OF - timedelta(days=14)},
            {"product_id": "hours", "occurred_at": AS_OF - timedelta(hours=42)},
        ]
    )
    got = scores(trending_products(frame, as_of=AS_OF, half_life_days=7))
    assert got["fresh"] == pytest.approx(1.0)
    assert got["week"] == pytest.approx(0.5)
    assert got["fortnight"] == pytest.approx(0.25)
    assert got["hours"] == pytest.approx(0.5 ** (1.75 / 7), rel=1e-6)


def test_touches_after_as_of_are_ignored_and_time_zones_do_not_matter() -> None:
    frame = interactions(
        [
            {"product_id": "past", "occurred_at": AS_OF - timedelta(days=1)},
            {"product_id": "future", "occurred_at": AS_OF + timedelta(seconds=1)},
        ]
    )
    got = trending_products(frame, as_of=AS_OF, half_life_days=7)
    assert got["product_id"].to_list() == ["past"]

    aware = frame.with_columns(
        pl.col("occurred_at").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Tokyo")
    )
    as_of_berlin = AS_OF.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    assert trending_products(aware, as_of=as_of_berlin, half_life_days=7).equals(got)


def test_event_weights_follow_the_funnel_and_reversals_cancel() -> None:
    w = EVENT_WEIGHTS
    assert w["Product Viewed"] < w["Product Added"] == w["Product Added to Wishlist"]
    assert w["Product Added"] < w["Checkout Started"] < w["Order Completed"]
    assert w["Product Removed"] == -w["Product Added"]
    assert w["Order Refunded"] == -w["Order Completed"]
    frame = interactions(
        [
            {"product_id": "viewed", "event": "Product Viewed"},
            {"product_id": "bought", "event": "Order Completed"},
            {"product_id": "refunded", "event": "Product Viewed"},
            {"product_id": "refunded", "event": "Order Completed"},
            {"product_id": "refunded", "event": "Order Refunded"},
            {"product_id": "removed", "event": "Product Added"},
            {"product_id": "removed", "event": "Product Removed"},
            {"product_id": "searched", "event": "Products Searched"},
            {"product_id": "bulk", "event": "Order Completed", "quantity": 40},
        ]
    )
    got = scores(popular_products(frame))
    assert got["bought"] == 6.0
    assert got["refunded"] == 1.0  # the refund takes back the purchase, not the view
    assert got["bulk"] == 6.0 * QUANTITY_CAP
    # Fully taken back, or no signal at all: not listed rather than listed with 0.
    assert "removed" not in got and "searched" not in got


def test_ranks_per_tenant_and_category_with_ties_by_product_id() -> None:
    frame = interactions(
        [
            {"product_id": "b", "category": "shoes"},
            {"product_id": "a", "category": "shoes"},
            {"product_id": "c", "category": "hats", "event": "Product Added"},
            {"tenant_id": "t2", "product_id": "z", "event": "Order Completed"},
        ]
    )
    got = trending_products(frame, as_of=AS_OF, half_life_days=7)
    assert got.select("tenant_id", "product_id", "rank", "category_rank").rows() == [
        ("t1", "c", 1, 1),
        ("t1", "a", 2, 1),
        ("t1", "b", 3, 2),
        ("t2", "z", 1, 1),
    ]


def test_top_n_keeps_each_categorys_top_too() -> None:
    rows = [{"product_id": f"big{i}", "category": "big", "quantity": 5} for i in range(5)]
    rows.append({"product_id": "small0", "category": "small"})
    got = trending_products(interactions(rows), as_of=AS_OF, half_life_days=7, top_n=2)
    assert set(got["product_id"]) == {"big0", "big1", "small0"}
    small = got.filter(pl.col("category") == "small").row(0, named=True)
    assert small["rank"] == 6 and small["category_rank"] == 1
    assert popular_products(interactions(rows), top_n=2)["product_id"].to_list() == [
        "big0",
        "big1",
    ]


def test_popular_ignores_time_and_trending_prefers_recent() -> None:
    frame = interactions(
        [
            *[{"product_id": "old-hit", "occurred_at": AS_OF - timedelta(days=60)}] * 10,
            *[{"product_id": "new-hit", "occurred_at": AS_OF - timedelta(days=1)}] * 3,
        ]
    )
    assert popular_products(frame)["product_id"].to_list() == ["old-hit", "new-hit"]
    trending = trending_products(frame, as_of=AS_OF, half_life_days=7)
    assert trending["product_id"].to_list() == ["new-hit", "old-hit"]


def test_tenants_never_mix() -> None:
    shop_a = SyntheticShop(seed=1, tenant_id="a", users=60).frame()
    shop_b = SyntheticShop(seed=2, tenant_id="b", users=60).frame()
    # Tenant b uses tenant a's product ids too: ids are only unique within a tenant.
    shop_b = shop_b.with_columns(pl.col("product_id").str.replace("^b-", "a-"))
    as_of = datetime(2025, 3, 1)
    alone = trending_products(shop_a, as_of=as_of, half_life_days=7)
    together = trending_products(pl.concat([shop_b, shop_a]), as_of=as_of, half_life_days=7)
    assert together.filter(pl.col("tenant_id") == "a").equals(alone)
    assert (
        popular_products(pl.concat([shop_a, shop_b]))
        .filter(pl.col("tenant_id") == "a")
        .equals(popular_products(shop_a))
    )


def test_same_input_in_any_order_gives_the_same_output() -> None:
    frame = SyntheticShop(seed=3, users=150).frame()
    as_of = datetime(2025, 3, 1)
    first = trending_products(frame, as_of=as_of, half_life_days=7)
    for seed in range(3):
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
        assert trending_products(shuffled, as_of=as_of, half_life_days=7).equals(first)
        assert popular_products(shuffled).equals(popular_products(frame))


def test_empty_input_and_bad_arguments() -> None:
    empty = interactions([]).clear()
    got = trending_products(empty, as_of=AS_OF, half_life_days=7)
    assert got.is_empty()
    assert got.columns == ["tenant_id", "product_id", "category", "score", "rank", "category_rank"]
    assert popular_products(empty).columns == [
        "tenant_id",
        "product_id",
        "category",
        "score",
        "rank",
    ]
    with pytest.raises(ValueError, match="half_life_days"):
        trending_products(empty, as_of=AS_OF, half_life_days=0)
    with pytest.raises(ValueError, match="occurred_at"):
        trending_products(empty.drop("occurred_at"), as_of=AS_OF, half_life_days=7)
