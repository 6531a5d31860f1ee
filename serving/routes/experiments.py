"""A/B tests: define, start, stop, assign, read results, decide (``/v1/experiments``).

Every endpoint needs a full (secret) key and sees only the key's tenant: the store's every
statement filters on the tenant id, and another tenant's key gets a 404, as for a key that
does not exist. Results are computed by the pipeline's daily look and stored; this API reads
them and never touches the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from intellishop.experiments import (
    Experiment,
    ExperimentConflictError,
    ExperimentError,
    ExperimentNotFoundError,
    ExperimentStore,
    Status,
    assign,
    exposure_event,
    log_exposures,
    open_store,
    record_decision,
)
from intellishop.experiments.assignment import EventAppender
from intellishop.experiments.store import Decision

from ..deps import CurrentTenant, SettingsDep
from ..schemas.experiments import (
    KEY_PATTERN,
    AssignmentIn,
    AssignmentOut,
    DecisionIn,
    DecisionOut,
    ExperimentCreate,
    ExperimentList,
    ExperimentOut,
    ExperimentResults,
    ExperimentUpdate,
)

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])


def experiment_store(request: Request, settings: SettingsDep) -> ExperimentStore:
    """The profile's store, opened once per app (tables created on first use)."""
    store: ExperimentStore | None = getattr(request.app.state, "experiment_store", None)
    if store is None:
        store = request.app.state.experiment_store = open_store(settings)
    return store


def exposure_log(request: Request, settings: SettingsDep) -> EventAppender:
    """The event log exposures are appended to (the collector's, by profile)."""
    log: EventAppender | None = getattr(request.app.state, "experiment_event_log", None)
    if log is None:
        from ingest.event_log import open_event_log

        log = request.app.state.experiment_event_log = open_event_log(settings)
    return log


StoreDep = Annotated[ExperimentStore, Depends(experiment_store)]
EventLogDep = Annotated[EventAppender, Depends(exposure_log)]
KeyPath = Annotated[
    str, Path(pattern=KEY_PATTERN, description="The experiment's key.", examples=["recs-als"])
]


_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No experiment with this key for the tenant."}
}


_400: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not JSON."}}


def _with_409(reason: str, *, body: bool = False) -> dict[int | str, dict[str, Any]]:
    return {**_404, 409: {"description": reason}, **(_400 if body else {})}


@contextmanager
def _answers() -> Iterator[None]:
    """Library errors as HTTP answers: 404 unknown, 409 wrong state, 422 naming the field."""
    try:
        yield
    except ExperimentNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=error.message) from None
    except ExperimentConflictError as error:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"{error.field}: {error.message}"
        ) from None
    except ExperimentError as error:
        loc: list[str | int] = ["body"]
        loc += [int(part) if part.isdigit() else part for part in error.field.split(".")]
        raise RequestValidationError(
            [{"type": "value_error", "loc": tuple(loc), "msg": error.message, "input": None}]
        ) from None


def _out(store: ExperimentStore, experiment: Experiment) -> ExperimentOut:
    decision = store.decision(experiment.tenant_id, experiment.key)
    return ExperimentOut.of(experiment, _decision_out(decision))


def _decision_out(decision: Decision | None) -> DecisionOut | None:
    if decision is None:
        return None
    return DecisionOut(
        outcome=decision.outcome, winner=decision.winner, decided_at=decision.decided_at
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an experiment (as a draft)",
    responses={409: {"description": "The key is taken."}, **_400},
)
def create_experiment(
    body: ExperimentCreate, tenant: CurrentTenant, store: StoreDep
) -> ExperimentOut:
    data: dict[str, Any] = body.model_dump(mode="json")
    with _answers():
        experiment = store.create(Experiment.from_json({**data, "tenant_id": tenant.tenant_id}))
    return _out(store, experiment)


@router.get("", summary="The tenant's experiments")
def list_experiments(
    tenant: CurrentTenant,
    store: StoreDep,
    status_filter: Annotated[
        Status | None, Query(alias="status", description="Only experiments in this state.")
    ] = None,
) -> ExperimentList:
    experiments = store.list_experiments(tenant.tenant_id, status_filter)
    return ExperimentList(
        tenant_id=tenant.tenant_id, experiments=[_out(store, e) for e in experiments]
    )


@router.get("/{key}", summary="One experiment", responses=_404)
def get_experiment(key: KeyPath, tenant: CurrentTenant, store: StoreDep) -> ExperimentOut:
    with _answers():
        return _out(store, store.get(tenant.tenant_id, key))


@router.patch(
    "/{key}",
    summary="Change a draft (a running experiment: only name and description)",
    responses=_with_409("Not a draft.", body=True),
)
def update_experiment(
    key: KeyPath, body: ExperimentUpdate, tenant: CurrentTenant, store: StoreDep
) -> ExperimentOut:
    # An explicit null means "no change", like leaving the field out.
    changes = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    with _answers():
        return _out(store, store.edit(tenant.tenant_id, key, changes))


@router.delete(
    "/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a draft",
    responses=_with_409("Not a draft."),
)
def delete_experiment(key: KeyPath, tenant: CurrentTenant, store: StoreDep) -> Response:
    with _answers():
        store.delete(tenant.tenant_id, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{key}/start",
    summary="Start assigning users (variants and weights are frozen from now on)",
    responses=_with_409("Not a draft, or another experiment runs on the surface."),
)
def start_experiment(key: KeyPath, tenant: CurrentTenant, store: StoreDep) -> ExperimentOut:
    with _answers():
        return _out(store, store.start(tenant.tenant_id, key))


@router.post(
    "/{key}/stop",
    summary="Stop a running experiment by hand (everyone gets the default again)",
    responses=_with_409("Not running."),
)
def stop_experiment(key: KeyPath, tenant: CurrentTenant, store: StoreDep) -> ExperimentOut:
    with _answers():
        return _out(store, store.stop(tenant.tenant_id, key))


@router.post(
    "/{key}/decision",
    summary="Decide by hand which variant to keep",
    description="Records the decision with the latest stored results as its evidence. The "
    "pipeline decides automatically when the sequential test, the sample ratio and the "
    "guardrails agree; this is for the other cases.",
    responses=_with_409("Already decided, or still a draft.", body=True),
)
def decide_experiment(
    key: KeyPath, body: DecisionIn, tenant: CurrentTenant, store: StoreDep
) -> ExperimentOut:
    with _answers():
        experiment = store.get(tenant.tenant_id, key)
        if experiment.variant(body.winner) is None:
            raise ExperimentError("winner", f"{body.winner!r} is not a variant of {key!r}")
        evidence = {
            "note": body.note,
            "results": store.latest_evaluation(tenant.tenant_id, key),
        }
        decided = record_decision(store, experiment, "manual", body.winner, evidence)
    return _out(store, decided)


@router.get(
    "/{key}/results",
    summary="Latest results: per variant, every test, SRM, the decision",
    responses=_404,
)
def experiment_results(key: KeyPath, tenant: CurrentTenant, store: StoreDep) -> ExperimentResults:
    with _answers():
        experiment = store.get(tenant.tenant_id, key)
    looks = store.evaluations(tenant.tenant_id, key)
    decision = store.decision(tenant.tenant_id, key)
    return ExperimentResults(
        tenant_id=tenant.tenant_id,
        key=key,
        status=experiment.status,
        results=looks[-1] if looks else None,
        looks=len(looks),
        decision=_decision_out(decision),
        evidence=decision.evidence if decision is not None else None,
    )


@router.post(
    "/{key}/assignments",
    summary="The variant a user sees (sticky), logging the exposure",
    description="For server-side surfaces (email, prices, custom): the same answer every time "
    "for the same unit while the experiment runs. With `log_exposure` the 'Experiment "
    "Viewed' event is appended to the event log in the same call.",
    responses=_with_409("The experiment is not running.", body=True),
)
def assign_unit(
    key: KeyPath,
    body: AssignmentIn,
    tenant: CurrentTenant,
    store: StoreDep,
    event_log: EventLogDep,
) -> AssignmentOut:
    with _answers():
        experiment = store.get(tenant.tenant_id, key)
        if experiment.status is not Status.RUNNING:
            raise ExperimentConflictError(
                "status", f"experiment {key!r} is {experiment.status.value}, not running"
            )
    variant = assign(experiment, body.unit_id)
    if body.log_exposure:
        event = exposure_event(
            experiment,
            variant,
            user_id=None if body.anonymous else body.unit_id,
            anonymous_id=body.unit_id if body.anonymous else None,
        )
        log_exposures(event_log, tenant.tenant_id, [event])
    return AssignmentOut(
        tenant_id=tenant.tenant_id,
        experiment=key,
        unit_id=body.unit_id,
        variant_id=variant.id,
        variant_name=variant.name,
        control=variant.control,
        config=variant.config,
        exposure_logged=body.log_exposure,
    )
