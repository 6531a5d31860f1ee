"""Rules can target the dashboards' saved segments: membership comes from the published marts."""

from __future__ import annotations

import pyarrow as pa

from intellishop.artifacts import LocalArtifactStore
from intellishop.automation.facts import PublishedFacts
from intellishop.reports.store import MerchantStore, SegmentDefinition
from intellishop.settings import Settings


def customers(segments: dict[str, str]) -> pa.Table:
    ids = sorted(segments)
    return pa.table(
        {
            "customer_id": ids,
            "user_id": ids,
            "orders": [3] * len(ids),
            "net_revenue": [120.0] * len(ids),
            "recency_days": [5] * len(ids),
            "rfm_segment": [segments[i] for i in ids],
        }
    )


def test_saved_segment_members_get_its_name_and_follow_edits(settings: Settings) -> None:
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("acme", {"customers": customers({"ann": "Champions", "bob": "Lost"})})
    store.publish("other", {"customers": customers({"ann": "Lost"})})
    merchant = MerchantStore.for_settings(settings)
    merchant.save_segment("acme", SegmentDefinition("vips", rfm_segments=("Champions",)))
    facts = PublishedFacts(
        settings.artifacts_dir, refresh_seconds=0, saved_segments=merchant.segments
    )
    assert facts.customer("acme", ["ann"])["saved_segments"] == ["vips"]
    assert "saved_segments" not in facts.customer("acme", ["bob"])
    # Another shop's "ann" is another person, and that shop saved no segment.
    assert "saved_segments" not in facts.customer("other", ["ann"])
    # Editing the definition re-computes membership without a new publish.
    merchant.save_segment("acme", SegmentDefinition("vips", rfm_segments=("Lost",)))
    assert facts.customer("acme", ["bob"])["saved_segments"] == ["vips"]
    assert "saved_segments" not in facts.customer("acme", ["ann"])
