"""Email experiments: which variant of a rule's message a recipient gets.

A rule names an experiment of surface ``email`` (``RuleSpec.experiment``). When the worker
fires the rule for a person:

- the experiment **runs**: the person is assigned with :func:`intellishop.experiments.assign`
  (sticky: the same variant on every firing, in every worker), the variant's config overrides
  the rule's email fields (``subject``, ``template``, ``heading``, ``body``,
  ``recommendations``), and a ``holdout`` variant sends nothing at all. The exposure
  ("Experiment Viewed", with the rule's ``window_days``) is logged for every person the rule
  would have messaged, holdout included, so both arms are measured from the same moment and
  over the campaign's conversion window (:mod:`intellishop.experiments.attribution`);
- it is **decided** with a winner: everyone gets the winner's settings, nothing is logged;
- otherwise (draft, stopped, deleted, another surface, the store unreachable): the rule's own
  message, nothing logged.

Experiments are looked up once per worker pass per (tenant, key), not once per message.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from intellishop.events import LoggedEvent
from intellishop.experiments import (
    Experiment,
    ExperimentNotFoundError,
    ExperimentStore,
    Status,
    Surface,
    Variant,
    assign,
    exposure_event,
    open_store,
)
from intellishop.settings import Settings

from .rules import Rule

log = logging.getLogger(__name__)

#: Variant config keys that replace the rule's email fields.
EMAIL_FIELDS = ("subject", "template", "heading", "body", "recommendations")


@dataclass(frozen=True, slots=True)
class EmailArm:
    """The variant a person gets for one firing of a rule."""

    experiment: Experiment
    variant: Variant
    #: True while the experiment runs: the firing is an exposure to log.
    running: bool
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def holdout(self) -> bool:
        return bool(self.variant.config.get("holdout", False))

    def meta(self) -> dict[str, Any]:
        """What messages and their tracking events carry, for per-variant campaign numbers."""
        return {"experiment": self.experiment.key, "variant": self.variant.id}


class EmailExperiments:
    """The worker's view of email experiments (one per worker)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: ExperimentStore | None = None
        self._pass: dict[tuple[str, str], tuple[Experiment, Variant | None] | None] = {}

    def new_pass(self) -> None:
        """Forget what was looked up: a started or decided experiment counts from the next
        pass on."""
        self._pass.clear()

    def _lookup(self, tenant_id: str, key: str) -> tuple[Experiment, Variant | None] | None:
        """(experiment, decided winner or None), or None when the rule must ignore it."""
        cache_key = (tenant_id, key)
        if cache_key in self._pass:
            return self._pass[cache_key]
        found: tuple[Experiment, Variant | None] | None = None
        try:
            if self._store is None:
                self._store = open_store(self.settings)
            experiment = self._store.get(tenant_id, key)
            if experiment.surface is not Surface.EMAIL:
                log.warning(
                    "tenant %s: experiment %s is on %s, not email; rules ignore it",
                    tenant_id,
                    key,
                    experiment.surface.value,
                )
            elif experiment.status is Status.RUNNING:
                found = (experiment, None)
            elif experiment.status is Status.DECIDED:
                decision = self._store.decision(tenant_id, key)
                winner = (
                    experiment.variant(decision.winner) if decision and decision.winner else None
                )
                if winner is not None:
                    found = (experiment, winner)
        except ExperimentNotFoundError:
            log.warning(
                "tenant %s: a rule names experiment %s, which does not exist", tenant_id, key
            )
        except Exception:  # the store is down: the rule's own message, no exposure
            log.warning("experiment store unreachable; sending rules' own messages", exc_info=True)
        self._pass[cache_key] = found
        return found

    def arm(self, rule: Rule, person_id: str) -> EmailArm | None:
        """The person's arm for this firing of ``rule``; None: send the rule's own message."""
        key = rule.spec.experiment
        if key is None:
            return None
        found = self._lookup(rule.tenant_id, key)
        if found is None:
            return None
        experiment, winner = found
        running = winner is None
        variant = assign(experiment, person_id) if winner is None else winner
        overrides = {name: variant.config[name] for name in EMAIL_FIELDS if name in variant.config}
        return EmailArm(experiment, variant, running, overrides)


def exposure(
    arm: EmailArm, rule: Rule, idem_key: str, person_id: str, trigger: dict[str, Any]
) -> LoggedEvent:
    """The firing's "Experiment Viewed" event. Its id derives from the scheduled action, so
    a firing logged twice (a crash between firing and logging) is one event for the loader."""
    anonymous = person_id == trigger.get("anonymous_id") and not trigger.get("user_id")
    return exposure_event(
        arm.experiment,
        arm.variant,
        user_id=None if anonymous else person_id,
        anonymous_id=person_id if anonymous else None,
        properties={
            "rule_id": rule.rule_id,
            "window_days": rule.spec.conversion_window_days,
            "holdout": arm.holdout,
        },
        message_id="isx-" + hashlib.sha256(idem_key.encode()).hexdigest()[:32],
    )
