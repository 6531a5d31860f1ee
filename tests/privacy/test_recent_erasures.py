"""A run in flight during an erasure cannot publish the person again (its publish strips them)."""

from __future__ import annotations

import time

import pyarrow as pa

from intellishop.privacy import (
    Person,
    forget_recent_erasures,
    record_recent_erasure,
    strip_recent_erasures,
)
from intellishop.settings import Settings


def recommendations() -> dict[str, pa.Table]:
    return {
        "recommendations": pa.table(
            {"user_id": ["gone", "keep", "gone"], "product_id": ["p1", "p2", "p3"]}
        ),
        "trending": pa.table({"product_id": ["p1"], "score": [1.0]}),
    }


def test_recent_erasures_are_stripped_for_their_tenant_until_forgotten(settings: Settings) -> None:
    record_recent_erasure(settings, "r1", Person("shop-a", user_ids=frozenset({"gone"})))
    stripped = strip_recent_erasures(settings, "shop-a", recommendations())
    assert stripped["recommendations"].column("user_id").to_pylist() == ["keep"]
    assert stripped["trending"].num_rows == 1  # a table without ids is left alone
    other_tenant = strip_recent_erasures(settings, "shop-b", recommendations())
    assert other_tenant["recommendations"].num_rows == 3

    assert forget_recent_erasures(settings, before=time.time() - 3600) == 0  # a run older still
    assert (
        strip_recent_erasures(settings, "shop-a", recommendations())["recommendations"].num_rows
        == 1
    )
    assert forget_recent_erasures(settings, before=time.time() + 1) == 1
    assert (
        strip_recent_erasures(settings, "shop-a", recommendations())["recommendations"].num_rows
        == 3
    )
    records = list((settings.data_dir / "audit" / "recent").glob("*.json"))
    assert records == []
