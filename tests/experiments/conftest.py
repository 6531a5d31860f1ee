"""Experiments for the tests, and the store on both backends (SQLite, real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from intellishop.experiments import Experiment, Guardrail, Metric, Surface, Variant
from intellishop.experiments.store import (
    ExperimentStore,
    PostgresExperimentStore,
    SqliteExperimentStore,
)
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.app import create_app


def prod_environment(monkeypatch: pytest.MonkeyPatch, postgres_dsn: str) -> None:
    """The prod profile's variables, with test secrets (prod refuses the shipped ones)."""
    monkeypatch.setenv("INTELLISHOP_PROFILE", "prod")
    monkeypatch.setenv("INTELLISHOP_ADMIN_TOKEN", "a-test-admin-secret")
    monkeypatch.setenv("INTELLISHOP_JWT_SECRET", "a-test-jwt-secret-of-at-least-32-characters")
    monkeypatch.setenv("INTELLISHOP_POSTGRES_DSN", postgres_dsn)


def make_experiment(
    tenant_id: str = "shop-a",
    key: str = "recs-als",
    *,
    surface: Surface = Surface.RECOMMENDATIONS,
    weights: tuple[float, ...] = (0.5, 0.5),
    metric: Metric = Metric.CONVERSION,
    guardrails: tuple[Guardrail, ...] = (),
    salt: str = "fixed-salt",
) -> Experiment:
    names = ["control", "treatment", "treatment_2", "treatment_3"]
    return Experiment(
        tenant_id=tenant_id,
        key=key,
        name=f"Experiment {key}",
        surface=surface,
        variants=tuple(
            Variant(
                id=names[i],
                name=names[i].replace("_", " ").title(),
                weight=w,
                control=i == 0,
                config={"algorithm": "trending" if i == 0 else f"als-{i}"},
            )
            for i, w in enumerate(weights)
        ),
        target_metric=metric,
        guardrails=guardrails,
        salt=salt,
    ).validate()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExperimentStore]:
    if request.param == "sqlite":
        yield SqliteExperimentStore(tmp_path / "experiments.sqlite3")
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    pg = PostgresExperimentStore(dsn)
    yield pg
    # The session database is shared by this package's tests: leave it empty for the next.
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        for table in ("experiments", "evaluations", "decisions"):
            con.execute(f"delete from experiments.{table}")


BODY: dict[str, Any] = {
    "key": "recs-als",
    "name": "ALS vs trending",
    "surface": "recommendations",
    "variants": [
        {"id": "trending", "weight": 1, "control": True, "config": {"algorithm": "trending"}},
        {"id": "als", "weight": 1, "config": {"algorithm": "als"}},
    ],
    "target_metric": "conversion",
    "guardrails": [{"metric": "revenue_per_user", "max_degradation": 0.05}],
}


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    settings: Settings

    def call(self, method: str, path: str, tenant: str = "shop-a", **kw: Any) -> httpx.Response:
        headers = {"X-API-Key": self.keys[tenant]}
        return self.client.request(method, f"/v1/experiments{path}", headers=headers, **kw)


@pytest.fixture
def api(settings: Settings) -> Api:
    registry = TenantRegistry(settings.tenants_db_path)
    keys = {}
    for tenant_id in ("shop-a", "shop-b"):
        _, keys[tenant_id] = registry.create(tenant_id.upper(), tenant_id=tenant_id)
    keys["write-a"] = registry.create_key("shop-a", scope="write")
    app = create_app(settings, refresh_seconds=0, auth_cache_seconds=0)
    return Api(TestClient(app), keys, settings)
