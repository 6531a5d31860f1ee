"""The ``intellishop`` command line: tenants, simulated traffic, loading, the pipeline, services."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from intellishop.commands.automation import automation_app
from intellishop.commands.backup import backup_app
from intellishop.commands.evaluate import evaluate_app
from intellishop.commands.experiments import experiments_app
from intellishop.commands.imports import imports_app
from intellishop.commands.models import models_app
from intellishop.commands.platforms import platforms_app
from intellishop.commands.privacy import privacy_app
from intellishop.commands.tenants import tenants_app
from intellishop.commands.users import users_app
from intellishop.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="IntelliShop Analytics: e-commerce intelligence.")
pipeline_app = typer.Typer(no_args_is_help=True, help="Run the Dagster pipeline.")
app.add_typer(tenants_app, name="tenants")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(privacy_app, name="privacy")
app.add_typer(imports_app, name="import")
app.add_typer(platforms_app, name="platforms")
app.add_typer(backup_app, name="backup")
app.add_typer(users_app, name="users")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(experiments_app, name="experiments")
app.add_typer(automation_app, name="automation")
app.add_typer(models_app, name="models")
console = Console()


@app.command()
def simulate(
    api_key: Annotated[
        str, typer.Option(envvar="INTELLISHOP_API_KEY", help="The tenant's API key.")
    ],
    days: Annotated[int, typer.Option(min=1, help="Days of history to simulate.")] = 60,
    customers: Annotated[
        int, typer.Option(min=1, help="Customers who sign up at some point.")
    ] = 500,
    products: Annotated[int, typer.Option(min=20, help="Products in the catalog.")] = 300,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same events.")
    ] = 42,
    end: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last simulated day, UTC (default: today)."),
    ] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 currency of prices.")] = "USD",
    collector_url: Annotated[str | None, typer.Option(help="Default: the local collector.")] = None,
) -> None:
    """Send realistic simulated shop traffic to the collector over HTTP."""
    from intellishop.simulation import SendError, SimulationConfig, generate_events, send_events

    settings = get_settings()
    url = collector_url or f"http://{settings.host}:{settings.collector_port}"
    config = SimulationConfig(
        seed=seed,
        days=days,
        customers=customers,
        products=products,
        end=end.date() if end else None,
        currency=currency.upper(),
    )
    try:
        report = send_events(generate_events(config), collector_url=url, api_key=api_key)
    except SendError as exc:
        console.print(f"[red]error:[/red] {exc}")
        console.print(
            f"{exc.report.events_accepted} events were accepted before the failure; "
            "sending again is safe (the collector drops repeated message ids)"
        )
        raise typer.Exit(1) from exc
    console.print(
        f"sent {report.events_sent} events in {report.batches} batches "
        f"({report.events_accepted} accepted, {report.events_rejected} rejected) "
        f"in {report.seconds:.1f} s"
    )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def load(
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Keep loading as events arrive (until Ctrl-C), for a low accept-to-raw latency.",
        ),
    ] = False,
) -> None:
    """Move pending events from the event log into the raw zone."""
    import signal
    import threading

    from ingest.loader import LoadReport, drain_event_log, export_tenants, follow_event_log
    from ingest.loader_metrics import loader_registry
    from intellishop.observability import start_worker_metrics

    settings = get_settings()
    export_tenants(settings)
    if follow:
        stop = threading.Event()
        # Ctrl-C and SIGTERM set the flag the loading thread checks between chunks (Ctrl-C too
        # when the parent handed SIGINT down ignored, as a background shell does). Not
        # KeyboardInterrupt: on Python 3.11 one raised inside Thread.join can mark the thread
        # stopped while it still runs, and the process then exited between writing a chunk
        # and committing its offset (1 run in 12-16 of tests/intellishop/test_cli_load.py).
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        running = LoadReport()
        start_worker_metrics(settings, loader_registry(settings, running))
        console.print("loading continuously; Ctrl-C stops")
        thread = threading.Thread(
            target=follow_event_log, args=(settings, stop), kwargs={"report": running}
        )
        thread.start()
        while thread.is_alive():
            thread.join(0.5)
        return
    report = drain_event_log(settings)
    console.print(
        f"loaded {report.events - report.duplicates} events from {report.batches} batches "
        f"into {len(report.files)} files ({report.duplicates} already loaded, skipped)"
    )


@pipeline_app.command("run")
def pipeline_run() -> None:
    """Run the whole pipeline once: load, dbt build, ML, publish (recorded in Dagster)."""
    from intellishop.demo import run_pipeline_subprocess

    settings = get_settings()
    settings.ensure_dirs()
    raise typer.Exit(run_pipeline_subprocess(settings))


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="collector, api, dagster or dashboards")],
) -> None:
    """Run one service in the foreground."""
    from intellishop.services import run_foreground, services

    settings = get_settings()
    settings.ensure_dirs()
    known = services(settings)
    if service not in known:
        console.print(f"[red]unknown service {service!r}[/red]: choose from {', '.join(known)}")
        raise typer.Exit(2)
    run_foreground(known[service].command, settings)


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=1, help="Days of simulated history.")] = 90,
    customers: Annotated[int, typer.Option(min=1, help="Customers of the main demo shop.")] = 1500,
    keep_running: Annotated[bool, typer.Option(help="Leave the services running.")] = True,
) -> None:
    """The whole loop on the embedded default: simulate, collect, pipeline, serve."""
    from intellishop.demo import run_demo

    raise typer.Exit(
        run_demo(get_settings(), days=days, customers=customers, keep_running=keep_running)
    )


@app.command()
def up(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Start only these services (repeat the option)."),
    ] = None,
) -> None:
    """Start every service of the profile (INTELLISHOP_PROFILE) and supervise them."""
    from intellishop.up import ALL_SERVICES, run_up

    names = tuple(only) if only else ALL_SERVICES
    unknown = sorted(set(names) - set(ALL_SERVICES))
    if unknown:
        console.print(
            f"[red]unknown services {unknown}[/red]: choose from {', '.join(ALL_SERVICES)}"
        )
        raise typer.Exit(2)
    raise typer.Exit(run_up(get_settings(), tuple(n for n in ALL_SERVICES if n in names)))


@app.command()
def init() -> None:
    """Create the state directories and write the Dagster instance config of the profile.

    The services do this themselves; run it before starting Dagster's own commands
    (``dagster-webserver``, ``dagster-daemon``) outside ``intellishop serve``.
    """
    settings = get_settings()
    settings.ensure_dirs()
    console.print(f"{settings.profile.value} profile ready in {settings.data_dir.resolve()}")


@app.command()
def paths() -> None:
    """Show where this installation keeps its state."""
    settings = get_settings()
    for name in (
        "data_dir",
        "event_log_path",
        "tenants_db_path",
        "raw_zone_dir",
        "warehouse_path",
        "artifacts_dir",
        "dagster_home",
    ):
        console.print(f"{name:16} {Path(getattr(settings, name)).resolve()}")


if __name__ == "__main__":
    app()
