"""``make demo``: the whole loop on the embedded default, from an empty directory to live services.

1. start the collector, 2. send simulated traffic for two demo shops over HTTP, 3. run the
Dagster pipeline (load -> dbt -> ML -> publish), 4. start the API, the Dagster UI and the
dashboards, print their URLs and wait. Ctrl-C (or SIGTERM) stops every process it started.
Running it again reuses the shops, their keys and the traffic already sent (see
``load_traffic_record``), and runs the pipeline again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from rich.console import Console
from rich.panel import Panel

from intellishop.artifacts import LocalArtifactStore
from intellishop.services import PROJECT_ROOT, ServiceError, Supervisor, service_env, services
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

console = Console()


@dataclass(frozen=True)
class DemoShop:
    tenant_id: str
    name: str
    timezone: str
    currency: str
    seed: int
    customer_share: float  # of the --customers option


DEMO_SHOPS = (
    DemoShop(
        "acme-outdoor", "Acme Outdoor", "America/New_York", "USD", seed=42, customer_share=1.0
    ),
    DemoShop("berlin-books", "Berlin Books", "Europe/Berlin", "EUR", seed=7, customer_share=0.2),
)


DEMO_PLAN = "enterprise"

#: What the demo leaves running (the pipeline run loads the event log itself).
DEMO_SERVICES = ("collector", "api", "dagster", "dashboards")


def demo_keys(settings: Settings) -> dict[str, str]:
    """API keys of the demo shops, created once and kept (mode 600) so re-runs reuse them.

    The demo shops are on the enterprise plan: months of history arrive in a minute, which is
    more than a starter plan's monthly quota and rate limit allow.
    """
    registry = TenantRegistry(settings.tenants_db_path)
    path = settings.data_dir / "demo_keys.json"
    keys: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for shop in DEMO_SHOPS:
        if registry.get(shop.tenant_id) is not None:
            registry.update(shop.tenant_id, plan=DEMO_PLAN)
        key = keys.get(shop.tenant_id)
        if key and registry.authenticate(key) is not None:
            continue
        if registry.get(shop.tenant_id) is None:
            _tenant, key = registry.create(
                shop.name,
                tenant_id=shop.tenant_id,
                timezone=shop.timezone,
                currency=shop.currency,
                plan=DEMO_PLAN,
            )
        else:
            key = registry.create_key(shop.tenant_id)
        keys[shop.tenant_id] = key
    path.write_text(json.dumps(keys, indent=2))
    path.chmod(0o600)
    return keys


#: The demo shops' dashboard sign-in (owner role); demo data only, never a real shop.
DEMO_PASSWORD = "demo-password-123"  # noqa: S105


def demo_email(shop: DemoShop) -> str:
    return f"owner@{shop.tenant_id}.demo"


def demo_users(settings: Settings) -> None:
    """One dashboard owner per demo shop, created once."""
    from intellishop.users import UserRegistry

    users = UserRegistry(TenantRegistry(settings.tenants_db_path))
    for shop in DEMO_SHOPS:
        if users.get(shop.tenant_id, demo_email(shop)) is None:
            users.create(shop.tenant_id, demo_email(shop), DEMO_PASSWORD, "owner")


def load_traffic_record(settings: Settings) -> dict[str, dict[str, Any]]:
    """What earlier demo runs sent per shop (seed, days, customers, end date, events).

    A re-run sends nothing new for a shop with the same options: the simulated window ends on
    the day of the first run, so the same history is not sent again as a shifted copy.
    """
    path = settings.data_dir / "demo_traffic.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def save_traffic_record(settings: Settings, record: dict[str, dict[str, Any]]) -> None:
    (settings.data_dir / "demo_traffic.json").write_text(json.dumps(record, indent=2))


def run_pipeline_subprocess(settings: Settings) -> int:
    """Run the Dagster job in a child process with the instance at ``settings.dagster_home``.

    The terminal shows a progress bar (the child's stderr); the step logs and dbt's output go to
    ``logs/pipeline.log`` in the data directory, and every run is also in the Dagster UI.
    """
    code = "from dagster_project.run import run_pipeline; run_pipeline()"
    log_path = settings.data_dir / "logs" / "pipeline.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        return subprocess.call(
            [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=service_env(settings), stdout=log
        )


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_demo(settings: Settings, *, days: int, customers: int, keep_running: bool = True) -> int:
    from intellishop.simulation import SendError, SimulationConfig, generate_events, send_events

    settings.ensure_dirs()
    os.environ.update(service_env(settings))
    # Ctrl-C and a polite kill both stop every service. SIGINT is set explicitly because a shell
    # that starts the demo in the background hands it down ignored.
    found = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    known = services(settings)
    supervisor = Supervisor(settings, settings.data_dir / "logs")
    started = time.monotonic()
    try:
        console.rule("[bold]IntelliShop demo")
        console.print(
            f"state in {settings.data_dir.resolve()}, logs in {supervisor.log_dir.resolve()}"
        )
        keys = demo_keys(settings)
        demo_users(settings)

        console.print("[bold]1/4[/bold] starting the collector")
        supervisor.start(known["collector"])
        collector_url = known["collector"].url(settings.host)

        console.print("[bold]2/4[/bold] sending simulated shop traffic through the collector")
        sent = load_traffic_record(settings)
        for shop in DEMO_SHOPS:
            shop_customers = max(20, int(customers * shop.customer_share))
            wanted = {"seed": shop.seed, "days": days, "customers": shop_customers}
            previous = sent.get(shop.tenant_id, {})
            if {name: previous.get(name) for name in wanted} == wanted:
                console.print(
                    f"  {shop.name}: its {previous['events']:,} events ({days} days to "
                    f"{previous['end']}) were sent by an earlier run; `make clean` starts over"
                )
                continue
            config = SimulationConfig(
                seed=shop.seed,
                days=days,
                customers=shop_customers,
                end=datetime.now(UTC).date(),
                currency=shop.currency,
                shop_name=shop.name,
            )
            report = send_events(
                generate_events(config), collector_url=collector_url, api_key=keys[shop.tenant_id]
            )
            if not report.ok:
                console.print(f"[red]the collector did not accept all events of {shop.name}[/red]")
                return 1
            console.print(
                f"  {shop.name}: {report.events_accepted:,} events accepted, "
                f"{report.events_rejected} rejected, {report.seconds:.1f} s "
                f"({report.events_sent / max(report.seconds, 1e-9):,.0f} events/s)"
            )
            sent[shop.tenant_id] = {
                **wanted,
                "end": str(config.end),
                "events": report.events_accepted,
            }
            save_traffic_record(settings, sent)

        console.print("[bold]3/4[/bold] running the pipeline: load -> dbt -> ML -> publish")
        if run_pipeline_subprocess(settings) != 0:
            console.print(
                "[red]the pipeline failed[/red]: see the output above and logs/pipeline.log"
            )
            return 1

        console.print("[bold]4/4[/bold] starting the API, the Dagster UI and the dashboards")
        for name in ("api", "dagster", "dashboards"):
            supervisor.start(known[name])

        _print_urls(settings, keys, time.monotonic() - started)
        if not keep_running:
            return 0
        # A service that dies is started again (as `intellishop up` does); one that keeps
        # dying stops the demo.
        looping = supervisor.supervise(
            on_event=lambda name, message: console.print(
                f"[yellow]{time.strftime('%H:%M:%S')} {name}[/yellow] {message}"
            )
        )
        log = supervisor.log_dir / f"{looping}.log"
        console.print(f"[red]{looping} keeps exiting[/red] (see {log}); stopping the others")
        return 1
    except KeyboardInterrupt:
        console.print("\nstopping...")
        return 0
    except (ServiceError, SendError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1
    finally:
        # A second Ctrl-C (or a launcher forwarding the first one again) must not cut the
        # clean-up short and leave services running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop_all()
        console.print("all demo services stopped")
        for signum, handler in zip((signal.SIGINT, signal.SIGTERM), found, strict=True):
            if handler is not None:  # as the caller had them
                signal.signal(signum, handler)


def _print_urls(settings: Settings, keys: dict[str, str], seconds: float) -> None:
    known = services(settings)
    lines = [f"ready in {seconds:.0f} s\n"]
    for service in (known[name] for name in DEMO_SERVICES):
        lines.append(
            f"[bold]{service.name:11}[/bold] {service.url(settings.host):24} {service.description}"
        )
    shop = DEMO_SHOPS[0]
    key = keys[shop.tenant_id]
    api = known["api"].url(settings.host)
    lines += [
        "",
        f"dashboards sign-in: shop {shop.tenant_id}, email {demo_email(shop)}, "
        f"password {DEMO_PASSWORD}",
        f"demo API key of {shop.name}: {key}",
        f"  curl -u {key}: {api}/v1/trending",
        f"  curl -u {key}: {api}/v1/recommendations/{example_user(settings, shop.tenant_id)}",
        "",
        "Ctrl-C stops everything.",
    ]
    console.print(Panel("\n".join(lines), title="IntelliShop is running", expand=False))


def example_user(settings: Settings, tenant_id: str) -> str:
    """A user the published recommendations know, to make the printed example real."""
    published = LocalArtifactStore(settings.artifacts_dir).current(tenant_id)
    table = published.tables.get("recommendations") if published else None
    if table is None or table.num_rows == 0:
        return "<user id>"
    return str(table.column("user_id")[0].as_py())
