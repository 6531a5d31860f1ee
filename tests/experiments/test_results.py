"""Results and decisions from exposure and order frames, and the pipeline's daily look."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from intellishop.experiments import (
    Experiment,
    Guardrail,
    Metric,
    Status,
    analyse,
    assign,
    evaluate_running,
)
from intellishop.experiments.results import CONTINUE, DECLARE_WINNER, STOP_FUTILITY, STOP_HARM
from intellishop.experiments.store import ExperimentStore

from .conftest import make_experiment

START = datetime(2026, 3, 1, tzinfo=UTC)
AS_OF = START + timedelta(days=14)


def frames(
    experiment: Experiment,
    *,
    units: int,
    rates: dict[str, float],
    spend: dict[str, float] | None = None,
    seed: int = 0,
    tenant_id: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Units exposed over 10 days, assigned by :func:`assign`; buyers order once, 1 day later."""
    rng = np.random.default_rng(seed)
    ids = [f"u{i}" for i in range(units)]
    variants = [assign(experiment, unit).id for unit in ids]
    exposed = [START + timedelta(hours=float(h)) for h in rng.uniform(0, 240, units)]
    buys = rng.random(units) < np.array([rates[v] for v in variants])
    mean_spend = np.array([(spend or {}).get(v, 50.0) for v in variants])
    revenue = rng.exponential(mean_spend)
    exposures = pl.DataFrame(
        {
            "tenant_id": tenant_id or experiment.tenant_id,
            "experiment_id": experiment.key,
            "unit_id": ids,
            "variant_id": variants,
            "exposed_at": exposed,
        }
    )
    outcomes = pl.DataFrame(
        {
            "tenant_id": tenant_id or experiment.tenant_id,
            "unit_id": [u for u, b in zip(ids, buys, strict=True) if b],
            "ordered_at": [e + timedelta(days=1) for e, b in zip(exposed, buys, strict=True) if b],
            "revenue": revenue[buys],
        }
    )
    return exposures, outcomes


def running(experiment: Experiment) -> Experiment:
    return experiment.with_status(Status.RUNNING, START)


def test_per_variant_counts_match_the_frames() -> None:
    experiment = running(make_experiment())
    exposures, outcomes = frames(experiment, units=4000, rates={"control": 0.1, "treatment": 0.1})
    results = analyse(experiment, exposures, outcomes, as_of=AS_OF)
    by_id = {v["variant"]: v for v in results["variants"]}
    for variant in ("control", "treatment"):
        mine = exposures.filter(pl.col("variant_id") == variant)
        bought = outcomes.join(mine.select("unit_id"), on="unit_id")
        assert by_id[variant]["units"] == mine.height
        assert by_id[variant]["converters"] == bought.height
        assert by_id[variant]["revenue"] == pytest.approx(bought["revenue"].sum())
        assert by_id[variant]["conversion_rate"] == pytest.approx(bought.height / mine.height)
    assert results["srm"]["mismatch"] is False
    (comparison,) = results["comparisons"]
    assert set(comparison) >= {"fixed_horizon", "sequential", "bayes", "relative_lift"}


def test_orders_before_exposure_or_after_as_of_and_mixed_units_do_not_count() -> None:
    experiment = running(make_experiment())
    exposures = pl.DataFrame(
        {
            "unit_id": ["a", "a", "b", "c", "c", "d"],
            "variant_id": ["control", "control", "treatment", "control", "treatment", "ghost"],
            "exposed_at": [START + timedelta(days=d) for d in (1, 3, 1, 1, 2, 1)],
        }
    )
    outcomes = pl.DataFrame(
        {
            "unit_id": ["a", "a", "b", "b", "c"],
            "ordered_at": [START + timedelta(days=d) for d in (0.5, 2, 2, 20, 2)],
            "revenue": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    results = analyse(experiment, exposures, outcomes, as_of=AS_OF)
    by_id = {v["variant"]: v for v in results["variants"]}
    assert (by_id["control"]["units"], by_id["control"]["revenue"]) == (1, 20.0)
    assert (by_id["treatment"]["units"], by_id["treatment"]["revenue"]) == (1, 30.0)
    assert results["data_quality"] == {
        "units_in_several_variants": 1,
        "exposures_after_as_of": 0,
        "units_in_unknown_variants": 1,
    }


def test_a_clear_winner_is_declared() -> None:
    experiment = running(make_experiment())
    exposures, outcomes = frames(
        experiment, units=20_000, rates={"control": 0.05, "treatment": 0.075}
    )
    results = analyse(experiment, exposures, outcomes, as_of=AS_OF)
    assert results["decision"]["action"] == DECLARE_WINNER
    assert results["decision"]["winner"] == "treatment"
    (comparison,) = results["comparisons"]
    assert comparison["sequential"]["significant"]
    assert comparison["bayes"]["chance_to_beat_control"] > 0.99
    assert 0.2 < comparison["relative_lift"] < 0.8
    assert comparison["relative_ci_low"] < 0.5 < comparison["relative_ci_high"]


def test_no_difference_keeps_running_then_stops_for_futility() -> None:
    experiment = running(make_experiment())
    exposures, outcomes = frames(experiment, units=5000, rates={"control": 0.05, "treatment": 0.05})
    results = analyse(experiment, exposures, outcomes, as_of=AS_OF)
    assert results["decision"]["action"] == CONTINUE
    late = START + timedelta(days=experiment.max_days)
    assert analyse(experiment, exposures, outcomes, as_of=late)["decision"]["action"] == (
        STOP_FUTILITY
    )


def test_a_worse_treatment_stops_for_harm() -> None:
    experiment = running(make_experiment())
    exposures, outcomes = frames(
        experiment, units=20_000, rates={"control": 0.075, "treatment": 0.05}
    )
    decision = analyse(experiment, exposures, outcomes, as_of=AS_OF)["decision"]
    assert decision["action"] == STOP_HARM and decision["winner"] == "control"


def test_a_harmed_guardrail_blocks_the_winner() -> None:
    """Higher prices: more revenue per user, but conversion falls by more than allowed."""
    experiment = running(
        make_experiment(
            surface=make_experiment().surface,
            metric=Metric.REVENUE_PER_USER,
            guardrails=(Guardrail(Metric.CONVERSION, 0.05),),
        )
    )
    exposures, outcomes = frames(
        experiment,
        units=40_000,
        rates={"control": 0.10, "treatment": 0.07},
        spend={"control": 50.0, "treatment": 100.0},
    )
    results = analyse(experiment, exposures, outcomes, as_of=AS_OF)
    target = next(c for c in results["comparisons"] if c["role"] == "target")
    guard = next(c for c in results["comparisons"] if c["role"] == "guardrail")
    assert target["sequential"]["significant"] and target["difference"] > 0
    assert guard["guardrail"]["harmed"]
    assert results["decision"]["action"] == STOP_HARM


def test_a_broken_split_never_declares_a_winner() -> None:
    experiment = running(make_experiment())
    exposures, outcomes = frames(
        experiment, units=20_000, rates={"control": 0.05, "treatment": 0.075}
    )
    # Lose 8% of the treatment's exposures (say, its page errors before logging).
    lost = exposures.filter(pl.col("variant_id") == "treatment").sample(fraction=0.08, seed=1)
    broken = exposures.join(lost.select("unit_id"), on="unit_id", how="anti")
    results = analyse(experiment, broken, outcomes, as_of=AS_OF)
    assert results["srm"]["mismatch"]
    assert results["decision"]["action"] == CONTINUE
    assert "sample ratio mismatch" in results["decision"]["reasons"][0]


def test_the_daily_look_records_the_decision_for_each_tenant(store: ExperimentStore) -> None:
    winner = make_experiment()
    store.create(winner)
    store.start("shop-a", winner.key, START)
    flat = make_experiment(tenant_id="shop-b")
    store.create(flat)
    store.start("shop-b", flat.key, START)
    exp_a, out_a = frames(
        store.get("shop-a", winner.key),
        units=20_000,
        rates={"control": 0.05, "treatment": 0.075},
    )
    exp_b, out_b = frames(
        store.get("shop-b", flat.key), units=3000, rates={"control": 0.05, "treatment": 0.05}
    )
    # shop-b's frames also carry rows that pretend to be shop-a's users: ignored for shop-b.
    exposures = pl.concat([exp_a, exp_b])
    outcomes = pl.concat([out_a, out_b])
    looks = evaluate_running(store, exposures, outcomes, as_of=AS_OF)
    assert {(look["tenant_id"], look["decision"]["action"]) for look in looks} == {
        ("shop-a", DECLARE_WINNER),
        ("shop-b", CONTINUE),
    }
    decided = store.get("shop-a", winner.key)
    assert decided.status is Status.DECIDED
    decision = store.decision("shop-a", winner.key)
    assert decision is not None and decision.winner == "treatment"
    assert decision.evidence["srm"]["mismatch"] is False
    assert store.get("shop-b", flat.key).status is Status.RUNNING
    b_units = sum(v["units"] for v in store.evaluations("shop-b", flat.key)[0]["variants"])
    assert b_units == 3000
    # The next look evaluates only what still runs.
    assert [look["tenant_id"] for look in evaluate_running(store, exposures, outcomes)] == [
        "shop-b"
    ]
    with pytest.raises(ValueError, match="lacks columns"):
        evaluate_running(store, exposures.drop("tenant_id"), outcomes)


def test_the_always_valid_p_value_is_the_minimum_over_looks() -> None:
    experiment = running(make_experiment())
    exposures, outcomes = frames(experiment, units=2000, rates={"control": 0.05, "treatment": 0.05})
    alone = analyse(experiment, exposures, outcomes, as_of=AS_OF)
    (comparison,) = alone["comparisons"]
    assert not comparison["sequential"]["significant"]
    earlier = {
        "comparisons": [
            {
                "variant": "treatment",
                "metric": "conversion",
                "role": "target",
                "sequential": {"always_valid_p_value": 0.001},
            },
            # Another role's evidence is not this test's.
            {
                "variant": "treatment",
                "metric": "conversion",
                "role": "guardrail",
                "sequential": {"always_valid_p_value": 1e-9},
            },
        ]
    }
    again = analyse(experiment, exposures, outcomes, as_of=AS_OF, previous=[earlier])
    sequential = again["comparisons"][0]["sequential"]
    assert sequential["always_valid_p_value"] == 0.001
    assert sequential["p_value"] == comparison["sequential"]["p_value"]
    assert sequential["significant"]


def test_naive_and_zoned_timestamps_are_read_as_instants() -> None:
    experiment = running(make_experiment())
    exposures = pl.DataFrame(
        {
            "unit_id": ["a", "b"],
            "variant_id": ["control", "treatment"],
            "exposed_at": [datetime(2026, 3, 2, 12), datetime(2026, 3, 2, 12)],
        }
    )  # naive: UTC
    outcomes = pl.DataFrame(
        {
            "unit_id": ["a", "b"],
            "ordered_at": [START + timedelta(days=1, hours=13)] * 2,
            "revenue": [5.0, 7.0],
        }
    ).with_columns(pl.col("ordered_at").dt.convert_time_zone("America/New_York"))
    # 2026-03-02 13:00 UTC is after both exposures (12:00 UTC).
    by_id = {
        v["variant"]: v["revenue"]
        for v in analyse(experiment, exposures, outcomes, as_of=AS_OF)["variants"]
    }
    assert by_id == {"control": 5.0, "treatment": 7.0}
