"""What the pipeline published about customers and products, as the worker needs it.

Read from the serving store's current version per tenant (``customers`` with the RFM segment,
``customer_scores`` with churn probability and CLV when published, ``recommendations``,
``trending`` and ``products``), indexed once per version. A table that is not published yet
simply contributes nothing: conditions on it do not match, and recommendations fall back to
trending products.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intellishop.artifacts import ArtifactVersion, LocalArtifactStore
from intellishop.reports.segments import segment_members
from intellishop.reports.store import SegmentDefinition

#: A tenant's saved segments (the dashboards' segment builder, ``MerchantStore.segments``).
SavedSegments = Callable[[str], Sequence[SegmentDefinition]]

_CUSTOMER_FIELDS = (
    "orders",
    "net_revenue",
    "recency_days",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_code",
    "rfm_segment",
    "first_order_at",
    "last_order_at",
)
_SCORE_FIELDS = ("churn_probability", "churn_top_features", "clv_12m", "expected_purchases_90d")


@dataclass
class _TenantIndex:
    version: str
    #: The saved segment definitions the membership below was computed from.
    segments_key: str = ""
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    recommendations: dict[str, list[str]] = field(default_factory=dict)
    trending: list[str] = field(default_factory=list)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)


def _rows(version: ArtifactVersion, table: str) -> list[dict[str, Any]]:
    found = version.tables.get(table)
    return [] if found is None else list(found.to_pylist())


def _index(
    version: ArtifactVersion, segments: Sequence[SegmentDefinition], segments_key: str
) -> _TenantIndex:
    index = _TenantIndex(version.version, segments_key)
    for row in _rows(version, "customers"):
        facts = {k: row.get(k) for k in _CUSTOMER_FIELDS if k in row}
        for key in (row.get("user_id"), row.get("customer_id")):
            if key:
                index.customers.setdefault(str(key), {}).update(facts)
    for row in _rows(version, "customer_scores"):
        key = row.get("user_id")
        if key:
            scores = {k: row.get(k) for k in _SCORE_FIELDS if k in row}
            index.customers.setdefault(str(key), {}).update(scores)
    for row in sorted(_rows(version, "recommendations"), key=lambda r: r.get("rank") or 0):
        index.recommendations.setdefault(str(row["user_id"]), []).append(str(row["product_id"]))
    index.trending = [
        str(r["product_id"]) for r in sorted(_rows(version, "trending"), key=lambda r: r["rank"])
    ]
    index.products = {str(r["product_id"]): r for r in _rows(version, "products")}
    customers = version.tables.get("customers")
    if customers is not None:
        # Saved segments are conditions on these same published tables: who is in one is
        # worked out once per version (or per change of the definitions), not per event.
        for definition in segments:
            members = segment_members(definition, customers, version.tables.get("customer_scores"))
            for ids in members.select("customer_id", "user_id").iter_rows():
                for key in set(ids):
                    if key:
                        entry = index.customers.setdefault(str(key), {})
                        entry.setdefault("saved_segments", []).append(definition.name)
    return index


class PublishedFacts:
    """Per-tenant indexes of the published tables, rebuilt when a new version appears."""

    def __init__(
        self,
        artifacts_dir: Path,
        refresh_seconds: float = 5.0,
        saved_segments: SavedSegments | None = None,
    ) -> None:
        self.store = LocalArtifactStore(artifacts_dir, refresh_seconds=refresh_seconds)
        self.saved_segments = saved_segments
        self._indexes: dict[str, _TenantIndex] = {}
        self._lock = threading.Lock()

    def _tenant(self, tenant_id: str) -> _TenantIndex | None:
        version = self.store.current(tenant_id)
        if version is None:
            return None
        segments = list(self.saved_segments(tenant_id)) if self.saved_segments else []
        segments_key = repr(segments)
        with self._lock:
            index = self._indexes.get(tenant_id)
            if index is None or (index.version, index.segments_key) != (
                version.version,
                segments_key,
            ):
                index = self._indexes[tenant_id] = _index(version, segments, segments_key)
            return index

    def customer(self, tenant_id: str, person_ids: list[str]) -> dict[str, Any]:
        """Published facts of the first of ``person_ids`` that the pipeline knows."""
        index = self._tenant(tenant_id)
        if index is None:
            return {}
        for person_id in person_ids:
            if person_id in index.customers:
                return dict(index.customers[person_id])
        return {}

    def customers(self, tenant_id: str) -> dict[str, dict[str, Any]]:
        """Every published customer (the win-back scan)."""
        index = self._tenant(tenant_id)
        return {} if index is None else {k: dict(v) for k, v in index.customers.items()}

    def recommended_products(self, tenant_id: str, person_id: str, n: int) -> list[dict[str, Any]]:
        """The person's published recommendations, else trending products (cold start)."""
        index = self._tenant(tenant_id)
        if index is None or n <= 0:
            return []
        ids = index.recommendations.get(person_id) or index.trending
        picked = []
        for product_id in ids[:n]:
            product = index.products.get(product_id, {})
            picked.append(
                {
                    "product_id": product_id,
                    "name": product.get("name") or product_id,
                    "price": product.get("price"),
                    "source": "recommendations"
                    if person_id in index.recommendations
                    else "trending",
                }
            )
        return picked

    def product(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        index = self._tenant(tenant_id)
        return {} if index is None else dict(index.products.get(product_id, {}))
