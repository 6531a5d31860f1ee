"""From exposures and orders to per-variant numbers, every test, and a decision.

Input (polars frames, one tenant and one experiment; :mod:`.evaluation` does the selecting):

- ``exposures``: unit_id, variant_id, exposed_at (UTC). Only a unit's first exposure counts;
  a unit seen in two variants (a broken integration, or weights changed) is left out and
  counted, because it belongs to neither.
- ``outcomes``: unit_id, ordered_at (UTC), revenue; one row per order. An order counts for a
  unit when placed at or after the unit's first exposure and not after ``as_of``: what
  happened before someone saw a variant cannot be its effect.

Each treatment is compared with the control on the target metric and on every guardrail. The
decision uses only the always-valid mSPRT (valid under daily looks), at alpha divided by the
number of treatments (Bonferroni), together with the sample-ratio check and the guardrails;
the fixed-horizon and Bayesian numbers are reported for reading, not for deciding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from .model import Experiment, Metric, Variant
from .sequential import msprt
from .stats import (
    beta_binomial,
    normal_posterior,
    relative_interval,
    sample_ratio_mismatch,
    scalar,
    two_proportion_z_test,
    welch_t_test,
)

#: Decision actions.
DECLARE_WINNER = "declare_winner"
CONTINUE = "continue"
STOP_HARM = "stop_harm"
STOP_FUTILITY = "stop_futility"


@dataclass(frozen=True, slots=True)
class ArmStats:
    """Sufficient statistics of one variant."""

    variant: Variant
    units: int
    converters: int
    orders: int
    revenue: float
    revenue_sq: float
    orders_sq: float

    def mean(self, metric: Metric) -> float:
        if self.units == 0:
            return math.nan
        total = {
            Metric.CONVERSION: self.converters,
            Metric.REVENUE_PER_USER: self.revenue,
            Metric.ORDERS_PER_USER: self.orders,
        }[metric]
        return total / self.units

    def variance(self, metric: Metric) -> float:
        """Per-unit sample variance (ddof=1), from sums and sums of squares."""
        n = self.units
        if n < 2:
            return math.nan
        mean = self.mean(metric)
        squares = {
            Metric.CONVERSION: float(self.converters),
            Metric.REVENUE_PER_USER: self.revenue_sq,
            Metric.ORDERS_PER_USER: self.orders_sq,
        }[metric]
        return max((squares - n * mean**2) / (n - 1), 0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant.id,
            "name": self.variant.name,
            "control": self.variant.control,
            "units": self.units,
            "converters": self.converters,
            "conversion_rate": self.mean(Metric.CONVERSION),
            "orders": self.orders,
            "orders_per_user": self.mean(Metric.ORDERS_PER_USER),
            "revenue": self.revenue,
            "revenue_per_user": self.mean(Metric.REVENUE_PER_USER),
            "revenue_per_user_sd": math.sqrt(self.variance(Metric.REVENUE_PER_USER)),
        }


def _utc(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The column as UTC instants: naive timestamps (a warehouse without time zones) are UTC."""
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return frame.with_columns(pl.col(column).dt.replace_time_zone("UTC"))
    if isinstance(dtype, pl.Datetime) and dtype.time_zone != "UTC":
        return frame.with_columns(pl.col(column).dt.convert_time_zone("UTC"))
    return frame


def unit_outcomes(
    exposures: pl.DataFrame, outcomes: pl.DataFrame, as_of: datetime
) -> tuple[pl.DataFrame, dict[str, int]]:
    """One row per analysed unit: variant_id, orders, revenue after its first exposure.

    Also returns data-quality counts (units in several variants, exposures after ``as_of``).
    """
    exposures = _utc(exposures, "exposed_at")
    outcomes = _utc(outcomes, "ordered_at")
    seen = exposures.filter(pl.col("exposed_at") <= as_of)
    first = seen.group_by("unit_id", "variant_id").agg(pl.col("exposed_at").min())
    variants_per_unit = first.group_by("unit_id").agg(pl.len().alias("variants"))
    mixed = variants_per_unit.filter(pl.col("variants") > 1).height
    clean = first.join(
        variants_per_unit.filter(pl.col("variants") == 1).select("unit_id"), on="unit_id"
    )
    orders = (
        outcomes.filter(pl.col("ordered_at") <= as_of)
        .join(clean.select("unit_id", "exposed_at"), on="unit_id")
        .filter(pl.col("ordered_at") >= pl.col("exposed_at"))
        .group_by("unit_id")
        .agg(
            pl.len().alias("orders"),
            pl.col("revenue").cast(pl.Float64).fill_null(0.0).sum().alias("revenue"),
        )
    )
    units = clean.join(orders, on="unit_id", how="left").with_columns(
        pl.col("orders").fill_null(0).cast(pl.Int64),
        pl.col("revenue").fill_null(0.0),
    )
    quality = {
        "units_in_several_variants": mixed,
        "exposures_after_as_of": exposures.height - seen.height,
    }
    return units, quality


def arm_stats(experiment: Experiment, units: pl.DataFrame) -> tuple[list[ArmStats], int]:
    """Sufficient statistics per variant, in the experiment's variant order, and the number of
    units exposed to a variant id the experiment does not have."""
    sums = units.group_by("variant_id").agg(
        pl.len().alias("units"),
        (pl.col("orders") > 0).sum().alias("converters"),
        pl.col("orders").sum().alias("orders"),
        pl.col("revenue").sum().alias("revenue"),
        (pl.col("revenue") ** 2).sum().alias("revenue_sq"),
        (pl.col("orders").cast(pl.Float64) ** 2).sum().alias("orders_sq"),
    )
    by_id = {row["variant_id"]: row for row in sums.iter_rows(named=True)}
    arms = []
    for variant in experiment.variants:
        row = by_id.pop(variant.id, None) or {}
        arms.append(
            ArmStats(
                variant=variant,
                units=int(row.get("units", 0)),
                converters=int(row.get("converters", 0)),
                orders=int(row.get("orders", 0)),
                revenue=float(row.get("revenue", 0.0)),
                revenue_sq=float(row.get("revenue_sq", 0.0)),
                orders_sq=float(row.get("orders_sq", 0.0)),
            )
        )
    unknown = sum(int(row["units"]) for row in by_id.values())
    return arms, unknown


def compare(
    control: ArmStats,
    treatment: ArmStats,
    metric: Metric,
    *,
    alpha: float,
    tau_std: float,
    max_degradation: float | None = None,
) -> dict[str, Any]:
    """Every statistic of one treatment against the control on one metric.

    With ``max_degradation`` (a guardrail), ``harmed`` says the mSPRT finds the treatment worse
    than the control by more than that share: it tests the shifted difference
    d + max_degradation * control mean against zero, one side.
    """
    na, nb = control.units, treatment.units
    ma, mb = control.mean(metric), treatment.mean(metric)
    va, vb = control.variance(metric), treatment.variance(metric)
    result: dict[str, Any] = {
        "variant": treatment.variant.id,
        "metric": metric.value,
        "control_mean": ma,
        "treatment_mean": mb,
    }
    if na < 2 or nb < 2:
        result["insufficient_data"] = True
        return result
    if metric is Metric.CONVERSION:
        fixed = two_proportion_z_test(control.converters, na, treatment.converters, nb, alpha=alpha)
        test_name = "two-proportion z"
        bayes = beta_binomial(control.converters, na, treatment.converters, nb)
        bayes_model = "beta-binomial, Beta(1,1) priors, Monte Carlo"
    else:
        fixed = welch_t_test(ma, va, na, mb, vb, nb, alpha=alpha)
        test_name = "Welch t"
        bayes = normal_posterior(ma, va, na, mb, vb, nb)
        bayes_model = "normal approximation of each mean, flat priors"
    var_diff = va / na + vb / nb
    seq = msprt(mb - ma, var_diff, va, vb, alpha=alpha, tau_std=tau_std)
    lift, lift_low, lift_high = relative_interval(ma, va / na, mb, vb / nb, alpha=alpha)
    result.update(
        {
            "difference": scalar(fixed.difference),
            "ci_low": scalar(fixed.ci_low),
            "ci_high": scalar(fixed.ci_high),
            "relative_lift": lift,
            "relative_ci_low": lift_low,
            "relative_ci_high": lift_high,
            "fixed_horizon": {
                "test": test_name,
                "statistic": scalar(fixed.statistic),
                "df": scalar(fixed.df),
                "p_value": scalar(fixed.p_value),
            },
            "sequential": {
                "test": "mSPRT",
                "alpha": alpha,
                "z": scalar(seq.z),
                "log_likelihood_ratio": scalar(seq.log_likelihood_ratio),
                "p_value": scalar(seq.p_value),
                "always_valid_p_value": scalar(seq.p_value),
                "ci_low": scalar(seq.ci_low),
                "ci_high": scalar(seq.ci_high),
            },
            "bayes": {
                "model": bayes_model,
                "chance_to_beat_control": bayes.chance_to_beat_control,
                "expected_loss_choosing_treatment": bayes.expected_loss_choosing_treatment,
                "expected_loss_choosing_control": bayes.expected_loss_choosing_control,
            },
        }
    )
    if max_degradation is not None:
        shifted = mb - ma + max_degradation * ma
        harm = msprt(shifted, var_diff, va, vb, alpha=alpha, tau_std=tau_std)
        result["guardrail"] = {
            "max_degradation": max_degradation,
            "harm_p_value": scalar(harm.p_value) if shifted < 0 else 1.0,
            "harmed": bool(shifted < 0 and bool(harm.significant)),
        }
    return result


def _carry_always_valid(
    comparison: dict[str, Any], previous: list[dict[str, Any]], role: str
) -> None:
    """Always-valid p-value = the smallest of this look's and every earlier look's (same
    variant, metric and role): once the evidence crossed the line it stays crossed."""
    seq = comparison.get("sequential")
    if seq is None:
        return
    for earlier in previous:
        for old in earlier.get("comparisons", []):
            if (old.get("variant"), old.get("metric"), old.get("role")) != (
                comparison["variant"],
                comparison["metric"],
                role,
            ):
                continue
            old_p = (old.get("sequential") or {}).get("always_valid_p_value")
            if old_p is not None:
                seq["always_valid_p_value"] = min(seq["always_valid_p_value"], old_p)
    seq["significant"] = seq["always_valid_p_value"] <= seq["alpha"]


def analyse(
    experiment: Experiment,
    exposures: pl.DataFrame,
    outcomes: pl.DataFrame,
    *,
    as_of: datetime,
    previous: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Results of one look at ``experiment`` as of ``as_of`` (JSON-ready; NaN becomes null).

    ``previous`` are the stored results of earlier looks, for the running always-valid p-value.
    """
    units, quality = unit_outcomes(exposures, outcomes, as_of)
    arms, unknown = arm_stats(experiment, units)
    control = next(arm for arm in arms if arm.variant.control)
    treatments = [arm for arm in arms if not arm.variant.control]
    alpha_each = experiment.alpha / max(len(treatments), 1)
    srm = sample_ratio_mismatch([arm.units for arm in arms], experiment.weights())
    comparisons = []
    for arm in treatments:
        target = compare(
            control,
            arm,
            experiment.target_metric,
            alpha=alpha_each,
            tau_std=experiment.tau_std,
        )
        target["role"] = "target"
        _carry_always_valid(target, previous or [], "target")
        comparisons.append(target)
        for guardrail in experiment.guardrails:
            check = compare(
                control,
                arm,
                guardrail.metric,
                alpha=experiment.alpha,
                tau_std=experiment.tau_std,
                max_degradation=guardrail.max_degradation,
            )
            check["role"] = "guardrail"
            _carry_always_valid(check, previous or [], "guardrail")
            comparisons.append(check)
    started = experiment.started_at
    days_running = (as_of - started).total_seconds() / 86_400 if started is not None else 0.0
    results: dict[str, Any] = {
        "experiment": experiment.key,
        "target_metric": experiment.target_metric.value,
        "as_of": as_of.isoformat(),
        "days_running": days_running,
        "alpha": experiment.alpha,
        "alpha_per_treatment": alpha_each,
        "data_quality": {**quality, "units_in_unknown_variants": unknown},
        "variants": [arm.to_json() for arm in arms],
        "srm": {
            "chi_square": srm.chi_square,
            "p_value": srm.p_value,
            "mismatch": srm.mismatch,
            "observed": srm.observed,
            "expected": srm.expected,
        },
        "comparisons": comparisons,
    }
    results["decision"] = decide(experiment, results)
    safe: dict[str, Any] = _json_safe(results)
    return safe


def decide(experiment: Experiment, results: dict[str, Any]) -> dict[str, Any]:
    """The automatic decision for one look.

    A treatment wins only if its target mSPRT is significant and positive, the sample ratio is
    fine and none of its guardrails is significantly harmed; of several such, the best mean.
    A treatment whose target is significantly worse, or a guardrail harmed, is out; when every
    treatment is out, stop for harm. Past ``max_days`` with no winner, stop for futility.
    Either stop keeps the control. Otherwise keep running.
    """
    reasons: list[str] = []
    if results["srm"]["mismatch"]:
        return {
            "action": CONTINUE,
            "winner": None,
            "reasons": [
                f"sample ratio mismatch (p = {results['srm']['p_value']:.2g}): assignment or "
                "exposure logging is broken; fix it before trusting any result"
            ],
        }
    winners: list[tuple[float, str]] = []
    harmed: set[str] = set()
    for comparison in results["comparisons"]:
        variant = comparison["variant"]
        seq = comparison.get("sequential")
        if seq is None:
            continue
        if comparison["role"] == "guardrail" and comparison["guardrail"]["harmed"]:
            harmed.add(variant)
            reasons.append(f"{variant}: guardrail {comparison['metric']} is significantly worse")
        if comparison["role"] == "target" and seq["significant"]:
            if comparison["difference"] < 0:
                harmed.add(variant)
                reasons.append(f"{variant}: {comparison['metric']} is significantly worse")
            else:
                winners.append((comparison["treatment_mean"], variant))
    winners = [(mean, variant) for mean, variant in winners if variant not in harmed]
    treatments = [v.id for v in experiment.treatments]
    if winners:
        best = max(winners)[1]
        reasons.append(f"{best}: {experiment.target_metric.value} significantly better (mSPRT)")
        return {"action": DECLARE_WINNER, "winner": best, "reasons": reasons}
    if treatments and harmed >= set(treatments):
        return {"action": STOP_HARM, "winner": experiment.control.id, "reasons": reasons}
    if results["days_running"] >= experiment.max_days:
        reasons.append(f"no significant difference after {experiment.max_days} days")
        return {"action": STOP_FUTILITY, "winner": experiment.control.id, "reasons": reasons}
    reasons.append("no treatment is significantly better yet")
    return {"action": CONTINUE, "winner": None, "reasons": reasons}


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null, so the results are strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value
