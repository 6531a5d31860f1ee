"""Published artifacts turned into per-request O(n) lookups, rebuilt once per published version.

The API reads nothing but what the pipeline published (``intellishop.artifacts``), never the
warehouse, so it keeps answering while a pipeline run holds the DuckDB file. For each tenant's
current version the tables are indexed once (user -> slice of the recommendations table,
category -> trending rows, product_id -> product details); a request then copies at most ``n``
rows. While a new version is being indexed, other requests keep using the previous one.
The analytics marts of the same version are indexed alongside (``serving.analytics``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, TypedDict

import pyarrow as pa
import pyarrow.compute as pc

from intellishop.artifacts import ArtifactVersion, ServingStore

from .analytics import AnalyticsIndex

#: ``algorithm`` of an answer for a user without published recommendations.
COLD_START_TRENDING = "cold_start_trending"
#: The same, when the tenant has nothing trending (everything is old): all-time popularity.
COLD_START_POPULAR = "cold_start_popular"


class ProductItem(TypedDict):
    product_id: str
    name: str | None
    category: str | None
    price: float | None
    score: float
    rank: int
    algorithm: str


@dataclass(frozen=True, slots=True)
class _Product:
    name: str | None
    category: str | None
    price: float | None


class _RankedRows:
    """One published table sorted by rank, as contiguous Arrow arrays (slicing is free)."""

    def __init__(self, table: pa.Table | None, sort_keys: list[tuple[str, str]]) -> None:
        if table is None or table.num_rows == 0:
            self.length = 0
            self.columns: dict[str, pa.Array] = {}
            return
        ordered = table.sort_by(sort_keys).combine_chunks()
        self.length = ordered.num_rows
        self.columns = {name: ordered.column(name).chunk(0) for name in ordered.column_names}

    def rows(self, start: int, stop: int) -> list[dict[str, Any]]:
        stop = min(stop, self.length)
        if start >= stop:
            return []
        names = list(self.columns)
        values = [self.columns[name].slice(start, stop - start).to_pylist() for name in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]

    def take(self, positions: list[int]) -> list[dict[str, Any]]:
        if not positions:
            return []
        indices = pa.array(positions, type=pa.int64())
        names = list(self.columns)
        values = [self.columns[name].take(indices).to_pylist() for name in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _group_slices(column: pa.Array) -> dict[str, tuple[int, int]]:
    """value -> (start, stop) of its run in a column sorted by that value."""
    if len(column) == 0:
        return {}
    runs = pc.run_end_encode(column)
    ends = runs.run_ends.to_pylist()
    values = runs.values.to_pylist()
    slices: dict[str, tuple[int, int]] = {}
    start = 0
    for value, end in zip(values, ends, strict=True):
        if value is not None:
            slices[str(value)] = (start, end)
        start = end
    return slices


class VersionIndex:
    """Lookups over one immutable published version of one tenant."""

    def __init__(self, artifact: ArtifactVersion) -> None:
        self.tenant_id = artifact.tenant_id
        self.version = artifact.version
        self.published_at = artifact.published_at
        tables = artifact.tables
        self._products = _products(tables.get("products"))
        self._recs = _RankedRows(
            tables.get("recommendations"), [("user_id", "ascending"), ("rank", "ascending")]
        )
        self._recs_by_user = (
            _group_slices(self._recs.columns["user_id"]) if self._recs.length else {}
        )
        self._trending = _RankedRows(tables.get("trending"), [("rank", "ascending")])
        self._trending_by_category: dict[str, list[int]] = {}
        if self._trending.length:
            categories = self._trending.columns["category"].to_pylist()
            category_ranks = (
                self._trending.columns["category_rank"].to_pylist()
                if "category_rank" in self._trending.columns
                else list(range(self._trending.length))
            )
            by_category: dict[str, list[tuple[int, int]]] = {}
            for position, (category, category_rank) in enumerate(
                zip(categories, category_ranks, strict=True)
            ):
                if category is not None:
                    by_category.setdefault(category, []).append((category_rank, position))
            self._trending_by_category = {
                category: [position for _, position in sorted(pairs)]
                for category, pairs in by_category.items()
            }
        self._popular = _RankedRows(tables.get("popular"), [("rank", "ascending")])
        #: The analytics marts of the same version (daily metrics, funnel, customers, ...).
        self.analytics = AnalyticsIndex(artifact)

    def knows_user(self, user_id: str) -> bool:
        return user_id in self._recs_by_user

    def recommendations(self, user_id: str, n: int) -> list[ProductItem] | None:
        """The user's published list (at most ``n``), or None for a user without one."""
        found = self._recs_by_user.get(user_id)
        if found is None:
            return None
        start, stop = found
        return [
            self._item(row["product_id"], row["score"], row["rank"], row["algorithm"], None)
            for row in self._recs.rows(start, min(stop, start + n))
        ]

    def trending(self, n: int, category: str | None = None) -> list[ProductItem]:
        """The hottest ``n``; for one category its hottest, ranked within the category."""
        if category is None:
            rows = self._trending.rows(0, n)
            return [
                self._item(r["product_id"], r["score"], r["rank"], "trending", r["category"])
                for r in rows
            ]
        positions = self._trending_by_category.get(category, [])[:n]
        return [
            self._item(r["product_id"], r["score"], rank, "trending", r["category"])
            for rank, r in enumerate(self._trending.take(positions), start=1)
        ]

    def cold_start(self, n: int) -> tuple[str, list[ProductItem]]:
        """What a stranger gets: trending, topped up from all-time popular; ranks 1..k."""
        items = [
            self._item(r["product_id"], r["score"], r["rank"], COLD_START_TRENDING, r["category"])
            for r in self._trending.rows(0, n)
        ]
        algorithm = COLD_START_TRENDING if items else COLD_START_POPULAR
        seen = {item["product_id"] for item in items}
        for row in self._popular.rows(0, n + len(seen)):
            if len(items) >= n:
                break
            if row["product_id"] not in seen:
                items.append(
                    self._item(
                        row["product_id"], row["score"], 0, COLD_START_POPULAR, row["category"]
                    )
                )
        for position, item in enumerate(items, start=1):
            item["rank"] = position
        return algorithm, items

    def _item(
        self, product_id: str, score: float, rank: int, algorithm: str, category: str | None
    ) -> ProductItem:
        product = self._products.get(product_id)
        return ProductItem(
            product_id=product_id,
            name=product.name if product else None,
            category=(product.category if product and product.category else category),
            price=product.price if product else None,
            score=float(score),
            rank=int(rank),
            algorithm=algorithm,
        )


def _products(table: pa.Table | None) -> dict[str, _Product]:
    if table is None or table.num_rows == 0:
        return {}
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    count = table.num_rows
    names = columns.get("name", [None] * count)
    categories = columns.get("category", [None] * count)
    prices = columns.get("price", [None] * count)
    return {
        str(product_id): _Product(
            name=name,
            category=category,
            price=None if price is None else float(price),
        )
        for product_id, name, category, price in zip(
            columns["product_id"], names, categories, prices, strict=True
        )
    }


class PublishedCatalog:
    """Each tenant's current :class:`VersionIndex`, re-indexed when a new version is published.

    The store decides how often the ``CURRENT`` pointer is re-read (``refresh_seconds``); this
    class only notices that the version changed and indexes it once.
    """

    def __init__(self, store: ServingStore) -> None:
        self.store = store
        self._indexes: dict[str, VersionIndex] = {}
        self._building: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def current(self, tenant_id: str) -> VersionIndex | None:
        """The tenant's live index, or None when nothing was ever published for it."""
        artifact = self.store.current(tenant_id)
        existing = self._indexes.get(tenant_id)
        if artifact is None:  # never published, or the tenant's artifacts were deleted
            self._indexes.pop(tenant_id, None)
            return None
        if existing is not None and existing.version == artifact.version:
            return existing
        with self._guard:
            lock = self._building.setdefault(tenant_id, threading.Lock())
        # Someone else is indexing the new version: keep serving the old one meanwhile.
        if not lock.acquire(blocking=existing is None):
            return existing
        try:
            existing = self._indexes.get(tenant_id)
            if existing is None or existing.version != artifact.version:
                existing = VersionIndex(artifact)
                self._indexes[tenant_id] = existing
            return existing
        finally:
            lock.release()

    def loaded(self) -> dict[str, str]:
        """tenant_id -> version of what is in memory (for health checks and logs)."""
        return {tenant_id: index.version for tenant_id, index in self._indexes.items()}
