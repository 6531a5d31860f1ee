"""The daily look: evaluate running experiments from warehouse frames, act on the decision.

The pipeline calls :func:`evaluate_running` once per run with two frames for all tenants:

- ``exposures``: tenant_id, experiment_id, unit_id, variant_id, exposed_at: the
  "Experiment Viewed" events (``properties.experiment_id`` / ``properties.variation_id``) from
  ``int_events_stitched``, ``unit_id`` being the event's ``actor_id``;
- ``outcomes``: tenant_id, unit_id, ordered_at, revenue: ``int_orders`` with ``actor_id`` as
  unit_id and ``net_revenue`` as revenue; or order lines (with ``product_id`` and
  ``order_id``), which price experiments need to count only the products they priced.

Exposures may carry ``product_id`` (price) and ``window_days`` (email): see
:mod:`intellishop.experiments.attribution` for which orders each surface counts.

Using ``actor_id`` on both sides credits an order to the exposure of the same person even when
they were anonymous when exposed and logged in to buy (identity stitching is retroactive).

Each look is stored (the always-valid p-value is the minimum over looks). A winner moves the
experiment to ``decided``; harm or futility to ``stopped`` with the control kept; either way
the decision and the evidence it rests on (the look's full results) are recorded.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import polars as pl

from .attribution import attributable_outcomes
from .model import Experiment, ExperimentError, Status
from .results import DECLARE_WINNER, STOP_FUTILITY, STOP_HARM, analyse
from .store import Decision, ExperimentStore

EXPOSURE_COLUMNS = ("tenant_id", "experiment_id", "unit_id", "variant_id", "exposed_at")
OUTCOME_COLUMNS = ("tenant_id", "unit_id", "ordered_at", "revenue")


def _check_columns(frame: pl.DataFrame, wanted: tuple[str, ...], name: str) -> None:
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks columns {missing}; it needs {list(wanted)}")


def evaluate(
    store: ExperimentStore,
    experiment: Experiment,
    exposures: pl.DataFrame,
    outcomes: pl.DataFrame,
    *,
    as_of: datetime,
    act: bool = True,
) -> dict[str, Any]:
    """One look at one experiment (frames already of its tenant; exposures of any experiment
    of that tenant are fine, they are filtered here). Stores the look; with ``act``, applies a
    stopping decision of a running experiment."""
    mine = exposures.filter(pl.col("experiment_id") == experiment.key)
    previous = store.evaluations(experiment.tenant_id, experiment.key)
    counted, attribution = attributable_outcomes(experiment, mine, outcomes)
    results = analyse(experiment, mine, counted, as_of=as_of, previous=previous)
    results["attribution"] = attribution
    store.record_evaluation(experiment.tenant_id, experiment.key, results, as_of)
    decision = results["decision"]
    if act and experiment.status is Status.RUNNING:
        if decision["action"] == DECLARE_WINNER:
            record_decision(store, experiment, "winner", decision["winner"], results, as_of)
        elif decision["action"] in (STOP_HARM, STOP_FUTILITY):
            record_decision(
                store, experiment, decision["action"], decision["winner"], results, as_of
            )
    return results


def record_decision(
    store: ExperimentStore,
    experiment: Experiment,
    outcome: str,
    winner: str | None,
    evidence: dict[str, Any],
    at: datetime | None = None,
) -> Experiment:
    """Record a decision with its evidence and move the experiment on: ``decided`` for a
    winner (automatic or by hand), ``stopped`` for harm or futility."""
    at = at or datetime.now(UTC)
    if winner is not None and experiment.variant(winner) is None:
        raise ExperimentError("winner", f"{winner!r} is not a variant of {experiment.key!r}")
    status = Status.STOPPED if outcome in (STOP_HARM, STOP_FUTILITY) else Status.DECIDED
    if experiment.status is Status.STOPPED and status is Status.STOPPED:
        moved = experiment
    else:
        moved = experiment.with_status(status, at)
    if moved.status is Status.DECIDED and moved.stopped_at is None:
        moved = replace(moved, stopped_at=at)
    store.record_decision(
        experiment.tenant_id, experiment.key, Decision(outcome, winner, at, evidence)
    )
    return store.save(moved)


def evaluate_running(
    store: ExperimentStore,
    exposures: pl.DataFrame,
    outcomes: pl.DataFrame,
    *,
    as_of: datetime | None = None,
    tenant_id: str | None = None,
) -> list[dict[str, Any]]:
    """Evaluate every running experiment (of ``tenant_id``, or of every tenant) and act on it.

    Each experiment sees only its own tenant's rows. Returns the looks' results, each with
    ``tenant_id`` added.
    """
    _check_columns(exposures, EXPOSURE_COLUMNS, "exposures")
    _check_columns(outcomes, OUTCOME_COLUMNS, "outcomes")
    as_of = as_of or datetime.now(UTC)
    running = store.running_everywhere()
    if tenant_id is not None:
        running = [e for e in running if e.tenant_id == tenant_id]
    looks = []
    for experiment in running:
        tenant_exposures = exposures.filter(pl.col("tenant_id") == experiment.tenant_id)
        tenant_outcomes = outcomes.filter(pl.col("tenant_id") == experiment.tenant_id)
        results = evaluate(store, experiment, tenant_exposures, tenant_outcomes, as_of=as_of)
        looks.append({"tenant_id": experiment.tenant_id, **results})
    return looks
