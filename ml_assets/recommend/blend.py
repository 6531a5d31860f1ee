"""Personalized ranking: candidates from every source, re-ranked by a learned XGBoost ranker.

What it does, per tenant:

1. **Candidates.** Each source recommender (ALS, trending-affinity, last-30-days and all-time
   popularity, the person's own history, buy-it-again, and trending: 7-day decayed popularity
   without the person's own products where the tenant's people do not repeat) proposes its top
   ``candidates`` products for the person; the union is the candidate set.
2. **Features** of each (person, candidate): every source's score and rank (absent = 0 and
   ``candidates + 1``), whether the person touched or bought the product before, the person's
   share of interest in the product's category, the product's all-time and 30-day weight, and
   the person's amount of history.
3. **Ranker.** An ``xgboost.XGBRanker`` (LambdaMART, ``rank:ndcg``, one query per person) is
   trained on a validation window carved from the training data: sources are fitted on the
   touches before the tenant's latest ``validation_share`` of touches, their candidates for
   the people active in that window are labelled 1 when the person touched (or bought, with
   ``target="purchase"``) the product in it. Then the sources are fitted again on everything up
   to ``as_of`` and the ranker scores their candidates. So whether repeats, category taste,
   recency or look-alikes matter is learned from the tenant's own recent past.
4. **Selection.** The ranker is kept only where it beats every single source and their
   reciprocal-rank fusion on validation people it was not trained on (2-fold cross-validation
   over people, nDCG@10); otherwise the tenant is served by the winner (``choice``; the scores
   are in ``validation``). The window is the latest 20 % of touches: the same horizon as the
   evaluation's test window (15 % generalised worse on the simulator).

Assumptions: the near future looks like the validation window (the ranker learns *how* to
combine, not *what* is popular, so popularity drift is fine; a change of how people shop is
not); a tenant needs at least ``MIN_POSITIVES`` labelled hits to train its own ranker: below it
the tenant gets the pooled ranker of all tenants, and with no ranker at all a reciprocal-rank
fusion of the sources (each source's 1 / (60 + rank), summed).

Each row's ``algorithm`` is ``blend``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal, Self

import numpy as np
import polars as pl
import xgboost as xgb

from .als import ALS
from .baselines import OwnHistory, Popularity
from .interactions import prepare_interactions, utc_naive
from .protocol import Recommender, empty_recommendations, requested_users, top_n, touches
from .repeat import BuyItAgain
from .sources import Trending, TrendingAffinity
from .weights import PURCHASE_EVENTS, base_weight

#: A tenant needs this many labelled hits in its validation window to get its own ranker.
MIN_POSITIVES = 50
#: People sampled per tenant to train the ranker (bounds training time on big shops).
MAX_TRAINING_PEOPLE = 3000
#: Reciprocal-rank fusion constant (Cormack et al. 2009): damps the top ranks' dominance.
RRF_K = 60.0

Target = Literal["touch", "purchase"]


def default_sources() -> list[Recommender]:
    """The candidate generators, freshly constructed (the blend fits them twice)."""
    return [
        ALS(),
        TrendingAffinity(),
        Popularity(window_days=30),
        Popularity(),
        OwnHistory(),
        BuyItAgain(),
        Trending(),
    ]


class Blend:
    """Learned re-ranking of the sources' candidates (see the module docstring)."""

    name = "blend"

    def __init__(
        self,
        *,
        sources: Callable[[], Sequence[Recommender]] = default_sources,
        candidates: int = 50,
        validation_share: float = 0.2,
        target: Target = "touch",
        seed: int = 0,
    ) -> None:
        self.make_sources = sources
        self.candidates = candidates
        self.validation_share = validation_share
        self.target = target
        self.seed = seed
        self.sources: list[Recommender] = []
        self.rankers: dict[str, xgb.XGBRanker] = {}
        self.pooled: xgb.XGBRanker | None = None
        #: Per tenant: "ranker", "fusion" or "source:<index>" (see ``_choose``).
        self.choice: dict[str, str] = {}
        #: Per tenant: validation nDCG@10 of every option considered.
        self.validation: dict[str, dict[str, float]] = {}
        self.feature_names: list[str] = []
        self._history = pl.DataFrame()
        self._items = pl.DataFrame()

    def fit(self, interactions: pl.DataFrame, *, as_of: datetime) -> Self:
        moment = utc_naive(as_of)
        frame = prepare_interactions(interactions).filter(pl.col("occurred_at") <= moment)
        cut = frame["occurred_at"].quantile(1 - self.validation_share, interpolation="lower")
        self.rankers, self.pooled, self.choice, self.validation = {}, None, {}, {}
        if isinstance(cut, datetime):
            self._train_rankers(frame, cut)
        self.sources = list(self.make_sources())
        for source in self.sources:
            source.fit(frame, as_of=moment)
        self._history, self._items = _context(frame, moment)
        return self

    def _train_rankers(self, frame: pl.DataFrame, cut: datetime) -> None:
        past = frame.filter(pl.col("occurred_at") < cut)
        future = frame.filter(pl.col("occurred_at") >= cut)
        wanted = (
            future.filter(pl.col("event").is_in(list(PURCHASE_EVENTS)))
            if self.target == "purchase"
            else future.filter(base_weight() > 0)
        )
        labels = wanted.select(
            "tenant_id", pl.col("actor_id").alias("user_id"), "product_id"
        ).unique()
        known = past.filter(pl.col("user_id").is_not_null()).select(
            "tenant_id", pl.col("actor_id").alias("user_id")
        )
        people = (
            labels.select("tenant_id", "user_id")
            .unique()
            .join(known.unique(), on=["tenant_id", "user_id"], how="semi")
            .sort("tenant_id", "user_id")
            .filter(
                pl.int_range(pl.len()).shuffle(seed=self.seed).over("tenant_id")
                < MAX_TRAINING_PEOPLE
            )
        )
        if people.height == 0:
            return
        sources = list(self.make_sources())
        for source in sources:
            source.fit(past, as_of=cut)
        history, items = _context(past, cut)
        features = self._features(sources, history, items, people, None)
        if features.height == 0:
            return
        features = features.join(
            labels.with_columns(pl.lit(1).alias("label")),
            on=["tenant_id", "user_id", "product_id"],
            how="left",
        ).with_columns(pl.col("label").fill_null(0))
        self.feature_names = [c for c in features.columns if c.startswith("f_")]
        relevant = (
            labels.join(people, on=["tenant_id", "user_id"], how="semi")
            .group_by("tenant_id", "user_id")
            .agg(pl.len().alias("relevant"))
        )
        features = features.join(relevant, on=["tenant_id", "user_id"])
        if features["label"].sum() >= MIN_POSITIVES:
            self.pooled = self._train(features)
        for (tenant,), group in features.partition_by("tenant_id", as_dict=True).items():
            self._choose(str(tenant), group)

    def _choose(self, tenant: str, group: pl.DataFrame) -> None:
        """Keep the ranker only where it beats every single source and the rank fusion on
        people it was not trained on (2-fold cross-validation over the validation people);
        otherwise the tenant is served by the winner. Small shops overfit a ranker easily."""
        sources = sum(1 for name in self.feature_names if name.startswith("f_score_"))
        scores: dict[str, float] = {}
        for index in range(sources):
            ranked = group.with_columns(
                pl.when(pl.col(f"f_score_{index}") > 0)
                .then(-pl.col(f"f_rank_{index}"))
                .otherwise(None)
                .alias("pred")
            )
            scores[f"source:{index}"] = _ndcg(ranked)
        scores["fusion"] = _ndcg(group.with_columns(pred=_reciprocal_rank(group, sources)))
        if group["label"].sum() >= MIN_POSITIVES:
            fold = (pl.col("user_id").hash(seed=self.seed) % 2).alias("fold")
            folded = group.with_columns(fold)
            parts = []
            for held_out in (0, 1):
                train = folded.filter(pl.col("fold") != held_out)
                test = folded.filter(pl.col("fold") == held_out)
                if train["label"].sum() == 0 or test.height == 0:
                    continue
                ranker = self._train(train)
                raw = ranker.predict(test.select(self.feature_names).to_numpy().astype(np.float32))
                parts.append(test.with_columns(pred=pl.Series(raw.astype(np.float64))))
            if parts:
                scores["ranker"] = _ndcg(pl.concat(parts))
        self.validation[tenant] = scores
        best = max(sorted(scores), key=lambda name: scores[name])
        self.choice[tenant] = best
        if best == "ranker":
            self.rankers[tenant] = self._train(group)

    def _train(self, features: pl.DataFrame) -> xgb.XGBRanker:
        ordered = features.sort("tenant_id", "user_id")
        groups = ordered.group_by(["tenant_id", "user_id"], maintain_order=True).len()["len"]
        ranker = xgb.XGBRanker(
            objective="rank:ndcg",
            n_estimators=100,
            max_depth=3,
            learning_rate=0.1,
            subsample=0.8,
            min_child_weight=5.0,
            reg_lambda=5.0,
            n_jobs=1,
            random_state=self.seed,
            tree_method="hist",
        )
        ranker.fit(
            ordered.select(self.feature_names).to_numpy().astype(np.float32),
            ordered["label"].to_numpy(),
            group=groups.to_numpy(),
        )
        return ranker

    def _features(
        self,
        sources: Sequence[Recommender],
        history: pl.DataFrame,
        items: pl.DataFrame,
        users: pl.DataFrame,
        exclude: pl.DataFrame | None,
    ) -> pl.DataFrame:
        keys = ["tenant_id", "user_id", "product_id"]
        lists = []
        for index, source in enumerate(sources):
            rows = source.recommend(users, n=self.candidates, exclude=exclude)
            lists.append(
                rows.select(
                    *keys,
                    # Relative to the person's best: raw scales drift with traffic volume.
                    (pl.col("score") / pl.col("score").max().over("tenant_id", "user_id")).alias(
                        f"f_score_{index}"
                    ),
                    pl.col("rank").cast(pl.Float64).alias(f"f_rank_{index}"),
                )
            )
        if not lists:
            return pl.DataFrame()
        candidates = pl.concat([frame.select(keys) for frame in lists]).unique()
        for index, frame in enumerate(lists):
            candidates = candidates.join(frame, on=keys, how="left").with_columns(
                pl.col(f"f_score_{index}").fill_null(0.0),
                pl.col(f"f_rank_{index}").fill_null(float(self.candidates + 1)),
            )
        return (
            candidates.join(history, on=keys, how="left")
            .join(items, on=["tenant_id", "product_id"], how="left")
            .join(
                _category_affinity(history, items),
                on=["tenant_id", "user_id", "category"],
                how="left",
            )
            .join(
                history.group_by("tenant_id", "user_id").agg(
                    pl.col("f_own_weight").sum().log1p().alias("f_user_activity")
                ),
                on=["tenant_id", "user_id"],
                how="left",
            )
            .with_columns(
                pl.col("f_own_weight").fill_null(0.0),
                pl.col("f_bought").fill_null(0.0),
                pl.col("f_days_since").fill_null(1e4),
                pl.col("f_item_weight").fill_null(0.0),
                pl.col("f_item_recent").fill_null(0.0),
                pl.col("f_category_share").fill_null(0.0),
                pl.col("f_user_activity").fill_null(0.0),
            )
            .drop("category")
            .sort(keys)
        )

    def recommend(
        self, users: pl.DataFrame, *, n: int = 10, exclude: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        wanted = requested_users(users)
        features = self._features(self.sources, self._history, self._items, wanted, exclude)
        if features.height == 0:
            return empty_recommendations()
        scored = []
        for (tenant,), group in features.partition_by("tenant_id", as_dict=True).items():
            choice = self.choice.get(str(tenant), "ranker")
            ranker = self.rankers.get(str(tenant), self.pooled)
            if choice.startswith("source:"):
                index = int(choice.removeprefix("source:"))
                score = group.select(
                    pl.when(pl.col(f"f_score_{index}") > 0)
                    .then(1.0 / pl.col(f"f_rank_{index}"))
                    .otherwise(0.0)
                )[:, 0]
            elif choice == "fusion" or ranker is None or not self.feature_names:
                score = _reciprocal_rank(group, len(self.sources))
            else:
                raw = ranker.predict(group.select(self.feature_names).to_numpy().astype(np.float32))
                # Ranker outputs are unbounded; a logistic keeps the order and makes them > 0.
                score = pl.Series(1.0 / (1.0 + np.exp(-raw.astype(np.float64))))
            scored.append(
                group.select("tenant_id", "user_id", "product_id").with_columns(score=score)
            )
        return top_n(pl.concat(scored), n=n, algorithm=self.name, exclude=exclude)


def _ndcg(frame: pl.DataFrame, k: int = 10) -> float:
    """Mean nDCG@k over the people of ``frame`` (columns user_id, pred, label, relevant);
    rows with a null ``pred`` are not in the list. ``relevant`` counts all the person's
    targets, found by the candidates or not, so missing candidates cost recall."""
    ideal = pl.Series([0.0] + [1.0 / math.log2(r + 2) for r in range(k)]).cum_sum()
    ranked = (
        frame.filter(pl.col("pred").is_not_null())
        .sort(
            ["tenant_id", "user_id", "pred", "product_id"], descending=[False, False, True, False]
        )
        .with_columns((pl.int_range(pl.len()).over("tenant_id", "user_id") + 1).alias("position"))
        .filter((pl.col("position") <= k) & (pl.col("label") > 0))
        .group_by("tenant_id", "user_id")
        .agg((1.0 / (pl.col("position").cast(pl.Float64) + 1.0).log(2)).sum().alias("dcg"))
    )
    people = frame.group_by("tenant_id", "user_id").agg(pl.col("relevant").first())
    if people.height == 0:
        return 0.0
    per_person = people.join(ranked, on=["tenant_id", "user_id"], how="left").with_columns(
        pl.col("dcg").fill_null(0.0),
        pl.col("relevant")
        .clip(upper_bound=k)
        .map_elements(lambda c: ideal[c], return_dtype=pl.Float64)
        .alias("idcg"),
    )
    return float(per_person.select((pl.col("dcg") / pl.col("idcg")).mean()).item())


def _reciprocal_rank(group: pl.DataFrame, sources: int) -> pl.Series:
    """Sum over sources of 1 / (RRF_K + rank) for the sources that proposed the product."""
    total = pl.lit(0.0)
    for index in range(sources):
        total = total + pl.when(pl.col(f"f_score_{index}") > 0).then(
            1.0 / (RRF_K + pl.col(f"f_rank_{index}"))
        ).otherwise(0.0)
    return group.select(total.alias("score"))["score"]


def _context(frame: pl.DataFrame, moment: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per (person, product) history features and per product popularity features."""
    touched = touches(frame, moment, half_life_days=30.0)
    history = touched.group_by("tenant_id", pl.col("actor_id").alias("user_id"), "product_id").agg(
        pl.col("weight").sum().clip(lower_bound=0.0).alias("f_own_weight"),
        pl.col("event").is_in(list(PURCHASE_EVENTS)).any().cast(pl.Float64).alias("f_bought"),
        ((pl.lit(moment) - pl.col("occurred_at").max()).dt.total_seconds() / 86_400.0).alias(
            "f_days_since"
        ),
    )
    recent_start = moment - timedelta(days=30)
    items = touched.group_by("tenant_id", "product_id").agg(
        (base_weight().sum().clip(lower_bound=0.0) + 1.0).log().alias("f_item_weight"),
        (
            base_weight().filter(pl.col("occurred_at") > recent_start).sum().clip(lower_bound=0.0)
            + 1.0
        )
        .log()
        .alias("f_item_recent"),
        pl.col("category").drop_nulls().last().alias("category"),
    )
    # Popularity relative to the tenant's top product: absolute volumes drift with traffic.
    items = items.with_columns(
        (pl.col(name) / pl.col(name).max().over("tenant_id").clip(lower_bound=1e-9)).alias(name)
        for name in ("f_item_weight", "f_item_recent")
    )
    return history, items


def _category_affinity(history: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """tenant_id, user_id, category, f_category_share: the person's share of interest in it."""
    return (
        history.join(
            items.select("tenant_id", "product_id", "category"), on=["tenant_id", "product_id"]
        )
        .group_by("tenant_id", "user_id", "category")
        .agg(pl.col("f_own_weight").sum())
        .with_columns(
            (
                pl.col("f_own_weight")
                / pl.col("f_own_weight").sum().over("tenant_id", "user_id").clip(lower_bound=1e-9)
            ).alias("f_category_share")
        )
        .drop("f_own_weight")
    )
