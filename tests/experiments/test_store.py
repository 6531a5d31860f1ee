"""The experiment store on SQLite and on the real PostgreSQL: lifecycle, isolation, records."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from intellishop.experiments import (
    Decision,
    ExperimentError,
    ExperimentNotFoundError,
    Guardrail,
    Metric,
    Status,
    Surface,
    open_store,
    running_experiment,
)
from intellishop.experiments.store import ExperimentStore, SqliteExperimentStore
from intellishop.settings import Settings

from .conftest import make_experiment, prod_environment


def test_create_get_list_and_tenant_isolation(store: ExperimentStore) -> None:
    guarded = make_experiment(
        metric=Metric.REVENUE_PER_USER, guardrails=(Guardrail(Metric.CONVERSION, 0.02),)
    )
    store.create(guarded)
    store.create(make_experiment(key="email-subject", surface=Surface.EMAIL))
    store.create(make_experiment(tenant_id="shop-b"))
    assert store.get("shop-a", "recs-als") == guarded
    assert [e.key for e in store.list_experiments("shop-a")] == ["email-subject", "recs-als"]
    assert [e.tenant_id for e in store.list_experiments("shop-b")] == ["shop-b"]
    with pytest.raises(ExperimentNotFoundError):
        store.get("shop-b", "email-subject")
    with pytest.raises(ExperimentError, match="exists already"):
        store.create(make_experiment())


def test_lifecycle_and_one_running_experiment_per_surface(store: ExperimentStore) -> None:
    store.create(make_experiment(key="first"))
    store.create(make_experiment(key="second"))
    started = store.start("shop-a", "first")
    assert started.status is Status.RUNNING and started.started_at is not None
    assert [e.key for e in store.running("shop-a", Surface.RECOMMENDATIONS)] == ["first"]
    with pytest.raises(ExperimentError, match="already running") as error:
        store.start("shop-a", "second")
    assert error.value.field == "surface"
    # Another tenant's surface is its own.
    store.create(make_experiment(tenant_id="shop-b", key="first"))
    store.start("shop-b", "first")
    with pytest.raises(ExperimentError, match="cannot become"):
        store.start("shop-a", "first")
    with pytest.raises(ExperimentError, match="only drafts"):
        store.delete("shop-a", "first")
    stopped = store.stop("shop-a", "first")
    assert stopped.status is Status.STOPPED and stopped.stopped_at is not None
    assert store.running("shop-a", Surface.RECOMMENDATIONS) == []
    assert store.list_experiments("shop-a", Status.STOPPED) == [stopped]
    store.delete("shop-a", "second")
    assert [e.key for e in store.list_experiments("shop-a")] == ["first"]
    assert [e.key for e in store.running_everywhere()] == ["first"]  # shop-b's


def test_evaluations_and_decisions_are_kept(store: ExperimentStore) -> None:
    store.create(make_experiment())
    day1, day2 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    store.record_evaluation("shop-a", "recs-als", {"look": 2}, day2)
    store.record_evaluation("shop-a", "recs-als", {"look": 1}, day1)
    store.record_evaluation("shop-a", "recs-als", {"look": 1.5}, day1)  # replaces
    assert store.evaluations("shop-a", "recs-als") == [{"look": 1.5}, {"look": 2}]
    assert store.latest_evaluation("shop-a", "recs-als") == {"look": 2}
    assert store.latest_evaluation("shop-b", "recs-als") is None
    decision = Decision("winner", "treatment", day2, {"p": 0.001})
    store.record_decision("shop-a", "recs-als", decision)
    assert store.decision("shop-a", "recs-als") == decision
    assert store.decision("shop-b", "recs-als") is None


def test_invalid_definitions_name_the_field(store: ExperimentStore) -> None:
    base = make_experiment()
    cases = {
        "key": replace(base, key="Bad Key!"),
        "variants": replace(base, variants=base.variants[:1]),
        "variants.1.weight": replace(
            base, variants=(base.variants[0], replace(base.variants[1], weight=0.0))
        ),
        "guardrails.0.max_degradation": replace(
            base, guardrails=(Guardrail(Metric.CONVERSION, 1.5),)
        ),
    }
    for field, experiment in cases.items():
        with pytest.raises(ExperimentError) as error:
            store.create(experiment)
        assert error.value.field == field
    two_controls = replace(base.variants[1], control=True)
    with pytest.raises(ExperimentError, match="exactly one"):
        store.create(replace(base, variants=(base.variants[0], two_controls)))


def test_running_experiment_reads_the_profile_store(settings: Settings) -> None:
    store = open_store(settings)
    assert isinstance(store, SqliteExperimentStore)
    assert store.path.parent == settings.data_dir
    store.create(make_experiment())
    assert running_experiment(settings, "shop-a", "recommendations", cache_seconds=0) is None
    store.start("shop-a", "recs-als")
    found = running_experiment(settings, "shop-a", Surface.RECOMMENDATIONS, cache_seconds=0)
    assert found is not None and found.key == "recs-als"
    assert running_experiment(settings, "shop-b", "recommendations", cache_seconds=0) is None
    assert running_experiment(settings, "shop-a", "email", cache_seconds=0) is None


def test_an_aged_answer_is_served_while_it_is_read_again(settings: Settings) -> None:
    """Once cached, a request never waits for the store: an aged answer is served once more
    while a background thread reads the new one, which the next request sees."""
    store = open_store(settings)
    store.create(make_experiment())
    assert running_experiment(settings, "shop-a", "recommendations", cache_seconds=0.2) is None
    store.start("shop-a", "recs-als")
    time.sleep(0.25)
    assert running_experiment(settings, "shop-a", "recommendations", cache_seconds=0.2) is None
    deadline = time.monotonic() + 10
    while running_experiment(settings, "shop-a", "recommendations", cache_seconds=0.2) is None:
        assert time.monotonic() < deadline, "the background re-read never landed"
        time.sleep(0.02)


def test_prod_profile_uses_postgresql(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch, data_dir: object
) -> None:
    from intellishop.experiments.store import PostgresExperimentStore
    from intellishop.settings import get_settings

    prod_environment(monkeypatch, postgres_dsn)
    settings = get_settings()
    store = open_store(settings)
    assert isinstance(store, PostgresExperimentStore)
    experiment = make_experiment(tenant_id="shop-prod", key="prod-check")
    store.create(experiment)
    store.start("shop-prod", "prod-check")
    found = running_experiment(settings, "shop-prod", "recommendations", cache_seconds=0)
    assert found is not None and found.key == "prod-check"
    # Stopped: within the cache time the answer may be stale, with no cache it is not.
    store.stop("shop-prod", "prod-check")
    assert running_experiment(settings, "shop-prod", "recommendations", cache_seconds=0) is None
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'experiments'"
            )
        }
        assert tables == {"experiments", "evaluations", "decisions"}
        for table in tables:
            con.execute(f"delete from experiments.{table} where tenant_id = 'shop-prod'")


def test_latest_winner_is_the_last_decided_experiment_of_the_surface(
    store: ExperimentStore,
) -> None:
    from intellishop.experiments import record_decision

    assert store.latest_winner("shop-a", Surface.RECOMMENDATIONS) is None
    for key, winner, day in (("old", "treatment", 1), ("new", "control", 2)):
        store.create(make_experiment(key=key))
        store.start("shop-a", key)
        at = datetime(2026, 3, day, tzinfo=UTC)
        record_decision(store, store.get("shop-a", key), "winner", winner, {}, at)
    found = store.latest_winner("shop-a", Surface.RECOMMENDATIONS)
    assert found is not None and (found[0].key, found[1]) == ("new", "control")
    assert store.latest_winner("shop-a", Surface.EMAIL) is None
    assert store.latest_winner("shop-b", Surface.RECOMMENDATIONS) is None
