"""``customer_scores``: churn probability, its reasons and lifetime value per customer.

For each tenant: the churn model is trained on the latest window whose labels are complete
(features at ``as_of - horizon``, labels in ``[as_of - horizon, as_of)``) and applied to features
at ``as_of``; BG/NBD + Gamma-Gamma are fitted on every purchase before ``as_of``. A tenant too
small for a model gets nulls in that model's columns, never another tenant's numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from ml_assets.churn.evaluate import DEFAULT_HORIZON_DAYS, labelled_at
from ml_assets.churn.features import churn_features
from ml_assets.churn.model import ChurnModel, train_churn
from ml_assets.clv.model import (
    UNIT_DAYS,
    ClvModel,
    NotEnoughCustomersError,
    fit_tenant,
    predict_clv,
)
from ml_assets.clv.summary import rfm_summary
from ml_assets.features.frames import as_naive

log = logging.getLogger(__name__)

SCORES_SCHEMA = {
    "tenant_id": pl.String,
    "user_id": pl.String,
    "churn_probability": pl.Float64,
    "churn_top_features": pl.String,
    "clv_12m": pl.Float64,
    "expected_purchases_90d": pl.Float64,
    "model_version": pl.String,
}
#: A churn model needs this many labelled customers, with at least this many of each class.
MIN_CHURN_CUSTOMERS = 50
MIN_CHURN_CLASS = 10


@dataclass
class CustomerModels:
    """One tenant's trained models (either may be None when the data is too thin)."""

    churn: ChurnModel | None
    clv: ClvModel | None


def _tenant_frame(frame: pl.DataFrame | None, tenant: str) -> pl.DataFrame | None:
    return None if frame is None else frame.filter(pl.col("tenant_id") == tenant)


def train_customer_models(
    orders: pl.DataFrame,
    *,
    as_of: datetime,
    interactions: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    seed: int = 0,
    nthread: int = 1,
) -> dict[str, CustomerModels]:
    """Churn and CLV models per tenant, trained only on data before ``as_of``."""
    cut = as_naive(as_of)
    models: dict[str, CustomerModels] = {}
    for tenant in sorted(orders["tenant_id"].unique().drop_nulls().to_list()):
        own = orders.filter(pl.col("tenant_id") == tenant)
        churn: ChurnModel | None = None
        labelled = labelled_at(
            own,
            cut - timedelta(days=horizon_days),
            horizon_days,
            _tenant_frame(interactions, tenant),
            _tenant_frame(sessions, tenant),
        )
        churned = int(labelled["churned"].sum()) if labelled.height else 0
        if (
            labelled.height >= MIN_CHURN_CUSTOMERS
            and min(churned, labelled.height - churned) >= MIN_CHURN_CLASS
        ):
            churn, _ = train_churn(labelled, horizon_days=horizon_days, seed=seed, nthread=nthread)
        else:
            log.info(
                "%s: %d labelled customers, too few for a churn model", tenant, labelled.height
            )
        clv: ClvModel | None = None
        try:
            clv = fit_tenant(rfm_summary(own, cut, unit_days=UNIT_DAYS), tenant, cut)
        except NotEnoughCustomersError as exc:
            log.info("no lifetime-value model: %s", exc)
        models[tenant] = CustomerModels(churn, clv)
    return models


def customer_scores(
    orders: pl.DataFrame,
    *,
    as_of: datetime,
    interactions: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
    models: Mapping[str, CustomerModels] | None = None,
    model_versions: Mapping[str, str] | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> pl.DataFrame:
    """:data:`SCORES_SCHEMA` rows for every customer with an order before ``as_of``.

    ``models`` (from :func:`train_customer_models`) are trained here when not given.
    ``model_versions`` maps tenant -> the registry's version label (default: ``as_of``'s date).
    """
    cut = as_naive(as_of)
    if models is None:
        models = train_customer_models(
            orders, as_of=cut, interactions=interactions, sessions=sessions,
            horizon_days=horizon_days,
        )  # fmt: skip
    parts = []
    for tenant, tenant_models in models.items():
        own = orders.filter(pl.col("tenant_id") == tenant)
        features = churn_features(
            own,
            cut,
            interactions=_tenant_frame(interactions, tenant),
            sessions=_tenant_frame(sessions, tenant),
            horizon_days=horizon_days,
        )
        if features.is_empty():
            continue
        if tenant_models.churn is not None:
            probability = pl.Series(tenant_models.churn.predict(features), dtype=pl.Float64)
            reasons = pl.Series(tenant_models.churn.top_features(features), dtype=pl.String)
        else:
            probability = pl.Series([None] * features.height, dtype=pl.Float64)
            reasons = pl.Series(["[]"] * features.height, dtype=pl.String)
        scored = features.select("tenant_id", "user_id").with_columns(
            probability.alias("churn_probability"), reasons.alias("churn_top_features")
        )
        if tenant_models.clv is not None:
            summary = rfm_summary(own, cut, unit_days=UNIT_DAYS)
            year = predict_clv(tenant_models.clv, summary, 365).select(
                "user_id", pl.col("expected_revenue").alias("clv_12m")
            )
            quarter = predict_clv(tenant_models.clv, summary, 90).select(
                "user_id", pl.col("expected_purchases").alias("expected_purchases_90d")
            )
            scored = scored.join(year, on="user_id", how="left").join(
                quarter, on="user_id", how="left"
            )
        else:
            scored = scored.with_columns(
                pl.lit(None, dtype=pl.Float64).alias("clv_12m"),
                pl.lit(None, dtype=pl.Float64).alias("expected_purchases_90d"),
            )
        version = (model_versions or {}).get(tenant, cut.date().isoformat())
        parts.append(scored.with_columns(pl.lit(version).alias("model_version")))
    if not parts:
        return pl.DataFrame(schema=SCORES_SCHEMA)
    frame = pl.concat([p.select(list(SCORES_SCHEMA)).cast(SCORES_SCHEMA) for p in parts])  # type: ignore[arg-type]
    return frame.with_columns(
        pl.col("churn_probability").clip(0.0, 1.0), pl.col("clv_12m").fill_nan(None)
    ).sort("tenant_id", "user_id")
