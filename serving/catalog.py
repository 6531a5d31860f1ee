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

import numpy as np
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


class _PyColumn:
    """One column whose slices come out as Python values without an Arrow call per request.

    Strings are dictionary-encoded once (numpy codes into a list of distinct Python strings),
    null-free numbers kept as a numpy array; anything else as a Python list. Reading 20 rows
    then costs microseconds, where ``Array.slice(...).to_pylist()`` costs tens per column.
    """

    def __init__(self, array: pa.Array) -> None:
        kind = array.type
        self._codes: np.ndarray[Any, Any] | None = None
        self._numbers: np.ndarray[Any, Any] | None = None
        self._values: list[Any] = []
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            encoded = pc.dictionary_encode(array)
            self._values = [*encoded.dictionary.to_pylist(), None]
            codes = pc.fill_null(encoded.indices, len(self._values) - 1)
            self._codes = codes.to_numpy(zero_copy_only=False)
        elif (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and not array.null_count:
            self._numbers = array.to_numpy(zero_copy_only=False)
        else:
            self._values = array.to_pylist()

    def slice(self, start: int, stop: int) -> list[Any]:
        if self._codes is not None:
            values = self._values
            return [values[code] for code in self._codes[start:stop].tolist()]
        if self._numbers is not None:
            numbers: list[Any] = self._numbers[start:stop].tolist()
            return numbers
        return self._values[start:stop]

    def take(self, positions: list[int]) -> list[Any]:
        if self._codes is not None:
            values = self._values
            return [values[code] for code in self._codes[positions].tolist()]
        if self._numbers is not None:
            numbers: list[Any] = self._numbers[positions].tolist()
            return numbers
        return [self._values[position] for position in positions]


class _RankedRows:
    """One published table sorted by rank: contiguous Arrow arrays, read through _PyColumn."""

    def __init__(self, table: pa.Table | None, sort_keys: list[tuple[str, str]]) -> None:
        self.columns: dict[str, pa.Array] = {}
        self._python: dict[str, _PyColumn] = {}
        if table is None or table.num_rows == 0:
            self.length = 0
            return
        ordered = table.sort_by(sort_keys).combine_chunks()
        self.length = ordered.num_rows
        self.columns = {name: ordered.column(name).chunk(0) for name in ordered.column_names}
        self._python = {name: _PyColumn(array) for name, array in self.columns.items()}

    def rows(self, start: int, stop: int) -> list[dict[str, Any]]:
        stop = min(stop, self.length)
        if start >= stop:
            return []
        names = list(self._python)
        values = [self._python[name].slice(start, stop) for name in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]

    def take(self, positions: list[int]) -> list[dict[str, Any]]:
        if not positions:
            return []
        names = list(self._python)
        values = [self._python[name].take(positions) for name in names]
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


class _GroupedRows:
    """A table sorted by a key column then ``order``: one key's rows are one contiguous slice."""

    def __init__(self, table: pa.Table | None, key: str, order: list[tuple[str, str]]) -> None:
        self.published = table is not None
        self._rows = _RankedRows(table, [(key, "ascending"), *order])
        self._slices = _group_slices(self._rows.columns[key]) if self._rows.length else {}

    def __contains__(self, key: str) -> bool:
        return key in self._slices

    def rows(self, key: str, limit: int | None = None) -> list[dict[str, Any]]:
        found = self._slices.get(key)
        if found is None:
            return []
        start, stop = found
        return self._rows.rows(start, stop if limit is None else min(stop, start + limit))


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
        #: Names of the tables in this version (a model not yet published is absent).
        self.tables = frozenset(tables)
        #: The dated marts the generic analytics query reads (``serving.query``).
        self.query_tables = {
            name: tables[name]
            for name in ("daily_metrics", "funnel_daily", "geo_daily")
            if name in tables
        }
        self._similar = _GroupedRows(
            tables.get("similar_products"),
            "product_id",
            [("rank", "ascending"), ("algorithm", "ascending")],
        )
        self._together = _GroupedRows(
            tables.get("frequently_bought_together"), "product_id", [("rank", "ascending")]
        )
        self._forecast = _GroupedRows(
            tables.get("demand_forecast"), "product_id", [("forecast_date", "ascending")]
        )
        self._reorder = _GroupedRows(tables.get("reorder_suggestions"), "product_id", [])
        self._scores = _GroupedRows(tables.get("customer_scores"), "user_id", [])
        self._orders = _GroupedRows(
            tables.get("customer_orders"), "user_id", [("ordered_at", "descending")]
        )
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

    def user_rows(self, user_id: str) -> list[dict[str, Any]]:
        """Every published recommendation row of the user (all algorithms), by rank."""
        found = self._recs_by_user.get(user_id)
        if found is None:
            return []
        return self._recs.rows(*found)

    def knows_product(self, product_id: str) -> bool:
        """Whether any published table of this version mentions the product."""
        return (
            product_id in self._products
            or product_id in self._similar
            or product_id in self._together
            or product_id in self._forecast
            or product_id in self._reorder
        )

    def category_of(self, product_id: str) -> str | None:
        product = self._products.get(product_id)
        return product.category if product else None

    def similar_rows(self, product_id: str) -> list[dict[str, Any]] | None:
        """``similar_products`` rows of the product (None: the table is not published)."""
        return self._similar.rows(product_id) if self._similar.published else None

    def together_rows(self, product_id: str, n: int) -> list[dict[str, Any]] | None:
        """``frequently_bought_together`` rows (None: the table is not published)."""
        return self._together.rows(product_id, n) if self._together.published else None

    def forecast_rows(self, product_id: str) -> list[dict[str, Any]] | None:
        return self._forecast.rows(product_id) if self._forecast.published else None

    def reorder_row(self, product_id: str) -> dict[str, Any] | None:
        rows = self._reorder.rows(product_id, 1)
        return rows[0] if rows else None

    def scores_row(self, user_id: str) -> dict[str, Any] | None:
        """The user's ``customer_scores`` row (None: not scored, or not published)."""
        rows = self._scores.rows(user_id, 1)
        return rows[0] if rows else None

    def popular_rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The published all-time popular products, by rank (the first ``limit``)."""
        return self._popular.rows(0, self._popular.length if limit is None else limit)

    def has_table(self, name: str) -> bool:
        return name in self.tables

    def last_orders(self, user_id: str, n: int) -> list[dict[str, Any]] | None:
        """The user's latest orders, newest first (None: ``customer_orders`` not published)."""
        return self._orders.rows(user_id, n) if self._orders.published else None

    def item(
        self, product_id: str, score: float, rank: int, algorithm: str, category: str | None = None
    ) -> ProductItem:
        """One answer item, with the product's name, category and price when published."""
        return self._item(product_id, score, rank, algorithm, category)

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

    def current_if_fresh(self, tenant_id: str) -> VersionIndex | None:
        """The tenant's index when the store vouches its pointer is fresh; else None (then
        call :meth:`current`, which may read files)."""
        is_fresh = getattr(self.store, "is_fresh", None)
        existing = self._indexes.get(tenant_id)
        if existing is None or is_fresh is None or not is_fresh(tenant_id, existing.version):
            return None
        return existing

    def loaded(self) -> dict[str, str]:
        """tenant_id -> version of what is in memory (for health checks and logs)."""
        return {tenant_id: index.version for tenant_id, index in self._indexes.items()}
