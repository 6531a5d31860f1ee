"""Bodies of the ``/v1/experiments`` endpoints: definitions in and out, results, assignments.

Shapes are checked here (so FastAPI's 422 names the field); rules that span fields (exactly one
control, distinct variant ids) are checked by :meth:`intellishop.experiments.Experiment.validate`
and answered with the same kind of 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from intellishop.experiments import Experiment, Metric, Status, Surface
from intellishop.experiments.sequential import DEFAULT_TAU_STD

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
VARIANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=VARIANT_PATTERN, description="Sent as `variation_id` in exposures.")
    name: str | None = Field(default=None, max_length=200, description="Default: the id.")
    weight: float = Field(gt=0, le=1_000_000, description="Relative share of units.")
    control: bool = Field(default=False, description="Exactly one variant is the control.")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description='What the surface needs, e.g. {"algorithm": "als"} for recommendations.',
    )


class GuardrailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Metric
    max_degradation: float = Field(
        default=0.0, ge=0, lt=1, description="Allowed relative drop, 0.02 = 2% worse."
    )


_EXAMPLE: dict[str, Any] = {
    "key": "recs-als-vs-trending",
    "name": "ALS recommendations vs trending",
    "surface": "recommendations",
    "variants": [
        {"id": "trending", "weight": 1, "control": True, "config": {"algorithm": "trending"}},
        {"id": "als", "weight": 1, "config": {"algorithm": "als"}},
    ],
    "target_metric": "conversion",
    "guardrails": [{"metric": "revenue_per_user", "max_degradation": 0.02}],
}


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [dict(_EXAMPLE)]})

    key: str = Field(pattern=KEY_PATTERN, description="The tenant's id for it; never reused.")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    surface: Surface
    variants: list[VariantIn] = Field(min_length=2, max_length=20)
    target_metric: Metric = Metric.CONVERSION
    guardrails: list[GuardrailIn] = Field(default_factory=list, max_length=10)
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="False-positive rate.")
    tau_std: float = Field(
        default=DEFAULT_TAU_STD,
        gt=0,
        le=10,
        description="mSPRT mixture scale, in standard deviations of the metric.",
    )
    max_days: int = Field(default=56, ge=1, le=366, description="Stop for futility after.")


class ExperimentUpdate(BaseModel):
    """Any subset; a running experiment may change only its name and description."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    surface: Surface | None = None
    variants: list[VariantIn] | None = Field(default=None, min_length=2, max_length=20)
    target_metric: Metric | None = None
    guardrails: list[GuardrailIn] | None = Field(default=None, max_length=10)
    alpha: float | None = Field(default=None, gt=0, lt=0.5)
    tau_std: float | None = Field(default=None, gt=0, le=10)
    max_days: int | None = Field(default=None, ge=1, le=366)


class VariantOut(BaseModel):
    id: str
    name: str
    weight: float
    control: bool
    config: dict[str, Any]


class GuardrailOut(BaseModel):
    metric: Metric
    max_degradation: float


class DecisionOut(BaseModel):
    outcome: str = Field(description="winner, stop_harm, stop_futility or manual.")
    winner: str | None = Field(description="The variant to keep (the control when stopped).")
    decided_at: datetime


class ExperimentOut(BaseModel):
    tenant_id: str
    key: str
    name: str
    description: str
    surface: Surface
    status: Status
    variants: list[VariantOut]
    target_metric: Metric
    guardrails: list[GuardrailOut]
    alpha: float
    tau_std: float
    max_days: int
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    decision: DecisionOut | None = None

    @staticmethod
    def of(experiment: Experiment, decision: DecisionOut | None = None) -> ExperimentOut:
        data = experiment.to_json()
        data.pop("salt")  # the assignment secret stays on the server
        return ExperimentOut(**data, decision=decision)


class ExperimentList(BaseModel):
    tenant_id: str
    experiments: list[ExperimentOut]


class ExperimentResults(BaseModel):
    """The latest look the pipeline stored (see docs/experiments.md for every field)."""

    tenant_id: str
    key: str
    status: Status
    results: dict[str, Any] | None = Field(
        description="Per-variant numbers, comparisons (fixed-horizon, mSPRT, Bayesian), SRM "
        "and the automatic decision of the latest look; null before the first look."
    )
    looks: int = Field(description="How many looks are stored.")
    decision: DecisionOut | None
    evidence: dict[str, Any] | None = Field(description="The results the decision rests on.")


class DecisionIn(BaseModel):
    """Decide by hand: keep ``winner`` (a variant id; the control to abandon the change)."""

    model_config = ConfigDict(extra="forbid")

    winner: str = Field(pattern=VARIANT_PATTERN)
    note: str = Field(default="", max_length=2000)


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: str = Field(min_length=1, max_length=256, description="User id or anonymous id.")
    anonymous: bool = Field(default=False, description="unit_id is an anonymous (device) id.")
    log_exposure: bool = Field(
        default=True, description="Log 'Experiment Viewed' now (set false if shown later)."
    )


class AssignmentOut(BaseModel):
    tenant_id: str
    experiment: str
    unit_id: str
    variant_id: str
    variant_name: str
    control: bool
    config: dict[str, Any]
    exposure_logged: bool
