"""The retraining loop: due only when stale, champion re-scored on the candidate's holdout,
promotion decided by the registry, tiny shops skipped with a reason, scoring by the active
version only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from ml_assets.features.simulated import WarehouseFrames, simulated_shop
from ml_assets.registry import ModelRegistry
from ml_assets.retraining import (
    HOLDOUT_SHARE,
    active_customer_models,
    in_holdout,
    retrain_customer_models,
    retraining_due,
)

END = date(2025, 6, 30)
AS_OF = datetime(2025, 7, 1)


@pytest.fixture(scope="module")
def shops() -> WarehouseFrames:
    """A shop big enough for both models and one too small for either."""
    big = simulated_shop(seed=5, days=150, customers=300, products=30, end=END, tenant_id="big")
    tiny = simulated_shop(seed=6, days=150, customers=12, products=20, end=END, tenant_id="tiny")
    return big.concat(tiny)


def registry_at(path: Path) -> ModelRegistry:
    return ModelRegistry.sqlite(path / "registry.sqlite3", path / "artifacts")


def test_holdout_customers_are_stable_and_about_a_fifth() -> None:
    users = pl.Series([f"u{i}" for i in range(2000)])
    first = in_holdout("shop", users)
    assert first.equals(in_holdout("shop", users))
    assert abs(first.mean() - HOLDOUT_SHARE) < 0.03  # type: ignore[operator]
    # Another tenant's same ids are a different draw: tenants share nothing.
    assert not first.equals(in_holdout("other", users))


def test_first_run_registers_and_tiny_shop_is_skipped(
    shops: WarehouseFrames, tmp_path: Path
) -> None:
    registry = registry_at(tmp_path)
    summaries = retrain_customer_models(
        registry, shops.orders, as_of=AS_OF,
        interactions=shops.interactions, sessions=shops.sessions,
    )  # fmt: skip
    by_tenant = {s.tenant_id: s for s in summaries}
    assert set(by_tenant) == {"big", "tiny"}
    big = by_tenant["big"]
    assert big.retrained and big.reason == "no model registered yet"
    for kind in ("churn", "clv"):
        outcome = big.outcomes[kind]
        assert outcome.version == 1 and outcome.promoted and outcome.status == "active"
        assert outcome.skipped is None
        assert outcome.drift and outcome.max_psi is not None
    churn = big.outcomes["churn"]
    assert {"auc", "auc_recency", "auc_rfm_logistic", "brier_calibrated"} <= set(churn.metrics)
    assert 0.5 < churn.metrics["auc"] <= 1.0
    assert churn.metrics["holdout_customers"] < churn.metrics["train_customers"]
    tiny = by_tenant["tiny"]
    assert tiny.outcomes["churn"].skipped and "too few" in tiny.outcomes["churn"].skipped
    assert tiny.outcomes["clv"].skipped
    assert registry.history("tiny") == []
    assert Path(registry.active("big", "churn").artifact_path, "booster.json").exists()  # type: ignore[union-attr]


def test_not_due_within_a_week_then_champion_rescored(
    shops: WarehouseFrames, tmp_path: Path
) -> None:
    registry = registry_at(tmp_path)
    big = shops.orders.filter(pl.col("tenant_id") == "big")
    kwargs = {"interactions": shops.interactions, "sessions": shops.sessions}
    retrain_customer_models(registry, big, as_of=AS_OF, **kwargs)  # type: ignore[arg-type]
    registered = registry.history("big")
    created = datetime.fromisoformat(registered[-1].created_at).replace(tzinfo=None)

    due, why = retraining_due(registry, "big", created + timedelta(days=6))
    assert not due and "days old" in why
    assert retraining_due(registry, "big", created + timedelta(days=8))[0]
    again = retrain_customer_models(registry, big, as_of=AS_OF, **kwargs)  # type: ignore[arg-type]
    assert not again[0].retrained and registry.history("big") == registered

    forced = retrain_customer_models(registry, big, as_of=AS_OF, force=True, **kwargs)  # type: ignore[arg-type]
    churn = forced[0].outcomes["churn"]
    assert churn.version == 2 and churn.champion_version == 1
    # Same holdout, same data, same seed: the champion scores what the candidate scores, and
    # "at least as good" promotes the candidate.
    assert churn.champion_metrics["auc"] == pytest.approx(churn.metrics["auc"])
    assert churn.promoted and "re-scored" in (churn.reason or "")
    # Likewise for lifetime value: a champion scored on a window it was fitted on would beat an
    # identical candidate; on held-out customers the two tie.
    clv = forced[0].outcomes["clv"]
    assert clv.champion_version == 1
    assert clv.champion_metrics["purchases_mae"] == pytest.approx(clv.metrics["purchases_mae"])
    assert clv.promoted and "re-scored" in (clv.reason or "")


def test_scoring_models_are_the_active_versions_never_a_rejected_one(
    shops: WarehouseFrames, tmp_path: Path
) -> None:
    registry = registry_at(tmp_path)
    big = shops.orders.filter(pl.col("tenant_id") == "big")
    retrain_customer_models(registry, big, as_of=AS_OF)
    rejected = registry.register(
        "big", "churn", params={}, metrics={"auc": 0.1}, champion_metrics={"auc": 0.9}
    )
    assert rejected.status == "rejected" and rejected.version == 2
    models, labels = active_customer_models(registry, ["big", "tiny"])
    assert labels == {"big": "churn-v1+clv-v1", "tiny": "none"}
    assert models["big"].churn is not None and models["big"].clv is not None
    assert models["tiny"].churn is None and models["tiny"].clv is None
