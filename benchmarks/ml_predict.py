"""Prediction models benchmark: speed, and every quality metric next to its baseline.

    .venv/bin/python benchmarks/ml_predict.py [--seed 7 --days 240 --customers 1500 --jobs 1]

1. Churn, on a simulated shop (signed-up customers only, ``--days`` of history) and on CDNOW:
   time-based holdout (train at end - 2N, test at end - N, N = 60 days; also 90 on CDNOW),
   AUC against recency alone and an RFM logistic regression, Brier raw / calibrated / base
   rate, the reliability table; training time, and batch scoring throughput (calibrated
   probabilities; and with SHAP top features) over 100,000 feature rows.
2. Lifetime value on CDNOW, the classic split (calibration to 1997-09-30, holdout to
   1998-06-30): BG/NBD + Gamma-Gamma fit time, fitted parameters against the published ones,
   holdout purchases and revenue against the naive "same rate as before" baseline; the same on
   the simulated shop (last third of the days as holdout).
3. Demand forecast on the simulated shop, per category and per product: last 14 days held out,
   Prophet (with the seasonal-naive fallback) against the seasonal-naive baseline: MAPE, sMAPE,
   MASE, WAPE and 80 % interval coverage; Prophet fits per second (``--jobs`` processes).
4. Inventory: reorder suggestions for every product from its forecast (rows per second).

Prints each figure, the command line, and the rows for docs/benchmarks.md; ``--json PATH`` also
writes every number.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import polars as pl

from ml_assets.churn import churn_features, evaluate_churn, train_churn
from ml_assets.churn.evaluate import labelled_at
from ml_assets.clv import evaluate_clv
from ml_assets.features.cdnow import load_cdnow_orders
from ml_assets.features.simulated import simulated_shop
from ml_assets.forecast import daily_units, demand_forecast, evaluate_forecast
from ml_assets.forecast.series import Level
from ml_assets.inventory import reorder_suggestions

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
SCORING_ROWS = 100_000
LEVELS: tuple[Level, ...] = ("category", "product")


def load_average() -> float:
    return os.getloadavg()[0]


def churn(
    name: str, orders: pl.DataFrame, end: datetime, horizon: int, **frames: Any
) -> dict[str, Any]:
    e, model = evaluate_churn(orders, end=end, horizon_days=horizon, **frames)
    train = labelled_at(
        orders, e.train_cutoff, horizon, frames.get("interactions"), frames.get("sessions")
    )
    started = time.perf_counter()
    train_churn(train, horizon_days=horizon)
    train_seconds = time.perf_counter() - started
    features = churn_features(orders, end, horizon_days=horizon, **frames)
    big = pl.concat([features] * (SCORING_ROWS // max(features.height, 1) + 1)).head(SCORING_ROWS)
    started = time.perf_counter()
    model.predict(big)
    predict_rate = big.height / (time.perf_counter() - started)
    started = time.perf_counter()
    model.top_features(big)
    explain_rate = big.height / (time.perf_counter() - started)
    result = {
        "dataset": name, "horizon_days": horizon, **e.metrics(),
        "train_cutoff": e.train_cutoff.date().isoformat(),
        "test_cutoff": e.test_cutoff.date().isoformat(),
        "calibration_method": e.calibration_method, "reliability": e.reliability,
        "top_importance": e.top_importance, "train_seconds": train_seconds,
        "score_rows_per_s": predict_rate, "score_with_shap_rows_per_s": explain_rate,
    }  # fmt: skip
    print(
        f"churn {name} N={horizon}: AUC {e.auc:.3f} | recency {e.auc_recency:.3f} | RFM logistic "
        f"{e.auc_rfm_logistic:.3f}; Brier raw {e.brier_raw:.4f} calibrated "
        f"{e.brier_calibrated:.4f} base rate {e.brier_base_rate:.4f} ({e.calibration_method}); "
        f"churn rate {e.test_churn_rate:.2f}, {e.train_customers}/{e.test_customers} customers; "
        f"train {train_seconds:.2f} s; scoring {predict_rate:,.0f} rows/s, with SHAP "
        f"{explain_rate:,.0f} rows/s"
    )
    print("  reliability (bin, n, raw, calibrated, observed):")
    for low, high, n, raw, cal, obs in e.reliability:
        print(f"    {low:.1f}-{high:.1f} {n:6d} {raw:.3f} {cal:.3f} {obs:.3f}")
    print(
        "  top features (gain share):", ", ".join(f"{k} {v:.2f}" for k, v in e.top_importance[:5])
    )
    return result


def clv(name: str, orders: pl.DataFrame, **split: Any) -> dict[str, Any]:
    c = evaluate_clv(orders, **split)
    print(
        f"clv {name}: fit {c.fit_seconds:.2f} s, {c.customers} customers; holdout purchases "
        f"{c.predicted_purchases:,.0f} predicted / {c.actual_purchases:,.0f} actual "
        f"({c.purchases_error:+.1%}; naive {c.naive_purchases:,.0f}, "
        f"{c.naive_purchases_error:+.1%}); revenue {c.revenue_error:+.1%} "
        f"(naive {c.naive_revenue_error:+.1%}); MAE purchases "
        f"{c.purchases_mae:.3f} (naive {c.naive_purchases_mae:.3f}), revenue {c.revenue_mae:.2f} "
        f"(naive {c.naive_revenue_mae:.2f}); freq-spend corr {c.frequency_spend_correlation:.3f}"
    )
    print("  params:", {k: round(v, 3) for k, v in c.params.items()})
    return {"dataset": name, **c.metrics(), "params": c.params}


def forecast(daily: pl.DataFrame, level: Level, jobs: int) -> dict[str, Any]:
    f = evaluate_forecast(daily, level=level, n_jobs=jobs)
    rate = f.series / f.fit_seconds
    print(
        f"forecast {level}: {f.series} series ({f.prophet_series} Prophet), "
        f"fit {f.fit_seconds:.1f} s = {rate:.1f} series/s | model vs seasonal naive: "
        f"sMAPE {f.model.smape:.3f} / "
        f"{f.baseline.smape:.3f}, MAPE {f.model.mape:.3f} / {f.baseline.mape:.3f}, MASE "
        f"{f.model.mase:.3f} / {f.baseline.mase:.3f}, WAPE {f.model.wape:.3f} / "
        f"{f.baseline.wape:.3f}, 80% coverage {f.model.coverage:.2f} / {f.baseline.coverage:.2f}"
    )
    return {"level": level, **f.metrics(), "series_per_s": rate}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--jobs", type=int, default=1, help="processes for Prophet fits")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    command = ".venv/bin/python benchmarks/ml_predict.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}\nload average before: {load_average():.2f}")
    results: dict[str, Any] = {"command": command, "load_before": load_average()}

    started = time.perf_counter()
    shop = simulated_shop(seed=args.seed, days=args.days, customers=args.customers)
    end = shop.orders["ordered_at"].max()
    assert isinstance(end, datetime)
    end = datetime.combine(end.date() + timedelta(days=1), datetime.min.time())
    print(
        f"simulated shop: {shop.orders.height:,} orders, "
        f"{shop.interactions.height:,} interactions, {shop.sessions.height:,} sessions "
        f"({time.perf_counter() - started:.1f} s to build)"
    )
    cdnow = load_cdnow_orders()

    results["churn"] = [
        churn(
            "simulator",
            shop.orders,
            end,
            60,
            interactions=shop.interactions,
            sessions=shop.sessions,
        ),
        churn("simulator (orders only)", shop.orders, end, 60),
        churn("cdnow", cdnow, datetime(1998, 7, 1), 60),
        churn("cdnow", cdnow, datetime(1998, 7, 1), 90),
    ]
    holdout = args.days // 3
    results["clv"] = [
        clv("cdnow", cdnow),
        clv(
            "simulator",
            shop.orders,
            calibration_end=end - timedelta(days=holdout),
            holdout_days=holdout,
        ),
    ]
    results["bgnbd_vs_published"] = {
        k: (results["clv"][0]["params"][k], v) for k, v in PUBLISHED_BGNBD.items()
    }
    results["forecast"] = [
        forecast(daily_units(shop.interactions, end=end, level=level), level, args.jobs)
        for level in LEVELS
    ]
    started = time.perf_counter()
    demand = demand_forecast(shop.interactions, as_of=end, horizon_days=28, n_jobs=args.jobs)
    forecast_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reorder = reorder_suggestions(demand, lead_time_days=7, service_level=0.95)
    reorder_seconds = time.perf_counter() - started
    results["inventory"] = {
        "products": reorder.height, "demand_forecast_seconds": forecast_seconds,
        "reorder_rows_per_s": reorder.height / reorder_seconds,
    }  # fmt: skip
    print(
        f"demand_forecast: {reorder.height} products x 28 days in {forecast_seconds:.1f} s; "
        f"reorder_suggestions {reorder.height / reorder_seconds:,.0f} products/s"
    )
    results["load_after"] = load_average()
    print(f"load average after: {results['load_after']:.2f}")
    print_rows(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


def row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |")


def print_rows(r: dict[str, Any]) -> None:
    """Markdown rows for docs/benchmarks.md."""
    print("\n| model | dataset | metric | model | baseline |\n| --- | --- | --- | ---: | ---: |")
    for c in r["churn"]:
        where = f"{c['dataset']}, N={c['horizon_days']:.0f}"
        row("churn", where, "AUC (baseline: recency)", f"{c['auc']:.3f}", f"{c['auc_recency']:.3f}")
        row("churn", where, "AUC (baseline: RFM logistic)", f"{c['auc']:.3f}",
            f"{c['auc_rfm_logistic']:.3f}")  # fmt: skip
        row("churn", where, "Brier calibrated (baseline: base rate)",
            f"{c['brier_calibrated']:.4f}", f"{c['brier_base_rate']:.4f}")  # fmt: skip
    for c in r["clv"]:
        name = c["dataset"]
        row("CLV", name, "holdout purchases, error (baseline: same rate)",
            f"{c['purchases_error']:+.1%}", f"{c['naive_purchases_error']:+.1%}")  # fmt: skip
        row("CLV", name, "holdout revenue, error", f"{c['revenue_error']:+.1%}",
            f"{c['naive_revenue_error']:+.1%}")  # fmt: skip
        row("CLV", name, "purchases MAE per customer", f"{c['purchases_mae']:.3f}",
            f"{c['naive_purchases_mae']:.3f}")  # fmt: skip
    for f in r["forecast"]:
        for m in ("smape", "mape", "mase", "wape", "coverage"):
            row("forecast", f"simulator, {f['level']}", f"{m} (baseline: seasonal naive)",
                f"{f[m]:.3f}", f"{f['baseline_' + m]:.3f}")  # fmt: skip
    print("\n| speed | figure |\n| --- | ---: |")
    for c in r["churn"]:
        where = f"{c['dataset']} N={c['horizon_days']:.0f}"
        row(f"churn training, {where} ({c['train_customers']:,.0f} customers)",
            f"{c['train_seconds']:.2f} s")  # fmt: skip
        row(f"churn scoring, {where}", f"{c['score_rows_per_s']:,.0f} rows/s "
            f"({c['score_with_shap_rows_per_s']:,.0f} with SHAP)")  # fmt: skip
    row("CLV fit, CDNOW (23,570 customers)", f"{r['clv'][0]['fit_seconds']:.2f} s")
    for f in r["forecast"]:
        row(f"forecast fits, {f['level']}", f"{f['series_per_s']:.1f} series/s")
    row("reorder suggestions", f"{r['inventory']['reorder_rows_per_s']:,.0f} products/s")


if __name__ == "__main__":
    main()
