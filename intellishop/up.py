"""``intellishop up``: every long-running service of the profile, supervised, on this machine.

The prod profile without containers: the collector, the loader, the serving API, the
automation worker, Dagster (webserver and daemon) and the dashboards, against the PostgreSQL and
Redis named by the settings. Each service's health is checked before the next starts; Ctrl-C
(or SIGTERM) stops them all. A service that dies is started again by itself (after a short,
growing pause); one that keeps dying (a crash loop: a bad setting, a port someone else took)
stops the rest and ``up`` exits 1, for the supervisor above it (systemd, the container
platform) to report.
"""

from __future__ import annotations

import os
import signal
import time
from types import FrameType

from rich.console import Console
from rich.panel import Panel

from intellishop.services import RestartPolicy, ServiceError, Supervisor, service_env, services
from intellishop.settings import Settings

console = Console()

#: Start order: the event path first, then what reads it.
ALL_SERVICES = ("collector", "loader", "api", "automation", "dagster", "dashboards")


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _announce(name: str, message: str) -> None:
    console.print(f"[yellow]{time.strftime('%H:%M:%S')} {name}[/yellow] {message}")


def run_up(
    settings: Settings,
    names: tuple[str, ...] = ALL_SERVICES,
    policy: RestartPolicy | None = None,
) -> int:
    settings.ensure_dirs()
    os.environ.update(service_env(settings))
    found = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    known = services(settings)
    supervisor = Supervisor(settings, settings.data_dir / "logs")
    started = time.monotonic()
    try:
        console.rule(f"[bold]IntelliShop, {settings.profile.value} profile")
        for name in names:
            console.print(f"starting {name}")
            supervisor.start(known[name])
        lines = [f"ready in {time.monotonic() - started:.0f} s\n"]
        for name in names:
            service = known[name]
            lines.append(
                f"[bold]{name:11}[/bold] {service.url(settings.host):24} {service.description}"
            )
        lines += ["", f"logs in {supervisor.log_dir.resolve()}", "Ctrl-C stops everything."]
        console.print(Panel("\n".join(lines), title="IntelliShop is running", expand=False))
        looping = supervisor.supervise(policy, on_event=_announce)
        log = supervisor.log_dir / f"{looping}.log"
        console.print(f"[red]{looping} keeps exiting[/red] (see {log}); stopping the others")
        return 1
    except KeyboardInterrupt:
        console.print("\nstopping...")
        return 0
    except ServiceError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop_all()
        console.print("all services stopped")
        for signum, handler in zip((signal.SIGINT, signal.SIGTERM), found, strict=True):
            if handler is not None:  # as the caller had them
                signal.signal(signum, handler)
