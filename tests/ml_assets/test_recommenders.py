"""The recommenders' shared interface, and each algorithm's own rules on hand-made data."""

from __future__ import annotations

import random
from datetime import timedelta

import polars as pl
import pytest

from ml_assets.recommend.als import ALS, HALF_LIFE_GRID, POPULARITY_WEIGHT_GRID
from ml_assets.recommend.baselines import OwnHistory, Popularity
from ml_assets.recommend.blend import Blend
from ml_assets.recommend.content import content_similar
from ml_assets.recommend.copurchase import co_purchase_similar, frequently_bought_together
from ml_assets.recommend.protocol import RECOMMENDATION_SCHEMA, Recommender, touches
from ml_assets.recommend.repeat import BuyItAgain, learn_repeat_policy
from ml_assets.recommend.sources import Trending, TrendingAffinity

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
        Trending(),
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


def drifting_shop(seed: int = 5) -> pl.DataFrame:
    """60 people; each day, 3 touches. Until 20 days before AS_OF they touch 40 "old" products
    (a Zipf-ish favourite few); after it, 12 "new" releases take over, each person discovering
    them one by one. Nobody touches a product twice, so only a short memory finds the new
    ones: what a person will touch next is what the crowd turned to in the last days."""
    rng = random.Random(seed)
    rows = []
    for user in range(60):
        seen: set[str] = set()
        for day in range(60, 0, -1):
            pool = [f"new{i}" for i in range(12)] if day <= 20 else [f"old{i}" for i in range(40)]
            weights = [1.0 / (i + 1) for i in range(len(pool))]
            for _ in range(3):
                product = rng.choices(pool, weights)[0]
                if product in seen:
                    continue
                seen.add(product)
                rows.append(
                    {
                        "user_id": f"u{user}",
                        "product_id": product,
                        "occurred_at": AS_OF - timedelta(days=day, hours=rng.uniform(0, 20)),
                    }
                )
    return interactions(rows)


def test_als_chooses_its_half_life_per_tenant_on_a_validation_window() -> None:
    frame = drifting_shop()
    model = ALS(iterations=8, factors=8).fit(frame, as_of=AS_OF)
    scores = model.half_life_scores["t1"]
    assert set(scores) == set(HALF_LIFE_GRID)
    best = max(scores.values())
    assert scores[model.half_lives["t1"]] == best
    # Taste moved three weeks ago: the short memories win on the held-out days.
    assert model.half_lives["t1"] <= 14.0
    assert best > 2 * scores[90.0]
    forced = ALS(iterations=8, factors=8, half_life_days=30.0).fit(frame, as_of=AS_OF)
    assert forced.half_lives == {"t1": 30.0} and set(forced.half_life_scores["t1"]) == {30.0}
    both = ALS(iterations=8, factors=8, half_life_days=30.0, popularity_weight=0.5)
    both.fit(frame, as_of=AS_OF)
    assert both.half_life_scores == {} and both.validation_scores == {}
    assert both.popularity_weights == {"t1": 0.5}


def test_als_chooses_its_popularity_prior_with_the_half_life() -> None:
    """The (half-life, prior weight) pair is the best of the joint grid on the validation
    window. On a shop whose crowd moved to new releases, a memory too long for the drift
    misses them, and the prior (what is touched now) wins back part of what it lost."""
    model = ALS(iterations=8, factors=8).fit(drifting_shop(), as_of=AS_OF)
    scores = model.validation_scores["t1"]
    assert set(scores) == {(h, w) for h in HALF_LIFE_GRID for w in POPULARITY_WEIGHT_GRID}
    chosen = (model.half_lives["t1"], model.popularity_weights["t1"])
    assert scores[chosen] == max(scores.values())
    assert scores[(30.0, max(POPULARITY_WEIGHT_GRID))] > 1.2 * scores[(30.0, 0.0)]
    assert model.models["t1"].popularity_weight == model.popularity_weights["t1"]


def test_als_popularity_prior_lifts_the_tenants_hottest_products() -> None:
    """With a heavy prior the list follows recent popularity (the trending list at the same
    half-life), with none it is the factorisation's own; the person's own products stay
    hidden either way (nobody here touches a product twice)."""
    frame = drifting_shop()
    users = pl.DataFrame({"tenant_id": ["t1"] * 3, "user_id": ["u0", "u1", "u2"]})
    heavy = ALS(iterations=8, factors=8, half_life_days=7.0, popularity_weight=10.0)
    plain = ALS(iterations=8, factors=8, half_life_days=7.0, popularity_weight=0.0)
    trending = Trending(half_life_days=7.0).fit(frame, as_of=AS_OF).recommend(users, n=3)
    heavy_top = heavy.fit(frame, as_of=AS_OF).recommend(users, n=3)
    plain_top = plain.fit(frame, as_of=AS_OF).recommend(users, n=3)
    keys = ["user_id", "product_id"]
    assert heavy_top.select(keys).sort(keys).equals(trending.select(keys).sort(keys))
    assert not plain_top.select(keys).sort(keys).equals(trending.select(keys).sort(keys))
    own = frame.select(keys).unique()
    assert heavy_top.join(own, on=keys, how="semi").height == 0


def test_trending_hides_own_products_only_where_repeats_do_not_help() -> None:
    frame = pl.concat(
        [
            repeat_shop(True),
            repeat_shop(False).with_columns(pl.lit("t2").alias("tenant_id")),
        ]
    )
    model = Trending().fit(frame, as_of=AS_OF)
    users = pl.DataFrame({"tenant_id": ["t1", "t2"], "user_id": ["u1", "u1"]})
    top = model.recommend(users, n=50)
    own = frame.filter(pl.col("user_id") == "u1").select("tenant_id", "product_id").unique()
    mine = top.join(own, on=["tenant_id", "product_id"], how="semi")
    # t1 (people rebuy) keeps u1's staple; t2 (never twice) hides u1's past items.
    assert mine.filter(pl.col("tenant_id") == "t1").height == 1
    assert mine.filter(pl.col("tenant_id") == "t2").height == 0
    assert top.filter(pl.col("tenant_id") == "t2").height > 0
