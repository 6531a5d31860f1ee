"""Personal lists: exactly the full ranking's top n, tenant isolation, cold start, determinism."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from ml_assets.recommend import recommend_for_users, trending_products
from ml_assets.recommend.personal import revisit_rates
from ml_assets.recommend.weights import EVENT_WEIGHTS, QUANTITY_CAP

from .conftest import AS_OF, SyntheticShop, interactions


def brute_force(
    frame: pl.DataFrame,
    trending: pl.DataFrame,
    *,
    n: int,
    half_life_days: float,
    prior_strength: float = 3.0,
) -> dict[tuple[str, str], list[tuple[str, float]]]:
    """The scoring formula of the module docstring, over every product, row by row."""
    lam = dict(
        revisit_rates(
            frame.with_columns(
                pl.col("event").replace_strict(EVENT_WEIGHTS, default=0.0).alias("weight")
            )
        ).rows()
    )
    as_of = frame.group_by("tenant_id").agg(pl.col("occurred_at").max())
    latest = dict(as_of.rows())
    users = {(r["tenant_id"], r["user_id"]) for r in frame.iter_rows(named=True) if r["user_id"]}
    own: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    category: dict[tuple[str, str], str] = {}
    for r in frame.sort("occurred_at").iter_rows(named=True):
        category[(r["tenant_id"], r["product_id"])] = r["category"]
        key = (r["tenant_id"], r["user_id"] or r["actor_id"])
        if key not in users:
            continue
        age = (latest[r["tenant_id"]] - r["occurred_at"]).total_seconds() / 86400
        quantity = min(max(r["quantity"] or 1, 1), QUANTITY_CAP)
        weight = EVENT_WEIGHTS.get(r["event"], 0.0) * quantity * 0.5 ** (age / half_life_days)
        own[key][r["product_id"]] += weight
    trend_score = {
        (r["tenant_id"], r["product_id"]): r["score"] for r in trending.iter_rows(named=True)
    }
    for r in trending.iter_rows(named=True):
        category[(r["tenant_id"], r["product_id"])] = r["category"]
    cat_total: dict[tuple[str, str], float] = defaultdict(float)
    tenant_total: dict[str, float] = defaultdict(float)
    for (tenant, product), score in trend_score.items():
        cat_total[(tenant, category[(tenant, product)])] += score
        tenant_total[tenant] += score
    result = {}
    for tenant, user in users:
        weights = {p: max(w, 0.0) for p, w in own[(tenant, user)].items()}
        total = sum(weights.values())
        affinity: dict[str, float] = defaultdict(float)
        for p, w in weights.items():
            affinity[category[(tenant, p)]] += w
        candidates = {p for (t, p) in trend_score if t == tenant} | {
            p for p, w in weights.items() if w > 0
        }
        scored = []
        for p in candidates:
            c = category[(tenant, p)]
            score = 0.0
            if (tenant, p) in trend_score:
                share_c = cat_total[(tenant, c)] / tenant_total[tenant]
                share_i = trend_score[(tenant, p)] / cat_total[(tenant, c)]
                a = (affinity[c] + prior_strength * share_c) / (total + prior_strength)
                score += (1 - lam[tenant]) * a * share_i
            if weights.get(p, 0) > 0:
                score += lam[tenant] * weights[p] / total
            scored.append((p, round(score, 9)))
        scored.sort(key=lambda item: (-item[1], item[0]))
        result[(tenant, user)] = [item for item in scored[:n] if item[1] > 0]
    return result


def as_lists(recs: pl.DataFrame) -> dict[tuple[str, str], list[tuple[str, float]]]:
    out: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for r in recs.sort("tenant_id", "user_id", "rank").iter_rows(named=True):
        out[(r["tenant_id"], r["user_id"])].append((r["product_id"], r["score"]))
    return dict(out)


@pytest.mark.parametrize("n", [1, 3, 10])
def test_equals_the_brute_force_ranking(n: int) -> None:
    frame = pl.concat(
        [
            SyntheticShop(seed=11, tenant_id="a", users=40, categories=5).frame(),
            SyntheticShop(seed=12, tenant_id="b", users=30, products_per_category=4).frame(),
        ]
    )
    as_of = frame["occurred_at"].max()
    assert isinstance(as_of, datetime)
    # A short trending list so that many users' own products are not trending.
    trending = trending_products(frame, as_of=as_of, half_life_days=7, top_n=6)
    got = as_lists(recommend_for_users(frame, trending, n=n, half_life_days=10))
    expected = brute_force(frame, trending, n=n, half_life_days=10)
    assert got.keys() == expected.keys()
    for key, items in expected.items():
        assert [p for p, _ in got[key]] == [p for p, _ in items], key
        assert [s for _, s in got[key]] == pytest.approx([s for _, s in items], abs=1e-8)


def test_a_user_gets_their_own_categories_and_keeps_bought_products() -> None:
    base = [
        {"product_id": f"gadget{i}", "category": "gadgets", "actor_id": f"other{i}"}
        for i in range(5)
        for _ in range(5 - i)
    ] + [{"product_id": f"book{i}", "category": "books", "actor_id": "other"} for i in range(3)]
    bought_at = AS_OF - timedelta(days=20)
    mine = [
        {
            "user_id": "reader",
            "product_id": "book9",
            "category": "books",
            "event": e,
            "occurred_at": bought_at,
        }
        for e in ("Product Viewed", "Product Added", "Order Completed")
    ]
    # Shoppers of this shop come back to a product on a later day (lam ~ 0.3): that is
    # the evidence that makes the reader's own purchase worth showing again.
    returns = [
        {
            "actor_id": f"regular{r}",
            "product_id": "kettle",
            "category": "kitchen",
            "occurred_at": AS_OF - timedelta(days=day),
        }
        for r in range(6)
        for day in (1, 2)
    ]
    frame = interactions(base + mine + returns)
    trending = trending_products(frame, as_of=AS_OF, half_life_days=7)
    recs = recommend_for_users(frame, trending, n=4)
    assert set(recs["user_id"]) == {"reader"}  # only identified users get a list
    ranked = recs.sort("rank").rows(named=True)
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4]
    # The shop's hottest products are kettles and gadgets, but this reader's list leads with
    # books.
    assert {r["product_id"] for r in ranked[:3]} <= {"book0", "book1", "book2", "book9"}
    assert not any(r["product_id"].startswith("gadget") for r in ranked)
    # Bought products are not hidden; this one is listed for the reader's own history.
    assert ranked[0]["product_id"] == "book9"
    assert ranked[0]["algorithm"] == "repurchase"
    assert {r["algorithm"] for r in ranked[1:]} == {"trending_affinity"}


def test_with_no_returning_shoppers_own_products_score_as_new() -> None:
    frame = interactions(
        [
            {"actor_id": "other", "product_id": "hit", "event": "Order Completed", "category": "b"},
            {"user_id": "me", "product_id": "mine", "event": "Product Added", "category": "a"},
        ]
    )
    trending = trending_products(frame, as_of=AS_OF, half_life_days=7)
    recs = recommend_for_users(frame, trending, n=5)
    # Everything happened on one day, so lam = 0: "mine" is ranked by trending affinity only.
    assert recs["product_id"].to_list() == ["mine", "hit"]
    assert set(recs["algorithm"]) == {"trending_affinity"}


def test_cold_start_user_gets_the_trending_order() -> None:
    frame = SyntheticShop(seed=5, users=120).frame()
    as_of = frame["occurred_at"].max()
    assert isinstance(as_of, datetime)
    newcomer = interactions(
        [
            {
                "tenant_id": "shop",
                "user_id": "newcomer",
                "product_id": "shop-p0-24",
                "category": "cat0",
                "occurred_at": as_of,
                "event": "Products Searched",  # no weight: the user has no evidence at all
            }
        ]
    )
    frame = pl.concat([frame, newcomer])
    trending = trending_products(frame, as_of=as_of, half_life_days=7)
    recs = recommend_for_users(frame, trending, n=10).filter(pl.col("user_id") == "newcomer")
    assert recs["product_id"].to_list() == trending["product_id"].head(10).to_list()
    assert set(recs["algorithm"]) == {"trending_affinity"}


def test_anonymous_history_counts_once_stitched_and_tenants_never_mix() -> None:
    frame = interactions(
        [
            {"actor_id": "ann", "user_id": None, "product_id": "tent", "category": "camping"},
            {"actor_id": "ann", "user_id": "ann", "product_id": "stove", "category": "camping"},
            {"actor_id": "x", "product_id": "mug", "category": "kitchen"},
            # Another shop with the same user id and its own catalogue.
            {"tenant_id": "t2", "actor_id": "ann", "user_id": "ann", "product_id": "novel"},
            {"tenant_id": "t2", "actor_id": "y", "product_id": "atlas"},
        ]
    )
    trending = trending_products(frame, as_of=AS_OF, half_life_days=7)
    recs = recommend_for_users(frame, trending, n=10)
    t1 = recs.filter(pl.col("tenant_id") == "t1")
    t2 = recs.filter(pl.col("tenant_id") == "t2")
    assert set(t1["product_id"]) == {"tent", "stove", "mug"}
    assert set(t2["product_id"]) == {"novel", "atlas"}
    alone = recommend_for_users(
        frame.filter(pl.col("tenant_id") == "t1"),
        trending.filter(pl.col("tenant_id") == "t1"),
        n=10,
    )
    assert alone.equals(t1)


def test_same_input_in_any_order_gives_the_same_output() -> None:
    frame = SyntheticShop(seed=9, users=200).frame()
    as_of = frame["occurred_at"].max()
    assert isinstance(as_of, datetime)
    trending = trending_products(frame, as_of=as_of, half_life_days=7)
    first = recommend_for_users(frame, trending, n=10)
    for seed in range(3):
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
        assert recommend_for_users(shuffled, trending.reverse(), n=10).equals(first)


def test_nothing_in_nothing_out_and_bad_arguments() -> None:
    empty = interactions([]).clear()
    trending = trending_products(empty, as_of=AS_OF, half_life_days=7)
    recs = recommend_for_users(empty, trending)
    assert recs.is_empty()
    assert recs.columns == ["tenant_id", "user_id", "product_id", "score", "rank", "algorithm"]
    with pytest.raises(ValueError, match="n must"):
        recommend_for_users(empty, trending, n=0)


def test_a_million_interactions_scale_linearly() -> None:
    rng = np.random.default_rng(0)
    rows = 1_000_000
    users = rng.integers(0, 40_000, rows)
    categories = np.where(rng.random(rows) < 0.8, users % 25, rng.integers(0, 25, rows))
    products = categories * 400 + rng.zipf(1.3, rows) % 400
    start = np.datetime64("2025-01-01T00:00:00", "us")
    frame = pl.DataFrame(
        {
            "tenant_id": np.where(users % 3 == 0, "big", "other"),
            "actor_id": np.char.add("u", users.astype(str)),
            "product_id": np.char.add("p", products.astype(str)),
            "category": np.char.add("c", categories.astype(str)),
            "event": rng.choice(
                ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"],
                rows,
                p=[0.75, 0.15, 0.05, 0.05],
            ),
            "quantity": rng.integers(1, 3, rows),
            "occurred_at": start
            + rng.integers(0, 60 * 86_400_000_000, rows).astype("timedelta64[us]"),
        }
    ).with_columns(  # 30% of touches are anonymous (stitched to the user afterwards)
        pl.when(pl.Series(rng.random(rows) < 0.3)).then(None).otherwise("actor_id").alias("user_id")
    )
    as_of = datetime(2025, 3, 2)

    def seconds(interactions: pl.DataFrame) -> tuple[float, pl.DataFrame]:
        started = time.perf_counter()
        trending = trending_products(interactions, as_of=as_of, half_life_days=7)
        recs = recommend_for_users(interactions, trending, n=20)
        return time.perf_counter() - started, recs

    # Scaling, not a wall-clock bound (the machine may be busy): ten times the interactions
    # must cost about ten times as much; a quadratic step would cost about a hundred.
    small, _ = seconds(frame.head(rows // 10))
    elapsed, recs = seconds(frame)
    assert recs["user_id"].n_unique() == 40_000
    print(f"trending + recommend_for_users: 1M interactions {elapsed:.2f} s, 100k {small:.2f} s")
    assert elapsed / small < 30, f"{elapsed:.2f} s vs {small:.2f} s for a tenth"
