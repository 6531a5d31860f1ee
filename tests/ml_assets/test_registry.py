"""The model registry on SQLite and on the real PostgreSQL server, with the same code.

A new version is promoted only when at least as good as the active one on the same holdout;
worse ones are kept as rejected; history and rollback; artifacts and drift are stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ml_assets.registry import ModelRegistry, feature_drift, population_stability_index

WINDOW = (datetime(2025, 1, 1), datetime(2025, 5, 1))


@pytest.fixture(params=["sqlite", "postgres"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ModelRegistry]:
    if request.param == "sqlite":
        yield ModelRegistry.sqlite(tmp_path / "models.sqlite3", tmp_path / "artifacts")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    created = ModelRegistry.postgres(dsn, tmp_path / "artifacts")
    with created.dialect.connect() as con:  # each test starts empty
        con.execute("delete from model_versions")
        con.execute("delete from model_events")
    yield created


def write(text: str):  # type: ignore[no-untyped-def]
    def writer(directory: Path) -> None:
        (directory / "model.txt").write_text(text)

    return writer


def test_promotion_only_when_at_least_as_good(registry: ModelRegistry) -> None:
    first = registry.register(
        "t1", "churn", params={"eta": 0.05}, metrics={"auc": 0.80, "brier": 0.1},
        window=WINDOW, holdout="2025-05-01/60", drift={"recency_days": 0.02},
        write_artifact=write("one"),
    )  # fmt: skip
    assert (first.version, first.status) == (1, "active")
    assert Path(first.artifact_path, "model.txt").read_text() == "one"
    assert first.window_start == "2025-01-01T00:00:00" and first.drift == {"recency_days": 0.02}

    worse = registry.register(
        "t1", "churn", params={}, metrics={"auc": 0.78}, holdout="2025-05-01/60",
        write_artifact=write("two"),
    )  # fmt: skip
    assert (worse.version, worse.status) == (2, "rejected")
    assert "worse than v1" in (worse.reason or "")
    assert registry.active("t1", "churn").version == 1  # type: ignore[union-attr]

    # The champion re-scored on a new holdout: the candidate ties it, so it wins.
    tie = registry.register(
        "t1", "churn", params={}, metrics={"auc": 0.81}, holdout="2025-05-08/60",
        champion_metrics={"auc": 0.81},
    )  # fmt: skip
    assert tie.status == "active"
    assert registry.get("t1", "churn", 1).status == "retired"  # type: ignore[union-attr]

    # Another tenant and another kind have their own versions.
    other = registry.register("t2", "churn", params={}, metrics={"auc": 0.5}, holdout="h")
    assert (other.version, other.status) == (1, "active")
    clv = registry.register("t1", "clv", params={}, metrics={"purchases_mae": 0.8}, holdout="h")
    lower_is_better = registry.register(
        "t1", "clv", params={}, metrics={"purchases_mae": 0.7}, holdout="h"
    )
    assert clv.version == 1 and lower_is_better.status == "active"


def test_different_holdout_without_rescoring_is_not_compared(registry: ModelRegistry) -> None:
    registry.register("t1", "forecast", params={}, metrics={"wape": 0.5}, holdout="week 1")
    later = registry.register("t1", "forecast", params={}, metrics={"wape": 0.1}, holdout="week 2")
    assert later.status == "candidate" and "not compared" in (later.reason or "")
    assert registry.active("t1", "forecast").version == 1  # type: ignore[union-attr]


def test_history_and_rollback(registry: ModelRegistry) -> None:
    for auc in (0.7, 0.75, 0.8):
        registry.register("t1", "churn", params={}, metrics={"auc": auc}, holdout="h")
    assert [v.status for v in registry.history("t1", "churn")] == ["retired", "retired", "active"]
    back = registry.rollback("t1", "churn")
    assert back.version == 2
    assert registry.active("t1", "churn").version == 2  # type: ignore[union-attr]
    assert registry.rollback("t1", "churn", to_version=1).version == 1
    actions = [(v, a) for v, a, _, _ in registry.events("t1", "churn")]
    assert actions == [
        (1, "promoted"), (2, "promoted"), (3, "promoted"), (2, "rolled back to"),
        (1, "rolled back to"),
    ]  # fmt: skip
    with pytest.raises(LookupError):
        registry.rollback("t1", "churn", to_version=9)
    with pytest.raises(ValueError, match="auc"):
        registry.register("t1", "churn", params={}, metrics={"brier": 0.1})
    with pytest.raises(ValueError, match="unknown model kind"):
        registry.register("t1", "poetry", params={}, metrics={"auc": 1.0})


def test_values_are_bound_not_formatted(registry: ModelRegistry) -> None:
    sneaky = "t1'; drop table model_versions; --"
    registry.register(sneaky, "churn", params={"q": "'"}, metrics={"auc": 0.6}, holdout="h")
    assert registry.active(sneaky, "churn").params == {"q": "'"}  # type: ignore[union-attr]
    assert len(registry.history()) == 1


def test_population_stability_index() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, 5000)
    assert population_stability_index(train, rng.normal(0, 1, 5000)) < 0.02
    assert population_stability_index(train, rng.normal(1, 1, 5000)) > 0.25
    missing = np.where(rng.random(5000) < 0.5, np.nan, rng.normal(0, 1, 5000))
    assert population_stability_index(train, missing) > 0.25  # a feature that stops arriving
    drift = feature_drift(
        pl.DataFrame({"a": train, "b": train}),
        pl.DataFrame({"a": train, "b": train + 2}),
        ["a", "b", "absent"],
    )
    assert set(drift) == {"a", "b"} and drift["a"] == 0.0 and drift["b"] > 1
