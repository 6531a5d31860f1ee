"""The daily look at running A/B tests: evaluate them from the warehouse, act on the decision.

After each ``dbt build``, ``experiment_looks`` reads every tenant's exposures
(``int_experiment_exposures``: the "Experiment Viewed" events) and orders as revenue lines
(``int_experiment_outcomes``), and hands them to
:func:`intellishop.experiments.evaluation.evaluate_running`, which looks at each running
experiment with its own tenant's rows only, stores the look (the sequential test's always-valid
p-value is the minimum over stored looks, so every look must be kept), and acts: a winner the
sequential test and the guardrails agree on moves the experiment to ``decided``, harm or
futility to ``stopped``, each decision recorded with the look it rests on as evidence.

The asset is in every pipeline run (the hourly schedule, the new-events sensor, the daily
job), but it looks about once a day, as docs/experiments.md promises: only when a running
experiment has no look yet or its latest is ``min_hours_between_looks`` old. Looking more often
would still be valid (the mSPRT holds however often it looks), but every look is stored and
read back at the next one, and a sensor-driven pipeline may run every few minutes. With
nothing due it reads nothing. The looks are in the experiment store; the materialization's
metadata says what was evaluated and decided, for the operator.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import polars as pl

from intellishop.experiments import Experiment, ExperimentStore, evaluate_running, open_store
from intellishop.experiments.results import CONTINUE

from ...preview import markdown_preview
from ...resources import SettingsResource, WarehouseResource

EXPOSURES_MODEL = "int_experiment_exposures"
OUTCOMES_MODEL = "int_experiment_outcomes"
#: What ``evaluate_running`` reads: its required columns plus the attribution's optional ones
#: (``product_id`` scopes price experiments, ``window_days`` email ones, ``order_id`` sums lines
#: into orders).
EXPOSURE_COLUMNS = [
    "tenant_id", "experiment_id", "unit_id", "variant_id", "exposed_at", "product_id",
    "window_days",
]  # fmt: skip
OUTCOME_COLUMNS = ["tenant_id", "order_id", "unit_id", "ordered_at", "product_id", "revenue"]


class LooksConfig(dg.Config):
    """Run config of ``experiment_looks``."""

    #: Look again once the latest look at some running experiment is this old (20: the daily
    #: schedule always finds them due, whatever the previous run's start time). 0 looks now.
    min_hours_between_looks: float = 20.0


def due(store: ExperimentStore, running: list[Experiment], now: datetime, every: timedelta) -> bool:
    """Whether some running experiment has never been looked at, or not for ``every``."""
    for experiment in running:
        latest = store.latest_evaluation(experiment.tenant_id, experiment.key)
        if latest is None or now - datetime.fromisoformat(latest["as_of"]) >= every:
            return True
    return False


def read_outcomes(warehouse: WarehouseResource) -> pl.DataFrame:
    """Every tenant's order revenue lines, revenue as a float (the statistics' type; the
    warehouse keeps exact decimals)."""
    frame = warehouse.read_table(OUTCOMES_MODEL, OUTCOME_COLUMNS)
    return frame.with_columns(pl.col("revenue").cast(pl.Float64))


def look_summary(look: dict[str, Any]) -> dict[str, Any]:
    """One look in a line of the metadata table: who, how many units, what was decided, why."""
    decision = look["decision"]
    return {
        "tenant_id": look["tenant_id"],
        "experiment": look["experiment"],
        "units": sum(int(variant["units"]) for variant in look["variants"]),
        "action": decision["action"],
        "winner": decision["winner"],
        "reason": "; ".join(decision["reasons"]),
    }


@dg.asset(
    group_name="experiments",
    deps=[dg.AssetKey(EXPOSURES_MODEL), dg.AssetKey(OUTCOMES_MODEL)],
    kinds={"polars"},
)
def experiment_looks(
    context: dg.AssetExecutionContext,
    config: LooksConfig,
    settings: SettingsResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult[None]:
    """Evaluate every running experiment of every tenant, when a look is due, and act on the
    decisions."""
    store = open_store(settings.get())
    running = store.running_everywhere()
    now = datetime.now(UTC)
    if not due(store, running, now, timedelta(hours=config.min_hours_between_looks)):
        return dg.MaterializeResult(
            metadata={
                "experiments_running": len(running),
                "experiments_evaluated": 0,
                "decisions": 0,
            }
        )
    exposures = warehouse.read_table(EXPOSURES_MODEL, EXPOSURE_COLUMNS)
    outcomes = read_outcomes(warehouse)
    looks = evaluate_running(store, exposures, outcomes, as_of=now)
    summaries = pl.DataFrame(
        [look_summary(look) for look in looks],
        schema={
            "tenant_id": pl.String, "experiment": pl.String, "units": pl.Int64,
            "action": pl.String, "winner": pl.String, "reason": pl.String,
        },
    )  # fmt: skip
    decided = summaries.filter(pl.col("action") != CONTINUE)
    for row in decided.iter_rows(named=True):
        context.log.info(
            f"experiment {row['experiment']} of {row['tenant_id']}: {row['action']}, "
            f"keeping {row['winner']} ({row['reason']})"
        )
    return dg.MaterializeResult(
        metadata={
            "experiments_running": len(running),
            "experiments_evaluated": len(looks),
            "tenants": summaries["tenant_id"].n_unique(),
            "decisions": decided.height,
            "decided": [
                f"{row['tenant_id']}/{row['experiment']}: {row['action']} -> {row['winner']}"
                for row in decided.iter_rows(named=True)
            ],
            "exposures_read": exposures.height,
            "outcome_rows_read": outcomes.height,
            "looks": dg.MetadataValue.md(markdown_preview(summaries, rows=20)),
        }
    )
