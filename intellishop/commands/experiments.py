"""``intellishop experiments ...``: define, start, stop, read results of and decide A/B tests.

The same operations as the API's ``/v1/experiments``, straight on the profile's store. Results
are read from the pipeline's stored looks; given exposure and order files (Parquet, the frames
of :mod:`intellishop.experiments.evaluation`) ``results`` and ``decide --auto`` compute a look
themselves. Errors exit with status 2 and name the field to fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from intellishop.experiments import (
    Experiment,
    ExperimentError,
    ExperimentStore,
    Guardrail,
    Metric,
    Status,
    Surface,
    Variant,
    evaluate,
    evaluate_running,
    open_store,
    record_decision,
)
from intellishop.settings import get_settings

experiments_app = typer.Typer(
    no_args_is_help=True,
    help="A/B tests: create, list, start, stop, results, decide.",
)
console = Console()
T = TypeVar("T")


def _store() -> ExperimentStore:
    return open_store(get_settings())


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except ExperimentError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _variant(spec: str, index: int, control: str | None, surface: Surface) -> Variant:
    """``ID`` or ``ID:WEIGHT``; recommendation variants name their algorithm by their id."""
    variant_id, _, weight = spec.partition(":")
    try:
        share = float(weight) if weight else 1.0
    except ValueError:
        raise ExperimentError(f"variants.{index}.weight", f"{weight!r} is not a number") from None
    is_control = variant_id == control if control else index == 0
    config = {"algorithm": variant_id} if surface is Surface.RECOMMENDATIONS else {}
    return Variant(variant_id, variant_id, share, is_control, config)


def _guardrail(spec: str, index: int) -> Guardrail:
    """``METRIC`` or ``METRIC:MAX_DEGRADATION``."""
    metric, _, allowed = spec.partition(":")
    try:
        return Guardrail(Metric(metric), float(allowed) if allowed else 0.0)
    except ValueError:
        raise ExperimentError(
            f"guardrails.{index}",
            f"{spec!r}: want METRIC[:MAX_DEGRADATION], metric one of "
            f"{', '.join(m.value for m in Metric)}",
        ) from None


@experiments_app.command("create")
def create(
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    key: Annotated[str, typer.Argument(help="Experiment key, e.g. recs-als.")],
    name: Annotated[str | None, typer.Option(help="Human name (default: the key).")] = None,
    surface: Annotated[Surface, typer.Option(help="What the variants change.")] = Surface.CUSTOM,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="ID or ID:WEIGHT; repeat for each (2 or more)."),
    ] = None,
    control: Annotated[
        str | None, typer.Option(help="The control's id (default: the first variant).")
    ] = None,
    metric: Annotated[Metric, typer.Option(help="Target metric.")] = Metric.CONVERSION,
    guardrail: Annotated[
        list[str] | None,
        typer.Option("--guardrail", help="METRIC[:MAX_DEGRADATION], e.g. conversion:0.02."),
    ] = None,
    alpha: Annotated[float, typer.Option(help="False-positive rate of the decision.")] = 0.05,
    max_days: Annotated[int, typer.Option(help="Stop for futility after this many days.")] = 56,
    file: Annotated[
        Path | None,
        typer.Option(help="A JSON definition (the API's POST body) instead of the options."),
    ] = None,
) -> None:
    """Create an experiment as a draft."""

    def build() -> Experiment:
        if file is not None:
            data: dict[str, Any] = json.loads(file.read_text())
            return Experiment.from_json({**data, "tenant_id": tenant, "key": key})
        specs = variant or []
        return Experiment(
            tenant_id=tenant,
            key=key,
            name=name or key,
            surface=surface,
            variants=tuple(_variant(s, i, control, surface) for i, s in enumerate(specs)),
            target_metric=metric,
            guardrails=tuple(_guardrail(s, i) for i, s in enumerate(guardrail or [])),
            alpha=alpha,
            max_days=max_days,
        )

    experiment = _run(lambda: _store().create(build()))
    console.print(
        f"created [bold]{experiment.key}[/bold] (draft); start it with "
        f"`intellishop experiments start {tenant} {key}`"
    )


@experiments_app.command("list")
def list_(
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    status: Annotated[Status | None, typer.Option(help="Only this state.")] = None,
) -> None:
    """The tenant's experiments."""
    table = Table("key", "name", "surface", "status", "variants", "target", "started")
    for e in _store().list_experiments(tenant, status):
        table.add_row(
            e.key,
            e.name,
            e.surface.value,
            e.status.value,
            " ".join(
                f"{v.id}{'*' if v.control else ''}:{w:.2f}"
                for v, w in zip(e.variants, e.weights(), strict=True)
            ),
            e.target_metric.value,
            e.started_at.isoformat()[:16] if e.started_at else "",
        )
    console.print(table)


@experiments_app.command("start")
def start(tenant: str, key: str) -> None:
    """Start assigning users (variants and weights are frozen from now on)."""
    _run(lambda: _store().start(tenant, key))
    console.print(f"{key} is running")


@experiments_app.command("stop")
def stop(tenant: str, key: str) -> None:
    """Stop a running experiment by hand."""
    _run(lambda: _store().stop(tenant, key))
    console.print(f"{key} is stopped")


def _frames(exposures: Path, outcomes: Path) -> tuple[Any, Any]:
    import polars as pl

    return pl.read_parquet(exposures), pl.read_parquet(outcomes)


def _print_results(results: dict[str, Any]) -> None:
    table = Table("variant", "units", "conversion", "revenue/user")
    for v in results["variants"]:
        table.add_row(
            v["variant"] + (" (control)" if v["control"] else ""),
            str(v["units"]),
            _pct(v["conversion_rate"]),
            _num(v["revenue_per_user"]),
        )
    console.print(table)
    srm = results["srm"]
    console.print(
        f"sample ratio: p = {srm['p_value']:.3g} "
        + ("[red]MISMATCH[/red]" if srm["mismatch"] else "ok")
    )
    comparisons = Table(
        "variant", "metric", "role", "lift", "95% CI", "fixed p", "always-valid p", "P(beats)"
    )
    for c in results["comparisons"]:
        if "sequential" not in c:
            comparisons.add_row(c["variant"], c["metric"], c["role"], "too little data")
            continue
        comparisons.add_row(
            c["variant"],
            c["metric"],
            c["role"],
            _pct(c["relative_lift"]),
            f"[{_pct(c['relative_ci_low'])}, {_pct(c['relative_ci_high'])}]",
            f"{c['fixed_horizon']['p_value']:.3g}",
            f"{c['sequential']['always_valid_p_value']:.3g}",
            _pct(c["bayes"]["chance_to_beat_control"]),
        )
    console.print(comparisons)
    decision = results["decision"]
    console.print(
        f"decision: [bold]{decision['action']}[/bold]"
        + (f" -> {decision['winner']}" if decision["winner"] else "")
    )
    for reason in decision["reasons"]:
        console.print(f"  - {reason}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@experiments_app.command("results")
def results(
    tenant: str,
    key: str,
    exposures: Annotated[
        Path | None, typer.Option(help="Parquet of exposures: compute a look now.")
    ] = None,
    outcomes: Annotated[
        Path | None, typer.Option(help="Parquet of orders (with --exposures).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """The latest results (or a fresh look from files, stored but not acted on)."""
    store = _store()
    experiment = _run(lambda: store.get(tenant, key))
    if exposures is not None and outcomes is not None:
        exp_frame, out_frame = _frames(exposures, outcomes)
        look: dict[str, Any] | None = _run(
            lambda: evaluate(
                store, experiment, exp_frame, out_frame, as_of=datetime.now(UTC), act=False
            )
        )
    else:
        look = store.latest_evaluation(tenant, key)
    if look is None:
        console.print(f"no results yet for {key}: the pipeline's daily look stores them")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(look, indent=2))
        return
    console.print(f"[bold]{key}[/bold] ({experiment.status.value}), as of {look['as_of'][:16]}")
    _print_results(look)


@experiments_app.command("decide")
def decide(
    tenant: str,
    key: Annotated[str | None, typer.Argument(help="The experiment (with --winner).")] = None,
    winner: Annotated[str | None, typer.Option(help="Keep this variant (decide by hand).")] = None,
    note: Annotated[str, typer.Option(help="Why, recorded with the decision.")] = "",
    auto: Annotated[
        bool, typer.Option("--auto", help="Apply the automatic rule to every running experiment.")
    ] = False,
    exposures: Annotated[Path | None, typer.Option(help="Parquet of exposures (--auto).")] = None,
    outcomes: Annotated[Path | None, typer.Option(help="Parquet of orders (--auto).")] = None,
) -> None:
    """Record a decision: by hand (KEY --winner V) or by the automatic rule (--auto)."""
    store = _store()
    if auto:
        if exposures is None or outcomes is None:
            console.print("[red]error:[/red] --auto needs --exposures and --outcomes")
            raise typer.Exit(2)
        exp_frame, out_frame = _frames(exposures, outcomes)
        looks = _run(lambda: evaluate_running(store, exp_frame, out_frame, tenant_id=tenant))
        for look in looks:
            action = look["decision"]
            console.print(f"{look['experiment']}: {action['action']} {action['winner'] or ''}")
        return
    if key is None or winner is None:
        console.print("[red]error:[/red] give KEY and --winner, or --auto")
        raise typer.Exit(2)
    experiment = _run(lambda: store.get(tenant, key))
    if experiment.variant(winner) is None:
        console.print(f"[red]error:[/red] winner: {winner!r} is not a variant of {key!r}")
        raise typer.Exit(2)
    evidence = {"note": note, "results": store.latest_evaluation(tenant, key)}
    _run(lambda: record_decision(store, experiment, "manual", winner, evidence))
    console.print(f"{key}: decided, keep {winner}")
