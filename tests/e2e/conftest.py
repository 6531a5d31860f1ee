"""The real stack for end-to-end tests: services as processes, talking HTTP on loopback.

One module-scoped stack per test module: the collector, simulated traffic for two shops, one
pipeline run, then the API and the dashboards. Ports are picked free so a running demo does not
get in the way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from intellishop.ports import free_port
from intellishop.services import PROJECT_ROOT, Supervisor, service_env, services
from intellishop.settings import Settings


@dataclass
class Stack:
    settings: Settings
    supervisor: Supervisor
    keys: dict[str, str]
    collector_url: str
    api_url: str
    dashboards_url: str

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "intellishop.cli", *args],
            cwd=PROJECT_ROOT,
            env=service_env(self.settings),
            capture_output=True,
            text=True,
            check=check,
            timeout=600,
        )


def new_stack(settings: Settings) -> Stack:
    """A stack of ``settings``' services, none started yet, logging under its data dir."""
    known = services(settings)
    return Stack(
        settings,
        Supervisor(settings, settings.data_dir / "logs"),
        {},
        known["collector"].url(settings.host),
        known["api"].url(settings.host),
        known["dashboards"].url(settings.host),
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from intellishop.simulation import SimulationConfig, generate_events, send_events

    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    settings = Settings(
        data_dir=data_dir,
        collector_port=free_port(),
        api_port=free_port(),
        dashboard_port=free_port(),
        dagster_port=free_port(),
    )
    settings.ensure_dirs()
    os.environ.update({"DAGSTER_DISABLE_TELEMETRY": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    stack = new_stack(settings)
    supervisor, known = stack.supervisor, services(settings)
    try:
        for tenant_id, timezone in (("shop-a", "America/New_York"), ("shop-b", "Europe/Berlin")):
            # Weeks of history arrive in seconds: more than a starter plan's rate limit allows.
            done = stack.cli(
                "tenants",
                "create",
                tenant_id.upper(),
                "--id",
                tenant_id,
                "--timezone",
                timezone,
                "--plan",
                "enterprise",
            )
            stack.keys[tenant_id] = done.stdout.strip().splitlines()[-1]
        supervisor.start(known["collector"])
        for seed, tenant_id in ((1, "shop-a"), (2, "shop-b")):
            config = SimulationConfig(seed=seed, days=21, customers=80)
            report = send_events(
                generate_events(config),
                collector_url=stack.collector_url,
                api_key=stack.keys[tenant_id],
                progress=False,
            )
            assert report.events_rejected == 0, report
        pipeline = stack.cli("pipeline", "run", check=False)
        assert pipeline.returncode == 0, pipeline.stdout[-3000:] + pipeline.stderr[-3000:]
        supervisor.start(known["api"])
        yield stack
    finally:
        supervisor.stop_all()


def log_text(stack: Stack, name: str) -> str:
    path: Path = stack.supervisor.log_dir / f"{name}.log"
    return path.read_text() if path.exists() else ""
