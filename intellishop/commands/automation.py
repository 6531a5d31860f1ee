"""``intellishop automation ...``: the worker, rules, and the dead-letter list.

``intellishop automation worker`` runs until SIGTERM or Ctrl-C, finishing the pass under way
(state is durable after every step, so a hard kill is safe too: see ``docs/automation.md``).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from intellishop.automation.config import AutomationConfig
from intellishop.automation.store import AutomationStore
from intellishop.settings import get_settings

automation_app = typer.Typer(
    no_args_is_help=True, help="Marketing automation: the worker, rules, dead letters."
)
rules_app = typer.Typer(no_args_is_help=True, help="A tenant's automation rules.")
dead_app = typer.Typer(no_args_is_help=True, help="Messages that failed every retry.")
automation_app.add_typer(rules_app, name="rules")
automation_app.add_typer(dead_app, name="dead-letter")
console = Console()

TenantOption = Annotated[str, typer.Option("--tenant", help="The shop's tenant id.")]


def _store() -> AutomationStore:
    return AutomationStore.for_settings(get_settings())


@automation_app.command("worker")
def worker(
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
    poll_seconds: Annotated[
        float | None, typer.Option(min=0.01, help="Seconds between passes (default 1).")
    ] = None,
    backoff_base_seconds: Annotated[
        float | None, typer.Option(min=0.0, help="First retry delay (default 30 s).")
    ] = None,
    lease_seconds: Annotated[
        float | None, typer.Option(min=0.1, help="Take over a dead worker's sends after this.")
    ] = None,
) -> None:
    """Tail the event log, evaluate rules, fire due actions and deliver them."""
    from intellishop.automation.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    settings.ensure_dirs()
    overrides: dict[str, Any] = {
        name: value
        for name, value in (
            ("poll_seconds", poll_seconds),
            ("backoff_base_seconds", backoff_base_seconds),
            ("lease_seconds", lease_seconds),
        )
        if value is not None
    }
    config = AutomationConfig.from_settings(settings, **overrides)
    runner = Worker(settings, config)
    if not once:
        from intellishop.automation.metrics import automation_registry
        from intellishop.automation.store import AutomationStore
        from intellishop.observability import start_worker_metrics

        start_worker_metrics(settings, automation_registry(AutomationStore.for_settings(settings)))
    try:
        if once:
            report = runner.run_once()
            console.print(report)
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        console.print(f"automation worker running (poll every {config.poll_seconds} s)")
        runner.run(stop)
    finally:
        runner.close()


@rules_app.command("list")
def list_rules(tenant: TenantOption) -> None:
    """The tenant's rules."""
    table = Table("name", "trigger", "delay s", "actions", "enabled")
    table.add_column("rule id", no_wrap=True)  # whole, for copying into pause/resume
    for rule in _store().list_rules(tenant):
        spec = rule.spec
        table.add_row(
            spec.name,
            spec.trigger_event,
            str(spec.delay_seconds),
            ", ".join(a.type for a in spec.actions),
            "yes" if spec.enabled else "paused",
            rule.rule_id,
        )
    console.print(table)


def _toggle(tenant: str, rule_id: str, enabled: bool) -> None:
    rule = _store().set_enabled(tenant, rule_id, enabled)
    if rule is None:
        console.print(f"[red]error:[/red] no rule {rule_id!r} in tenant {tenant!r}")
        raise typer.Exit(2)
    console.print(f"{rule_id}: {'enabled' if enabled else 'paused'}")


@rules_app.command("pause")
def pause(tenant: TenantOption, rule_id: Annotated[str, typer.Argument()]) -> None:
    """Pause a rule: nothing more is scheduled or sent for it until it is resumed."""
    _toggle(tenant, rule_id, False)


@rules_app.command("resume")
def resume(tenant: TenantOption, rule_id: Annotated[str, typer.Argument()]) -> None:
    """Switch a paused rule on again."""
    _toggle(tenant, rule_id, True)


@dead_app.command("list")
def dead_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Default: every tenant.")] = None,
) -> None:
    """Dead letters: id, tenant, rule, channel, attempts, last error."""
    table = Table("id", "tenant", "rule", "channel", "attempts", "replays", "last error")
    for d in _store().dead_letters(tenant):
        table.add_row(
            str(d.id),
            d.tenant_id,
            d.rule_id,
            d.kind,
            str(d.attempts),
            str(d.replays),
            (d.last_error or "")[:80],
        )
    console.print(table)


@dead_app.command("replay")
def dead_replay(
    delivery_ids: Annotated[list[int], typer.Argument(help="Dead-letter ids.")],
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's.")] = None,
) -> None:
    """Queue dead letters again (same idempotency key, fresh retries)."""
    store = _store()
    failed = [i for i in delivery_ids if not store.replay(i, tenant)]
    for i in delivery_ids:
        if i not in failed:
            console.print(f"{i}: queued again")
    if failed:
        console.print(f"[red]error:[/red] not dead letters: {', '.join(map(str, failed))}")
        raise typer.Exit(2)


if __name__ == "__main__":  # ``python -m intellishop.commands.automation`` before cli.py has it
    automation_app()
