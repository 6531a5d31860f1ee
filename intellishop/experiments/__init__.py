"""Experiments (A/B tests): definitions, sticky assignment, exposure logging, statistics that
stay valid under daily peeking, and automatic decisions. A plain library: the API
(``serving.routes.experiments``), the CLI (``intellishop experiments``) and the pipeline call it.

For a caller that shows variants (the email sender, a price page)::

    experiment = running_experiment(settings, tenant_id, Surface.EMAIL)
    if experiment is not None:
        variant = assign(experiment, user_id)          # sticky, no state
        log_exposures(event_log, tenant_id, [exposure_event(experiment, variant, user_id=user_id)])
        ...use variant.config...

The recommendation route uses :class:`AlgorithmChooser` and the price route
:class:`PriceChooser` (exposures through a queue); the automation worker assigns email
recipients itself (``intellishop.automation.experiments``).

See docs/experiments.md for the statistics and how to read results.
"""

from __future__ import annotations

from .assignment import (
    EXPOSURE_EVENT,
    assign,
    assign_and_log,
    bucket,
    exposure_event,
    log_exposures,
)
from .attribution import attributable_outcomes
from .chooser import AlgorithmChooser
from .evaluation import evaluate, evaluate_running, record_decision
from .model import (
    Experiment,
    ExperimentConflictError,
    ExperimentError,
    ExperimentNotFoundError,
    Guardrail,
    Metric,
    Status,
    Surface,
    Variant,
)
from .pricing import PriceChooser, PriceQuote
from .results import analyse
from .running import RUNNING_CACHE_SECONDS, decided_winner, running_experiment
from .store import Decision, ExperimentStore, open_store

__all__ = [
    "EXPOSURE_EVENT",
    "RUNNING_CACHE_SECONDS",
    "AlgorithmChooser",
    "Decision",
    "Experiment",
    "ExperimentConflictError",
    "ExperimentError",
    "ExperimentNotFoundError",
    "ExperimentStore",
    "Guardrail",
    "Metric",
    "PriceChooser",
    "PriceQuote",
    "Status",
    "Surface",
    "Variant",
    "analyse",
    "assign",
    "assign_and_log",
    "attributable_outcomes",
    "bucket",
    "decided_winner",
    "evaluate",
    "evaluate_running",
    "exposure_event",
    "log_exposures",
    "open_store",
    "record_decision",
    "running_experiment",
]
