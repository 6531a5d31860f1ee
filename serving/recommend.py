"""Choosing the products to show one user: the one place recommendation lists are assembled.

:func:`recommend` takes the algorithm as a parameter so an experiment can route a user to a
variant (``als``, ``content``, ``buy_again``, ``blend``, ...) without touching the routes; the
default is the published ``blend`` when the user has one, else every published row by rank.

Filters apply to every source alike: ``exclude`` (e.g. the cart), ``context`` (the product the
user is looking at, never recommended to themselves) and ``category``. A list left short is
topped up from the cold-start chain, and a user with nothing personal (new, anonymous, unknown)
gets the cold-start chain alone, never a 404:

1. products similar to the ``context`` product (``cold_start_similar``);
2. trending in the asked category, else in the context product's category, else overall
   (``cold_start_trending``);
3. all-time popular (``cold_start_popular``), for a shop where nothing is recent.

With ``category`` set, every source stays inside that category.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .catalog import COLD_START_POPULAR, COLD_START_TRENDING, ProductItem, VersionIndex

#: ``algorithm`` of items similar to the context product, for a user without a personal list.
COLD_START_SIMILAR = "cold_start_similar"
#: The published combination of every recommender, preferred when the user has one.
BLEND = "blend"


@dataclass(frozen=True, slots=True)
class RecommendationRequest:
    """What the caller asked for; ``algorithm`` None is the default choice (see module doc)."""

    user_id: str
    n: int
    category: str | None = None
    context: str | None = None
    exclude: frozenset[str] = field(default_factory=frozenset)
    algorithm: str | None = None


@dataclass(frozen=True, slots=True)
class RecommendationList:
    algorithm: str
    cold_start: bool
    items: list[ProductItem]


def recommend(index: VersionIndex, request: RecommendationRequest) -> RecommendationList:
    """At most ``request.n`` products for the user, ranked 1..k (see the module doc)."""
    skip = set(request.exclude)
    if request.context is not None:
        skip.add(request.context)
    personal = _personal_rows(index, request.user_id, request.algorithm)
    items: list[ProductItem] = []
    for row in personal:
        if len(items) >= request.n:
            break
        product_id = str(row["product_id"])
        if product_id in skip or not _in_category(index, product_id, request.category):
            continue
        skip.add(product_id)
        items.append(index.item(product_id, row["score"], 0, str(row["algorithm"])))
    cold_start = not items
    algorithm = "+".join(sorted({item["algorithm"] for item in items}))
    if len(items) < request.n:
        wanted = request.n - len(items) + len(skip)  # enough from each source, skips included
        for item in fallback(index, request.category, request.context, skip, wanted):
            items.append(item)
            if len(items) >= request.n:
                break
    if cold_start:
        algorithm = items[0]["algorithm"] if items else COLD_START_TRENDING
    for position, item in enumerate(items, start=1):
        item["rank"] = position
    return RecommendationList(algorithm=algorithm, cold_start=cold_start, items=items)


def _personal_rows(
    index: VersionIndex, user_id: str, algorithm: str | None
) -> list[dict[str, Any]]:
    rows = index.user_rows(user_id)
    if algorithm is not None:
        return [row for row in rows if row["algorithm"] == algorithm]
    blended = [row for row in rows if row["algorithm"] == BLEND]
    if blended:
        return blended
    seen: set[Any] = set()
    unique = []
    for row in rows:  # several recommenders may propose the same product: keep its best rank
        if row["product_id"] not in seen:
            seen.add(row["product_id"])
            unique.append(row)
    return unique


def _in_category(index: VersionIndex, product_id: str, category: str | None) -> bool:
    return category is None or index.category_of(product_id) == category


def fallback(
    index: VersionIndex, category: str | None, context: str | None, skip: set[str], limit: int
) -> Iterator[ProductItem]:
    """The cold-start chain, skipping (and then adding to) ``skip``; lazily, best first.

    Each source is read ``limit`` deep at most (with ``category`` set, trending is read within
    the category, so ``limit`` still suffices there; popular is filtered, so read whole).
    """
    sources: list[Iterable[ProductItem]] = []
    if context is not None:
        sources.append(
            index.item(str(row["similar_product_id"]), row["score"], 0, COLD_START_SIMILAR)
            for row in index.similar_rows(context) or []
        )
    trending_category = category or (index.category_of(context) if context else None)
    sources.append(_relabel(index.trending(limit, trending_category), COLD_START_TRENDING))
    if category is None and trending_category is not None:
        sources.append(_relabel(index.trending(limit), COLD_START_TRENDING))
    sources.append(
        index.item(str(row["product_id"]), row["score"], 0, COLD_START_POPULAR, row["category"])
        for row in (index.popular_rows() if category else index.popular_rows(limit))
    )
    for source in sources:
        for item in source:
            product_id = item["product_id"]
            if product_id in skip or (category is not None and item["category"] != category):
                continue
            skip.add(product_id)
            yield item


def _relabel(items: list[ProductItem], algorithm: str) -> Iterator[ProductItem]:
    for item in items:
        item["algorithm"] = algorithm
        yield item


#: Picks a user's algorithm when the request names none (experiments plug in here:
#: ``app.state.choose_algorithm = lambda tenant_id, user_id: "als"``); None keeps the default.
AlgorithmChooser = Callable[[str, str], str | None]
