"""Collaborative filtering: implicit's Alternating Least Squares on a per-tenant person x product
matrix of confidences, scored with a recent-popularity prior.

What it does: factorises the matrix ``P`` ("person touched product", 0/1) with per-cell
confidence (Hu, Koren and Volinsky 2008) into ``factors``-dimensional person and product
vectors. implicit 0.7 weighs a touched cell ``alpha * r`` and an untouched one 1, so a faded
touch (small ``r``) counts for less than "unknown": the decay below really forgets. A person's
score for a product is the dot product plus ``popularity_weight`` times the product's recent
popularity (see below). People who touch the same products get similar vectors, so a person is
shown what their look-alikes touched, leaning toward what the crowd touches now.

``r`` for a (person, product) pair is ``log1p`` of the summed touch weights, each touch being
its event weight (``weights.EVENT_WEIGHTS``: view 1 < add to cart 3 < purchase 6) times its
recency decay ``0.5 ** (age / half_life_days)``. The log keeps one person who viewed a product
forty times from dominating the factor of that product.

**The recent-popularity prior** (``recent_popularity_prior``): per product, ``log1p`` of its
summed decayed touch weights over all the tenant's people (the ``trending`` score at ALS's own
half-life), divided by the tenant's largest, so in [0, 1]. It plays the part of an item bias
that implicit's factorisation lacks: on a time split the next weeks' touches go mostly to what
is being touched now (new releases, a season), which a static factorisation sees only dimly.
Its weight is 0 (pure ALS) where that does not help.

Assumptions: interest is implicit and positive only (an untouched product is "unknown", not
"disliked"); taste is stable over the half-life; a tenant has enough people (hundreds) for
look-alikes to exist: below ``MIN_PEOPLE`` people no model is trained and the blend falls back
on the other sources.

Parameters: ``factors`` 16, ``regularization`` 20, ``alpha`` 8, ``iterations`` 15 (chosen on
validation splits of MovieLens 100k and the simulator, never on the test split: see
``tuning.tune_als`` and docs/models/recommendations.md; the former 5 / 0.5 gave every touched
cell a confidence below 1, and on the tests' small synthetic shop the factors collapsed to
zero). The recency
half-life and the prior's weight are **chosen per tenant at fit time** (``half_life_days=None``
and ``popularity_weight=None``, the defaults): the right memory and the pull of the crowd are
properties of the tenant's data, not of the code. The tenant's latest ``VALIDATION_SHARE`` of
touches before ``as_of`` is held out; one model per half-life of ``HALF_LIFE_GRID`` is fitted
on the touches before it, scored with every weight of ``POPULARITY_WEIGHT_GRID`` (the prior
changes only the scoring: no extra fit) by nDCG@10 on the identified people active on both
sides (their positive touches, or purchases with ``target="purchase"``); the best pair is
refitted on everything. A tenant too small to validate gets ``FALLBACK_HALF_LIFE_DAYS`` and
no prior. A number forces that value for every tenant.

Each tenant gets its own model: factors learned on one shop's people never score another's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Self

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.topk import topk

from .baselines import product_popularity
from .interactions import prepare_interactions, utc_naive
from .protocol import empty_recommendations, requested_users, top_n, touches, user_item_weights
from .repeat import REPEAT_SCHEMA, learn_repeat_policy
from .weights import PURCHASE_EVENTS, base_weight

#: Tenants with fewer people than this get no ALS model (too few look-alikes to learn from).
MIN_PEOPLE = 20
#: People scored per matrix product when recommending (bounds memory: rows x products floats).
SCORING_BATCH = 2048
#: Half-lives (days) tried per tenant when ``half_life_days`` is None: from "this week's
#: taste" to "everything counts about the same" on a few months of data.
HALF_LIFE_GRID: tuple[float, ...] = (3.0, 7.0, 14.0, 30.0, 90.0)
#: Share of a tenant's touches before ``as_of`` (the latest) held out to choose the half-life.
VALIDATION_SHARE = 0.15
#: A tenant too small to validate on gets this half-life (both evaluation datasets preferred
#: 3 to 14 days over 30 on their validation windows).
FALLBACK_HALF_LIFE_DAYS = 14.0
#: Weights of the recent-popularity prior tried per tenant when ``popularity_weight`` is None
#: (0 = pure ALS). The prior lies in [0, 1] and the dot products predict a 0/1 preference, so
#: 1 makes "the tenant's hottest product" worth as much as "certainly your taste".
POPULARITY_WEIGHT_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0)
#: A tenant too small to validate on gets pure ALS.
FALLBACK_POPULARITY_WEIGHT = 0.0
#: Repeat behaviour is learned on touches decayed with this half-life, whatever ALS's own.
POLICY_HALF_LIFE_DAYS = 30.0
#: List length the half-life is validated at (nDCG@10, as the evaluation).
VALIDATION_K = 10

Target = Literal["touch", "purchase"]


@dataclass
class TenantFactors:
    """One tenant's trained model: ids in matrix order, factors and the training matrix."""

    people: list[str]
    products: list[str]
    person_index: dict[str, int]
    person_factors: npt.NDArray[np.float32]
    product_factors: npt.NDArray[np.float32]
    matrix: sp.csr_matrix
    include_seen: bool
    fit_seconds: float
    #: Per product (matrix order): recent popularity, ``log1p(decayed weight)`` scaled to [0, 1]
    #: by the tenant's hottest product; None = no prior.
    product_prior: npt.NDArray[np.float32] | None = None
    #: What the prior adds to a dot product at 1 (0 = pure ALS scores).
    popularity_weight: float = 0.0


class ALS:
    """Implicit-feedback matrix factorisation per tenant (see the module docstring)."""

    name = "als"

    def __init__(
        self,
        *,
        factors: int = 16,
        regularization: float = 20.0,
        alpha: float = 8.0,
        iterations: int = 15,
        half_life_days: float | None = None,
        popularity_weight: float | None = None,
        include_seen: bool | None = None,
        target: Target = "touch",
        random_state: int = 0,
        num_threads: int = 1,
    ) -> None:
        """``half_life_days=None`` and ``popularity_weight=None`` choose the recency half-life
        and the weight of the recent-popularity prior per tenant on a validation window (see
        the module docstring); ``include_seen=None`` learns per tenant whether a person's own
        products stay eligible (``repeat.learn_repeat_policy``); True/False forces it.
        ``target`` is what the validation counts as a hit."""
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.half_life_days = half_life_days
        self.popularity_weight = popularity_weight
        self.include_seen = include_seen
        self.target = target
        self.random_state = random_state
        self.num_threads = num_threads
        self.models: dict[str, TenantFactors] = {}
        self.policy = pl.DataFrame(schema=REPEAT_SCHEMA)
        #: Per tenant: the half-life used (days).
        self.half_lives: dict[str, float] = {}
        #: Per tenant: the weight of the recent-popularity prior used.
        self.popularity_weights: dict[str, float] = {}
        #: Per tenant: validation nDCG@10 of every half-life tried, at its best prior weight
        #: (empty when both are forced or the tenant is too small).
        self.half_life_scores: dict[str, dict[float, float]] = {}
        #: Per tenant: validation nDCG@10 of every (half-life, prior weight) pair tried.
        self.validation_scores: dict[str, dict[tuple[float, float], float]] = {}

    @property
    def trained_interactions(self) -> int:
        """Non-zero cells summed over the tenants' matrices (for throughput figures)."""
        return sum(model.matrix.nnz for model in self.models.values())

    def fit(self, interactions: pl.DataFrame, *, as_of: datetime) -> Self:
        moment = utc_naive(as_of)
        frame = prepare_interactions(interactions).filter(
            (pl.col("occurred_at") <= moment) & pl.col("actor_id").is_not_null()
        )
        self.policy = learn_repeat_policy(touches(frame, moment, POLICY_HALF_LIFE_DAYS))
        helps = dict(self.policy.select("tenant_id", "repeats_help").iter_rows())
        self.models, self.half_lives, self.popularity_weights = {}, {}, {}
        self.half_life_scores, self.validation_scores = {}, {}
        for (tenant,), rows in frame.partition_by("tenant_id", as_dict=True).items():
            name = str(tenant)
            include_seen = (
                self.include_seen if self.include_seen is not None else bool(helps.get(name, False))
            )
            half_life, weight = self.half_life_days, self.popularity_weight
            if half_life is None or weight is None:
                scores = self._validate(rows, include_seen)
                if scores:
                    self.validation_scores[name] = scores
                    self.half_life_scores[name] = {
                        days: max(v for (h, _), v in scores.items() if h == days)
                        for days in dict.fromkeys(h for h, _ in scores)
                    }
                    # Ties go to the longer memory and the weaker prior (the simpler model).
                    half_life, weight = max(scores, key=lambda p: (scores[p], p[0], -p[1]))
                else:
                    half_life = half_life or FALLBACK_HALF_LIFE_DAYS
                    weight = FALLBACK_POPULARITY_WEIGHT if weight is None else weight
            self.half_lives[name] = half_life
            self.popularity_weights[name] = weight
            model = self._fit_tenant(touches(rows, moment, half_life), include_seen, weight)
            if model is not None:
                self.models[name] = model
        return self

    def _validate(self, rows: pl.DataFrame, include_seen: bool) -> dict[tuple[float, float], float]:
        """nDCG@10 of each (half-life, prior weight) pair on the tenant's latest touches (see
        the module docstring): the grid's points, or the forced value; empty when the tenant
        is too small to tell."""
        cut = rows["occurred_at"].quantile(1 - VALIDATION_SHARE, interpolation="lower")
        if not isinstance(cut, datetime):
            return {}
        past = rows.filter(pl.col("occurred_at") < cut)
        future = rows.filter(pl.col("occurred_at") >= cut)
        hits = (
            future.filter(pl.col("event").is_in(list(PURCHASE_EVENTS)))
            if self.target == "purchase"
            else future.filter(base_weight() > 0)
        )
        identified = past.filter(pl.col("user_id").is_not_null()).select("actor_id").unique()
        wanted = (
            hits.join(identified, on="actor_id", how="semi")
            .group_by("actor_id")
            .agg(pl.col("product_id").unique())
        )
        half_lives = HALF_LIFE_GRID if self.half_life_days is None else (self.half_life_days,)
        weights = (
            POPULARITY_WEIGHT_GRID if self.popularity_weight is None else (self.popularity_weight,)
        )
        scores: dict[tuple[float, float], float] = {}
        for half_life in half_lives:
            # Same iterations as the final fit: a cheaper proxy picked another half-life on
            # MovieLens (7 instead of 14 days), so the validation must judge the model served.
            model = self._fit_tenant(touches(past, cut, half_life), include_seen, 0.0)
            if model is None:
                return {}
            targets = {
                person: set(products)
                for person, products in wanted.iter_rows()
                if person in model.person_index
            }
            if not targets:
                return {}
            for weight in weights:
                # The prior only changes the scoring: one fit serves every weight.
                model.popularity_weight = weight
                scores[(half_life, weight)] = _mean_ndcg(model, targets, VALIDATION_K)
        return scores

    def _fit_tenant(
        self, touched: pl.DataFrame, include_seen: bool, popularity_weight: float
    ) -> TenantFactors | None:
        """One tenant's factors from its ``touched`` rows (``protocol.touches``, decayed)."""
        cells = user_item_weights(touched)
        people = cells["actor_id"].unique().sort().to_list()
        if len(people) < MIN_PEOPLE:
            return None
        products = cells["product_id"].unique().sort().to_list()
        person_index = {person: i for i, person in enumerate(people)}
        product_index = {product: i for i, product in enumerate(products)}
        rows = cells["actor_id"].replace_strict(person_index, return_dtype=pl.Int32).to_numpy()
        cols = cells["product_id"].replace_strict(product_index, return_dtype=pl.Int32).to_numpy()
        values = np.log1p(cells["weight"].to_numpy()).astype(np.float32)
        matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(people), len(products)))
        model = AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=self.num_threads,
        )
        started = time.perf_counter()
        model.fit(matrix, show_progress=False)
        seconds = time.perf_counter() - started
        return TenantFactors(
            people=people,
            products=products,
            person_index=person_index,
            person_factors=np.asarray(model.user_factors, dtype=np.float32),
            product_factors=np.asarray(model.item_factors, dtype=np.float32),
            matrix=matrix,
            include_seen=include_seen,
            fit_seconds=seconds,
            product_prior=recent_popularity_prior(touched, product_index),
            popularity_weight=popularity_weight,
        )

    def recommend(
        self, users: pl.DataFrame, *, n: int = 10, exclude: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        frames = []
        wanted = requested_users(users)
        for (tenant,), group in wanted.partition_by("tenant_id", as_dict=True).items():
            model = self.models.get(str(tenant))
            if model is None:
                continue
            frames.append(self._recommend_tenant(str(tenant), model, group["user_id"], n, exclude))
        if not frames:
            return empty_recommendations()
        return top_n(pl.concat(frames), n=n, algorithm=self.name, exclude=exclude)

    def _recommend_tenant(
        self,
        tenant: str,
        model: TenantFactors,
        user_ids: pl.Series,
        n: int,
        exclude: pl.DataFrame | None,
    ) -> pl.DataFrame:
        known = [user for user in user_ids.to_list() if user in model.person_index]
        if not known:
            return empty_recommendations().drop("rank", "algorithm")
        rows = np.fromiter((model.person_index[user] for user in known), dtype=np.int64)
        # Ask for more than n so that rows the exclude set removes still leave n.
        extra = 0
        if exclude is not None and exclude.height:
            counts = exclude.filter(pl.col("tenant_id") == tenant).group_by("user_id").len()
            extra = int(counts["len"].max() or 0) if counts.height else 0  # type: ignore[arg-type]
        k = min(n + extra, len(model.products))
        best_items, best_scores = score_top_k(model, rows, k)
        count = best_items.shape[1]
        return pl.DataFrame(
            {
                "tenant_id": [tenant] * (len(known) * count),
                "user_id": np.repeat(np.asarray(known, dtype=object), count).tolist(),
                "product_id": np.asarray(model.products, dtype=object)[best_items.ravel()].tolist(),
                "score": best_scores.ravel().astype(np.float64),
            },
            schema={
                "tenant_id": pl.String(),
                "user_id": pl.String(),
                "product_id": pl.String(),
                "score": pl.Float64(),
            },
        ).filter(pl.col("score").is_finite())


def _mean_ndcg(model: TenantFactors, targets: dict[str, set[str]], k: int) -> float:
    """Mean nDCG@k of ``model``'s lists for the people of ``targets`` (person -> products)."""
    people = sorted(targets)
    rows = np.fromiter((model.person_index[p] for p in people), dtype=np.int64)
    items, scores = score_top_k(model, rows, min(k, len(model.products)))
    total = 0.0
    for person, ids, row_scores in zip(people, items, scores, strict=True):
        wanted = targets[person]
        dcg = sum(
            1.0 / math.log2(rank + 2)
            for rank, (item, score) in enumerate(zip(ids, row_scores, strict=True))
            if score > 0 and model.products[item] in wanted
        )
        ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(wanted), k)))
        total += dcg / ideal
    return total / len(people)


def recent_popularity_prior(
    touched: pl.DataFrame, product_index: dict[str, int]
) -> npt.NDArray[np.float32]:
    """Per product of ``product_index``: ``log1p`` of its summed decayed touch weight (the
    ``trending`` score at ALS's own half-life), divided by the tenant's largest; 0 for a
    product with no positive weight. The log keeps one blockbuster from flattening the rest."""
    prior = np.zeros(len(product_index), dtype=np.float32)
    popular = product_popularity(touched).filter(pl.col("product_id").is_in(list(product_index)))
    if popular.height:
        columns = popular["product_id"].replace_strict(product_index, return_dtype=pl.Int32)
        prior[columns.to_numpy()] = np.log1p(popular["score"].to_numpy())
        prior /= prior.max()
    return prior


def score_top_k(
    model: TenantFactors, rows: npt.NDArray[np.int64], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The ``k`` best product columns (and scores) of each person row, by batched dot products
    plus the tenant's recent-popularity prior times its weight.

    A person's own products are filtered out unless the tenant keeps them eligible (their score
    is 0). Scores go through a logistic (the ranking is unchanged) because ``top_n`` keeps
    positive scores only.
    """
    items_out = np.empty((len(rows), k), dtype=np.int64)
    scores_out = np.empty((len(rows), k), dtype=np.float64)
    product_vectors, person_vectors = model.product_factors, model.person_factors
    if model.product_prior is not None and model.popularity_weight:
        # dot([u, w], [v, prior]) = u.v + w * prior: the prior rides in one extra column, so
        # implicit's fused top-k still does all the scoring.
        product_vectors = np.hstack([product_vectors, model.product_prior[:, None]])
        person_vectors = np.hstack(
            [person_vectors, np.full((len(person_vectors), 1), model.popularity_weight)]
        ).astype(np.float32)
    for start in range(0, len(rows), SCORING_BATCH):
        batch = rows[start : start + SCORING_BATCH]
        # implicit's fused top-k (the code behind its own ``recommend``), one thread.
        ids, scores = topk(
            product_vectors,
            person_vectors[batch],
            k,
            filter_query_items=None if model.include_seen else model.matrix[batch],
            num_threads=1,
        )
        # Filtered products come back with the lowest float (or id -1): mark them -inf.
        masked = (ids < 0) | (scores <= np.finfo(np.float32).min)
        scores[masked] = -np.inf
        ids[masked] = 0
        items_out[start : start + len(batch)] = ids
        scores_out[start : start + len(batch)] = scores
    # Dot products can be negative; a logistic keeps the order and makes them positive, and a
    # masked product (-inf) becomes 0, which ``top_n`` drops.
    with np.errstate(over="ignore"):
        return items_out, 1.0 / (1.0 + np.exp(-scores_out))


def als_similar_products(model: TenantFactors, *, k: int = 20) -> pl.DataFrame:
    """Per product, the ``k`` products with the most similar ALS vectors (cosine).

    Returns product_id, similar_product_id, score (cosine, -1..1; only positive kept), rank.
    """
    vectors = model.product_factors
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    k = min(k, len(model.products) - 1)
    if k < 1:
        return _empty_similar()
    products = np.asarray(model.products, dtype=object)
    frames = []
    for start in range(0, len(products), SCORING_BATCH):
        block = unit[start : start + SCORING_BATCH] @ unit.T
        idx = np.arange(start, start + block.shape[0])
        block[idx - start, idx] = -np.inf
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(block, top, axis=1)
        frames.append(
            pl.DataFrame(
                {
                    "product_id": np.repeat(products[idx], k).tolist(),
                    "similar_product_id": products[top.ravel()].tolist(),
                    "score": top_scores.ravel().astype(np.float64),
                },
                schema={
                    "product_id": pl.String(),
                    "similar_product_id": pl.String(),
                    "score": pl.Float64(),
                },
            )
        )
    return rank_similar(pl.concat(frames).filter(pl.col("score") > 0), k)


def rank_similar(frame: pl.DataFrame, k: int) -> pl.DataFrame:
    """Rank each product's neighbours by score, then id; keep ``k``; round scores."""
    return (
        frame.with_columns(pl.col("score").round(6))
        .sort(["product_id", "score", "similar_product_id"], descending=[False, True, False])
        .with_columns((pl.int_range(pl.len()).over("product_id") + 1).cast(pl.Int32).alias("rank"))
        .filter(pl.col("rank") <= k)
        .select("product_id", "similar_product_id", "score", "rank")
    )


def _empty_similar() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "product_id": pl.String(),
            "similar_product_id": pl.String(),
            "score": pl.Float64(),
            "rank": pl.Int32(),
        }
    )
