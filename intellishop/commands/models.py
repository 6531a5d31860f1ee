"""``intellishop models ...``: the model registry, and the models' holdout evaluations.

``list``, ``show`` and ``rollback`` work on the registry of the active profile (local: SQLite at
``<data_dir>/models/registry.sqlite3``; prod: PostgreSQL at ``INTELLISHOP_POSTGRES_DSN``; artifacts
under ``<data_dir>/models/artifacts``). ``evaluate churn|clv|forecast`` runs a model's time-based
holdout evaluation with its baseline in the same run, on the simulator or on CDNOW.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from intellishop.settings import Profile, Settings, get_settings

models_app = typer.Typer(
    no_args_is_help=True,
    help="Trained models: list, show, roll back; evaluate churn, CLV and forecasts.",
)
console = Console()
errors = Console(stderr=True)


class Kind(StrEnum):
    churn = "churn"
    clv = "clv"
    forecast = "forecast"


class Dataset(StrEnum):
    simulator = "simulator"
    cdnow = "cdnow"


def open_registry(settings: Settings | None = None) -> Any:
    """The profile's model registry (see the module doc)."""
    from ml_assets.registry import ModelRegistry

    settings = settings or get_settings()
    root = settings.data_dir / "models"
    if settings.profile is Profile.PROD:
        return ModelRegistry.postgres(settings.postgres_dsn, root / "artifacts")
    return ModelRegistry.sqlite(root / "registry.sqlite3", root / "artifacts")


TenantOption = Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")]
KindOption = Annotated[Kind | None, typer.Option("--kind", help="Only this kind of model.")]


@models_app.command("list")
def list_models(tenant: TenantOption = None, kind: KindOption = None) -> None:
    """Every registered version: status, comparison metric, training window."""
    versions = open_registry().history(tenant, kind.value if kind else None)
    table = Table("tenant", "kind", "version", "status", "metric", "value", "window", "created")
    for v in versions:
        score = v.score
        table.add_row(
            v.tenant_id, v.kind, str(v.version), v.status, v.comparison_metric,
            "" if score is None else f"{score:.4f}",
            f"{(v.window_start or '')[:10]}..{(v.window_end or '')[:10]}", v.created_at[:19],
        )  # fmt: skip
    console.print(table if versions else "no models registered yet")


@models_app.command("show")
def show(
    tenant: Annotated[str, typer.Argument(help="The tenant id.")],
    kind: Annotated[Kind, typer.Argument(help="churn, clv or forecast.")],
    version: Annotated[int | None, typer.Option(help="A version; default: the active one.")] = None,
) -> None:
    """One version as JSON: parameters, metrics, drift, artifact path, and the event history."""
    registry = open_registry()
    found = (
        registry.get(tenant, kind.value, version)
        if version is not None
        else registry.active(tenant, kind.value)
    )
    if found is None:
        errors.print(f"[red]error:[/red] no {'version ' + str(version) if version else 'active'} "
                     f"{kind.value} model for tenant {tenant!r}")  # fmt: skip
        raise typer.Exit(2)
    body = dict(found.__dict__)
    body["events"] = [
        {"version": v, "action": a, "at": at, "detail": d}
        for v, a, at, d in registry.events(tenant, kind.value)
    ]
    console.print_json(json.dumps(body))


@models_app.command("rollback")
def rollback(
    tenant: Annotated[str, typer.Argument(help="The tenant id.")],
    kind: Annotated[Kind, typer.Argument(help="churn, clv or forecast.")],
    to: Annotated[
        int | None, typer.Option("--to", help="Version to activate; default: the previous one.")
    ] = None,
) -> None:
    """Make an earlier version active again (recorded in the history)."""
    try:
        active = open_registry().rollback(tenant, kind.value, to)
    except LookupError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{tenant}/{kind.value}: version {active.version} is active")


@models_app.command("evaluate")
def evaluate(
    kind: Annotated[Kind, typer.Argument(help="churn, clv or forecast.")],
    dataset: Annotated[
        Dataset, typer.Option(help="simulator (seeded) or cdnow (real; not for forecast).")
    ] = Dataset.simulator,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    days: Annotated[int, typer.Option(help="Simulated days.")] = 240,
    customers: Annotated[int, typer.Option(help="Simulated customers.")] = 1500,
    horizon: Annotated[int, typer.Option(help="Churn label horizon, days.")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Time-based holdout evaluation with the baseline in the same run."""
    rows, info = _evaluate(kind, dataset, seed, days, customers, horizon)
    if as_json:
        metrics = {metric: {"model": a, "baseline": b} for metric, a, b in rows}
        body = {"kind": kind.value, "dataset": dataset.value, **info, "metrics": metrics}
        console.print_json(json.dumps(body))
        return
    table = Table("metric", "model", "baseline", title=f"{kind.value} on {dataset.value}: {info}")
    for metric, model, baseline in rows:
        table.add_row(metric, _fmt(model), _fmt(baseline))
    console.print(table)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


Row = tuple[str, float | None, float | None]


def _day_after_last_order(orders: Any) -> datetime:
    """Midnight after the last order: the end of the data, for holdouts that end with it."""
    last = orders["ordered_at"].max()
    assert isinstance(last, datetime)
    return datetime.combine(last.date() + timedelta(days=1), datetime.min.time())


def _evaluate(
    kind: Kind, dataset: Dataset, seed: int, days: int, customers: int, horizon: int
) -> tuple[list[Row], dict[str, Any]]:
    from ml_assets.features.cdnow import load_cdnow_orders
    from ml_assets.features.simulated import WarehouseFrames, simulated_shop

    if kind is Kind.forecast and dataset is Dataset.cdnow:
        errors.print("[red]error:[/red] CDNOW has no products: evaluate forecast on the simulator")
        raise typer.Exit(2)
    shop: WarehouseFrames | None = None
    if dataset is Dataset.simulator:
        shop = simulated_shop(seed=seed, days=days, customers=customers)
    if kind is Kind.churn:
        return _churn(shop, horizon)
    if kind is Kind.clv:
        return _clv(shop.orders if shop else load_cdnow_orders(), shop is None, days)
    assert shop is not None
    return _forecast(shop)


def _churn(shop: Any, horizon: int) -> tuple[list[Row], dict[str, Any]]:
    from ml_assets.churn import evaluate_churn
    from ml_assets.features.cdnow import load_cdnow_orders

    orders = shop.orders if shop else load_cdnow_orders()
    e, _ = evaluate_churn(
        orders,
        end=_day_after_last_order(orders),
        horizon_days=horizon,
        interactions=shop.interactions if shop else None,
        sessions=shop.sessions if shop else None,
    )
    rows: list[Row] = [
        ("auc (baseline: recency)", e.auc, e.auc_recency),
        ("auc (baseline: RFM logistic)", e.auc, e.auc_rfm_logistic),
        ("brier calibrated (baseline: raw)", e.brier_calibrated, e.brier_raw),
        ("brier calibrated (baseline: base rate)", e.brier_calibrated, e.brier_base_rate),
    ]
    info = {
        "test_customers": e.test_customers,
        "churn_rate": round(e.test_churn_rate, 3),
        "train_cutoff": e.train_cutoff.date().isoformat(),
        "test_cutoff": e.test_cutoff.date().isoformat(),
    }
    return rows, info


def _clv(orders: Any, classic_split: bool, days: int) -> tuple[list[Row], dict[str, Any]]:
    from ml_assets.clv import evaluate_clv

    if classic_split:
        c = evaluate_clv(orders)
    else:
        holdout = days // 3
        end = _day_after_last_order(orders)
        c = evaluate_clv(
            orders, calibration_end=end - timedelta(days=holdout), holdout_days=holdout
        )
    rows: list[Row] = [
        ("holdout purchases, relative error", c.purchases_error, c.naive_purchases_error),
        ("holdout revenue, relative error", c.revenue_error, c.naive_revenue_error),
        ("purchases MAE per customer", c.purchases_mae, c.naive_purchases_mae),
        ("revenue MAE per customer", c.revenue_mae, c.naive_revenue_mae),
    ]
    return rows, {"customers": c.customers, "actual_purchases": c.actual_purchases}


def _forecast(shop: Any) -> tuple[list[Row], dict[str, Any]]:
    from ml_assets.forecast import daily_units, evaluate_forecast

    end = _day_after_last_order(shop.orders)
    rows: list[Row] = []
    info: dict[str, Any] = {}
    for level in ("category", "product"):
        daily = daily_units(shop.interactions, end=end, level=level)
        f = evaluate_forecast(daily, level=level)
        rows += [
            (f"{level} sMAPE", f.model.smape, f.baseline.smape),
            (f"{level} MAPE (sale days)", f.model.mape, f.baseline.mape),
            (f"{level} MASE", f.model.mase, f.baseline.mase),
            (f"{level} WAPE", f.model.wape, f.baseline.wape),
            (f"{level} 80% interval coverage", f.model.coverage, f.baseline.coverage),
        ]
        info[level] = {"series": f.series, "prophet_series": f.prophet_series}
    return rows, info
