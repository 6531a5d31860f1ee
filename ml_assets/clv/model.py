"""Customer lifetime value: BG/NBD purchases times Gamma-Gamma spend, fitted per tenant.

``fit_clv(orders, as_of)`` fits both models on every purchase before ``as_of`` (each tenant on
its own data); ``predict_clv`` gives each customer's expected purchases and revenue over any
horizon. CLV here is undiscounted expected net revenue over the horizon (12 months for
``clv_12m``), not profit: margins are not in the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ml_assets.clv import bgnbd, gamma_gamma
from ml_assets.clv.summary import rfm_summary

#: Time unit of the fitted parameters (weeks, as in the papers, so they can be compared).
UNIT_DAYS = 7.0
#: Below this many customers (or repeat customers) the fit is too noisy to publish.
MIN_CUSTOMERS = 30
MIN_REPEAT_CUSTOMERS = 10


@dataclass(frozen=True)
class ClvModel:
    """One tenant's fitted parameters and the moment they describe."""

    tenant_id: str
    as_of: datetime
    purchases: bgnbd.BgNbdParams
    spend: gamma_gamma.GammaGammaParams
    customers: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "tenant_id": self.tenant_id,
                "as_of": self.as_of.isoformat(),
                "purchases": self.purchases.as_dict(),
                "spend": self.spend.as_dict(),
                "customers": self.customers,
                "unit_days": UNIT_DAYS,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ClvModel:
        data: dict[str, Any] = json.loads(text)
        return cls(
            tenant_id=data["tenant_id"],
            as_of=datetime.fromisoformat(data["as_of"]),
            purchases=bgnbd.BgNbdParams(**data["purchases"]),
            spend=gamma_gamma.GammaGammaParams(**data["spend"]),
            customers=int(data["customers"]),
        )

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "clv.json").write_text(self.to_json())

    @classmethod
    def load(cls, directory: Path) -> ClvModel:
        return cls.from_json((directory / "clv.json").read_text())


class NotEnoughCustomersError(ValueError):
    """Too few (repeat) customers for a meaningful fit."""


def fit_clv(orders: pl.DataFrame, as_of: datetime) -> dict[str, ClvModel]:
    """One model per tenant with enough customers; the others are left out (no scores)."""
    summary = rfm_summary(orders, as_of, unit_days=UNIT_DAYS)
    models: dict[str, ClvModel] = {}
    for (tenant,), part in summary.partition_by("tenant_id", as_dict=True).items():
        try:
            models[str(tenant)] = fit_tenant(part, str(tenant), as_of)
        except NotEnoughCustomersError:
            continue
    return models


def fit_tenant(summary: pl.DataFrame, tenant_id: str, as_of: datetime) -> ClvModel:
    """Fit BG/NBD and Gamma-Gamma on one tenant's ``rfm_summary``."""
    repeaters = summary.filter((pl.col("x") > 0) & (pl.col("monetary") > 0))
    if summary.height < MIN_CUSTOMERS or repeaters.height < MIN_REPEAT_CUSTOMERS:
        raise NotEnoughCustomersError(
            f"{tenant_id}: {summary.height} customers, {repeaters.height} repeat customers"
        )
    purchases = bgnbd.fit(
        summary["x"].to_numpy(), summary["t_x"].to_numpy(), summary["T"].to_numpy()
    )
    spend = gamma_gamma.fit(repeaters["x"].to_numpy(), repeaters["monetary"].to_numpy())
    return ClvModel(tenant_id, as_of, purchases, spend, summary.height)


def predict_clv(model: ClvModel, summary: pl.DataFrame, horizon_days: float) -> pl.DataFrame:
    """summary + expected_purchases, expected_spend, expected_revenue, probability_alive."""
    x, t_x, age = (summary[c].to_numpy() for c in ("x", "t_x", "T"))
    purchases = bgnbd.expected_purchases(model.purchases, horizon_days / UNIT_DAYS, x, t_x, age)
    spend = gamma_gamma.expected_spend(model.spend, x, summary["monetary"].to_numpy())
    return summary.with_columns(
        pl.Series("expected_purchases", np.maximum(purchases, 0.0)),
        pl.Series("expected_spend", spend),
        pl.Series("expected_revenue", np.maximum(purchases, 0.0) * spend),
        pl.Series("probability_alive", bgnbd.probability_alive(model.purchases, x, t_x, age)),
    )
