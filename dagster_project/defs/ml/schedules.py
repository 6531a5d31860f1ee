"""The weekly retraining of the customer models: a job and its schedule (stopped by default).

Between Mondays the pipeline's runs only check whether a tenant's models are due (7 days); this
run retrains every tenant regardless (``force``), re-reads the warehouse frames the models learn
from, and rebuilds everything downstream: the scores and the serving artifacts.
"""

import dagster as dg

from .assets import (
    RetrainingConfig,
    customer_models,
    order_history,
    product_interactions,
    session_history,
)

#: customer_models, its fresh inputs, and everything downstream of it (scores, publish).
model_retraining = dg.define_asset_job(
    "model_retraining",
    selection=(
        dg.AssetSelection.assets(order_history, session_history, product_interactions)
        | dg.AssetSelection.assets(customer_models).downstream()
    ),
    config=dg.RunConfig(ops={"customer_models": RetrainingConfig(force=True)}),
    description="Retrain churn and CLV for every tenant, promote only winners, rescore, publish.",
)

#: Mondays 03:00 UTC: after the weekend's orders, before the merchants' week starts.
weekly_model_retraining = dg.ScheduleDefinition(
    name="weekly_model_retraining",
    job=model_retraining,
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
