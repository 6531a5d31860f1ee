"""The pipeline's call: every published table's columns, tenant isolation, business filters."""

from __future__ import annotations

from datetime import UTC, timedelta

import polars as pl
import pytest

from ml_assets.recommend.interactions import latest_touch
from ml_assets.recommend.tables import COLD_START_SCHEMA, TenantOptions, recommendation_tables

from .conftest import AS_OF, SyntheticShop, interactions


@pytest.fixture(scope="module")
def shops() -> tuple[pl.DataFrame, pl.DataFrame]:
    one = SyntheticShop(seed=1, tenant_id="a", users=120, days=30).frame()
    two = SyntheticShop(seed=2, tenant_id="b", users=120, days=30).frame()
    frame = pl.concat([one, two])
    products = (
        frame.select("tenant_id", "product_id", "category")
        .unique(["tenant_id", "product_id"])
        .with_columns(
            ("Thing " + pl.col("product_id")).alias("name"),
            pl.lit("Brand").alias("brand"),
            pl.lit(10.0).alias("price"),
            pl.lit(True).alias("in_stock"),
        )
    )
    unseen = pl.DataFrame(
        {
            "tenant_id": ["a"],
            "product_id": ["a-brand-new"],
            "category": ["cat0"],
            "name": ["Thing a-p0-1 new edition"],
            "brand": ["Brand"],
            "price": [10.0],
            "in_stock": [True],
        }
    )
    return frame, pl.concat([products, unseen])


def test_tables_have_the_published_columns(shops: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    frame, products = shops
    as_of = SyntheticShop().start + timedelta(days=30)
    tables = recommendation_tables(frame, products, as_of=as_of, n=5)
    assert tables["recommendations"].columns == [
        "tenant_id",
        "user_id",
        "product_id",
        "score",
        "rank",
        "algorithm",
    ]
    assert tables["similar_products"].columns == [
        "tenant_id",
        "product_id",
        "similar_product_id",
        "score",
        "rank",
        "algorithm",
    ]
    assert tables["frequently_bought_together"].columns == [
        "tenant_id",
        "product_id",
        "other_product_id",
        "orders_together",
        "confidence",
        "lift",
        "rank",
    ]
    assert tables["cold_start"].schema == pl.Schema(COLD_START_SCHEMA)
    assert set(tables["similar_products"]["algorithm"]) == {"als", "co_purchase", "content"}
    recs = tables["recommendations"]
    assert recs.group_by("tenant_id", "user_id").len()["len"].max() == 5
    # Every user's products come from their own tenant.
    owners = frame.select("tenant_id", "product_id").unique()
    assert recs.join(owners, on=["tenant_id", "product_id"], how="anti").height == 0
    # A catalog product nobody touched has content neighbours (cold-start item).
    new = tables["similar_products"].filter(product_id="a-brand-new")
    assert new.height > 0 and set(new["algorithm"]) == {"content"}


def test_business_filters_are_tenant_settings(shops: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    frame, products = shops
    as_of = SyntheticShop().start + timedelta(days=30)
    plain = recommendation_tables(frame, products, as_of=as_of, n=10)["recommendations"]
    bought = (
        frame.filter(pl.col("event") == "Order Completed")
        .select("tenant_id", pl.col("actor_id").alias("user_id"), "product_id")
        .unique()
    )
    keys = ["tenant_id", "user_id", "product_id"]
    assert plain.join(bought, on=keys, how="semi").height > 0  # repeats are not hidden by default

    top_product = plain.filter(tenant_id="a", rank=1)["product_id"].mode()[0]
    stocked = products.with_columns(
        pl.when(pl.col("product_id") == top_product)
        .then(False)
        .otherwise(pl.col("in_stock"))
        .alias("in_stock")
    )
    options = {"a": TenantOptions(exclude_purchased=True, excluded_categories=frozenset({"cat1"}))}
    filtered = recommendation_tables(frame, stocked, as_of=as_of, n=10, options=options)[
        "recommendations"
    ]
    a = filtered.filter(tenant_id="a")
    assert top_product not in a["product_id"].to_list()
    assert a.join(bought, on=keys, how="semi").height == 0
    categories = products.select("tenant_id", "product_id", "category")
    assert "cat1" not in a.join(categories, on=["tenant_id", "product_id"])["category"].to_list()
    # Tenant b asked for nothing: its purchased products may still be listed.
    b = filtered.filter(tenant_id="b")
    assert b.join(bought, on=keys, how="semi").height > 0


def test_tiny_and_empty_shops_get_fallbacks() -> None:
    """Too few people for ALS or a ranker: rank fusion and cold start still answer."""
    frame = interactions(
        [
            {"user_id": "u1", "product_id": "a", "occurred_at": AS_OF - timedelta(days=3)},
            {"user_id": "u1", "product_id": "b", "event": "Order Completed"},
            {"user_id": "u2", "product_id": "a", "event": "Order Completed"},
            {"product_id": "c", "category": "c2"},
        ]
    )
    tables = recommendation_tables(frame, as_of=AS_OF, n=3)
    recs = tables["recommendations"]
    assert sorted(recs["user_id"].unique()) == ["u1", "u2"]
    assert recs.group_by("user_id").len()["len"].to_list() == [3, 3]
    assert set(tables["cold_start"]["context"]) == {"all", "category:c1", "category:c2"}
    empty = recommendation_tables(frame.clear(), as_of=AS_OF)
    assert all(table.height == 0 for table in empty.values())


def test_lists_are_computed_as_of_the_latest_touch() -> None:
    """The pipeline's moment: the latest touch, so unchanged events give unchanged lists; the
    wall clock only when there is no touch or the latest lies ahead of it."""
    frame = interactions(
        [
            {"user_id": "u1", "product_id": "a", "occurred_at": AS_OF - timedelta(days=3)},
            {"user_id": "u2", "product_id": "b", "occurred_at": AS_OF - timedelta(hours=5)},
        ]
    )
    now = (AS_OF + timedelta(days=2)).replace(tzinfo=UTC)
    assert latest_touch(frame, now=now) == AS_OF - timedelta(hours=5)
    later = now + timedelta(minutes=7)
    assert latest_touch(frame, now=later) == latest_touch(frame, now=now)
    ahead = interactions([{"user_id": "u1", "product_id": "a", "occurred_at": AS_OF}])
    assert latest_touch(ahead, now=AS_OF - timedelta(days=1)) == AS_OF - timedelta(days=1)
    assert latest_touch(frame.clear(), now=now) == AS_OF + timedelta(days=2)
