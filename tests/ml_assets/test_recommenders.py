"""The recommenders' shared interface, and each algorithm's own rules on hand-made data."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from ml_assets.recommend.als import ALS
from ml_assets.recommend.baselines import OwnHistory, Popularity
from ml_assets.recommend.blend import Blend
from ml_assets.recommend.content import content_similar
from ml_assets.recommend.copurchase import co_purchase_similar, frequently_bought_together
from ml_assets.recommend.protocol import RECOMMENDATION_SCHEMA, Recommender, touches
from ml_assets.recommend.repeat import BuyItAgain, learn_repeat_policy
from ml_assets.recommend.sources import TrendingAffinity

from .conftest import AS_OF, SyntheticShop, interactions


@pytest.fixture(scope="module")
def shop() -> pl.DataFrame:
    return SyntheticShop(seed=3, users=150, days=30).frame()


def all_recommenders() -> list[Recommender]:
    return [
        Popularity(),
        Popularity(window_days=30),
        OwnHistory(),
        ALS(iterations=5, factors=8),
        TrendingAffinity(),
        BuyItAgain(),
        Blend(sources=lambda: [ALS(iterations=5, factors=8), Popularity(), OwnHistory()]),
    ]


@pytest.mark.parametrize("model", all_recommenders(), ids=lambda m: m.name)
def test_every_recommender_keeps_the_contract(model: Recommender, shop: pl.DataFrame) -> None:
    as_of = SyntheticShop().start + timedelta(days=30)
    users = shop.filter(pl.col("user_id").is_not_null()).select("tenant_id", "user_id").unique()
    first = users.sort("user_id").head(5)
    top = model.fit(shop, as_of=as_of).recommend(first, n=4)
    assert isinstance(model, Recommender)
    assert top.schema == pl.Schema(RECOMMENDATION_SCHEMA)
    assert set(top["algorithm"]) <= {model.name}
    counts = top.group_by("user_id").agg(pl.len(), pl.col("rank").sort())
    for row in counts.iter_rows(named=True):
        assert row["len"] <= 4
        assert row["rank"] == list(range(1, row["len"] + 1))
    if top.height:
        banned = top.select("tenant_id", "user_id", "product_id")
        again = model.recommend(first, n=4, exclude=banned)
        assert again.join(banned, on=["tenant_id", "user_id", "product_id"], how="semi").height == 0


def test_fit_ignores_touches_after_as_of() -> None:
    frame = interactions(
        [
            {"user_id": "u1", "product_id": "old", "occurred_at": AS_OF - timedelta(days=1)},
            {"user_id": "u2", "product_id": "future", "occurred_at": AS_OF + timedelta(days=1)},
            {"user_id": "u2", "product_id": "future", "occurred_at": AS_OF + timedelta(days=1)},
        ]
    )
    top = (
        Popularity()
        .fit(frame, as_of=AS_OF)
        .recommend(pl.DataFrame({"tenant_id": ["t1"], "user_id": ["u3"]}))
    )
    assert top["product_id"].to_list() == ["old"]


def repeat_shop(repeat: bool) -> pl.DataFrame:
    """People buy weekly: the same staple (repeat) or always a new product (no repeat)."""
    rows = []
    for user in range(40):
        for week in range(8):
            product = f"staple{user % 5}" if repeat else f"item{user}-{week}"
            rows.append(
                {
                    "user_id": f"u{user}",
                    "product_id": product,
                    "event": "Order Completed",
                    "occurred_at": AS_OF - timedelta(days=7 * (8 - week)),
                }
            )
    return interactions(rows)


def test_repeat_behaviour_is_learned_per_tenant() -> None:
    frame = pl.concat(
        [
            repeat_shop(True),
            repeat_shop(False).with_columns(pl.lit("t2").alias("tenant_id")),
        ]
    )
    policy = learn_repeat_policy(touches(frame, AS_OF, 30.0))
    learned = {row["tenant_id"]: row for row in policy.iter_rows(named=True)}
    assert learned["t1"]["repeats_help"] and learned["t1"]["repurchase_rate"] == 1.0
    assert not learned["t2"]["repeats_help"] and learned["t2"]["repurchase_rate"] == 0.0
    model = BuyItAgain().fit(frame, as_of=AS_OF)
    users = pl.DataFrame({"tenant_id": ["t1", "t2"], "user_id": ["u1", "u1"]})
    top = model.recommend(users, n=3)
    assert top["tenant_id"].unique().to_list() == ["t1"]
    assert top["product_id"].to_list() == ["staple1"]


def test_frequently_bought_together_counts_orders() -> None:
    def order(user: str, when: int, products: list[str]) -> list[dict[str, object]]:
        moment = AS_OF - timedelta(hours=when)
        return [
            {"user_id": user, "product_id": p, "event": "Order Completed", "occurred_at": moment}
            for p in products
        ]

    frame = interactions(
        order("a", 1, ["tent", "stove"])
        + order("b", 2, ["tent", "stove"])
        + order("c", 3, ["tent", "lamp"])
        + order("d", 4, ["lamp"])
        + order("a", 5, ["lamp"])  # a separate order of "a": not bought together with the tent
    )
    fbt = frequently_bought_together(frame, min_orders=1)
    tent = {r["other_product_id"]: r for r in fbt.filter(product_id="tent").iter_rows(named=True)}
    assert tent["stove"]["orders_together"] == 2
    assert tent["stove"]["confidence"] == pytest.approx(2 / 3)
    assert tent["stove"]["lift"] == pytest.approx((2 / 3) / (2 / 5))
    assert tent["lamp"]["orders_together"] == 1 and tent["stove"]["rank"] == 1
    strong = frequently_bought_together(frame, min_orders=2)
    assert set(strong.select("product_id", "other_product_id").iter_rows()) == {
        ("tent", "stove"),
        ("stove", "tent"),
    }
    people = co_purchase_similar(frame, min_people=1)
    assert set(people.filter(product_id="tent")["similar_product_id"]) == {"stove", "lamp"}


def test_content_neighbours_cover_untouched_products() -> None:
    products = pl.DataFrame(
        {
            "tenant_id": ["t1"] * 4,
            "product_id": ["a", "b", "c", "new"],
            "name": ["Trail running shoe", "Espresso machine", "Road running shoe", "Trail shoe"],
            "category": ["Footwear", "Kitchen", "Footwear", "Footwear"],
            "brand": ["Peak", "Brew", "Peak", "Peak"],
            "price": [90.0, 300.0, 80.0, 95.0],
        }
    )
    similar = content_similar(products, top_k=2)
    assert set(similar["algorithm"]) == {"content"}
    first = similar.filter((pl.col("product_id") == "new") & (pl.col("rank") == 1))
    assert first["similar_product_id"].to_list() == ["a"]
    assert "b" not in similar.filter(product_id="new")["similar_product_id"].to_list()
