"""What an experiment is: a tenant's question, its variants, and how the answer is judged.

An experiment is created as a draft, started (running), and ends stopped (by hand, for harm or
for futility) or decided (a winner, or "keep the control", recorded with its evidence). Its
variants and weights are frozen once it runs: changing weights mid-way would move users
between variants and mix populations of different periods into one comparison.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .sequential import DEFAULT_TAU_STD
from .variant_config import email_config_problem, price_config_problem


class Surface(StrEnum):
    """Where the variants differ: what the caller of :func:`assign` changes."""

    RECOMMENDATIONS = "recommendations"
    EMAIL = "email"
    PRICE = "price"
    CUSTOM = "custom"


class Metric(StrEnum):
    """Per-unit metrics computed from orders placed after the unit's first exposure."""

    #: Share of units with at least one order.
    CONVERSION = "conversion"
    #: Revenue per exposed unit (zeros included), in the shop's currency.
    REVENUE_PER_USER = "revenue_per_user"
    #: Orders per exposed unit.
    ORDERS_PER_USER = "orders_per_user"


class Status(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"
    DECIDED = "decided"


class ExperimentError(ValueError):
    """A definition or a state change that cannot be; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ExperimentNotFoundError(ExperimentError):
    """No such experiment for this tenant (the API's 404)."""


class ExperimentConflictError(ExperimentError):
    """The request is fine but the experiment's state forbids it (the API's 409): starting a
    running experiment, a key taken, a second experiment on a busy surface."""


_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_VARIANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class Variant:
    """One arm. ``config`` is what the surface needs, e.g. ``{"algorithm": "als"}`` for
    recommendations or ``{"price_multiplier": 0.95}`` for prices."""

    id: str
    name: str
    weight: float
    control: bool = False
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A metric that must not get worse by more than ``max_degradation`` (relative, 0.02 = 2%)."""

    metric: Metric
    max_degradation: float = 0.0


@dataclass(frozen=True, slots=True)
class Experiment:
    """A tenant's experiment. ``key`` is its id, sent as ``experiment_id`` in exposure events."""

    tenant_id: str
    key: str
    name: str
    surface: Surface
    variants: tuple[Variant, ...]
    target_metric: Metric = Metric.CONVERSION
    guardrails: tuple[Guardrail, ...] = ()
    status: Status = Status.DRAFT
    #: Secret per experiment, so two experiments never split users the same way.
    salt: str = field(default_factory=lambda: secrets.token_hex(8))
    #: Family-wise false-positive rate of the decision (split over treatments, Bonferroni).
    alpha: float = 0.05
    #: mSPRT mixture scale in standard deviations of the metric (see ``sequential``).
    tau_std: float = DEFAULT_TAU_STD
    #: Stop for futility (keep the control) when nothing is significant after this many days.
    max_days: int = 56
    description: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    stopped_at: datetime | None = None

    @property
    def control(self) -> Variant:
        return next(v for v in self.variants if v.control)

    @property
    def treatments(self) -> list[Variant]:
        return [v for v in self.variants if not v.control]

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    def validate(self) -> Experiment:
        """Check the definition; raises :class:`ExperimentError` naming the first bad field."""
        if not _KEY.fullmatch(self.key):
            raise ExperimentError(
                "key", "1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit"
            )
        if not self.name.strip() or len(self.name) > 200:
            raise ExperimentError("name", "must be 1-200 characters")
        if len(self.variants) < 2:
            raise ExperimentError("variants", "an experiment needs at least two variants")
        if len(self.variants) > 20:
            raise ExperimentError("variants", "at most 20 variants")
        if sum(v.control for v in self.variants) != 1:
            raise ExperimentError("variants", "exactly one variant must be the control")
        seen: set[str] = set()
        for index, variant in enumerate(self.variants):
            if not _VARIANT_ID.fullmatch(variant.id):
                raise ExperimentError(
                    f"variants.{index}.id", "1-64 of letters, digits, '_', '.' and '-'"
                )
            if variant.id in seen:
                raise ExperimentError(f"variants.{index}.id", f"{variant.id!r} appears twice")
            seen.add(variant.id)
            if not variant.weight > 0 or variant.weight != variant.weight:
                raise ExperimentError(f"variants.{index}.weight", "must be a positive number")
            problem = None
            if self.surface is Surface.EMAIL:
                problem = email_config_problem(variant.config)
            elif self.surface is Surface.PRICE:
                problem = price_config_problem(variant.config)
            if problem is not None:
                raise ExperimentError(f"variants.{index}.config.{problem[0]}", problem[1])
        metrics = set()
        for index, guardrail in enumerate(self.guardrails):
            if not 0 <= guardrail.max_degradation < 1:
                raise ExperimentError(
                    f"guardrails.{index}.max_degradation", "must be in [0, 1): a relative drop"
                )
            if guardrail.metric in metrics:
                raise ExperimentError(f"guardrails.{index}.metric", "appears twice")
            metrics.add(guardrail.metric)
        if not 0 < self.alpha < 0.5:
            raise ExperimentError("alpha", "must be between 0 and 0.5")
        if not 0 < self.tau_std <= 10:
            raise ExperimentError("tau_std", "must be in (0, 10]")
        if not 1 <= self.max_days <= 366:
            raise ExperimentError("max_days", "must be 1-366 days")
        return self

    def weights(self) -> list[float]:
        """Weights normalised to sum to one, in variant order."""
        total = sum(v.weight for v in self.variants)
        return [v.weight / total for v in self.variants]

    def with_status(self, status: Status, now: datetime | None = None) -> Experiment:
        """The experiment moved to ``status``, if that move is allowed."""
        now = now or datetime.now(UTC)
        allowed = {
            Status.DRAFT: {Status.RUNNING},
            Status.RUNNING: {Status.STOPPED, Status.DECIDED},
            Status.STOPPED: {Status.DECIDED},
            Status.DECIDED: set(),
        }
        if status not in allowed[self.status]:
            raise ExperimentConflictError(
                "status", f"a {self.status.value} experiment cannot become {status.value}"
            )
        if status is Status.RUNNING:
            return replace(self, status=status, started_at=now)
        if self.status is Status.RUNNING:
            return replace(self, status=status, stopped_at=now)
        return replace(self, status=status)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 strings)."""
        data = asdict(self)
        for name in ("created_at", "started_at", "stopped_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Experiment:
        """The inverse of :meth:`to_json`."""

        def when(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        created = when(data.get("created_at")) or datetime.now(UTC)
        return Experiment(
            tenant_id=data["tenant_id"],
            key=data["key"],
            name=data["name"],
            surface=Surface(data["surface"]),
            variants=tuple(
                Variant(
                    id=v["id"],
                    name=v.get("name") or v["id"],
                    weight=float(v["weight"]),
                    control=bool(v.get("control", False)),
                    config=dict(v.get("config") or {}),
                )
                for v in data["variants"]
            ),
            target_metric=Metric(data.get("target_metric", Metric.CONVERSION)),
            guardrails=tuple(
                Guardrail(Metric(g["metric"]), float(g.get("max_degradation", 0.0)))
                for g in data.get("guardrails") or ()
            ),
            status=Status(data.get("status", Status.DRAFT)),
            salt=data.get("salt") or secrets.token_hex(8),
            alpha=float(data.get("alpha", 0.05)),
            tau_std=float(data.get("tau_std", DEFAULT_TAU_STD)),
            max_days=int(data.get("max_days", 56)),
            description=data.get("description", ""),
            created_at=created,
            started_at=when(data.get("started_at")),
            stopped_at=when(data.get("stopped_at")),
        )
