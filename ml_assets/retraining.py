"""The retraining loop of the customer models (churn and lifetime value), one tenant at a time.

For each tenant whose models are due (:func:`retraining_due`): train a candidate, evaluate it on
a holdout, score the registry's active version (the champion) on *the same* holdout, and
register the candidate, which the registry promotes only if it is at least as good
(:mod:`ml_assets.registry.store`). Returns one :class:`TenantRetraining` per tenant, for the
orchestrator to log and show. No Dagster here: the pipeline, a CLI or a notebook call the same
function.

Why the churn holdout is a fixed set of customers, not only a later time window: a candidate
trained on labels up to ``as_of`` has no later window left to be tested on, and last week's
champion was trained on most of the labels of any recent window, so scoring it there would
flatter it and no candidate would ever win. Instead a stable hash puts the same
:data:`HOLDOUT_SHARE` of each tenant's customers in the holdout on every run; no model ever
trains on them, so the candidate and the champion are compared on customers neither has seen,
at the same cut-off and with the same labels. The recency-only and RFM-logistic baselines are
scored on those customers in the same run.

Lifetime value, the same way: BG/NBD + Gamma-Gamma are fitted on every purchase before ``as_of``
of the customers outside the holdout; the candidate and the champion then predict, from each
held-out customer's history before ``as_of - clv_holdout_days`` (at most a third of the tenant's
history), that customer's purchases in the window after it, against the naive baseline. Neither
model has seen those customers. (Scoring last week's champion on a time window it was fitted on
would favour it: it rejected every candidate in a first version of this loop.)
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml_assets.churn.evaluate import DEFAULT_HORIZON_DAYS, labelled_at
from ml_assets.churn.features import FEATURES, churn_features
from ml_assets.churn.model import ChurnModel, train_churn
from ml_assets.churn.publish import MIN_CHURN_CLASS, MIN_CHURN_CUSTOMERS, CustomerModels
from ml_assets.clv.evaluate import evaluate_clv
from ml_assets.clv.model import UNIT_DAYS, ClvModel, NotEnoughCustomersError, fit_tenant
from ml_assets.clv.summary import rfm_summary
from ml_assets.features.frames import as_naive
from ml_assets.registry import ModelRegistry, ModelVersion, feature_drift

log = logging.getLogger(__name__)

#: A tenant's models are retrained when its newest registered version is older than this.
RETRAIN_AFTER = timedelta(days=7)
#: Share of each tenant's customers that no churn model ever trains on (the comparison holdout).
HOLDOUT_SHARE = 0.2
#: The holdout needs this many customers of each class for an AUC worth comparing.
MIN_HOLDOUT_CLASS = 5
#: Lifetime value: the holdout window the candidate and the champion are scored on, at most a
#: third of the tenant's history and at least two weeks.
CLV_HOLDOUT_DAYS = 90
MIN_CLV_HOLDOUT_DAYS = 14
KINDS = ("churn", "clv")
#: Columns of the lifetime-value summary whose drift is reported.
CLV_DRIFT_COLUMNS = ("x", "t_x", "T", "monetary")


@dataclass(frozen=True)
class KindOutcome:
    """What happened to one kind of model of one tenant in this run."""

    kind: str
    #: The registered candidate's version; None when nothing could be trained (see ``skipped``).
    version: int | None = None
    status: str | None = None
    promoted: bool = False
    metrics: dict[str, float] = field(default_factory=dict)
    champion_version: int | None = None
    champion_metrics: dict[str, float] = field(default_factory=dict)
    drift: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    skipped: str | None = None

    @property
    def max_psi(self) -> float | None:
        """The largest feature drift (PSI); None without a finite one."""
        finite = [v for v in self.drift.values() if math.isfinite(v)]
        return max(finite) if finite else None


@dataclass(frozen=True)
class TenantRetraining:
    """One tenant's run: retrained or not (and why), and each kind's outcome."""

    tenant_id: str
    retrained: bool
    reason: str
    outcomes: dict[str, KindOutcome] = field(default_factory=dict)


def _created(version: ModelVersion) -> datetime:
    return as_naive(datetime.fromisoformat(version.created_at))


def retraining_due(
    registry: ModelRegistry, tenant_id: str, now: datetime, *, max_age: timedelta = RETRAIN_AFTER
) -> tuple[bool, str]:
    """(due, why): due when the tenant has no active churn or CLV model ever registered, or
    when its newest registered version is older than ``max_age``.

    The newest *registered* version counts, not only the active one: a candidate rejected on
    Monday keeps the old champion active, and judging by the champion's age would retrain on
    every hourly run until one wins.
    """
    versions = [v for kind in KINDS for v in registry.history(tenant_id, kind)]
    if not versions:
        return True, "no model registered yet"
    newest = max(_created(v) for v in versions)
    age = as_naive(now) - newest
    if age > max_age:
        return True, f"newest model is {age.days} days old"
    return False, f"newest model is {age.total_seconds() / 86400:.1f} days old"


def in_holdout(tenant_id: str, user_ids: pl.Series, share: float = HOLDOUT_SHARE) -> pl.Series:
    """True for the customers in the comparison holdout: a stable hash of (tenant, user), so
    the same customers are held out on every run, in every process."""
    bound = int(share * 2**32)
    return pl.Series(
        "holdout",
        [zlib.crc32(f"{tenant_id}/{user}".encode()) < bound for user in user_ids.to_list()],
        dtype=pl.Boolean,
    )


def _tenant(frame: pl.DataFrame | None, tenant_id: str) -> pl.DataFrame | None:
    return None if frame is None else frame.filter(pl.col("tenant_id") == tenant_id)


def _auc(labels: np.ndarray[Any, Any], scores: np.ndarray[Any, Any]) -> float:
    return float(roc_auc_score(labels, scores))


def _load_churn(version: ModelVersion | None) -> ChurnModel | None:
    if version is None:
        return None
    try:
        return ChurnModel.load(Path(version.artifact_path))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("churn v%s: artifact unreadable (%s)", version.version, exc)
        return None


def _load_clv(version: ModelVersion | None) -> ClvModel | None:
    if version is None:
        return None
    try:
        return ClvModel.load(Path(version.artifact_path))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("clv v%s: artifact unreadable (%s)", version.version, exc)
        return None


def _outcome(
    kind: str,
    registered: ModelVersion,
    champion: ModelVersion | None,
    champion_metrics: dict[str, float],
    drift: dict[str, float],
) -> KindOutcome:
    return KindOutcome(
        kind=kind,
        version=registered.version,
        status=registered.status,
        promoted=registered.status == "active",
        metrics=registered.metrics,
        champion_version=None if champion is None else champion.version,
        champion_metrics=champion_metrics,
        drift=drift,
        reason=registered.reason,
    )


def retrain_churn(
    registry: ModelRegistry,
    tenant_id: str,
    orders: pl.DataFrame,
    *,
    as_of: datetime,
    interactions: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    seed: int = 0,
    nthread: int = 1,
) -> KindOutcome:
    """Train, evaluate and register one tenant's churn model (see the module doc)."""
    cut = as_naive(as_of)
    cutoff = cut - timedelta(days=horizon_days)
    labelled = labelled_at(orders, cutoff, horizon_days, interactions, sessions)
    if labelled.is_empty():
        return KindOutcome("churn", skipped="no customer with an order before the cut-off")
    held = in_holdout(tenant_id, labelled["user_id"])
    train, test = labelled.filter(~held), labelled.filter(held)
    train_churned = int(train["churned"].sum())
    test_churned = int(test["churned"].sum())
    if (
        train.height < MIN_CHURN_CUSTOMERS
        or min(train_churned, train.height - train_churned) < MIN_CHURN_CLASS
        or min(test_churned, test.height - test_churned) < MIN_HOLDOUT_CLASS
    ):
        return KindOutcome(
            "churn",
            skipped=(
                f"too few customers: {train.height} to train on ({train_churned} churned), "
                f"{test.height} held out ({test_churned} churned); needs "
                f"{MIN_CHURN_CUSTOMERS} with {MIN_CHURN_CLASS} of each class, and "
                f"{MIN_HOLDOUT_CLASS} of each class held out"
            ),
        )
    model, _ = train_churn(train, horizon_days=horizon_days, seed=seed, nthread=nthread)
    labels = test["churned"].to_numpy().astype(np.int8)
    rfm = ["recency_days", "frequency", "monetary"]

    def rfm_matrix(frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        values = frame.select(rfm).fill_null(0).to_numpy().astype(np.float64)
        logged: np.ndarray[Any, Any] = np.log1p(np.clip(values, 0, None))
        return logged

    baseline = LogisticRegression(max_iter=1000).fit(rfm_matrix(train), train["churned"])
    calibrated = model.predict(test)
    base_rate = float(train["churned"].mean())  # type: ignore[arg-type]
    metrics = {
        "auc": _auc(labels, model.raw_scores(test)),
        "auc_recency": _auc(labels, test["recency_days"].to_numpy()),
        "auc_rfm_logistic": _auc(labels, baseline.predict_proba(rfm_matrix(test))[:, 1]),
        "brier_calibrated": float(brier_score_loss(labels, calibrated)),
        "brier_base_rate": float(brier_score_loss(labels, np.full(labels.size, base_rate))),
        "train_customers": float(train.height),
        "holdout_customers": float(test.height),
        "holdout_churn_rate": float(labels.mean()),
    }
    champion = registry.active(tenant_id, "churn")
    champion_model = _load_churn(champion)
    champion_metrics: dict[str, float] = {}
    if champion_model is not None and champion_model.horizon_days == horizon_days:
        champion_metrics["auc"] = _auc(labels, champion_model.raw_scores(test))
    current = churn_features(
        orders, cut, interactions=interactions, sessions=sessions, horizon_days=horizon_days
    )
    drift = feature_drift(labelled, current, FEATURES)
    first = orders["ordered_at"].min()
    registered = registry.register(
        tenant_id,
        "churn",
        params=model.params,
        metrics=metrics,
        window=(first if isinstance(first, datetime) else cutoff, cut),
        holdout=f"customers {HOLDOUT_SHARE:g} at {cutoff:%Y-%m-%d}/{horizon_days}",
        drift=drift,
        write_artifact=model.save,
        champion_metrics=champion_metrics or None,
    )
    return _outcome("churn", registered, champion, champion_metrics, drift)


def retrain_clv(
    registry: ModelRegistry,
    tenant_id: str,
    orders: pl.DataFrame,
    *,
    as_of: datetime,
    holdout_days: int = CLV_HOLDOUT_DAYS,
) -> KindOutcome:
    """Evaluate, refit and register one tenant's lifetime-value model (see the module doc)."""
    cut = as_naive(as_of)
    first = orders["ordered_at"].min()
    if isinstance(first, datetime):
        # A young shop (the demo has 90 days) keeps two thirds of its history to fit on.
        history_days = (cut - as_naive(first)).days
        holdout_days = min(holdout_days, max(MIN_CLV_HOLDOUT_DAYS, history_days // 3))
    calibration_end = cut - timedelta(days=holdout_days)
    users = orders["user_id"].drop_nulls().unique()
    held_out = users.filter(in_holdout(tenant_id, users))
    known = orders.filter(~pl.col("user_id").is_in(held_out.implode()))
    unseen = orders.filter(pl.col("user_id").is_in(held_out.implode()))

    def score(model: ClvModel) -> dict[str, float]:
        return evaluate_clv(
            unseen, calibration_end=calibration_end, holdout_days=holdout_days,
            tenant_id=tenant_id, model=model,
        ).metrics()  # fmt: skip

    try:
        summary = rfm_summary(orders, cut, unit_days=UNIT_DAYS)
        model = fit_tenant(rfm_summary(known, cut, unit_days=UNIT_DAYS), tenant_id, cut)
        metrics = score(model)
    except NotEnoughCustomersError as exc:
        return KindOutcome("clv", skipped=f"too few customers: {exc}")
    except (ZeroDivisionError, IndexError, ValueError) as exc:
        # No purchase in the holdout window (errors divide by it), or no history before it.
        return KindOutcome("clv", skipped=f"no usable holdout: {exc}")
    champion = registry.active(tenant_id, "clv")
    champion_model = _load_clv(champion)
    champion_metrics: dict[str, float] = {}
    if champion_model is not None:
        champion_metrics["purchases_mae"] = score(champion_model)["purchases_mae"]
    before = rfm_summary(orders, calibration_end, unit_days=UNIT_DAYS)
    drift = feature_drift(before, summary, CLV_DRIFT_COLUMNS)
    registered = registry.register(
        tenant_id,
        "clv",
        params={**model.purchases.as_dict(), **model.spend.as_dict()},
        metrics=metrics,
        window=(first if isinstance(first, datetime) else calibration_end, cut),
        holdout=f"customers {HOLDOUT_SHARE:g} at {calibration_end:%Y-%m-%d}/{holdout_days}",
        drift=drift,
        write_artifact=model.save,
        champion_metrics=champion_metrics or None,
    )
    return _outcome("clv", registered, champion, champion_metrics, drift)


def retrain_customer_models(
    registry: ModelRegistry,
    orders: pl.DataFrame,
    *,
    as_of: datetime,
    interactions: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
    force: bool = False,
    max_age: timedelta = RETRAIN_AFTER,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    clv_holdout_days: int = CLV_HOLDOUT_DAYS,
    seed: int = 0,
    nthread: int = 1,
) -> list[TenantRetraining]:
    """The loop of the module doc for every tenant with orders (``force``: every tenant)."""
    summaries = []
    for tenant_id in sorted(orders["tenant_id"].drop_nulls().unique().to_list()):
        due, why = (True, "forced") if force else retraining_due(
            registry, tenant_id, as_of, max_age=max_age
        )  # fmt: skip
        if not due:
            summaries.append(TenantRetraining(tenant_id, False, why))
            continue
        own = orders.filter(pl.col("tenant_id") == tenant_id)
        churn = retrain_churn(
            registry, tenant_id, own, as_of=as_of,
            interactions=_tenant(interactions, tenant_id), sessions=_tenant(sessions, tenant_id),
            horizon_days=horizon_days, seed=seed, nthread=nthread,
        )  # fmt: skip
        clv = retrain_clv(registry, tenant_id, own, as_of=as_of, holdout_days=clv_holdout_days)
        for outcome in (churn, clv):
            if outcome.skipped:
                log.info("%s/%s not trained: %s", tenant_id, outcome.kind, outcome.skipped)
        summaries.append(TenantRetraining(tenant_id, True, why, {"churn": churn, "clv": clv}))
    return summaries


def active_customer_models(
    registry: ModelRegistry, tenants: list[str]
) -> tuple[dict[str, CustomerModels], dict[str, str]]:
    """The registry's ACTIVE churn and CLV models of each tenant (never a rejected candidate),
    and a version label per tenant such as ``churn-v3+clv-v2`` (``none`` when neither exists)."""
    models: dict[str, CustomerModels] = {}
    labels: dict[str, str] = {}
    for tenant_id in tenants:
        churn = registry.active(tenant_id, "churn")
        clv = registry.active(tenant_id, "clv")
        models[tenant_id] = CustomerModels(_load_churn(churn), _load_clv(clv))
        parts = [f"{v.kind}-v{v.version}" for v in (churn, clv) if v is not None]
        labels[tenant_id] = "+".join(parts) or "none"
    return models, labels
